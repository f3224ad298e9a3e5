"""The retention purge on a schedule, in a worker thread: the event loop that delivers alerts never waits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from actors.retention import PurgeReport

log = logging.getLogger(__name__)
# Soon, but not at once: after a restart the dispatcher first resends what its outbox holds.
FIRST_PURGE_AFTER_S = 30.0


async def purge_on_schedule(
    run: Callable[[], PurgeReport],
    every_s: float,
    stop: asyncio.Event,
    *,
    first_after_s: float = FIRST_PURGE_AFTER_S,
) -> None:
    """Call ``run`` in a thread ``first_after_s`` from now, then every ``every_s``, until ``stop`` is set.

    A failed run is logged and tried again at the next turn (a purge left half done is finished by the
    next). A run under way when ``stop`` is set finishes before this returns.
    """
    delay = first_after_s
    while not await _stopped_within(stop, delay):
        try:
            report = await asyncio.to_thread(run)
        except Exception:
            log.exception("retention: the purge failed; trying again in %g s", every_s)
        else:
            log.info("retention: %s", report.summary())
        delay = every_s


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
