"""The alert log: a Parquet dataset (``date=YYYY-MM-DD/part-*.parquet``) for analysts and audits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from actors.storage import write_table_atomic
from serve.alerts import Alert

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
        ("evidence_jpeg", pa.binary()),
    ]
)


def _row(alert: Alert) -> dict[str, object]:
    subject, plate = alert.subject, alert.plate
    return {
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "status": alert.status,
        "camera_id": alert.camera.camera_id,
        "camera_name": alert.camera.name,
        "camera_kind": alert.camera.kind,
        "zone": alert.camera.zone,
        "lat": alert.camera.lat,
        "lon": alert.camera.lon,
        "captured_at": alert.captured_at,
        "emitted_at": alert.emitted_at,
        "track_id": alert.track_id,
        "subject_id": subject.subject_id if subject else None,
        "subject_label": subject.label if subject else None,
        "subject_category": subject.category if subject else None,
        "enrolment_photo": subject.enrolment_photo if subject else None,
        "plate_text": plate.read_text if plate else None,
        "hotlist_plate": plate.hotlist_plate if plate else None,
        "plate_reason": plate.reason if plate else None,
        "plate_exact": plate.exact if plate else None,
        "similarity": alert.similarity,
        "threshold": alert.threshold,
        "evidence_jpeg": alert.evidence_jpeg,
    }


class AlertLog:
    """Appends alerts as new Parquet files; never rewrites old ones."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def append(self, alerts: Sequence[Alert]) -> Path | None:
        """Write one part file holding ``alerts``; returns its path."""
        if not alerts:
            return None
        now = datetime.now(UTC)
        part = (
            self.directory
            / f"date={now:%Y-%m-%d}"
            / f"part-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
        )
        write_table_atomic(part, pa.Table.from_pylist([_row(a) for a in alerts], schema=ALERT_LOG_SCHEMA))
        return part

    def read(self) -> pa.Table:
        """Every alert logged so far (with a ``date`` column from the partition)."""
        if not self.directory.exists() or not any(self.directory.rglob("*.parquet")):
            return ALERT_LOG_SCHEMA.empty_table()
        dataset = ds.dataset(self.directory, format="parquet", partitioning="hive", schema=None)
        return dataset.to_table()
