"""The demo's watchlist and hotlist, enrolled the way an operator would, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from actors.audit import AuditLog
from actors.hotlist import HotlistStore
from actors.watchlist import EnrolmentPolicy, PhotoUpload, WatchlistStore
from cluster.samples import DEMO_SUBJECTS
from serve.face_analyzer import FaceAnalyzer

# The live demo's hotlist: the road camera's MLB803 is wanted, its NO23456 is not (no alert for it).
DEMO_HOTLIST = {"MLB803": "demo: reported stolen"}


def enrol_demo_lists(
    data_dir: Path,
    faces: FaceAnalyzer,
    actor: str,
    policy: EnrolmentPolicy,
    plates: Mapping[str, str] = DEMO_HOTLIST,
) -> None:
    """Subject A and B on the watchlist (from photos the cameras do not show), ``plates`` on the hotlist.

    The one place demo lists are enrolled (live demo, image demo, recording, benchmarks), under the
    config's enrolment ``policy`` as the CLI applies it.
    """
    audit = AuditLog(data_dir / "audit.jsonl")
    watchlist = WatchlistStore(data_dir, audit)
    for subject in DEMO_SUBJECTS:
        photo = PhotoUpload(subject.enrol_photo.name, subject.enrol_photo.read_bytes())
        watchlist.enrol(
            subject.subject_id,
            subject.label,
            [photo],
            analyzer=faces,
            actor=actor,
            category="demo",
            policy=policy,
        )
    hotlist = HotlistStore(data_dir, audit)
    for plate, reason in plates.items():
        hotlist.add(plate, reason, actor)
