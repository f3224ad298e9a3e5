"""Shedding stale work: a request older than the bound when its batch is formed is dropped, not run.

Under overload, queues in front of a model grow; working through them in order would make every
result late. Dropping what has gone stale keeps latency bounded, and the newest frames win.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from serve.types import Shed


class Timed(Protocol):
    """Anything that knows when its frame was captured (unix seconds)."""

    @property
    def captured_at(self) -> float: ...


Request = TypeVar("Request", bound=Timed)
Result = TypeVar("Result")


def run_fresh(
    requests: Sequence[Request],
    work: Callable[[list[Request]], list[Result]],
    *,
    max_age_s: float,
    clock: Callable[[], float] = time.time,
) -> list[Result | Shed]:
    """``work`` on the requests still fresh, in one call; a :class:`Shed` in place of each stale one."""
    now = clock()
    ages = [now - request.captured_at for request in requests]
    fresh = [request for request, age in zip(requests, ages, strict=True) if age <= max_age_s]
    results = iter(work(fresh) if fresh else [])
    return [next(results) if age <= max_age_s else Shed(age) for age in ages]
