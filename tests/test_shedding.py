"""Shedding stale work before a model batch runs."""

from __future__ import annotations

from dataclasses import dataclass

from serve.shedding import run_fresh
from serve.types import Shed


@dataclass(frozen=True)
class Job:
    name: str
    captured_at: float


def test_only_fresh_requests_reach_the_model_in_one_call_and_order_is_kept() -> None:
    calls: list[list[str]] = []

    def work(jobs: list[Job]) -> list[str]:
        calls.append([j.name for j in jobs])
        return [j.name.upper() for j in jobs]

    jobs = [Job("a", 99.5), Job("b", 97.0), Job("c", 98.0), Job("d", 100.0)]
    results = run_fresh(jobs, work, max_age_s=2.0, clock=lambda: 100.0)
    assert calls == [["a", "c", "d"]]  # c is exactly 2 s old: still fresh
    assert results == ["A", Shed(3.0), "C", "D"]


def test_a_batch_entirely_stale_never_calls_the_model() -> None:
    def work(jobs: list[Job]) -> list[str]:
        raise AssertionError("the model ran on stale work")

    results = run_fresh([Job("a", 0.0), Job("b", 1.0)], work, max_age_s=2.0, clock=lambda: 10.0)
    assert results == [Shed(10.0), Shed(9.0)]
