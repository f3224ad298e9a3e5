"""Running dispatchers in tests: a delivery loop as a task that can crash, and waiting for conditions.

Loaded as a pytest plugin by ``tests/conftest.py`` so the ``start`` fixture serves every dispatch test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from actors.dispatch.dispatcher import Dispatcher


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class Running:
    """A dispatcher's delivery loop as a task."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stop = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(dispatcher.run(self.stop))

    async def crash(self) -> None:
        """Die like a killed process: no draining, no final log write, the outbox file left as it is."""
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        self.dispatcher.outbox.close()


@pytest.fixture
async def start() -> AsyncIterator[Callable[[Dispatcher], Running]]:
    started: list[Running] = []

    def run(dispatcher: Dispatcher) -> Running:
        running = Running(dispatcher)
        started.append(running)
        return running

    yield run
    for running in started:
        running.stop.set()
        if not running.task.done():
            await asyncio.wait_for(running.task, 10)
