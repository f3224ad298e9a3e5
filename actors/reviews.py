"""The review log: an officer's verdict on each alert, one Parquet file keyed by ``alert_id``.

An alert is a candidate; a review records what the officer who checked it found (``confirmed`` or
``rejected``), why, and who and when. One review per alert: a second is refused, so a verdict is
never silently overwritten. The file is replaced atomically under a lock and every review is audited;
notebooks read it with ``pandas.read_parquet`` for threshold calibration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from actors.audit import AuditLog
from actors.storage import exclusive_lock, read_table, replace_audited, write_table_atomic
from serve.errors import SafeCityError

Decision = Literal["confirmed", "rejected"]
DECISIONS: tuple[Decision, ...] = ("confirmed", "rejected")

REVIEW_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("officer", pa.string(), nullable=False),
        pa.field("reviewed_by", pa.string(), nullable=False),  # the account that recorded it
        pa.field("reviewed_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    ]
)


class AlreadyReviewedError(SafeCityError):
    """The alert has a review already; nothing was stored."""


@dataclass(frozen=True)
class Review:
    """An officer's verdict on one alert."""

    alert_id: str
    decision: Decision
    reason: str
    officer: str
    reviewed_by: str
    reviewed_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReviewLog:
    """The reviews of one data directory (``reviews.parquet``)."""

    def __init__(self, data_dir: Path, audit: AuditLog, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = data_dir / "reviews.parquet"
        self._lock_path = data_dir / "reviews.lock"
        self._audit = audit
        self._clock = clock

    def add(self, alert_id: str, decision: Decision, reason: str, officer: str, actor: str) -> Review:
        """Store and audit a review of ``alert_id``; :class:`AlreadyReviewedError` if it has one."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        review = Review(alert_id, decision, reason, officer, actor, self._clock().astimezone(UTC))
        with exclusive_lock(self._lock_path):
            reviews = self.all()
            earlier = reviews.get(alert_id)
            if earlier is not None:
                raise AlreadyReviewedError(
                    f"alert {alert_id} was already {earlier.decision} by {earlier.officer} "
                    f"at {earlier.reviewed_at.isoformat(timespec='seconds')}"
                )
            reviews[alert_id] = review
            details = {"decision": decision, "reason": reason, "officer": officer}
            replace_audited(
                self.path,
                lambda: write_table_atomic(self.path, _table(reviews.values())),
                lambda: self._audit.append(actor, "alert.review", alert_id, details),
            )
        return review

    def get(self, alert_id: str) -> Review | None:
        """The review of ``alert_id``, if any."""
        return self.all().get(alert_id)

    def all(self) -> dict[str, Review]:
        """Every review by alert id."""
        rows = read_table(self.path, REVIEW_SCHEMA).to_pylist()
        return {
            row["alert_id"]: Review(
                alert_id=row["alert_id"],
                decision=row["decision"],
                reason=row["reason"],
                officer=row["officer"],
                reviewed_by=row["reviewed_by"],
                reviewed_at=row["reviewed_at"].astimezone(UTC),
            )
            for row in rows
        }


def _table(reviews: Iterable[Review]) -> pa.Table:
    ordered = sorted(reviews, key=lambda r: r.reviewed_at)
    rows = [
        {
            "alert_id": r.alert_id,
            "decision": r.decision,
            "reason": r.reason,
            "officer": r.officer,
            "reviewed_by": r.reviewed_by,
            "reviewed_at": r.reviewed_at,
        }
        for r in ordered
    ]
    return pa.Table.from_pylist(rows, schema=REVIEW_SCHEMA)
