"""The review log: an officer's verdict on each alert, one Parquet file keyed by ``alert_id``.

An alert is a candidate; a review records what the officer who checked it found (``confirmed`` or
``rejected``), why, and who and when. One review per alert: a second is refused, so a verdict is
never silently overwritten. The file is replaced atomically under a lock and every review is audited;
the notebooks read it through :func:`read_reviews` (``cluster.analysis.alerts``) for precision and
threshold calibration. A confirmed review may be marked ``keep``: the retention purge then spares the
alert, its evidence and the review.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Iterator
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
        pa.field("keep", pa.bool_(), nullable=False),  # spared by the retention purge
    ]
)
_ADDED_COLUMNS = {"keep": False}  # files written before the column existed
REVIEWS_FILE = "reviews.parquet"  # in the data directory


class AlreadyReviewedError(SafeCityError):
    """The alert has a review already; nothing was stored."""


class ReviewInputError(SafeCityError, ValueError):
    """A review is malformed (``keep`` on a rejection); nothing was stored."""


def validate_keep(decision: str, keep: bool) -> bool:
    """``keep`` if it may go with ``decision``, else :class:`ReviewInputError`."""
    if keep and decision != "confirmed":
        raise ReviewInputError(f"keep is only for a confirmed alert; this one is {decision}")
    return keep


@dataclass(frozen=True)
class Review:
    """An officer's verdict on one alert."""

    alert_id: str
    decision: Decision
    reason: str
    officer: str
    reviewed_by: str
    reviewed_at: datetime
    keep: bool = False  # the officer asked to keep the alert beyond the retention period

    @property
    def kept(self) -> bool:
        """Whether the retention purge spares this alert (confirmed and marked to keep)."""
        return self.keep and self.decision == "confirmed"


def read_reviews(path: Path) -> pa.Table:
    """The review log at ``path`` with :data:`REVIEW_SCHEMA` (empty if absent); StoreError if malformed."""
    return read_table(path, REVIEW_SCHEMA, _ADDED_COLUMNS)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReviewLog:
    """The reviews of one data directory (``reviews.parquet``)."""

    def __init__(self, data_dir: Path, audit: AuditLog, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = data_dir / REVIEWS_FILE
        self._lock_path = data_dir / "reviews.lock"
        self._audit = audit
        self._clock = clock

    def add(
        self, alert_id: str, decision: Decision, reason: str, officer: str, actor: str, *, keep: bool = False
    ) -> Review:
        """Store and audit a review of ``alert_id``; :class:`AlreadyReviewedError` if it has one.

        ``keep`` (only with ``confirmed``, else :class:`ReviewInputError`) spares the alert from the
        retention purge.
        """
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        validate_keep(decision, keep)
        review = Review(alert_id, decision, reason, officer, actor, self._clock().astimezone(UTC), keep)
        with exclusive_lock(self._lock_path):
            reviews = self.all()
            earlier = reviews.get(alert_id)
            if earlier is not None:
                raise AlreadyReviewedError(
                    f"alert {alert_id} was already {earlier.decision} by {earlier.officer} "
                    f"at {earlier.reviewed_at.isoformat(timespec='seconds')}"
                )
            reviews[alert_id] = review
            details = {"decision": decision, "reason": reason, "officer": officer, "keep": keep}
            replace_audited(
                self.path,
                lambda: write_table_atomic(self.path, _table(reviews.values())),
                lambda: self._audit.append(actor, "alert.review", alert_id, details),
            )
        return review

    @contextlib.contextmanager
    def locked(self) -> Iterator[LockedReviews]:
        """Hold the review lock: no review is stored until the block ends.

        The retention purge decides from the reviews what to keep and removes the rest; a review added
        in between (a ``keep`` on an alert being purged) would be lost with its alert.
        """
        with exclusive_lock(self._lock_path):
            yield LockedReviews(self)

    def get(self, alert_id: str) -> Review | None:
        """The review of ``alert_id``, if any."""
        return self.all().get(alert_id)

    def all(self) -> dict[str, Review]:
        """Every review by alert id."""
        rows = read_reviews(self.path).to_pylist()
        return {
            row["alert_id"]: Review(
                alert_id=row["alert_id"],
                decision=row["decision"],
                reason=row["reason"],
                officer=row["officer"],
                reviewed_by=row["reviewed_by"],
                reviewed_at=row["reviewed_at"].astimezone(UTC),
                keep=row["keep"],
            )
            for row in rows
        }


class LockedReviews:
    """The reviews while :meth:`ReviewLog.locked` holds their lock."""

    def __init__(self, log: ReviewLog) -> None:
        self._log = log

    def all(self) -> dict[str, Review]:
        """Every review by alert id."""
        return self._log.all()

    def remove(self, alert_ids: Collection[str]) -> int:
        """Remove the reviews of ``alert_ids`` (the file is replaced atomically); how many there were.

        Not audited one by one: the caller (the retention purge) audits the whole removal.
        """
        reviews = self._log.all()
        gone = [alert_id for alert_id in alert_ids if alert_id in reviews]
        if gone:
            for alert_id in gone:
                del reviews[alert_id]
            write_table_atomic(self._log.path, _table(reviews.values()))
        return len(gone)


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
            "keep": r.keep,
        }
        for r in ordered
    ]
    return pa.Table.from_pylist(rows, schema=REVIEW_SCHEMA)
