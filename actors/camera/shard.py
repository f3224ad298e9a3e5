"""A shard of cameras analysed by one process: pacing, bounded work in flight, tracking, decisions.

Pure asyncio (no Ray): the models and the matcher are injected, so the whole flow tests without a
cluster. ``actors/camera/actor.py`` wraps it in a Ray actor with Ray Serve handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from actors.backoff import Backoff
from actors.camera.latest_frame import Frame, LatestFrameReader, StreamSettings
from actors.camera.letterbox import Canvas, letterbox
from actors.camera.model_share import REPORT_INTERVAL_S, share_weight
from actors.camera.pacing import AnalysisPacer, CongestionWindow, InFlightLimiter
from actors.camera.stats import CameraStats, ShedCounts
from actors.matcher import FaceObservation, PlateObservation
from actors.tracking.book import TrackBook
from actors.tracking.face_tracks import FaceTrackBook
from actors.tracking.plate_tracks import PlateTrackBook, plate_crop_quality
from actors.tracking.tracker import IouTracker, track_id_base
from serve.alerts import CameraRef
from serve.imaging import Image, clip_box, crop, encode_jpeg, expand_box, laplacian_variance
from serve.plate_text import PlateFormat
from serve.plate_vote import candidate
from serve.types import (
    Box,
    Detections,
    DetectorFrame,
    EmbeddedFace,
    FaceChip,
    FrameDetections,
    OcrRead,
    PlateChip,
    Shed,
)

log = logging.getLogger(__name__)

FACE_CHIP_MAX_PX = 256
EVIDENCE_MAX_PX = 320
# Not configured: a matcher that refused an observation (its outbox failed) is asked again soon.
MATCHER_RETRY = Backoff(0.2, 5.0)


class ModelClients(Protocol):
    """The perception models, wherever they run (Ray Serve in production)."""

    async def detect(self, frame: DetectorFrame) -> FrameDetections | Shed: ...
    async def embed_face(self, chip: FaceChip) -> EmbeddedFace | Shed: ...
    async def read_plate(self, chip: PlateChip) -> list[OcrRead] | Shed: ...


class ShareBoardClient(Protocol):
    """Where shards compare how late their cameras are: the fleet's lateness back, ``None`` if unknown."""

    async def report(self, lateness_s: float) -> float | None: ...


class MatcherClient(Protocol):
    """The matcher: True when a track is settled (matched), so it needs no more work."""

    async def submit_face(self, observation: FaceObservation) -> bool: ...
    async def submit_plate(self, observation: PlateObservation) -> bool: ...


@dataclass(frozen=True)
class CameraSpec:
    """One camera as a shard sees it."""

    ref: CameraRef
    url: str
    analysis_fps: float
    faces: bool
    plates: bool
    loop: bool = False


@dataclass(frozen=True)
class ShardSettings:
    """Per-camera limits, tracking and stream handling.

    Built from the config only (``SafeCityConfig.shard_settings``): no field has a second default here.
    """

    max_in_flight: int
    target_detect_age_s: float  # frames back older than this shrink the shard's window (AIMD)
    detector_canvas: Canvas
    track_max_age_s: float
    face_embeddings_per_track: int
    face_full_size_px: float  # a face this size (shorter side) counts fully in the pre-embedding estimate
    plate_min_reads: int
    plate_max_reads: int
    plate_formats: Sequence[PlateFormat]
    plate_max_corrections: int
    evidence_jpeg_quality: int
    stream: StreamSettings
    matcher_retry: Backoff = MATCHER_RETRY


def _region(image: Image, box: Box, factor: float, max_px: int) -> tuple[Image, Box, float]:
    """Crop around ``box`` (grown by ``factor``, shrunk to ``max_px``), the box in crop pixels, the scale."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = clip_box(expand_box(box, factor), width, height)
    region: Image = image[y1:y2, x1:x2]
    scale = min(1.0, max_px / max(1, max(region.shape[:2])))
    if scale < 1.0:
        region = np.asarray(
            cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
    inner = ((box[0] - x1) * scale, (box[1] - y1) * scale, (box[2] - x1) * scale, (box[3] - y1) * scale)
    return np.ascontiguousarray(region, dtype=np.uint8), inner, scale


def open_reader(spec: CameraSpec, settings: ShardSettings) -> LatestFrameReader:
    """The camera's reading thread (not started yet)."""
    return LatestFrameReader(spec.url, settings.stream, camera_id=spec.ref.camera_id, loop_files=spec.loop)


class CameraWorker:
    """Everything one camera needs in a shard."""

    def __init__(
        self, spec: CameraSpec, settings: ShardSettings, reader: LatestFrameReader, started_at: float
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.reader = reader
        self.pacer = AnalysisPacer(spec.analysis_fps)
        self.limiter = InFlightLimiter(settings.max_in_flight)
        first_id = track_id_base(started_at)
        self.face_tracker = IouTracker(max_age_s=settings.track_max_age_s, first_id=first_id)
        self.plate_tracker = IouTracker(max_age_s=settings.track_max_age_s, first_id=first_id)
        self.face_book = FaceTrackBook(max_embeddings_per_track=settings.face_embeddings_per_track)
        self.plate_book = PlateTrackBook(
            min_reads=settings.plate_min_reads, max_reads=settings.plate_max_reads
        )
        self.tracking_lock = asyncio.Lock()
        self.last_tracked_at = float("-inf")
        self.analysed = 0
        self.late = 0
        self.shed_detect = 0
        self.shed_embed = 0
        self.shed_read = 0
        self.errors = 0
        self.last_error: str | None = None
        self.matcher_retries = 0
        self.analysed_frame_age_s: float | None = None
        self.last_analysed_at: float | None = None  # captured_at of the last analysed frame
        self.last_sent_at = float("-inf")  # monotonic time its last frame went to the models
        self._turn_before = float("-inf")
        self._created_at = time.monotonic()

    def take_turn(self) -> None:
        """A frame goes to the models now: the camera waits behind the others for its next turn."""
        self._turn_before, self.last_sent_at = self.last_sent_at, time.monotonic()

    def keep_turn(self) -> None:
        """Its frame was shed before analysis: the camera keeps the place it had rather than a round."""
        self.last_sent_at = min(self.last_sent_at, self._turn_before)

    def lateness_s(self, now: float) -> float:
        """Seconds past its analysis interval that a streaming camera has waited for its turn (0 if not)."""
        if self.reader.stats().state != "streaming":
            return 0.0  # no frames to analyse: not waiting for the models
        waited = now - (self._created_at if self.last_sent_at == float("-inf") else self.last_sent_at)
        return max(0.0, waited - self.pacer.interval_s)

    def stats(self) -> CameraStats:
        """Counters for operators and the demo summary."""
        reader = self.reader.stats()
        return CameraStats(
            camera_id=self.spec.ref.camera_id,
            state=reader.state,
            frames_read=reader.frames_read,
            frames_analysed=self.analysed,
            frames_dropped=self.limiter.dropped + self.late,
            shed=ShedCounts(self.shed_detect, self.shed_embed, self.shed_read),
            reconnects=reader.reconnects,
            last_frame_age_s=reader.last_frame_age_s,
            stream_error=reader.last_error,
            analysis_errors=self.errors,
            last_analysis_error=self.last_error,
            faces_offered=self.face_book.offered,
            faces_embedded=self.face_book.accepted,
            plates_offered=self.plate_book.offered,
            plates_read=self.plate_book.accepted,
            matcher_retries=self.matcher_retries,
            analysed_frame_age_s=self.analysed_frame_age_s,
            last_analysed_at=self.last_analysed_at,
        )


class CameraShard:
    """Analyses a shard of cameras until stopped."""

    def __init__(
        self,
        cameras: Sequence[CameraSpec],
        settings: ShardSettings,
        models: ModelClients,
        matcher: MatcherClient,
        clock: Callable[[], float] = time.time,
        board: ShareBoardClient | None = None,
    ) -> None:
        self.settings = settings
        self.models = models
        self.matcher = matcher
        self.board = board
        self._clock = clock
        self.workers = [self._worker(spec) for spec in cameras]
        self.window = CongestionWindow(settings.target_detect_age_s, maximum=self._window_maximum())
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._running = False
        self._rng = random.Random()

    def _worker(self, spec: CameraSpec) -> CameraWorker:
        return CameraWorker(spec, self.settings, open_reader(spec, self.settings), self._clock())

    def _window_maximum(self) -> int:
        return max(1, self.settings.max_in_flight * len(self.workers))

    def stats(self) -> list[CameraStats]:
        """Per-camera counters."""
        return [worker.stats() for worker in self.workers]

    def cameras(self) -> list[CameraSpec]:
        """The cameras this shard analyses now."""
        return [worker.spec for worker in self.workers]

    async def set_cameras(self, cameras: Sequence[CameraSpec]) -> None:
        """Analyse ``cameras`` from now on: new ones start, gone ones stop, changed ones follow.

        A camera whose rate, name or zone changed keeps its stream and tracks; one whose stream or
        analysis changed starts afresh. Frames of a stopped camera still in flight finish on their own.
        """
        wanted = {spec.ref.camera_id: spec for spec in cameras}
        kept: list[CameraWorker] = []
        stopped: list[CameraWorker] = []
        for worker in self.workers:
            spec = wanted.pop(worker.spec.ref.camera_id, None)
            if spec is None or not _same_stream(worker.spec, spec):
                stopped.append(worker)
                if spec is not None:
                    wanted[spec.ref.camera_id] = spec  # restarted below with its new stream
                continue
            if spec.analysis_fps != worker.spec.analysis_fps:
                worker.pacer.set_rate(spec.analysis_fps)
            worker.spec = spec
            kept.append(worker)
        started = [self._worker(spec) for spec in wanted.values()]
        self.workers = kept + started
        self.window.resize(self._window_maximum())
        if self._running:
            for worker in started:
                worker.reader.start()
        for worker in stopped:
            await asyncio.to_thread(worker.reader.stop)

    def lateness_s(self) -> float:
        """How far the shard's most overdue camera is behind its analysis rate, in seconds."""
        now = time.monotonic()
        return max((worker.lateness_s(now) for worker in self.workers), default=0.0)

    async def share_models(
        self, board: ShareBoardClient, stop: asyncio.Event, interval_s: float = REPORT_INTERVAL_S
    ) -> None:
        """Until stopped: tell the board how late this shard is, and weigh the window by the answer."""
        unreachable = False
        while not stop.is_set():
            own = self.lateness_s()
            try:
                fleet = await board.report(own)
                unreachable = False
            except Exception as exc:  # advice only: without the board the window grows as before
                if not unreachable:
                    log.warning("model share board unreachable, window weight 1: %s", exc)
                fleet, unreachable = None, True
            self.window.set_weight(share_weight(own, fleet))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    def finished(self) -> bool:
        """True when every camera is a file that has ended and nothing is in flight."""
        return not self._tasks and all(w.reader.stats().state == "ended" for w in self.workers)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll each camera's newest frame and analyse those that are due."""
        self._stopping = stop
        self._running = True
        for worker in self.workers:
            worker.reader.start()
        sharing = None if self.board is None else asyncio.create_task(self.share_models(self.board, stop))
        try:
            while not stop.is_set():
                fastest = max((w.spec.analysis_fps for w in self.workers), default=1.0)
                tick_s = min(0.05, 0.5 / fastest)
                # The camera that waited longest goes first: when the shard's window is the limit, every
                # camera gets its turn instead of the first ones in the list taking every slot.
                for worker in sorted(self.workers, key=lambda w: w.last_sent_at):
                    if not self.window.has_room():
                        break  # frames wait at their cameras, newest kept, rather than queue at the models
                    frame = worker.reader.latest()
                    if frame is None or not worker.pacer.should_analyse(frame.seq, frame.captured_at):
                        continue
                    if not worker.limiter.try_acquire():
                        continue
                    self.window.try_acquire()  # room was checked above; nothing else takes slots
                    worker.take_turn()
                    task = asyncio.get_running_loop().create_task(self._analyse_and_release(worker, frame))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick_s)
        finally:
            self._running = False
            if sharing is not None:
                sharing.cancel()
                await asyncio.gather(sharing, return_exceptions=True)
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            for worker in self.workers:
                await asyncio.to_thread(worker.reader.stop)

    async def _analyse_and_release(self, worker: CameraWorker, frame: Frame) -> None:
        outcome: float | Shed | None = None
        try:
            outcome = await self.analyse(worker, frame)
        finally:
            worker.limiter.release()
            if isinstance(outcome, Shed):
                self.window.release(None)
            elif outcome is None:
                self.window.neutral()
            else:
                self.window.release(outcome)

    async def analyse(self, worker: CameraWorker, frame: Frame) -> float | Shed | None:
        """Detect, track, and embed or read what the track books ask for; errors are counted, not raised.

        Returns the frame's age when its detections came back, a :class:`Shed` when the detectors
        dropped it as stale or a model dropped one of its chips, or ``None`` after an error (for the
        shard's congestion window: a chip shed says the embedder or the reader is the bottleneck).
        """
        try:
            if not frame.decoded:  # an MJPEG frame: decode off the event loop (a 1080p JPEG takes ~10 ms)
                await asyncio.to_thread(lambda: frame.image)
            canvas, transform = letterbox(frame.image, self.settings.detector_canvas)
            request = DetectorFrame(canvas, frame.captured_at, worker.spec.faces, worker.spec.plates)
            found = await self.models.detect(request)
            if isinstance(found, Shed):
                worker.shed_detect += 1  # the frame went stale in the detectors' queue: the next one wins
                worker.keep_turn()
                return found
            faces, plates = found.faces, found.plates
            age_s = worker.analysed_frame_age_s = time.time() - frame.captured_at
            async with worker.tracking_lock:
                if frame.captured_at < worker.last_tracked_at:
                    worker.late += 1  # an older frame finished after a newer one: tracks moved on
                    return age_s
                worker.last_tracked_at = frame.captured_at
                face_jobs = self._track_faces(worker, frame, faces, transform.to_source) if faces else []
                plate_jobs = self._track_plates(worker, frame, plates, transform.to_source) if plates else []
            chips_shed = [shed for shed in await asyncio.gather(*face_jobs, *plate_jobs) if shed is not None]
            worker.analysed += 1
            worker.last_analysed_at = frame.captured_at
            return chips_shed[0] if chips_shed else age_s
        except Exception as exc:  # one bad frame or a model hiccup must not stop the camera
            worker.errors += 1
            error = f"{type(exc).__name__}: {exc}"
            if error != worker.last_error:  # once per new error, not once per frame
                log.warning("camera %s: analysis failed: %s", worker.spec.ref.camera_id, error)
            worker.last_error = error
            return None

    def _track_faces(
        self, worker: CameraWorker, frame: Frame, detections: Detections, to_source: Any
    ) -> list[Any]:
        jobs = []
        tracked = _track(worker.face_tracker, worker.face_book, frame, detections, to_source)
        for track_id, box, score in tracked:
            size = min(box[2] - box[0], box[3] - box[1])
            estimate = score * min(1.0, size / self.settings.face_full_size_px)
            if worker.face_book.offer(track_id, estimate):
                jobs.append(self._embed_and_match(worker, frame, track_id, box, score))
        return jobs

    async def _embed_and_match(
        self, worker: CameraWorker, frame: Frame, track_id: int, box: Box, score: float
    ) -> Shed | None:
        chip_image, chip_box, scale = _region(frame.image, box, 1.6, FACE_CHIP_MAX_PX)
        result = await self.models.embed_face(FaceChip(chip_image, chip_box, score, frame.captured_at, scale))
        if isinstance(result, Shed):
            worker.shed_embed += 1
            return result
        if result.embedding is None:
            return None
        evidence, _, _ = _region(frame.image, box, 1.4, EVIDENCE_MAX_PX)
        observation = FaceObservation(
            worker.spec.ref,
            track_id,
            frame.captured_at,
            np.asarray(result.embedding, np.float32),
            encode_jpeg(evidence, self.settings.evidence_jpeg_quality),
        )
        if await self._hand_over(worker, lambda: self.matcher.submit_face(observation)):
            worker.face_book.settle(track_id)
        return None

    def _track_plates(
        self, worker: CameraWorker, frame: Frame, detections: Detections, to_source: Any
    ) -> list[Any]:
        """Track the plates; only crops the track's read budget accepts go to OCR."""
        jobs = []
        tracked = _track(worker.plate_tracker, worker.plate_book, frame, detections, to_source)
        for track_id, box, score in tracked:
            pixels = crop(frame.image, box)
            sharpness = laplacian_variance(pixels) if pixels.size else 0.0
            if worker.plate_book.offer(track_id, plate_crop_quality(box[2] - box[0], score, sharpness)):
                jobs.append(self._read_and_match(worker, frame, track_id, box, score))
        return jobs

    async def _read_and_match(
        self, worker: CameraWorker, frame: Frame, track_id: int, box: Box, score: float
    ) -> Shed | None:
        chip_image, chip_box, _ = _region(frame.image, box, 1.5, 640)
        try:
            reads = await self.models.read_plate(PlateChip(chip_image, chip_box, score, frame.captured_at))
        except BaseException:
            worker.plate_book.cancel(track_id)
            raise
        if isinstance(reads, Shed):
            worker.shed_read += 1
            worker.plate_book.cancel(track_id)
            return reads
        settings = self.settings
        candidates = [
            candidate(r.text, r.confidence, settings.plate_formats, settings.plate_max_corrections)
            for r in reads
        ]
        evidence, _, _ = _region(frame.image, box, 1.6, EVIDENCE_MAX_PX)
        verdict = worker.plate_book.add(
            track_id, candidates, encode_jpeg(evidence, settings.evidence_jpeg_quality)
        )
        if verdict is None:
            return None
        observation = PlateObservation(
            worker.spec.ref, track_id, frame.captured_at, verdict, worker.plate_book.evidence(track_id)
        )
        if await self._hand_over(worker, lambda: self.matcher.submit_plate(observation)):
            worker.plate_book.settle(track_id)
        return None

    async def _hand_over(self, worker: CameraWorker, submit: Callable[[], Awaitable[bool]]) -> bool:
        """Give an observation to the matcher, retrying until it is taken: a match must not be lost.

        The matcher raises when it could not store an alert (the outbox failed); the alert id is derived
        from the track, so a retry that the matcher had in fact stored is dropped as a repeat.
        """
        attempt = 0
        while True:
            try:
                return await submit()
            except Exception:
                if self._stopping.is_set():
                    raise
                attempt += 1
                worker.matcher_retries += 1
                with contextlib.suppress(TimeoutError):
                    delay = self.settings.matcher_retry.delay(attempt, self._rng)
                    await asyncio.wait_for(self._stopping.wait(), delay)


def _same_stream(before: CameraSpec, after: CameraSpec) -> bool:
    """Whether a camera changed only in what its stream and tracks survive (rate, name, zone)."""
    return (before.url, before.faces, before.plates, before.loop) == (
        after.url,
        after.faces,
        after.plates,
        after.loop,
    )


def _track(
    tracker: IouTracker, book: TrackBook[Any], frame: Frame, detections: Detections, to_source: Any
) -> list[tuple[int, Box, float]]:
    """Track id, box in frame pixels and score of each detection; the book forgets ended tracks."""
    boxes = to_source(detections.xyxy)
    track_ids = tracker.update(boxes, frame.captured_at)
    book.forget(tracker.expired(frame.captured_at))
    return [
        (track_id, _box(boxes[index]), float(detections.confidence[index]))
        for index, track_id in enumerate(track_ids)
    ]


def _box(row: Any) -> Box:
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
