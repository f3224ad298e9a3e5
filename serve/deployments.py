"""Ray Serve deployments of the perception models, batched across cameras.

Thin wrappers: each builds its model with the same factories as the CLI (``serve.perception``),
warms it up, and exposes one ``@serve.batch`` method. Camera actors call them through handles with
small inputs only: letterboxed detector input, face chips, plate chips.

Batch size and wait come in Serve's ``user_config`` (:class:`Batching`), so an operator changes them
with a new config and Serve calls ``reconfigure`` on the running replicas, without restarting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from ray import serve

from serve.apps import ModelApp
from serve.liveness import Liveness
from serve.models.registry import ModelRole
from serve.models.store import ModelSource, ModelStore
from serve.perception import (
    FaceSettings,
    PlateSettings,
    build_face_analyzer,
    build_face_detector,
    build_plate_detector,
    build_plate_reader,
)
from serve.shedding import run_fresh
from serve.types import (
    Detections,
    DetectorFrame,
    EmbeddedFace,
    Face,
    FaceChip,
    FrameDetections,
    OcrRead,
    PlateChip,
    Shed,
)
from serve.yolo_detector import YoloDetector


@dataclass(frozen=True)
class ModelSpec:
    """Where a replica finds its weights and which device it runs on."""

    cache_dir: Path
    overrides: dict[ModelRole, ModelSource] = field(default_factory=dict)
    device: str = "auto"
    auto_pull: bool = True

    def store(self) -> ModelStore:
        """The replica's own model store (pulls on this node if needed)."""
        return ModelStore(self.cache_dir, self.overrides, auto_pull=self.auto_pull, show_progress=False)


@dataclass(frozen=True)
class ReplicaSpec:
    """How one replica of a deployment works: shedding and its CPU threads.

    ``cpu_threads`` comes from the replica's CPU share (:func:`serve.device.threads_for_share`), so
    replicas sharing a node do not each start a thread per core.
    """

    max_age_s: float
    cpu_threads: int


@dataclass(frozen=True)
class Batching:
    """A deployment's batching, carried in Serve's ``user_config`` (a plain dict)."""

    max_batch_size: int
    batch_wait_timeout_s: float

    def user_config(self) -> dict[str, Any]:
        """The ``user_config`` of a deployment's options."""
        return asdict(self)

    @classmethod
    def from_user_config(cls, user_config: dict[str, Any]) -> Batching:
        """Read back :meth:`user_config`; a missing or unknown key raises."""
        return cls(**user_config)


class _ModelReplica:
    """What each model deployment shares: batching from ``user_config``, a health check that can fail."""

    batched: ClassVar[str]  # the name of the deployment's ``@serve.batch`` method
    liveness: Liveness
    max_age_s: float

    def _probe(self) -> None:
        """Run the model on a tiny input; raise if it does not answer."""
        raise NotImplementedError

    def _ready(self, replica: ReplicaSpec) -> None:
        """After the models are built: warm them up with the probe, then watch that they answer."""
        self.max_age_s = replica.max_age_s
        self._probe()
        self.liveness = Liveness(self._probe)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve's lightweight update: :class:`Batching` for the batch method (Ray's defaults before)."""
        batching = Batching.from_user_config(user_config)
        method = getattr(self, self.batched)
        method.set_max_batch_size(batching.max_batch_size)
        method.set_batch_wait_timeout_s(batching.batch_wait_timeout_s)

    async def check_health(self) -> None:
        """Serve's periodic health check: raises when the model does not answer (see ``Liveness``)."""
        await asyncio.to_thread(self.liveness.check)


@serve.deployment(name=ModelApp.DETECTORS.value)
class DetectorsDeployment(_ModelReplica):
    """YOLO face and plate detection on letterboxed frames: one request per frame for both models.

    One request instead of one per detector halves what a frame costs outside the models (the
    canvas crosses the object store once, one router call, one reply); measured in README.
    A detector no camera needs (``None`` settings) is not loaded.
    """

    batched = "detect"

    def __init__(
        self,
        models: ModelSpec,
        faces: FaceSettings | None,
        plates: PlateSettings | None,
        replica: ReplicaSpec,
    ) -> None:
        if faces is None and plates is None:
            raise ValueError("the detectors deployment needs face or plate settings")
        store, device, threads = models.store(), models.device, replica.cpu_threads
        self.faces = None if faces is None else build_face_detector(store, device, faces, cpu_threads=threads)
        self.plates = (
            None if plates is None else build_plate_detector(store, device, plates, cpu_threads=threads)
        )
        self._ready(replica)

    def _probe(self) -> None:
        for detector in (self.faces, self.plates):
            if detector is not None:
                detector.warm_up()

    def _detect_sync(self, frames: list[DetectorFrame]) -> list[FrameDetections]:
        faces = _run_on(self.faces, [f for f in frames if f.faces], "face")
        plates = _run_on(self.plates, [f for f in frames if f.plates], "plate")
        found = [
            FrameDetections(next(faces) if f.faces else None, next(plates) if f.plates else None)
            for f in frames
        ]
        self.liveness.answered()
        return found

    @serve.batch
    async def detect(self, frames: list[DetectorFrame]) -> list[FrameDetections | Shed]:
        """Detections per frame, in that canvas's pixels; stale frames are shed."""
        return await asyncio.to_thread(run_fresh, frames, self._detect_sync, max_age_s=self.max_age_s)


def _run_on(detector: YoloDetector | None, frames: list[DetectorFrame], kind: str) -> Iterator[Detections]:
    """One batched call of ``detector`` on the frames that asked for it."""
    if not frames:
        return iter(())
    if detector is None:
        raise RuntimeError(f"a frame asked for {kind} detection, which this deployment does not run")
    return iter(detector.detect([frame.canvas for frame in frames]))


@serve.deployment(name=ModelApp.FACE_EMBEDDER.value)
class FaceEmbedderDeployment(_ModelReplica):
    """Landmarks, alignment, quality and SFace embedding of face chips."""

    batched = "embed"

    def __init__(self, models: ModelSpec, settings: FaceSettings, replica: ReplicaSpec) -> None:
        self.analyzer = build_face_analyzer(
            models.store(), models.device, settings, cpu_threads=replica.cpu_threads
        )
        self._ready(replica)

    def _probe(self) -> None:
        embedder = self.analyzer.embedder
        embeddings = embedder.embed([np.zeros((112, 112, 3), np.uint8)])
        if embeddings.shape != (1, embedder.dim) or not np.isfinite(embeddings).all():
            raise RuntimeError(f"the face embedder gave {embeddings.shape} or non-finite values")

    def _embed_sync(self, chips: list[FaceChip]) -> list[EmbeddedFace]:
        crops = [self.analyzer.crop(c.image, c.box, c.detector_score, c.size_scale) for c in chips]
        usable = [c for c in crops if self.analyzer.is_usable(c)]
        faces: dict[int, Face] = {id(f.crop): f for f in self.analyzer.embed(usable)}
        self.liveness.answered()
        return [EmbeddedFace(c, faces[id(c)].embedding if id(c) in faces else None) for c in crops]

    @serve.batch
    async def embed(self, chips: list[FaceChip]) -> list[EmbeddedFace | Shed]:
        """One result per chip; faces below the quality gate come back without an embedding."""
        return await asyncio.to_thread(run_fresh, chips, self._embed_sync, max_age_s=self.max_age_s)


@serve.deployment(name=ModelApp.PLATE_READER.value)
class PlateReaderDeployment(_ModelReplica):
    """The configured recogniser (``plates.ocr_backend``) on the text lines of plate chips, batched."""

    batched = "read"

    def __init__(self, models: ModelSpec, settings: PlateSettings, replica: ReplicaSpec) -> None:
        self.reader = build_plate_reader(
            models.store(), models.device, settings, cpu_threads=replica.cpu_threads
        )
        self._ready(replica)

    def _probe(self) -> None:
        self.reader.read(np.full((96, 96, 3), 114, np.uint8), (8.0, 8.0, 88.0, 40.0))

    def _read_sync(self, chips: list[PlateChip]) -> list[list[OcrRead]]:
        reads = self.reader.read_many([(chip.image, chip.box) for chip in chips])
        self.liveness.answered()
        return reads

    @serve.batch
    async def read(self, chips: list[PlateChip]) -> list[list[OcrRead] | Shed]:
        """The reads (one per view) of each chip; stale chips are shed."""
        return await asyncio.to_thread(run_fresh, chips, self._read_sync, max_age_s=self.max_age_s)
