"""The dispatcher as a Ray actor: one per city, on the state node, owning the outbox file."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ray

from actors.audit import AuditLog
from actors.backoff import Backoff
from actors.dispatch.alert_log import AlertLog
from actors.dispatch.dispatcher import Dispatcher, DispatchStats
from actors.dispatch.outbox import Outbox
from actors.dispatch.secrets import EndpointSource
from actors.metrics import DispatchMetrics, export_forever
from actors.retention import PurgeReport, RetentionSettings, purge
from actors.retention_schedule import purge_on_schedule
from serve.alerts import Alert
from serve.errors import StoreError

PURGE_ACTOR = "retention (dispatcher)"  # who the scheduled purge's audit entries name


@dataclass(frozen=True)
class DispatchStopReport:
    """What :meth:`DispatcherActor.stop` left: all delivered and logged, or what is still pending."""

    delivered_all: bool
    pending_deliveries: int  # (alert, endpoint) pairs not yet acknowledged; they stay in the outbox
    unlogged_alerts: int


@ray.remote(num_cpus=0.1, max_restarts=-1, max_task_retries=-1)
class DispatcherActor:
    """Delivers alerts from the moment it starts: after a restart it resends what its outbox holds.

    The webhook secrets are read here, on the state node, from the environment or the secret files the
    config names; they never pass through Ray (arguments, runtime_env), where the dashboard shows them.
    It owns the alert log and the outbox, so it also runs the retention purge, every
    ``retention.purge_every_s``; without ``retention`` nothing is purged (and it says so).
    """

    def __init__(
        self,
        data_dir: str,
        endpoints: Sequence[EndpointSource],
        backoff: Backoff,
        retention: RetentionSettings,
    ) -> None:
        hooks = [source.endpoint() for source in endpoints]
        folder = Path(data_dir)
        outbox = Outbox(folder / "outbox.sqlite3", [h.name for h in hooks])
        metrics = DispatchMetrics()
        self._dispatcher = Dispatcher(
            outbox,
            hooks,
            backoff,
            AlertLog(folder / "alerts"),
            on_delivered=lambda _alert_id, endpoint, receipt: metrics.delivered(
                endpoint, receipt["elapsed_s"]
            ),
        )
        self._stop = asyncio.Event()
        self._failures_to_inject = 0
        # An async actor's constructor runs on its event loop: delivery starts here, not on a later call,
        # so a dispatcher Ray restarts resends pending alerts at once.
        self._task = asyncio.get_running_loop().create_task(self._dispatcher.run(self._stop))
        self._exporter = asyncio.get_running_loop().create_task(
            export_forever(lambda: metrics.record(self._dispatcher.stats()))
        )
        audit = AuditLog(folder / "audit.jsonl")

        def run_purge() -> PurgeReport:
            cutoff = retention.cutoff(datetime.now(UTC))
            return purge(folder, cutoff, audit, outbox=outbox, actor=PURGE_ACTOR)

        self._purger = asyncio.get_running_loop().create_task(
            purge_on_schedule(run_purge, retention.purge_every_s, self._stop)
        )

    async def ready(self) -> bool:
        """True once constructed (the outbox is open and the secrets were found)."""
        return not self._task.done()

    async def submit(self, alert: Alert) -> bool:
        """Store an alert durably (fsync'd) for delivery; False if this alert id was already stored."""
        if self._failures_to_inject > 0:
            self._failures_to_inject -= 1
            raise StoreError(f"injected fault: alert {alert.alert_id} was not stored")
        return await self._dispatcher.submit(alert)

    async def alert_bodies_since(self, created_after: float) -> list[bytes]:
        """Bodies of the alerts stored after ``created_after`` (unix s): what a restarted matcher decided."""
        return await asyncio.to_thread(self._dispatcher.outbox.bodies_since, created_after)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every alert is delivered and logged, at most ``timeout_s``."""
        return await self._dispatcher.drain(timeout_s)

    async def stop(self, drain_timeout_s: float) -> DispatchStopReport:
        """Deliver what is pending for at most ``drain_timeout_s``, then stop; says what is left."""
        delivered_all = await self._dispatcher.drain(drain_timeout_s)
        self._stop.set()
        await self._task
        await self._purger  # a purge under way finishes; no other starts
        self._exporter.cancel()
        counts = await asyncio.to_thread(self._dispatcher.outbox.counts)
        return DispatchStopReport(delivered_all, counts.pending, counts.unlogged)

    def inject_submit_failures(self, count: int) -> None:
        """Fault drill: the next ``count`` submits fail as a full disk would (nothing is stored)."""
        self._failures_to_inject = count

    def stats(self) -> DispatchStats:
        """Outbox counts, POSTs in flight, failed attempts."""
        return self._dispatcher.stats()
