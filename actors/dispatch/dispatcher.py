"""The delivery loop: outbox first, then signed POSTs to every endpoint until each answers 2xx."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from actors.dispatch.alert_log import AlertLog
from actors.dispatch.backoff import Backoff
from actors.dispatch.outbox import Delivery, Outbox
from actors.dispatch.webhook import DeliveryError, WebhookEndpoint, post_alert
from serve.alerts import Alert

DeliveredCallback = Callable[[str, str, dict[str, Any]], None]
_MAX_CONCURRENT_POSTS = 8


def alert_body(alert: Alert) -> bytes:
    """The exact bytes sent (and signed) for an alert."""
    return json.dumps(alert.to_json(), separators=(",", ":"), sort_keys=True).encode()


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
    ) -> None:
        unknown = {e.name for e in endpoints} ^ set(outbox.endpoints)
        if unknown:
            raise ValueError(f"outbox and dispatcher disagree on endpoints: {sorted(unknown)}")
        self.outbox = outbox
        self.endpoints = {e.name: e for e in endpoints}
        self.backoff = backoff
        self.alert_log = alert_log
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_delivered = on_delivered
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.failures = 0

    async def submit(self, alert: Alert) -> bool:
        """Store the alert durably, log it, and wake the sender; False if it was already submitted."""
        body = alert_body(alert)
        added = await asyncio.to_thread(self.outbox.add, alert.alert_id, body, self.clock())
        if added:
            await asyncio.to_thread(self.alert_log.append, [alert])
            self._idle.clear()
            self._wake.set()
        return added

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; resends whatever an earlier process left undelivered."""
        async with httpx.AsyncClient() as client:
            while not stop.is_set():
                self._wake.clear()  # before looking, so a submit during the look is not missed
                due = await asyncio.to_thread(self.outbox.due, self.clock(), _MAX_CONCURRENT_POSTS)
                if due:
                    await asyncio.gather(*(self._deliver(client, d) for d in due))
                    continue
                next_at = await asyncio.to_thread(self.outbox.next_due_at)
                if next_at is None:
                    self._idle.set()
                timeout = None if next_at is None else max(0.0, next_at - self.clock())
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        endpoint = self.endpoints[delivery.endpoint]
        now = self.clock()
        try:
            receipt = await post_alert(client, endpoint, delivery.alert_id, delivery.body, now)
        except DeliveryError as exc:
            self.failures += 1
            retry_at = now + self.backoff.delay(delivery.attempts + 1, self.rng)
            await asyncio.to_thread(
                self.outbox.mark_failed, delivery.alert_id, endpoint.name, str(exc), retry_at
            )
            return
        await asyncio.to_thread(
            self.outbox.mark_delivered, delivery.alert_id, endpoint.name, receipt, self.clock()
        )
        if self.on_delivered is not None:
            self.on_delivered(delivery.alert_id, endpoint.name, receipt)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (True) or ``timeout_s`` passes (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return await asyncio.to_thread(self.outbox.pending_count) == 0

    def stats(self) -> dict[str, int]:
        """Outbox counts plus failed attempts in this process."""
        return {**self.outbox.counts(), "failures_this_process": self.failures}
