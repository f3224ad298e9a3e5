"""The camera shard as a Ray actor, calling the models through Ray Serve handles."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import ray
from ray import serve

from actors.actor_address import ActorAddress
from actors.camera.shard import CameraShard, CameraSpec, ShardSettings
from actors.camera.share_board_actor import ShareBoardHandle
from actors.camera.stats import CameraStats
from actors.matcher import FaceObservation, PlateObservation
from actors.metrics import CameraMetrics, export_forever
from serve.apps import ModelApp
from serve.types import DetectorFrame, EmbeddedFace, FaceChip, FrameDetections, OcrRead, PlateChip, Shed


class ServeModels:
    """:class:`ModelClients` over the three Serve applications."""

    def __init__(self, app_names: dict[ModelApp, str]) -> None:
        self._app_names = dict(app_names)
        self._handles: dict[ModelApp, Any] = {}

    def _handle(self, app: ModelApp) -> Any:
        """The app's handle; only the models some camera needs are deployed."""
        if app not in self._handles:
            if app not in self._app_names:
                raise RuntimeError(f"model '{app}' is not deployed: no camera of this kind was configured")
            self._handles[app] = serve.get_app_handle(self._app_names[app])
        return self._handles[app]

    async def detect(self, frame: DetectorFrame) -> FrameDetections | Shed:
        result: FrameDetections | Shed = await self._handle(ModelApp.DETECTORS).detect.remote(frame)
        return result

    async def embed_face(self, chip: FaceChip) -> EmbeddedFace | Shed:
        result: EmbeddedFace | Shed = await self._handle(ModelApp.FACE_EMBEDDER).embed.remote(chip)
        return result

    async def read_plate(self, chip: PlateChip) -> list[OcrRead] | Shed:
        result: list[OcrRead] | Shed = await self._handle(ModelApp.PLATE_READER).read.remote(chip)
        return result


class MatcherHandle:
    """:class:`MatcherClient` over the matcher actor."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    async def submit_face(self, observation: FaceObservation) -> bool:
        return bool(await self._actor.submit_face.remote(observation))

    async def submit_plate(self, observation: PlateObservation) -> bool:
        return bool(await self._actor.submit_plate.remote(observation))


@ray.remote(max_restarts=-1, max_task_retries=-1)
class CameraShardActor:
    """Owns a shard of cameras; restarts (and reconnects its cameras) if its process dies."""

    def __init__(
        self,
        cameras: Sequence[CameraSpec],
        settings: ShardSettings,
        app_names: dict[ModelApp, str],
        matcher: ActorAddress,
        board: ActorAddress | None,
    ) -> None:
        models, matcher_client = ServeModels(app_names), MatcherHandle(matcher.handle())
        shard_id = str(ray.get_runtime_context().get_actor_id())
        share = None if board is None else ShareBoardHandle(board, shard_id)
        self._shard = CameraShard(cameras, settings, models, matcher_client, board=share)
        self._stop = asyncio.Event()
        # An async actor's constructor runs on its event loop: analysis starts here, so a shard Ray
        # restarts after a crash (on this node or another) reconnects its cameras by itself.
        self._task = asyncio.get_running_loop().create_task(self._shard.run(self._stop))
        self._metrics = metrics = CameraMetrics([spec.ref for spec in cameras])
        self._exporter = asyncio.get_running_loop().create_task(
            export_forever(lambda: metrics.record(self._shard.stats()))
        )

    async def ready(self) -> bool:
        """True while analysing (the constructor has run and the shard has not stopped)."""
        return not self._task.done()

    async def stop(self) -> None:
        """Stop analysing and close the streams."""
        self._stop.set()
        await self._task
        self._exporter.cancel()

    def stats(self) -> list[CameraStats]:
        """Per-camera counters."""
        return self._shard.stats()

    def cameras(self) -> list[CameraSpec]:
        """The cameras analysed now (a restarted shard has those it was created with)."""
        return self._shard.cameras()

    async def set_cameras(self, cameras: Sequence[CameraSpec]) -> None:
        """Analyse ``cameras`` from now on (cameras added, changed or removed at runtime)."""
        await self._shard.set_cameras(cameras)
        self._metrics.set_cameras([spec.ref for spec in cameras])

    def finished(self) -> bool:
        """Whether every camera was a file that has ended."""
        return self._shard.finished()
