"""The delivery loop: outbox first, then signed POSTs to every endpoint until each answers 2xx.

Each endpoint is scheduled on its own (at most ``max_in_flight`` POSTs to it at once), so a dead or
slow endpoint never holds back alerts to the others. The alert log is fed from the outbox in small
batches by the same loop, so it survives a crash too: what was stored but not yet logged is logged on
the next start.

Not thread-safe: call every method from the one event loop that runs :meth:`Dispatcher.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from actors.backoff import Backoff
from actors.dispatch.alert_log import AlertLog
from actors.dispatch.outbox import Delivery, Outbox, OutboxCounts
from actors.dispatch.webhook import DeliveryError, Receipt, WebhookEndpoint, post_alert
from serve.alerts import Alert

log = logging.getLogger(__name__)

DeliveredCallback = Callable[[str, str, Receipt], None]
_STORE_RETRY = Backoff(initial_s=0.5, maximum_s=30.0)  # after the outbox itself failed (disk full...)


def alert_body(alert: Alert) -> bytes:
    """The exact bytes sent (and signed) for an alert."""
    return json.dumps(alert.to_json(), separators=(",", ":"), sort_keys=True).encode()


async def _first(*waits: Awaitable[Any], timeout: float | None = None) -> None:
    """Return when the first of ``waits`` completes or ``timeout`` passes."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


@dataclass(frozen=True)
class DispatchStats:
    """The dispatcher's counters: the outbox's, and this process's."""

    outbox: OutboxCounts
    in_flight: int  # POSTs under way
    failures_this_process: int  # failed attempts since this process started


class Dispatcher:
    """Delivers alerts from the outbox; a new instance on the same outbox resends what was left."""

    def __init__(
        self,
        outbox: Outbox,
        endpoints: Sequence[WebhookEndpoint],
        backoff: Backoff,
        alert_log: AlertLog,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_delivered: DeliveredCallback | None = None,
        max_in_flight: int = 8,
        log_batch_s: float = 0.5,
        log_batch_rows: int = 500,
    ) -> None:
        names = [e.name for e in endpoints]
        if sorted(names) != sorted(outbox.endpoints):
            raise ValueError(f"outbox endpoints {list(outbox.endpoints)} differ from dispatcher's {names}")
        if max_in_flight < 1 or log_batch_rows < 1 or log_batch_s < 0:
            raise ValueError("max_in_flight and log_batch_rows must be positive, log_batch_s not negative")
        self.outbox = outbox
        self.endpoints = {e.name: e for e in endpoints}
        self.backoff = backoff
        self.alert_log = alert_log
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_delivered = on_delivered
        self.max_in_flight = max_in_flight
        self.log_batch_s = log_batch_s
        self.log_batch_rows = log_batch_rows
        self.failures = 0  # failed attempts in this process
        self._wake = asyncio.Event()  # something may be due: a submit, a finished POST
        self._log_wake = asyncio.Event()  # something may be unlogged
        self._progress = asyncio.Event()  # a delivery or a log write finished (for drain)
        self._in_flight: dict[str, dict[str, asyncio.Task[None]]] = {name: {} for name in names}
        self._running = False

    async def submit(self, alert: Alert) -> bool:
        """Store the alert durably and wake the sender; False if this id was already submitted.

        When this returns, the alert is fsync'd in the outbox: it will be delivered to every endpoint
        and written to the alert log (by :meth:`run`), even if the process dies now.
        """
        added = await asyncio.to_thread(self.outbox.add, alert.alert_id, alert_body(alert), self.clock())
        if added:
            self._wake.set()
            self._log_wake.set()
        return added

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver and log until ``stop`` is set, starting with whatever an earlier process left.

        After ``stop``, POSTs already under way finish (each within its endpoint's timeout), the last
        alerts are logged, and this returns. Cancelling it instead abandons those POSTs; they are
        resent by the next run, and receivers drop any that had in fact arrived.
        """
        if self._running:
            raise RuntimeError("this dispatcher is already running")
        self._running = True
        try:
            async with httpx.AsyncClient() as client:
                logger = asyncio.create_task(self._log_loop(stop), name="alert-log")
                try:
                    await self._send_loop(client, stop)
                    await asyncio.gather(*self._tasks())
                    await logger
                finally:
                    tasks = [*self._tasks(), logger]
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for in_flight in self._in_flight.values():
                in_flight.clear()  # a task cancelled before it started never removed itself
            self._running = False

    def _tasks(self) -> list[asyncio.Task[None]]:
        return [task for tasks in self._in_flight.values() for task in tasks.values()]

    async def _send_loop(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        store_failures = 0
        while not stop.is_set():
            self._wake.clear()  # before looking, so that a submit during the look is not missed
            try:
                now = self.clock()
                for name, endpoint in self.endpoints.items():
                    await self._start_due(client, endpoint, self._in_flight[name], now)
                # Everything due by `now` is now in flight or waiting for a free slot (a finishing POST
                # wakes us), so sleep until the next retry after `now`.
                next_at = await asyncio.to_thread(self.outbox.next_due_at, after=now)
                store_failures = 0
            except sqlite3.Error:
                store_failures += 1
                log.exception("dispatcher: the outbox failed; retrying")
                next_at = self.clock() + _STORE_RETRY.delay(store_failures, self.rng)
            timeout = None if next_at is None else max(0.0, next_at - self.clock())
            await _first(self._wake.wait(), stop.wait(), timeout=timeout)

    async def _start_due(
        self,
        client: httpx.AsyncClient,
        endpoint: WebhookEndpoint,
        in_flight: dict[str, asyncio.Task[None]],
        now: float,
    ) -> None:
        free = self.max_in_flight - len(in_flight)
        if free <= 0:
            return
        # In-flight deliveries are still due in the outbox: ask for enough rows to skip them.
        due = await asyncio.to_thread(self.outbox.due, now, free + len(in_flight), endpoint=endpoint.name)
        for delivery in [d for d in due if d.alert_id not in in_flight][:free]:
            in_flight[delivery.alert_id] = asyncio.create_task(
                self._deliver(client, endpoint, delivery), name=f"deliver-{endpoint.name}"
            )

    async def _deliver(
        self, client: httpx.AsyncClient, endpoint: WebhookEndpoint, delivery: Delivery
    ) -> None:
        try:
            await self._attempt(client, endpoint, delivery)
        except Exception:
            # Only the outbox write can get here: the delivery stays due and will be sent again, so hold
            # its slot a while rather than resend in a tight loop while the disk is failing.
            log.exception("dispatcher: recording a delivery of %s failed", delivery.alert_id)
            await asyncio.sleep(_STORE_RETRY.delay(delivery.attempts + 1, self.rng))
        finally:
            self._in_flight[endpoint.name].pop(delivery.alert_id, None)
            self._wake.set()
            self._progress.set()

    async def _attempt(
        self, client: httpx.AsyncClient, endpoint: WebhookEndpoint, delivery: Delivery
    ) -> None:
        try:
            receipt = await post_alert(client, endpoint, delivery.alert_id, delivery.body, self.clock())
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not stop delivery of everything else
            log.exception("dispatcher: unexpected error posting %s to %s", delivery.alert_id, endpoint.name)
            error = f"{endpoint.name}: unexpected {type(exc).__name__}: {exc}"
        else:
            await asyncio.to_thread(
                self.outbox.mark_delivered, delivery.alert_id, endpoint.name, receipt, self.clock()
            )
            self._notify(delivery.alert_id, endpoint.name, receipt)
            return
        self.failures += 1
        retry_at = self.clock() + self.backoff.delay(delivery.attempts + 1, self.rng)
        log.warning("dispatcher: %s (alert %s, attempt %d)", error, delivery.alert_id, delivery.attempts + 1)
        await asyncio.to_thread(self.outbox.mark_failed, delivery.alert_id, endpoint.name, error, retry_at)

    def _notify(self, alert_id: str, endpoint: str, receipt: Receipt) -> None:
        if self.on_delivered is None:
            return
        try:
            self.on_delivered(alert_id, endpoint, receipt)
        except Exception:
            log.exception("dispatcher: on_delivered callback failed")

    async def _log_loop(self, stop: asyncio.Event) -> None:
        failures = 0
        while True:
            self._log_wake.clear()
            try:
                await self._flush_log()
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatcher: writing the alert log failed; retrying")
                await _first(stop.wait(), timeout=_STORE_RETRY.delay(failures, self.rng))
                if not stop.is_set():
                    continue
            if stop.is_set():
                return
            await _first(self._log_wake.wait(), stop.wait())
            await _first(stop.wait(), timeout=self.log_batch_s)  # let a burst of alerts share one file

    async def _flush_log(self) -> None:
        while True:
            part, batch = await asyncio.to_thread(
                self.outbox.log_batch, self.alert_log.new_part_name(), self.log_batch_rows
            )
            if not batch:
                return
            await asyncio.to_thread(self.alert_log.append_json, [json.loads(body) for _, body in batch], part)
            await asyncio.to_thread(self.outbox.mark_logged, part, self.clock())
            self._progress.set()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every alert is delivered and logged (True) or ``timeout_s`` passes (False).

        Only :meth:`run` makes progress; without it this waits out the timeout.
        """
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            self._progress.clear()
            counts = await asyncio.to_thread(self.outbox.counts)
            if counts.pending == 0 and counts.unlogged == 0:
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), remaining)

    def stats(self) -> DispatchStats:
        """Outbox counts, and this process's POSTs in flight and failed attempts."""
        return DispatchStats(self.outbox.counts(), len(self._tasks()), self.failures)
