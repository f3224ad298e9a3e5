"""What the Serve controller knows of the processes that hold handles, read from Ray's metrics endpoint.

Every process with routers for a deployment keeps one long poll open at the controller for that
deployment's replicas (shared by its routers since ray-project/ray #48807). The controller's gauge
``ray_serve_long_poll_pending_clients`` counts the open polls per key, and its ``namespace`` tag is
``str`` of the key (``RAY_SERVE_COMPACT_LONG_POLL_METRIC_TAGS`` unset). The key is built here from
Serve's private key types (``ray/serve/_private/long_poll.py``), so a change in Ray breaks this one
helper, loudly (no series found), rather than the tests' reading of it.
"""

from __future__ import annotations

from typing import Any

from ray.serve._private.common import DeploymentID
from ray.serve._private.long_poll import LongPollNamespace

from cluster.bench.serve_routers import samples

PENDING_CLIENTS = "ray_serve_long_poll_pending_clients"
# Seconds a long poll waits at the controller (Serve's default is 30-60). A router's first poll is its
# own and is dropped once the process's shared poll takes over, but it stays parked at the controller
# until it times out: short timeouts let the count settle quickly. Read when the controller starts.
SHORT_POLL_ENV = {
    "LISTEN_FOR_CHANGE_REQUEST_TIMEOUT_S_LOWER_BOUND": "1",
    "LISTEN_FOR_CHANGE_REQUEST_TIMEOUT_S_UPPER_BOUND": "2",
}


def replica_listeners(text: str, application: str, deployment: str) -> int | None:
    """Processes polling the controller for ``deployment``'s replicas, per the metrics ``text``."""
    key = (LongPollNamespace.DEPLOYMENT_TARGETS, DeploymentID(name=deployment, app_name=application))
    values = [
        value for labels, value in samples(text, PENDING_CLIENTS) if labels.get("namespace") == str(key)
    ]
    return int(max(values)) if values else None


def actor_id(actor: Any) -> str:
    """The hex id of the actor behind a handle, as Serve's router series tag it (``actor_id``)."""
    return str(actor._actor_id.hex())  # ActorHandle keeps its id private; Ray has no public getter
