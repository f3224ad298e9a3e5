"""``safecity analyze PATH... [--json] [--every N]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cluster.analyze import Analyzer, describe
from cluster.media import check_sources
from cluster.runtime import Runtime


def analyze(args: argparse.Namespace, runtime: Runtime) -> int:
    """Report faces and plates with their watchlist and hotlist matches; audited as a search."""
    paths = [Path(p) for p in args.paths]
    check_sources(paths)
    analyzer = Analyzer(runtime.faces, runtime.plates, runtime.watchlist_matcher(), runtime.hotlist_matcher())
    frames = faces = face_hits = plates = plate_hits = 0
    try:
        for result in analyzer.run(paths, every=args.every):
            frames += 1
            faces += len(result.faces)
            face_hits += sum(f.match is not None for f in result.faces)
            plates += len(result.plates)
            plate_hits += sum(p.match is not None for p in result.plates)
            print(json.dumps(result.to_json()) if args.json else describe(result), flush=True)
    finally:
        runtime.audit.append(
            runtime.actor,
            "search.analyze",
            ",".join(str(p) for p in paths)[:500],
            {
                "frames": frames,
                "faces": faces,
                "face_matches": face_hits,
                "plates": plates,
                "plate_matches": plate_hits,
            },
        )
    if not args.json:
        print(
            f"{frames} frame(s): {faces} face(s), {face_hits} watchlist match(es); "
            f"{plates} plate(s), {plate_hits} hotlist match(es)"
        )
    return 0
