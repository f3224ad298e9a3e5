"""A deployment's health check: recent work proves the model answers; an idle one is probed."""

from __future__ import annotations

import pytest

from serve.liveness import Liveness


class Probe:
    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None

    def __call__(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error


def test_a_quiet_model_is_probed_at_most_once_per_quiet_period() -> None:
    now = [0.0]
    probe = Probe()
    liveness = Liveness(probe, quiet_s=30.0, clock=lambda: now[0])
    liveness.check()
    assert probe.calls == 0  # just warmed up
    now[0] = 30.0
    liveness.check()
    now[0] = 40.0
    liveness.check()
    assert probe.calls == 1
    now[0] = 60.0
    liveness.check()
    assert probe.calls == 2


def test_work_that_went_through_stands_in_for_the_probe() -> None:
    now = [0.0]
    probe = Probe()
    liveness = Liveness(probe, quiet_s=30.0, clock=lambda: now[0])
    for second in range(10, 200, 10):
        now[0] = float(second)
        liveness.answered()
        liveness.check()
    assert probe.calls == 0


def test_a_failing_probe_fails_every_check_until_the_model_answers() -> None:
    now = [100.0]
    probe = Probe()
    liveness = Liveness(probe, quiet_s=30.0, clock=lambda: now[0])
    now[0] = 140.0
    probe.error = RuntimeError("session lost")
    for _ in range(2):
        with pytest.raises(RuntimeError, match="session lost"):
            liveness.check()
    assert probe.calls == 2  # a failure is not an answer: the next check probes again
    probe.error = None
    liveness.check()
    liveness.check()
    assert probe.calls == 3
