"""The retention purge: alerts past the retention period go, with their evidence and reviews.

What goes: every alert captured before the cutoff, from the alert log (its row, evidence crop
included), from the outbox (the body as sent, which holds the crop, and its delivery receipts) and its
review, unless an officer confirmed it and marked it to keep; a kept alert keeps all three. The outbox
goes by the time each alert was stored, once it is in the alert log. An outbox alert still undelivered at
the cutoff goes too (counted as ``undelivered``): the retention period bounds how long evidence is held,
and an alert that old is of no use to an officer verifying on the spot.

The audit entry is written before anything is removed, so nothing is ever removed unaudited; a run that
dies midway leaves every file whole, and the next run finishes the job and audits what it removes. The
review lock is held throughout: a ``keep`` cannot arrive for an alert while it is being purged. The
audit log itself is never purged: it is the record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from actors.audit import AuditLog
from actors.dispatch.alert_log import AlertLog
from actors.dispatch.outbox import Outbox
from actors.reviews import Review, ReviewLog

log = logging.getLogger(__name__)
PURGE_ACTION = "retention.purge"


@dataclass(frozen=True)
class RetentionSettings:
    """How long alerts are kept and how often the dispatcher purges older ones."""

    alert_days: int
    purge_every_s: float

    def __post_init__(self) -> None:
        if self.alert_days < 1 or not self.purge_every_s > 0:
            raise ValueError(
                f"alert_days must be 1 or more and purge_every_s positive, got {self.alert_days} and "
                f"{self.purge_every_s}"
            )

    def cutoff(self, now: datetime) -> datetime:
        """Alerts captured before this are purged."""
        return now.astimezone(UTC) - timedelta(days=self.alert_days)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge run removed (or, for a dry run, would remove) and what it kept."""

    cutoff: datetime
    alerts: int  # alerts removed from the alert log
    outbox_alerts: int  # alerts removed from the outbox (body, evidence, receipts)
    undelivered: int  # of those, alerts some configured endpoint never acknowledged
    reviews: int  # reviews removed
    kept: int  # alerts older than the cutoff spared: confirmed and marked to keep

    def audit_details(self) -> dict[str, object]:
        """The purge's audit entry."""
        return {
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "alerts": self.alerts,
            "outbox_alerts": self.outbox_alerts,
            "undelivered": self.undelivered,
            "reviews": self.reviews,
            "kept": self.kept,
        }

    def summary(self) -> str:
        """One line for a person: what was captured before the cutoff, where, and what was kept."""
        return (
            f"alerts captured before {self.cutoff.isoformat(timespec='seconds')}: {self.alerts} in the alert "
            f"log, {self.outbox_alerts} in the outbox ({self.undelivered} never delivered to every "
            f"endpoint), {self.reviews} reviews; {self.kept} kept (confirmed and marked to keep)"
        )


@dataclass(frozen=True)
class _Plan:
    """Which alert ids go from each store."""

    log_ids: frozenset[str]
    outbox_ids: frozenset[str]
    undelivered: int
    review_ids: frozenset[str]
    kept: int


def purge(
    data_dir: Path,
    cutoff: datetime,
    audit: AuditLog,
    *,
    outbox: Outbox | None,
    actor: str,
    dry_run: bool = False,
) -> PurgeReport:
    """Purge what was captured before ``cutoff`` from ``data_dir`` and ``outbox`` (None: no outbox).

    One audit entry (``retention.purge``, by ``actor``) per run, even when nothing was old, so the record
    shows that the purge ran. ``dry_run`` only says what would go: nothing is removed or audited.
    """
    cutoff = cutoff.astimezone(UTC)
    alert_log = AlertLog(data_dir / "alerts")
    with ReviewLog(data_dir, audit).locked() as reviews:
        plan = _plan(alert_log, reviews.all(), outbox, cutoff)
        report = PurgeReport(
            cutoff=cutoff,
            alerts=len(plan.log_ids),
            outbox_alerts=len(plan.outbox_ids),
            undelivered=plan.undelivered,
            reviews=len(plan.review_ids),
            kept=plan.kept,
        )
        if dry_run:
            return report
        details = report.audit_details()
        audit.append(actor, PURGE_ACTION, f"alerts before {details['cutoff']}", details)
        # Reviews first: a run that dies after this leaves old alerts unreviewed, which the next run
        # purges; the other way round it would leave reviews of alerts that are gone.
        reviews.remove(plan.review_ids)
        if outbox is not None:
            outbox.remove(plan.outbox_ids)
        alert_log.remove(plan.log_ids, cutoff)
    if report.undelivered:
        log.warning(
            "retention: %d alerts captured before %s were purged before every dispatch endpoint had "
            "acknowledged them",
            report.undelivered,
            details["cutoff"],
        )
    return report


def _plan(
    alert_log: AlertLog, reviews: Mapping[str, Review], outbox: Outbox | None, cutoff: datetime
) -> _Plan:
    kept = {alert_id for alert_id, review in reviews.items() if review.kept}
    old = (ds.field("date") <= cutoff.date().isoformat()) & (
        ds.field("captured_at") < pa.scalar(cutoff, pa.timestamp("ms", tz="UTC"))
    )
    old_logged = {
        str(alert_id) for alert_id in alert_log.read(["alert_id"], old).column("alert_id").to_pylist()
    }
    expired = outbox.expired(cutoff.timestamp()) if outbox is not None else []
    outbox_ids = {e.alert_id for e in expired} - kept
    return _Plan(
        log_ids=frozenset(old_logged - kept),
        outbox_ids=frozenset(outbox_ids),
        undelivered=sum(1 for e in expired if e.pending and e.alert_id in outbox_ids),
        review_ids=frozenset(old_logged.intersection(reviews) - kept),
        kept=len(kept & (old_logged | {e.alert_id for e in expired})),
    )
