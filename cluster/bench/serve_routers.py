"""Ray Serve's routers as Ray's metrics endpoint shows them: one per DeploymentHandle in use.

A process that calls a deployment through a handle runs a router for it, which long-polls the Serve
controller for replica changes (one poll per process, shared by its routers) and, when the deployment
autoscales, pushes its queue lengths to the controller every few seconds (one push per router): many
handle holders overload the controller (ray-project/ray #44784, #45777). Every router sets the gauge
``ray_serve_deployment_queued_queries``, tagged with its handle id and the id of the actor it runs in,
when it starts (``ray/serve/_private/router.py``; the tags are in Serve's monitoring docs), so the
series names each router and its process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import ray
from prometheus_client.parser import text_string_to_metric_families

ROUTER_SERIES = "ray_serve_deployment_queued_queries"


@dataclass(frozen=True)
class Router:
    """One handle's router: the deployment it calls, its handle id, and the actor holding it."""

    application: str
    deployment: str
    handle: str
    actor_id: str  # empty in a driver, which is no actor


def metrics_text(port: int, host: str = "127.0.0.1") -> str:
    """What Ray's metrics endpoint on ``host:port`` (``--metrics-export-port``) exports now."""
    answer = httpx.get(f"http://{host}:{port}/metrics", timeout=10)
    answer.raise_for_status()
    return answer.text


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The (labels, value) of each sample called ``name`` in Prometheus text ``text``."""
    return [
        (dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def routers(text: str) -> set[Router]:
    """Every router in the metrics ``text``."""
    return {
        Router(labels["application"], labels["deployment"], labels["handle"], labels.get("actor_id", ""))
        for labels, _ in samples(text, ROUTER_SERIES)
    }


def cluster_routers() -> set[Router]:
    """Every router on the connected Ray cluster, from each live node's metrics endpoint."""
    everything: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    nodes = [node for node in everything if node["Alive"]]
    return {
        router
        for node in nodes
        for router in routers(metrics_text(node["MetricsExportPort"], node["NodeManagerAddress"]))
    }
