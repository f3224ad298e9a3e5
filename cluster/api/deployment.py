"""The operator API as a Ray Serve ingress application on the state node (a thin wrapper)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from cluster.api.app import build_app
from cluster.api.services import ApiServices
from cluster.config import SafeCityConfig

API_APP_NAME = "safecity-api"


@serve.deployment(name="api", num_replicas=1)  # one writer per file (keys, reviews) on the state node
@serve.ingress()
class ApiDeployment:
    """Builds the FastAPI app in the replica, so the stores open on the node that holds ``data_dir``."""

    def __init__(self, config: SafeCityConfig) -> None:
        self._config = config

    def __serve_build_asgi_app__(self) -> FastAPI:
        return build_app(ApiServices.build(self._config))


def api_application(config: SafeCityConfig) -> Application:
    """The API bound to ``config`` (its ``data_dir`` made absolute), pinned to the state node."""
    config = config.model_copy(update={"data_dir": config.data_dir.expanduser().resolve()})
    options: dict[str, Any] = {"num_cpus": config.api.num_cpus, **config.placement.state_node_options()}
    deployment: Any = ApiDeployment
    return deployment.options(ray_actor_options=options).bind(config)  # type: ignore[no-any-return]


def deploy_api(config: SafeCityConfig) -> str:
    """Start Serve's HTTP proxy on ``api.host``/``api.port`` and run the API there; returns its URL.

    Serve's proxy address is fixed when Serve starts, so the API must be deployed before anything else
    starts Serve on the cluster.
    """
    serve.start(http_options={"host": config.api.host, "port": config.api.port})
    serve.run(api_application(config), name=API_APP_NAME, route_prefix="/")
    return f"http://{config.api.host}:{config.api.port}"
