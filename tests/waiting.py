"""Waiting in tests for something that happens in another thread or process: poll, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.2,
    details: Callable[[], str] | None = None,
) -> T:
    """Call ``check`` until it returns something other than None (or False); fail after ``timeout`` s.

    ``details`` adds what the failure message should say about the state at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            extra = f"; {details()}" if details is not None else ""
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(interval)


def poll_until_steady(
    read: Callable[[], T],
    want: Callable[[T], bool],
    hold_s: float,
    timeout: float,
    what: str,
    interval: float = 0.2,
) -> T:
    """Poll ``read`` until its value satisfies ``want`` and has stayed the same for ``hold_s`` s.

    For a gauge exported every few seconds: one scrape may show a value from before the change it
    should reflect, so a value counts once it has held for longer than the export interval.
    """
    seen: list[tuple[T, float]] = []  # the current value and when it was first read

    def steady() -> T | None:
        value, now = read(), time.monotonic()
        if not seen or seen[0][0] != value:
            seen[:] = [(value, now)]
        return value if want(value) and now - seen[0][1] >= hold_s else None

    return poll_until(
        steady, timeout, what, interval, details=lambda: f"last read {seen[0][0] if seen else None}"
    )
