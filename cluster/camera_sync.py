"""Keeps the camera shards analysing the cameras that should run: the config's, with the API's changes.

The API writes camera changes to ``<data_dir>/cameras.json`` on the state node
(``cluster.camera_store``); the job reads them there, through a small actor, every
``pipeline.camera_sync_s`` and brings the shards to them: a new camera starts on a shard with room (a
new shard when all are full), a removed or disabled one stops, a changed one follows. The sync compares
what each shard reports with what it should have, so a shard that Ray restarted with the cameras it was
created with is corrected on the next round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from actors.camera.shard import CameraSpec
from cluster.camera_assignment import assign
from cluster.camera_store import CameraDirectory
from cluster.config.cameras import CameraConfig
from serve.alerts import CameraRef
from serve.apps import ModelApp

log = logging.getLogger(__name__)
SHARD_TIMEOUT_S = 10.0  # a shard that does not answer in this time (restarting) is synced next round


@dataclass(frozen=True)
class ModelNeeds:
    """Which detectors the running cameras need."""

    faces: bool
    plates: bool

    @classmethod
    def of(cls, cameras: Sequence[CameraConfig]) -> ModelNeeds:
        """What the analysed ones among ``cameras`` need."""
        analysed = [c for c in cameras if _analysed(c)]
        return cls(any(c.wants_faces for c in analysed), any(c.wants_plates for c in analysed))

    def union(self, other: ModelNeeds) -> ModelNeeds:
        """What serves both."""
        return ModelNeeds(self.faces or other.faces, self.plates or other.plates)

    def apps(self) -> set[ModelApp]:
        """The model applications these cameras call."""
        wanted = {
            ModelApp.DETECTORS: self.faces or self.plates,
            ModelApp.FACE_EMBEDDER: self.faces,
            ModelApp.PLATE_READER: self.plates,
        }
        return {app for app, needed in wanted.items() if needed}


def camera_spec(camera: CameraConfig) -> CameraSpec:
    """A shard's view of a configured camera."""
    location = camera.location
    return CameraSpec(
        ref=CameraRef(
            camera.id,
            camera.name,
            camera.kind,
            location.lat if location else None,
            location.lon if location else None,
            camera.zone,
        ),
        url=camera.url,
        analysis_fps=camera.analysis_fps,
        faces=camera.wants_faces,
        plates=camera.wants_plates,
        loop=camera.loop,
    )


def analysed_specs(cameras: Sequence[CameraConfig]) -> list[CameraSpec]:
    """The shards' view of the cameras that are analysed (enabled, not ``plain``)."""
    return [camera_spec(c) for c in cameras if _analysed(c)]


def _analysed(camera: CameraConfig) -> bool:
    return camera.enabled and camera.kind != "plain"


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class CameraDirectoryActor:
    """Answers which cameras should run, from the state node, where ``cameras.json`` is.

    An actor, not a task per round: a task every few seconds would start a fresh worker process each
    time (Ray ends idle workers beyond one per core), importing the modules anew.
    """

    def __init__(self, data_dir: str) -> None:
        self._directory = CameraDirectory(Path(data_dir))

    def cameras(self, configured: list[CameraConfig]) -> list[CameraConfig]:
        """``configured`` (the config's cameras) with the API's changes."""
        return self._directory.cameras(configured)


def running_cameras(directory: Any, configured: Any, timeout_s: float = 60.0) -> list[CameraConfig]:
    """The cameras that should run, asked of the job's :class:`CameraDirectoryActor`.

    ``configured`` is the config's camera list put in the object store once by the job (a thousand
    cameras are not sent again every round, nor kept as constructor arguments a restart would need).
    """
    cameras: list[CameraConfig] = ray.get(directory.cameras.remote(configured), timeout=timeout_s)
    return cameras


class CameraSync:
    """Creates camera shards and hands them their cameras; one round per :meth:`sync` call.

    ``make_shard(index, cameras)`` starts the shard actor of that index; ``deploy(needs, running)``
    deploys the model applications for ``needs`` where ``running`` (``None`` at first) falls short,
    before a camera that needs a new model starts.
    """

    def __init__(
        self,
        per_shard: int,
        make_shard: Callable[[int, list[CameraSpec]], Any],
        deploy: Callable[[ModelNeeds, ModelNeeds | None], None],
    ) -> None:
        self.per_shard = per_shard
        self._make_shard = make_shard
        self._deploy = deploy
        self.deployed: ModelNeeds | None = None
        self.shards: dict[int, Any] = {}
        self.assignment: dict[int, list[CameraSpec]] = {}
        self._lock = threading.Lock()  # the job's start and its sync thread

    def sync(self, cameras: Sequence[CameraConfig]) -> None:
        """Bring the shards to ``cameras`` (the config's with the API's changes)."""
        with self._lock:
            needs = ModelNeeds.of(cameras)
            wanted = needs if self.deployed is None else self.deployed.union(needs)
            if wanted != self.deployed:  # first round, or a camera needs a model not deployed yet
                self._deploy(wanted, self.deployed)
                self.deployed = wanted
            target = assign(analysed_specs(cameras), self.assignment, self.per_shard)
            started = {
                index: self._make_shard(index, specs)
                for index, specs in target.items()
                if index not in self.shards
            }
            self._correct({i: target[i] for i in self.shards})
            self.shards.update(started)
            self.assignment = target

    def _correct(self, target: dict[int, list[CameraSpec]]) -> None:
        """Hand each existing shard its cameras where what it reports differs."""
        if not target:
            return
        asked = {self.shards[index].cameras.remote(): index for index in target}
        answered, _ = ray.wait(list(asked), num_returns=len(asked), timeout=SHARD_TIMEOUT_S)
        changes = []
        for ref in answered:
            index = asked[ref]
            try:
                reported: list[CameraSpec] = ray.get(ref)
            except ray.exceptions.RayError as exc:
                log.warning("camera shard %d: not synced this round: %s", index, type(exc).__name__)
                continue
            if _by_id(reported) != _by_id(target[index]):  # the order within a shard is not kept
                log.info("camera shard %d: cameras %s", index, [s.ref.camera_id for s in target[index]])
                changes.append(self.shards[index].set_cameras.remote(target[index]))
        ray.wait(changes, num_returns=len(changes), timeout=SHARD_TIMEOUT_S)


def _by_id(specs: Sequence[CameraSpec]) -> dict[str, CameraSpec]:
    return {spec.ref.camera_id: spec for spec in specs}


def sync_forever(
    sync: CameraSync, read: Callable[[], list[CameraConfig]], every_s: float, stop: threading.Event
) -> None:
    """Run :meth:`CameraSync.sync` on ``read()`` every ``every_s`` until ``stop``; errors are logged."""
    last_error = None
    while not stop.wait(every_s):
        try:
            sync.sync(read())
            last_error = None
        except Exception as exc:  # a bad cameras.json, a node lost: the shards keep what they have
            error = f"{type(exc).__name__}: {exc}"
            if error != last_error:  # once per new error, not every round
                log.warning("camera sync failed, shards keep their cameras: %s", error)
            last_error = error
