"""The dispatcher as a Ray actor: one per city, owning the outbox file."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

from actors.dispatch.alert_log import AlertLog
from actors.dispatch.backoff import Backoff
from actors.dispatch.dispatcher import Dispatcher
from actors.dispatch.outbox import Outbox
from actors.dispatch.webhook import WebhookEndpoint
from serve.alerts import Alert


@ray.remote(num_cpus=0.1, max_restarts=-1, max_task_retries=-1)
class DispatcherActor:
    """Delivers alerts; after a restart it resends whatever its outbox still holds."""

    def __init__(
        self, data_dir: str, endpoints: Sequence[tuple[str, str, str, float]], backoff: Backoff
    ) -> None:
        hooks = [
            WebhookEndpoint(name, url, os.environ[secret_env].encode(), timeout_s)
            for name, url, secret_env, timeout_s in endpoints
        ]
        folder = Path(data_dir)
        outbox = Outbox(folder / "outbox.sqlite3", [h.name for h in hooks])
        self._dispatcher = Dispatcher(outbox, hooks, backoff, AlertLog(folder / "alerts"))
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _ensure_running(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._dispatcher.run(self._stop))

    async def start(self) -> None:
        """Start delivering (also resends what an earlier run left)."""
        self._ensure_running()

    async def submit(self, alert: Alert) -> bool:
        """Store and send an alert."""
        self._ensure_running()
        return await self._dispatcher.submit(alert)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every alert is delivered."""
        self._ensure_running()
        return await self._dispatcher.drain(timeout_s)

    async def stop(self) -> None:
        """Stop the delivery loop."""
        self._stop.set()
        if self._task is not None:
            await self._task

    def stats(self) -> dict[str, Any]:
        """Outbox counts."""
        return self._dispatcher.stats()
