"""``safecity watchlist ...``, ``safecity hotlist ...`` and ``safecity audit ...``."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from actors.watchlist import PhotoUpload
from cluster.runtime import Runtime
from serve.errors import SafeCityError


def _read_photo(path: Path, face_index: int | None) -> PhotoUpload:
    try:
        return PhotoUpload(name=str(path), data=path.read_bytes(), face_index=face_index)
    except FileNotFoundError:
        raise SafeCityError(f"{path}: no such file") from None
    except OSError as exc:
        raise SafeCityError(f"{path}: cannot read: {exc.strerror}") from None


def watchlist_enrol(args: argparse.Namespace, runtime: Runtime) -> int:
    """Enrol a subject from one or more photos."""
    photos = [_read_photo(Path(p), args.face) for p in args.photos]
    subject = runtime.watchlist.enrol(
        args.id,
        args.label,
        photos,
        analyzer=runtime.faces,
        actor=runtime.actor,
        category=args.category,
        threshold=args.threshold,
        policy=runtime.enrolment_policy(),
    )
    print(f"enrolled {subject.subject_id} '{subject.label}' with {len(subject.photos)} photo(s)")
    return 0


def watchlist_list(args: argparse.Namespace, runtime: Runtime) -> int:
    """Print the watchlist (never the embeddings)."""
    subjects = runtime.watchlist.list()
    for subject in subjects:
        record = {
            "subject_id": subject.subject_id,
            "label": subject.label,
            "category": subject.category,
            "threshold": subject.threshold,
            "added_by": subject.added_by,
            "added_at": subject.added_at.isoformat(),
            "photos": [p.photo_id for p in subject.photos],
        }
        if args.json:
            print(json.dumps(record))
        else:
            threshold = f"{subject.threshold:.2f}" if subject.threshold is not None else "default"
            print(
                f"{subject.subject_id:<20} {subject.label:<24} {subject.category or '-':<16} "
                f"photos {len(subject.photos)}  threshold {threshold}  added by {subject.added_by}"
            )
    if not args.json:
        print(f"{len(subjects)} subject(s)")
    return 0


def watchlist_remove(args: argparse.Namespace, runtime: Runtime) -> int:
    """Remove a subject and its photos."""
    subject = runtime.watchlist.remove(args.id, actor=runtime.actor)
    print(f"removed {subject.subject_id} '{subject.label}'")
    return 0


def _parse_expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SafeCityError(
            f"--expires {text!r} is not an ISO 8601 time (e.g. 2027-01-31T18:00:00+05:00)"
        ) from None


def hotlist_add(args: argparse.Namespace, runtime: Runtime) -> int:
    """Add or update a wanted plate."""
    entry = runtime.hotlist.add(args.plate, args.reason, runtime.actor, _parse_expiry(args.expires))
    expiry = entry.expires_at.isoformat() if entry.expires_at else "never"
    print(f"hotlisted {entry.plate}: {entry.reason} (expires {expiry})")
    return 0


def hotlist_list(args: argparse.Namespace, runtime: Runtime) -> int:
    """Print the hotlist."""
    entries = runtime.hotlist.list(include_expired=args.all)
    for entry in entries:
        if args.json:
            print(
                json.dumps(
                    {
                        "plate": entry.plate,
                        "reason": entry.reason,
                        "added_by": entry.added_by,
                        "added_at": entry.added_at.isoformat(),
                        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
                    }
                )
            )
        else:
            expiry = entry.expires_at.isoformat() if entry.expires_at else "never"
            print(f"{entry.plate:<12} {entry.reason:<40} added by {entry.added_by}  expires {expiry}")
    if not args.json:
        print(f"{len(entries)} plate(s)")
    return 0


def hotlist_remove(args: argparse.Namespace, runtime: Runtime) -> int:
    """Remove a plate."""
    entry = runtime.hotlist.remove(args.plate, runtime.actor)
    print(f"removed {entry.plate}")
    return 0


def audit_show(args: argparse.Namespace, runtime: Runtime) -> int:
    """Print the audit log, oldest first, after checking its hash chain."""
    count = runtime.audit.verify()
    for entry in runtime.audit.entries():
        print(entry.to_json())
    print(f"{count} entries, hash chain intact")
    return 0
