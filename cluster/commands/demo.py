"""``safecity demo``: the bundled sample city, analysed end to end."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from cluster.analyze import Analyzer, describe
from cluster.config import load_config
from cluster.demo_lists import enrol_demo_lists
from cluster.runtime import Runtime
from cluster.samples import DEMO_PLATES, DEMO_SUBJECTS, PLATE_SCENE, SAMPLE_CONFIG, UNLISTED_FACES


def demo(args: argparse.Namespace, runtime: Runtime) -> int:
    """The live demo (default), ``--record DIR`` (data for the notebooks), or ``--images`` (no Ray)."""
    if args.record is not None:
        from cluster.record import record_demo

        data = record_demo(args.record, args.seconds, runtime.actor)
        print(f"record: notebooks read it with SAFECITY_DATA_DIR={data.root}")
        return 0
    if not args.images:
        from cluster.live_demo import run_demo, summary

        result = run_demo(args.config, args.data_dir, runtime.actor, timeout_s=args.timeout)
        print(summary(result))
        return 0 if result.alerts and result.delivered else 1
    return images_demo(args, runtime)


def images_demo(args: argparse.Namespace, runtime: Runtime) -> int:
    """Enrol neutral demo lists in a fresh data directory and analyse the sample images against them."""
    config = load_config(args.config) if args.config is not None else load_config(SAMPLE_CONFIG)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="safecity-demo-"))
    runtime = Runtime(config=config.model_copy(update={"data_dir": data_dir}), actor=runtime.actor)
    print(f"demo data directory: {data_dir}")
    enrol_demo_lists(data_dir, runtime.faces, runtime.actor, runtime.enrolment_policy(), DEMO_PLATES)
    for subject in DEMO_SUBJECTS:
        print(f"watchlist: enrolled {subject.subject_id} from {subject.enrol_photo.name}")
    for plate, reason in DEMO_PLATES.items():
        print(f"hotlist:   added {plate} ({reason})")
    analyzer = Analyzer(runtime.faces, runtime.plates, runtime.watchlist_matcher(), runtime.hotlist_matcher())
    probes = [s.probe_photo for s in DEMO_SUBJECTS] + list(UNLISTED_FACES) + [PLATE_SCENE]
    results = list(analyzer.run(probes))
    for result in results:
        print(describe(result))
    face_hits = sum(f.match is not None for r in results for f in r.faces)
    plate_hits = sum(p.match is not None for r in results for p in r.plates)
    runtime.audit.append(
        runtime.actor, "search.analyze", "demo", {"frames": len(results), "face_matches": face_hits}
    )
    print(
        f"summary: {len(results)} images, {face_hits} watchlist matches (expected {len(DEMO_SUBJECTS)}), "
        f"{plate_hits} hotlist matches (expected {len(DEMO_PLATES)}); "
        "each match is a candidate for an officer to verify, not a verdict"
    )
    return 0 if (face_hits, plate_hits) == (len(DEMO_SUBJECTS), len(DEMO_PLATES)) else 1
