"""Frame-to-webhook latency of delivered alerts, by alert kind (demo and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cluster.receiver import alert_latency_s

ALERT_KINDS = ("face", "plate")


def nearest_rank(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class LatencyLog:
    """Seconds from a frame's capture to its alert's arrival at the receiver, per alert kind."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in ALERT_KINDS})

    def record(self, alert: dict[str, Any], received_at: float) -> None:
        """One delivered alert (its webhook JSON), received at ``received_at`` (unix seconds)."""
        self.by_kind.setdefault(str(alert["kind"]), []).append(alert_latency_s(alert, received_at))

    def describe(self) -> str:
        """One line: count, p50 and p95 per kind."""
        parts = []
        for kind, values in self.by_kind.items():
            if values:
                parts.append(
                    f"{kind} ({len(values)}) p50 {nearest_rank(values, 50):.2f} s, "
                    f"p95 {nearest_rank(values, 95):.2f} s"
                )
            else:
                parts.append(f"{kind} (0)")
        return "; ".join(parts)
