"""Starting the live pipeline on a Ray cluster: Serve model apps, dispatcher, matcher, camera shards.

The dispatcher and the matcher read and write ``data_dir``, so they run on the state node (placement
config); camera shards and Serve replicas never touch it and are spread over the nodes. Every actor is
named in the config's namespace (``ray list actors --filter namespace=safecity``), and each starts its
own work in its constructor, so one Ray restarts after a crash carries on without being told.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray import serve

from actors import dispatcher_actor, matcher_actor
from actors.actor_address import ActorAddress
from actors.backoff import Backoff
from actors.camera import actor as camera_actor
from actors.camera import share_board_actor
from actors.camera.shard import CameraSpec
from actors.camera.stats import CameraStats
from actors.dispatcher_actor import DispatchStopReport
from cluster.camera_sync import (
    CameraDirectoryActor,
    CameraSync,
    ModelNeeds,
    running_cameras,
    sync_forever,
)
from cluster.config import SafeCityConfig
from cluster.config.serving import DeploymentConfig
from cluster.named_actors import create_named
from serve.apps import ModelApp
from serve.deployments import (
    Batching,
    DetectorsDeployment,
    FaceEmbedderDeployment,
    ModelSpec,
    PlateReaderDeployment,
    ReplicaSpec,
)
from serve.device import threads_for_share
from serve.errors import SafeCityError
from serve.models.registry import model_versions

# Ray's decorators hide ``.remote``/``.options`` from type checkers.
CameraShardActor: Any = camera_actor.CameraShardActor
DispatcherActor: Any = dispatcher_actor.DispatcherActor
MatcherActor: Any = matcher_actor.MatcherActor
ShareBoardActor: Any = share_board_actor.ShareBoardActor

DISPATCHER_NAME = "safecity-dispatcher"
MATCHER_NAME = "safecity-matcher"
CAMERA_DIRECTORY_NAME = "safecity-camera-directory"
SHARE_BOARD_NAME = "safecity-model-share"


def shard_name(index: int) -> str:
    """The name of the ``index``-th camera shard actor."""
    return f"safecity-cameras-{index}"


@dataclass(frozen=True)
class ModelDeployment:
    """A model application to run: its Serve deployment with options, and its constructor arguments."""

    deployment: Any
    arguments: tuple[Any, ...]


def model_deployments(
    config: SafeCityConfig, gpu: bool, needs: ModelNeeds | None = None
) -> dict[ModelApp, ModelDeployment]:
    """The model applications for ``needs`` (the configured cameras' by default), options from ``serving``."""
    models = ModelSpec(
        config.models.cache_dir.expanduser(),
        config.models.overrides(),
        config.models.device,
        config.models.auto_pull,
    )
    serving = config.serving
    needs = needs or ModelNeeds.of(config.cameras)
    faces, plates = needs.faces, needs.plates
    face_settings, plate_settings = config.face_settings(), config.plate_settings()
    # Each app: its deployment, its serving section, and its arguments after the model spec.
    classes: dict[ModelApp, tuple[Any, DeploymentConfig, tuple[Any, ...]]] = {
        ModelApp.DETECTORS: (
            DetectorsDeployment,
            serving.detectors,
            (face_settings if faces else None, plate_settings if plates else None),
        ),
        ModelApp.FACE_EMBEDDER: (FaceEmbedderDeployment, serving.face_embedder, (face_settings,)),
        ModelApp.PLATE_READER: (PlateReaderDeployment, serving.plate_reader, (plate_settings,)),
    }
    wanted = needs.apps()
    out = {}
    for app, (deployment, options, arguments) in classes.items():
        if app not in wanted:
            continue
        replica = ReplicaSpec(
            max_age_s=config.pipeline.max_frame_age_s,
            cpu_threads=threads_for_share(options.num_cpus),
        )
        # Batching travels in user_config: a new value reaches running replicas through reconfigure.
        batching = Batching(options.max_batch_size, options.batch_wait_timeout_s)
        with_options = deployment.options(
            name=app.value, user_config=batching.user_config(), **options.deployment_options(gpu)
        )
        out[app] = ModelDeployment(with_options, (models, *arguments, replica))
    return out


def deploy_models(config: SafeCityConfig, needs: ModelNeeds, running: ModelNeeds | None = None) -> None:
    """Run the model applications ``needs`` asks for on Serve, named by :func:`app_names`.

    With ``running`` (what is deployed already), only the detectors (which gain a model) and the
    applications not running yet are deployed: the others keep their replicas.
    """
    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    apps = model_deployments(config, gpu=resources.get("GPU", 0) > 0, needs=needs)
    if running is not None:
        have = running.apps()
        apps = {app: model for app, model in apps.items() if app == ModelApp.DETECTORS or app not in have}
    names = app_names(config)
    if apps:
        serve.run_many(
            [
                serve.RunTarget(model.deployment.bind(*model.arguments), name=names[app], route_prefix=None)
                for app, model in apps.items()
            ]
        )


def app_names(config: SafeCityConfig) -> dict[ModelApp, str]:
    """The Serve application name of every model app (deployed or not yet)."""
    return {app: app.app_name(config.serving.app_name) for app in ModelApp}


@dataclass
class RunningPipeline:
    """Handles to everything the pipeline started, and the thread that keeps its cameras in sync."""

    dispatcher: Any
    matcher: Any
    share_board: Any  # held so the board lives as long as the pipeline; None when not configured
    cameras: CameraSync
    _stop_sync: threading.Event
    _sync_thread: threading.Thread

    @property
    def shards(self) -> list[Any]:
        """The camera shard actors, by index."""
        return [shard for _, shard in sorted(self.cameras.shards.items())]

    def camera_stats(self) -> list[CameraStats]:
        """Per-camera counters from every shard."""
        return [row for rows in ray.get([s.stats.remote() for s in self.shards]) for row in rows]

    def finished(self) -> bool:
        """Whether every camera was a file that has ended."""
        return all(ray.get([s.finished.remote() for s in self.shards]))

    def stop(self, drain_timeout_s: float = 30.0) -> DispatchStopReport:
        """Stop cameras, deliver what is pending for at most ``drain_timeout_s``, stop the dispatcher."""
        self._stop_sync.set()
        self._sync_thread.join()
        ray.get([s.stop.remote() for s in self.shards])
        report: DispatchStopReport = ray.get(self.dispatcher.stop.remote(drain_timeout_s))
        return report


def _started(what: str, ready: Callable[[], object]) -> None:
    """Wait for an actor's constructor; its error (a missing secret, a locked outbox) as a clear one."""
    try:
        ready()
    except ray.exceptions.RayActorError as exc:
        raise SafeCityError(f"the {what} could not start on the state node: {exc}") from exc


def start_pipeline(config: SafeCityConfig) -> RunningPipeline:
    """Deploy the models and start the actors for every enabled camera of ``config``."""
    data_dir = str(config.data_dir.expanduser().resolve())
    placement = config.placement
    on_state_node = {"namespace": placement.namespace, **placement.state_node_options()}
    backoff = Backoff(config.dispatch.retry_initial_s, config.dispatch.retry_max_s)
    # Endpoint sources name the secret's variable or file; the dispatcher reads it on the state node.
    sources = [endpoint.source() for endpoint in config.dispatch.endpoints]
    retention = config.retention.settings()
    dispatcher = create_named(
        DispatcherActor, DISPATCHER_NAME, on_state_node, data_dir, sources, backoff, retention
    )
    _started("dispatcher", lambda: ray.get(dispatcher.ready.remote()))
    versions = model_versions(frozenset(config.models.overrides()))
    pipeline = config.pipeline
    matcher = create_named(
        MatcherActor,
        MATCHER_NAME,
        on_state_node,
        data_dir,
        config.faces.match_threshold,
        config.faces.scann_min_size,
        pipeline.cooldown_s,
        pipeline.watchlist_reload_s,
        versions,
        ActorAddress(DISPATCHER_NAME, placement.namespace),
    )
    _started("matcher", lambda: ray.get(matcher.stats.remote()))
    settings = config.shard_settings()
    spread = {
        "namespace": placement.namespace,
        "num_cpus": pipeline.actor_num_cpus,
        "scheduling_strategy": "SPREAD",
    }
    names = app_names(config)
    matcher_address = ActorAddress(MATCHER_NAME, placement.namespace)
    share_board, board_address = None, None
    if pipeline.share_models_by_lateness:
        share_board = create_named(ShareBoardActor, SHARE_BOARD_NAME, on_state_node)
        board_address = ActorAddress(SHARE_BOARD_NAME, placement.namespace)

    def make_shard(index: int, cameras: list[CameraSpec]) -> Any:
        arguments = (cameras, settings, names, matcher_address, board_address)
        return create_named(CameraShardActor, shard_name(index), spread, *arguments)

    sync = CameraSync(pipeline.cameras_per_actor, make_shard, functools.partial(deploy_models, config))
    directory = create_named(CameraDirectoryActor, CAMERA_DIRECTORY_NAME, on_state_node, data_dir)
    configured = ray.put(config.cameras)
    sync.sync(running_cameras(directory, configured))
    ray.get([actor.ready.remote() for actor in sync.shards.values()])
    stop = threading.Event()
    thread = threading.Thread(
        target=sync_forever,
        args=(sync, lambda: running_cameras(directory, configured), pipeline.camera_sync_s, stop),
        name="safecity-camera-sync",
        daemon=True,
    )
    thread.start()
    return RunningPipeline(dispatcher, matcher, share_board, sync, stop, thread)


def wait_until_finished(pipeline: RunningPipeline, timeout_s: float, poll_s: float = 0.5) -> bool:
    """For file cameras (demo, tests): wait until every camera ended; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pipeline.finished():
            return True
        time.sleep(poll_s)
    return False
