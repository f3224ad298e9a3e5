"""``serving:`` the Ray Serve deployments: batching, replicas and resources of each model."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cluster.config.base import Section


class Autoscaling(Section):
    """Ray Serve autoscaling for one deployment."""

    min_replicas: int = Field(1, ge=0, description="Fewest replicas kept running.")
    max_replicas: int = Field(4, ge=1, description="Most replicas started under load.")
    target_ongoing_requests: float = Field(
        4, gt=0, description="Requests in flight per replica that autoscaling aims at."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be at least min_replicas")
        return self


class DeploymentConfig(Section):
    """Batching and resources of one model deployment."""

    max_batch_size: int = Field(8, ge=1, le=256, description="Requests from many cameras batched per call.")
    batch_wait_timeout_s: float = Field(0.02, ge=0, le=5, description="Longest wait to fill a batch.")
    num_replicas: int = Field(1, ge=1, description="Fixed replica count (ignored when autoscaling is set).")
    autoscaling: Autoscaling | None = Field(
        None, description="Replicas follow the load (replaces num_replicas)."
    )
    num_cpus: float = Field(0.25, ge=0, description="CPUs reserved per replica.")
    num_gpus: float = Field(
        0.0, ge=0, description="GPU share per replica (e.g. 0.25); used only if a GPU exists."
    )
    max_ongoing_requests: int = Field(32, ge=1, description="Requests one replica holds at once; more wait.")

    def deployment_options(self, gpu_available: bool) -> dict[str, Any]:
        """Keyword arguments for ``Deployment.options``."""
        actor_options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if gpu_available and self.num_gpus > 0:
            actor_options["num_gpus"] = self.num_gpus
        options: dict[str, Any] = {
            "ray_actor_options": actor_options,
            "max_ongoing_requests": self.max_ongoing_requests,
            # A line per request (tens a second per replica) that nobody reads; errors are still logged.
            "logging_config": {"enable_access_log": False},
        }
        if self.autoscaling is not None:
            options["autoscaling_config"] = self.autoscaling.model_dump()
        else:
            options["num_replicas"] = self.num_replicas
        return options


class ServingConfig(Section):
    """One section per model deployment."""

    app_name: str = Field(
        "safecity",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Prefix of the Serve application names (safecity-detectors, ...).",
    )
    detectors: DeploymentConfig = Field(
        # Two single-threaded replicas: intra-op threads gain little on these models, two processes
        # keep both cores of a small node busy (README, Performance).
        default_factory=lambda: DeploymentConfig(num_replicas=2),
        description="Face and plate detectors together: one request per frame runs both.",
    )
    face_embedder: DeploymentConfig = Field(
        default_factory=lambda: DeploymentConfig(max_batch_size=32),
        description="The face landmark and embedding deployment.",
    )
    plate_reader: DeploymentConfig = Field(
        default_factory=lambda: DeploymentConfig(max_batch_size=4), description="The plate OCR deployment."
    )

    @model_validator(mode="before")
    @classmethod
    def _merged_detectors(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"face_detector", "plate_detector"} & data.keys()):
            raise ValueError(
                "serving.face_detector and serving.plate_detector are one deployment now: "
                "write their batching and resources under serving.detectors"
            )
        return data
