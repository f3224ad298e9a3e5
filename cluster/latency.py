"""Frame-to-webhook latency of delivered alerts, by alert kind (demo and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def record(self, kind: str, seconds: float) -> None:
        """One delivered alert of ``kind``."""
        self.by_kind.setdefault(kind, []).append(seconds)

    def values(self, kind: str | None = None) -> list[float]:
        """Latencies of one kind, or of all alerts."""
        if kind is not None:
            return list(self.by_kind.get(kind, []))
        return [value for values in self.by_kind.values() for value in values]

    def percentile(self, q: float, kind: str | None = None) -> float:
        """Nearest-rank percentile of one kind, or of all alerts; NaN when there are none."""
        return nearest_rank(self.values(kind), q)

    def describe(self) -> str:
        """One line: count, p50 and p95 per kind."""
        parts = []
        for kind in self.by_kind:
            values = self.values(kind)
            if values:
                parts.append(
                    f"{kind} ({len(values)}) p50 {nearest_rank(values, 50):.2f} s, "
                    f"p95 {nearest_rank(values, 95):.2f} s"
                )
            else:
                parts.append(f"{kind} (0)")
        return "; ".join(parts)
