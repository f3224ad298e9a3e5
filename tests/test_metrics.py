"""Metrics: counter increments from the actors' totals, and a dashboard that asks only for real series.

That the series reach a real Prometheus from a running pipeline and move is checked in
``tests/test_pipeline.py`` (``test_prometheus_scrapes_safecity_series_that_move``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ray.util.metrics import Counter, Histogram, Metric

from actors.metrics import CameraMetrics, Deltas, DispatchMetrics, MatcherMetrics, ReviewMetrics
from serve.alerts import CameraRef

DASHBOARD = Path(__file__).resolve().parents[1] / "cluster" / "monitoring" / "grafana-dashboard.json"
# Ray Serve's own @serve.batch series (ray/serve/batching.py), which the dashboard reads for the models.
SERVE_BATCH_SERIES = {
    "ray_serve_batches_processed_total",
    "ray_serve_actual_batch_size_sum",
    "ray_serve_actual_batch_size_count",
    "ray_serve_batch_execution_time_ms_bucket",
}


def test_deltas_give_what_a_counter_must_add_and_all_of_a_restarted_processs_total() -> None:
    deltas = Deltas()
    assert [deltas.step("a", t) for t in (5, 5, 12)] == [5, 0, 7]
    assert deltas.step("a", 3) == 3  # the process restarted and counted 3 since
    assert deltas.step("b", 4) == 4  # keys are independent


def series_names(metric: Metric) -> set[str]:
    """The names Prometheus shows for ``metric`` once Ray exports it."""
    name = f"ray_{metric.info['name']}"
    if isinstance(metric, Counter):
        return {f"{name}_total"}
    if isinstance(metric, Histogram):
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return {name}


def safecity_series() -> set[str]:
    objects: list[Any] = [
        CameraMetrics([CameraRef("cam", "Cam", "fr")]),
        MatcherMetrics(),
        DispatchMetrics(),
        ReviewMetrics(),
    ]
    names: set[str] = set()
    for holder in objects:
        for value in vars(holder).values():
            metrics = value.values() if isinstance(value, dict) else [value]
            for metric in metrics:
                if isinstance(metric, Metric):
                    names |= series_names(metric)
    return names


def test_every_series_is_a_safecity_series_with_a_description() -> None:
    names = safecity_series()
    assert len(names) >= 20
    assert all(name.startswith("ray_safecity_") for name in names)
    for holder in (MatcherMetrics(), DispatchMetrics(), ReviewMetrics()):
        for value in vars(holder).values():
            for metric in value.values() if isinstance(value, dict) else [value]:
                if isinstance(metric, Metric):
                    assert metric.info["description"], metric.info["name"]


def test_the_dashboard_asks_only_for_series_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]
    asked = {name for expr in expressions for name in re.findall(r"\bray_[a-z_]+", expr)}
    assert asked, "the dashboard has no queries"
    unknown = asked - safecity_series() - SERVE_BATCH_SERIES
    assert not unknown, f"the dashboard asks for series nothing exports: {sorted(unknown)}"
    titles = {panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"}
    assert titles == {"Cameras", "Models", "Alerts", "Delivery"}
