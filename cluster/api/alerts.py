"""Alerts as the API shows them: read from the Parquet alert log, with each alert's review joined in.

The alert log holds what the dispatcher sent; the review log holds the officers' verdicts. An alert's
status is its review's decision, or ``unverified`` while it has none.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from actors.dispatch.alert_log import ALERT_LOG_SCHEMA, AlertLog
from actors.reviews import Review, ReviewLog
from cluster.api.schemas import AlertDetail, AlertStatus, AlertSummary, ReviewInfo
from serve.errors import NotFoundError

_IMAGE_COLUMNS = ("evidence_jpeg", "models")
SUMMARY_COLUMNS = [name for name in ALERT_LOG_SCHEMA.names if name not in _IMAGE_COLUMNS]
_TIME = pa.timestamp("ms", tz="UTC")


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list (every condition optional; times compare with the capture time)."""

    camera_id: str | None = None
    kind: str | None = None
    status: AlertStatus | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AlertOrigin:
    """An alert's kind (face, plate) and the camera and zone it came from: what its metrics are tagged."""

    kind: str
    camera_id: str
    zone: str | None


def _where(query: AlertFilter) -> ds.Expression | None:
    conditions = []
    if query.camera_id is not None:
        conditions.append(ds.field("camera_id") == query.camera_id)
    if query.kind is not None:
        conditions.append(ds.field("kind") == query.kind)
    if query.since is not None:
        # The date partition first, so older days' files are never opened.
        conditions.append(ds.field("date") >= f"{query.since.astimezone(UTC):%Y-%m-%d}")
        conditions.append(ds.field("captured_at") >= pa.scalar(query.since, _TIME))
    if query.until is not None:
        conditions.append(ds.field("date") <= f"{query.until.astimezone(UTC):%Y-%m-%d}")
        conditions.append(ds.field("captured_at") < pa.scalar(query.until, _TIME))
    if not conditions:
        return None
    where = conditions[0]
    for condition in conditions[1:]:
        where = where & condition
    return where


def _review_info(review: Review | None) -> ReviewInfo | None:
    return None if review is None else ReviewInfo.of(review)


def _unique(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the first of each alert id (a batch logged twice is kept once, but be safe)."""
    seen: set[str] = set()
    unique = []
    for row in rows:
        if row["alert_id"] not in seen:
            seen.add(row["alert_id"])
            unique.append(row)
    return unique


class AlertReader:
    """Queries over the alert log of one data directory."""

    def __init__(self, alert_log: AlertLog, reviews: ReviewLog, photo_dir: Path) -> None:
        self._log = alert_log
        self._reviews = reviews
        self._photo_dir = photo_dir

    def query(self, query: AlertFilter, limit: int, offset: int) -> tuple[list[AlertSummary], int]:
        """One page of the alerts matching ``query``, newest capture first, and how many match."""
        rows = self._log.read(SUMMARY_COLUMNS, _where(query)).to_pylist()
        alerts = self._summaries(rows)
        if query.status is not None:
            alerts = [alert for alert in alerts if alert.status == query.status]
        alerts.sort(key=lambda alert: (alert.captured_at, alert.alert_id), reverse=True)
        return alerts[offset : offset + limit], len(alerts)

    def require(self, alert_id: str) -> AlertOrigin:
        """Where ``alert_id`` came from; :class:`NotFoundError` unless it is in the alert log."""
        rows = self._log.read(["kind", "camera_id", "zone"], ds.field("alert_id") == alert_id).to_pylist()
        if not rows:
            raise NotFoundError(f"alert {alert_id!r} is not in the alert log")
        return AlertOrigin(rows[0]["kind"], rows[0]["camera_id"], rows[0]["zone"])

    def get(self, alert_id: str) -> AlertDetail:
        """One alert with its evidence crop and enrolment photo, or :class:`NotFoundError`."""
        rows = _unique(self._log.read(where=ds.field("alert_id") == alert_id).to_pylist())
        if not rows:
            raise NotFoundError(f"alert {alert_id!r} is not in the alert log")
        row = rows[0]
        review = self._reviews.get(alert_id)
        photo = row["enrolment_photo"]
        photo_path = self._photo_dir / photo if photo else None
        photo_b64 = None
        if photo_path is not None and photo_path.is_file():
            photo_b64 = base64.b64encode(photo_path.read_bytes()).decode("ascii")
        return AlertDetail.model_validate(
            {
                **row,
                "status": review.decision if review else row["status"],
                "review": _review_info(review),
                "models": dict(row["models"] or []),
                "evidence_jpeg_base64": base64.b64encode(row["evidence_jpeg"] or b"").decode("ascii"),
                "enrolment_photo_base64": photo_b64,
            }
        )

    def recent_ids(self, days: int = 1) -> set[str]:
        """Ids of the alerts captured today and on the ``days`` before (UTC)."""
        since = self._first_day(days)
        table = self._log.read(["alert_id"], ds.field("date") >= since.isoformat())
        return {str(alert_id) for alert_id in table.column("alert_id").to_pylist()}

    def new_alerts(self, seen: set[str], days: int = 1) -> list[AlertSummary]:
        """Recent alerts whose ids are not in ``seen``, oldest capture first.

        Reads only the id column until there is something new: the stream polls this every second.
        Ids that have left the window are dropped from ``seen``, so a stream open for weeks stays small.
        """
        recent = ds.field("date") >= self._first_day(days).isoformat()
        ids = {
            str(alert_id) for alert_id in self._log.read(["alert_id"], recent).column("alert_id").to_pylist()
        }
        seen.intersection_update(ids)
        fresh = sorted(ids - seen)
        if not fresh:
            return []
        rows = self._log.read(SUMMARY_COLUMNS, recent & ds.field("alert_id").isin(fresh)).to_pylist()
        alerts = self._summaries(rows)
        alerts.sort(key=lambda alert: (alert.captured_at, alert.alert_id))
        return alerts

    def _summaries(self, rows: list[dict[str, Any]]) -> list[AlertSummary]:
        reviews = self._reviews.all() if rows else {}
        summaries = []
        for row in _unique(rows):
            review = reviews.get(row["alert_id"])
            summaries.append(
                AlertSummary.model_validate(
                    {
                        **row,
                        "status": review.decision if review else row["status"],
                        "review": _review_info(review),
                    }
                )
            )
        return summaries

    @staticmethod
    def _first_day(days: int) -> date:
        return (datetime.now(UTC) - timedelta(days=days)).date()
