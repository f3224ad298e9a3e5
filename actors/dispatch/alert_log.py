"""The alert log: an append-only Parquet dataset (``date=YYYY-MM-DD/part-*.parquet``) for analysts.

Rows are built from the webhook JSON, so the log holds exactly what was sent (similarity rounded to 4
places, as in the body). ``date`` is the UTC date the alert was captured. Part files are written
atomically; only the retention purge rewrites one (atomically, without its expired rows) or removes it,
so readers never see a torn file, and a read that finds a part gone under it reads again.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from actors.storage import write_table_atomic
from serve.models.files import fsync_directory

ALERT_LOG_SCHEMA = pa.schema(
    [
        ("alert_id", pa.string()),
        ("kind", pa.string()),
        ("status", pa.string()),
        ("camera_id", pa.string()),
        ("camera_name", pa.string()),
        ("camera_kind", pa.string()),
        ("zone", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("captured_at", pa.timestamp("ms", tz="UTC")),
        ("emitted_at", pa.timestamp("ms", tz="UTC")),
        ("track_id", pa.int64()),
        ("subject_id", pa.string()),
        ("subject_label", pa.string()),
        ("subject_category", pa.string()),
        ("enrolment_photo", pa.string()),
        ("plate_text", pa.string()),
        ("hotlist_plate", pa.string()),
        ("plate_reason", pa.string()),
        ("plate_exact", pa.bool_()),
        ("similarity", pa.float64()),
        ("threshold", pa.float64()),
        ("models", pa.map_(pa.string(), pa.string())),
        ("evidence_jpeg", pa.binary()),
    ]
)
_PARTITIONING = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
_READ_ATTEMPTS = 3  # a read races the purge only if a part goes between listing and opening it


def row_from_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """One log row from an alert's webhook JSON (``Alert.to_json()`` or a body as sent)."""
    camera = doc["camera"]
    location = camera.get("location") or {}
    subject = doc.get("subject") or {}
    plate = doc.get("plate") or {}
    evidence = doc.get("evidence") or {}
    return {
        "alert_id": doc["alert_id"],
        "kind": doc["kind"],
        "status": doc["status"],
        "camera_id": camera["id"],
        "camera_name": camera.get("name"),
        "camera_kind": camera.get("kind"),
        "zone": camera.get("zone"),
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "captured_at": datetime.fromisoformat(doc["captured_at"]),
        "emitted_at": datetime.fromisoformat(doc["emitted_at"]),
        "track_id": doc.get("track_id"),
        "subject_id": subject.get("id"),
        "subject_label": subject.get("label"),
        "subject_category": subject.get("category"),
        "enrolment_photo": evidence.get("enrolment_photo"),
        "plate_text": plate.get("text"),
        "hotlist_plate": plate.get("hotlist_plate"),
        "plate_reason": plate.get("reason"),
        "plate_exact": None if not plate else plate.get("match") == "exact",
        "similarity": doc.get("similarity"),
        "threshold": doc.get("threshold"),
        "models": sorted((doc.get("models") or {}).items()),
        "evidence_jpeg": base64.b64decode(evidence.get("crop_jpeg_base64") or ""),
    }


class AlertLog:
    """Appends alerts as new Parquet part files; :meth:`remove` is the only rewrite (retention)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def new_part_name() -> str:
        """A fresh part name: ``part-<UTC time>-<uuid>``."""
        return f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}"

    def append_json(self, docs: Sequence[Mapping[str, Any]], part: str) -> list[Path]:
        """Write webhook JSON documents as ``date=<day>/<part>.parquet`` files.

        Idempotent: a file of that name that already exists was written whole before (files appear
        by atomic rename) and is kept, so a batch retried after a crash is logged once.
        """
        by_date: dict[str, list[dict[str, Any]]] = {}
        for doc in docs:
            row = row_from_json(doc)
            by_date.setdefault(f"{row['captured_at'].astimezone(UTC):%Y-%m-%d}", []).append(row)
        paths = []
        for date, rows in sorted(by_date.items()):
            path = self.directory / f"date={date}" / f"{part}.parquet"
            if not path.exists():
                write_table_atomic(path, pa.Table.from_pylist(rows, schema=ALERT_LOG_SCHEMA))
            paths.append(path)
        return paths

    def read(self, columns: Sequence[str] | None = None, where: ds.Expression | None = None) -> pa.Table:
        """Alerts logged so far, with the ``date`` partition as a string column.

        ``columns`` picks columns (all by default); ``where`` filters rows, and a condition on ``date``
        skips whole days' files unread.
        """
        schema = ALERT_LOG_SCHEMA.append(pa.field("date", pa.string()))
        for attempt in range(1, _READ_ATTEMPTS + 1):
            if not self.directory.is_dir():
                empty = schema.empty_table()
                return empty if columns is None else empty.select(list(columns))
            dataset = ds.dataset(self.directory, schema=schema, format="parquet", partitioning=_PARTITIONING)
            try:
                return dataset.to_table(columns=None if columns is None else list(columns), filter=where)
            except FileNotFoundError:  # the purge removed a part after it was listed: list again
                if attempt == _READ_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def remove(self, alert_ids: Collection[str], captured_before: datetime) -> int:
        """Remove the rows of ``alert_ids``, all captured before ``captured_before``; how many went.

        Each part holding any of them is replaced atomically without them, or deleted when nothing is
        left (then its day's folder too, once empty). A crash leaves every part whole, old or new; a
        second call finishes what the first left. Parts the dispatcher appends meanwhile are new files,
        never touched here.
        """
        wanted = set(alert_ids)
        removed = 0
        if not wanted or not self.directory.is_dir():
            return 0
        last_day = f"{captured_before.astimezone(UTC):%Y-%m-%d}"
        for day in sorted(self.directory.glob("date=*")):
            if day.name.removeprefix("date=") > last_day:  # later days' parts are not even opened
                continue
            for part in sorted(day.glob("part-*.parquet")):
                removed += _remove_rows(part, wanted)
            with contextlib.suppress(OSError):  # not empty (or just written to): kept
                day.rmdir()
        return removed


def _remove_rows(part: Path, alert_ids: set[str]) -> int:
    """Rewrite ``part`` without the rows of ``alert_ids`` (delete it if none is left); rows removed."""
    ids = pq.read_table(part, columns=["alert_id"]).column("alert_id")
    gone = pc.is_in(ids, value_set=pa.array(sorted(alert_ids), pa.string()))
    count = int(pc.sum(gone).as_py() or 0)
    if count == 0:
        return 0
    if count == len(ids):
        os.unlink(part)
        fsync_directory(part.parent)
        return count
    table = pq.read_table(part, schema=ALERT_LOG_SCHEMA)
    write_table_atomic(part, table.filter(pc.invert(gone)))
    return count
