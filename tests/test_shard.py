"""The camera shard's flow with fake models and matcher: per-track work, shedding, late frames, errors.

No Ray and no real models: synthetic frames go through ``CameraShard.analyse`` one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from actors.backoff import Backoff
from actors.camera.jpeg import Jpeg
from actors.camera.latest_frame import Frame
from actors.camera.shard import CameraShard, CameraSpec, CameraWorker
from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher
from actors.matcher import FaceObservation, MatchDecider, PlateObservation
from actors.watchlist import EnrolledPhoto, Subject, WatchlistSnapshot
from cluster.config import SafeCityConfig
from serve.alerts import CameraRef
from serve.errors import StoreError
from serve.face_analyzer import landmarks_from_box
from serve.imaging import encode_jpeg
from serve.types import (
    Detections,
    DetectorFrame,
    EmbeddedFace,
    FaceChip,
    FaceCrop,
    FaceQuality,
    FrameDetections,
    OcrRead,
    PlateChip,
    Shed,
)
from tests.settings import shard_settings
from tests.streams import numbered_frames, write_video

FRAME_W, FRAME_H = 960, 540
T0 = 1_750_000_000.0


def frame(index: int, step_s: float = 0.5) -> Frame:
    """A textured synthetic frame (sharp enough to read) captured ``index`` steps after T0."""
    rng = np.random.default_rng(index)
    image = rng.integers(0, 255, (FRAME_H, FRAME_W, 3), dtype=np.uint8)
    return Frame(image, T0 + index * step_s, index)


def one_box(canvas_box: tuple[float, float, float, float], score: float = 0.8) -> Detections:
    return Detections(
        np.array([canvas_box], np.float32), np.array([score], np.float32), np.zeros(1, np.int64)
    )


@dataclass
class FakeModels:
    """Detects one plate and one face at fixed canvas places; OCR reads ``plate_texts`` in turn."""

    plate_texts: list[str] = field(default_factory=lambda: ["MLB803"])
    shed_detect: bool = False
    shed_read: bool = False
    shed_embed: bool = False
    fail_detect: bool = False
    detected: list[DetectorFrame] = field(default_factory=list)
    read_calls: int = 0
    embed_calls: int = 0

    async def detect(self, frame: DetectorFrame) -> FrameDetections | Shed:
        self.detected.append(frame)
        if self.fail_detect:
            raise RuntimeError("replica died")
        if self.shed_detect:
            return Shed(3.0)
        return FrameDetections(
            one_box((100, 100, 200, 220)) if frame.faces else None,
            one_box((300, 200, 420, 230)) if frame.plates else None,
        )

    async def embed_face(self, chip: FaceChip) -> EmbeddedFace | Shed:
        self.embed_calls += 1
        if self.shed_embed:
            return Shed(2.5)
        quality = FaceQuality(100.0, 200.0, chip.detector_score, 1.0, 0.9)
        points = landmarks_from_box(chip.box)
        crop = FaceCrop(chip.box, chip.detector_score, points, np.zeros((112, 112, 3), np.uint8), quality)
        return EmbeddedFace(crop, np.ones(128, np.float32) / np.sqrt(128))

    async def read_plate(self, chip: PlateChip) -> list[OcrRead] | Shed:
        self.read_calls += 1
        if self.shed_read:
            return Shed(2.5)
        text = self.plate_texts[min(self.read_calls, len(self.plate_texts)) - 1]
        return [OcrRead(text, 0.7)]


@dataclass
class FakeMatcher:
    """Settles plate tracks whose text is on ``hotlist``; faces never match."""

    hotlist: set[str] = field(default_factory=set)
    plates: list[PlateObservation] = field(default_factory=list)
    faces: list[FaceObservation] = field(default_factory=list)
    failures_left: int = 0  # the next submits raise, as when the outbox could not store an alert

    def _fail_if_told(self) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise StoreError("injected: the outbox is full")

    async def submit_face(self, observation: FaceObservation) -> bool:
        self._fail_if_told()
        self.faces.append(observation)
        return False

    async def submit_plate(self, observation: PlateObservation) -> bool:
        self._fail_if_told()
        self.plates.append(observation)
        return observation.verdict.text in self.hotlist


def make_shard(
    models: FakeModels, matcher: FakeMatcher, *, faces: bool = False, plates: bool = True
) -> tuple[CameraShard, CameraWorker]:
    spec = CameraSpec(CameraRef("cam-1", "Camera 1", "anpr"), "unused.mp4", 2.0, faces=faces, plates=plates)
    settings = shard_settings(plate_min_reads=2, plate_max_reads=4, matcher_retry=Backoff(0.001, 0.002))
    shard = CameraShard([spec], settings, models, matcher)
    return shard, shard.workers[0]


def analyse(shard: CameraShard, worker: CameraWorker, frames: range) -> None:
    async def run() -> None:
        for index in frames:
            await shard.analyse(worker, frame(index))

    asyncio.run(run())


@pytest.mark.parametrize(("faces", "plates"), [(True, True), (True, False), (False, True)])
def test_each_frame_is_one_detector_request_asking_for_what_its_camera_needs(
    faces: bool, plates: bool
) -> None:
    models, matcher = FakeModels(), FakeMatcher()
    shard, worker = make_shard(models, matcher, faces=faces, plates=plates)
    analyse(shard, worker, range(3))
    assert [(f.faces, f.plates) for f in models.detected] == [(faces, plates)] * 3
    assert [f.captured_at for f in models.detected] == [frame(i).captured_at for i in range(3)]
    assert models.read_calls == (2 if plates else 0) and (models.embed_calls > 0) == faces
    age = worker.stats().analysed_frame_age_s  # the last analysed frame's age when detected
    assert age == pytest.approx(time.time() - frame(2).captured_at, abs=5.0)
    assert worker.stats().last_analysed_at == frame(2).captured_at


def test_a_settled_plate_track_is_never_read_again() -> None:
    models, matcher = FakeModels(), FakeMatcher(hotlist={"MLB803"})
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(10))
    assert models.read_calls == 2  # two agreeing reads settle it; eight more frames cost no OCR
    assert [o.verdict.text for o in matcher.plates] == ["MLB803"]
    stats = worker.stats()
    assert (stats.frames_analysed, stats.plates_offered, stats.plates_read) == (10, 10, 2)


def test_a_decided_plate_nobody_wants_is_not_read_again_either() -> None:
    models, matcher = FakeModels(), FakeMatcher(hotlist=set())
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(10))
    assert models.read_calls == 2
    assert len(matcher.plates) == 1  # one decision submitted, no match, nothing more


def test_disagreeing_reads_stop_at_the_per_track_cap() -> None:
    models = FakeModels(plate_texts=["MLB803", "ABC123", "XYZ789", "KHI456", "LEA999"])
    matcher = FakeMatcher()
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(12))
    assert models.read_calls == 4  # plate_max_reads


def test_shed_reads_are_counted_and_do_not_use_the_budget() -> None:
    models, matcher = FakeModels(shed_read=True), FakeMatcher(hotlist={"MLB803"})
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(6))
    assert models.read_calls == 6 and worker.stats().shed.read == 6
    models.shed_read = False
    analyse(shard, worker, range(6, 8))
    assert [o.verdict.text for o in matcher.plates] == ["MLB803"]  # still read once fresh again


def test_a_frame_shed_by_a_detector_is_counted_and_not_analysed() -> None:
    models, matcher = FakeModels(shed_detect=True), FakeMatcher()
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(3))
    stats = worker.stats()
    assert (stats.frames_analysed, stats.shed.detect, stats.shed.total) == (0, 3, 3)
    assert stats.last_analysed_at is None  # a shed frame was not looked at
    assert models.read_calls == 0


def test_a_camera_whose_frame_was_shed_unanalysed_keeps_its_place_in_the_queue() -> None:
    models, matcher = FakeModels(), FakeMatcher()
    shard, worker = make_shard(models, matcher)
    worker.take_turn()
    first_turn = worker.last_sent_at
    asyncio.run(shard.analyse(worker, frame(0)))  # analysed: the turn is used
    worker.take_turn()
    assert worker.last_sent_at > first_turn
    models.shed_detect = True
    assert isinstance(asyncio.run(shard.analyse(worker, frame(1))), Shed)
    assert worker.last_sent_at == first_turn  # back where it stood, ahead of cameras served since


def test_faces_are_embedded_per_track_and_shed_embeddings_counted() -> None:
    models, matcher = FakeModels(), FakeMatcher()
    shard, worker = make_shard(models, matcher, faces=True, plates=False)
    analyse(shard, worker, range(5))
    assert models.embed_calls == 1  # same box every frame: quality never improves
    assert len(matcher.faces) == 1
    models.shed_embed = True
    shard2, worker2 = make_shard(models, matcher, faces=True, plates=False)
    outcome = asyncio.run(shard2.analyse(worker2, frame(0)))
    assert worker2.stats().shed.embed == 1
    assert isinstance(outcome, Shed)  # the shard's window hears that the embedder is behind
    assert worker2.stats().frames_analysed == 1  # the frame itself was analysed


def test_a_match_the_matcher_failed_to_take_is_handed_over_again_not_lost() -> None:
    models, matcher = FakeModels(), FakeMatcher(hotlist={"MLB803"}, failures_left=2)
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(6))
    [decided] = matcher.plates  # taken on the third try, then the track was settled
    assert decided.verdict.text == "MLB803"
    stats = worker.stats()
    assert (stats.matcher_retries, stats.analysis_errors, stats.plates_read) == (2, 0, 2)


def test_an_older_frame_finishing_after_a_newer_one_is_counted_late() -> None:
    models, matcher = FakeModels(), FakeMatcher()
    shard, worker = make_shard(models, matcher)
    analyse(shard, worker, range(5, 6))
    analyse(shard, worker, range(2, 3))
    stats = worker.stats()
    assert (stats.frames_analysed, stats.frames_dropped) == (1, 1)


def test_a_model_error_is_counted_kept_and_logged_once_with_the_camera_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models, matcher = FakeModels(fail_detect=True), FakeMatcher()
    shard, worker = make_shard(models, matcher, faces=True)
    with caplog.at_level(logging.WARNING, logger="actors.camera.shard"):
        analyse(shard, worker, range(2))
    stats = worker.stats()
    assert stats.analysis_errors == 2
    assert stats.last_analysis_error == "RuntimeError: replica died"
    assert [r.getMessage() for r in caplog.records] == [
        "camera cam-1: analysis failed: RuntimeError: replica died"
    ]


def test_an_mjpeg_frame_that_does_not_decode_is_an_analysis_error_and_the_next_one_is_analysed() -> None:
    models, matcher = FakeModels(), FakeMatcher()
    shard, worker = make_shard(models, matcher)
    good = Frame(Jpeg(encode_jpeg(frame(2).image)), T0 + 1.0, 2)

    async def run() -> None:
        await shard.analyse(worker, Frame(Jpeg(b"\xff\xd8 truncated"), T0 + 0.5, 1))
        await shard.analyse(worker, good)

    asyncio.run(run())
    stats = worker.stats()
    assert (stats.analysis_errors, stats.frames_analysed, len(models.detected)) == (1, 1, 1)
    assert stats.last_analysis_error == (
        "ImageDecodeError: MJPEG frame of 12 bytes: not a decodable image (JPEG, PNG, BMP, WebP, TIFF)"
    )
    assert good.decoded and models.detected[0].captured_at == T0 + 1.0


@pytest.mark.parametrize("index", [0, 3])
def test_chips_carry_their_frame_time_for_shedding(index: int) -> None:
    seen: list[float] = []
    models = FakeModels()
    original = models.read_plate

    async def spy(chip: PlateChip) -> list[OcrRead] | Shed:
        seen.append(chip.captured_at)
        return await original(chip)

    models.read_plate = spy  # type: ignore[method-assign]
    shard, worker = make_shard(models, FakeMatcher())
    analyse(shard, worker, range(index, index + 1))
    assert seen == [T0 + index * 0.5]


@dataclass(frozen=True)
class Person:
    """Someone in view: a canvas box, a detector score that names them, their face embedding."""

    box: tuple[float, float, float, float]
    score: float
    vector: np.ndarray


@dataclass
class PeopleInView:
    """Face models that see ``people`` in every frame; the embedder knows a face by its detector score."""

    people: list[Person] = field(default_factory=list)

    async def detect(self, frame: DetectorFrame) -> FrameDetections | Shed:
        faces = Detections(
            np.array([p.box for p in self.people], np.float32).reshape(-1, 4),
            np.array([p.score for p in self.people], np.float32),
            np.zeros(len(self.people), np.int64),
        )
        return FrameDetections(faces, Detections.empty() if frame.plates else None)

    async def embed_face(self, chip: FaceChip) -> EmbeddedFace | Shed:
        [person] = [p for p in self.people if abs(p.score - chip.detector_score) < 1e-3]
        quality = FaceQuality(100.0, 200.0, chip.detector_score, 1.0, 0.9)
        crop = FaceCrop(
            chip.box,
            chip.detector_score,
            landmarks_from_box(chip.box),
            np.zeros((112, 112, 3), np.uint8),
            quality,
        )
        return EmbeddedFace(crop, person.vector)

    async def read_plate(self, chip: PlateChip) -> list[OcrRead] | Shed:
        raise AssertionError("no plates here")


@dataclass
class DecidingMatcher:
    """The real alert decisions behind the matcher client interface."""

    decider: MatchDecider
    alerted: list[str] = field(default_factory=list)

    async def submit_face(self, observation: FaceObservation) -> bool:
        decision = self.decider.decide_face(observation)
        self.decider.settle(decision)
        if decision.alert is not None and decision.alert.subject is not None:
            self.alerted.append(decision.alert.subject.subject_id)
        return decision.settles_track

    async def submit_plate(self, observation: PlateObservation) -> bool:
        decision = self.decider.decide_plate(observation)
        self.decider.settle(decision)
        return decision.settles_track


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return np.asarray(vector / np.linalg.norm(vector), np.float32)


def two_subject_decider(vectors: dict[str, np.ndarray]) -> MatchDecider:
    subjects, photos = {}, []
    for subject_id, vector in vectors.items():
        photo = EnrolledPhoto(f"{subject_id}-1", f"{subject_id}-1.jpg", 0.9, vector)
        subjects[subject_id] = Subject(
            subject_id, subject_id, "test", None, "op", datetime.now(UTC), (photo,)
        )
        photos.append(photo)
    snapshot = WatchlistSnapshot(
        subjects, np.stack([p.embedding for p in photos]), tuple(vectors), tuple(p.photo_id for p in photos)
    )
    return MatchDecider(WatchlistMatcher.build(snapshot, 0.5), HotlistMatcher([], datetime.now(UTC)), 120.0)


def test_a_restarted_shard_does_not_reuse_track_ids_the_matcher_already_decided() -> None:
    vectors = {"subject-a": _unit(1), "subject-b": _unit(2)}
    subject_a = Person((100, 100, 200, 220), 0.81, vectors["subject-a"])
    subject_b = Person((400, 100, 500, 220), 0.82, vectors["subject-b"])
    matcher = DecidingMatcher(two_subject_decider(vectors))
    spec = CameraSpec(CameraRef("cam-1", "Camera 1", "fr"), "unused.mp4", 2.0, faces=True, plates=False)

    models = PeopleInView([subject_a])
    before = CameraShard([spec], shard_settings(), models, matcher, clock=lambda: T0)
    analyse(before, before.workers[0], range(3))
    assert matcher.alerted == ["subject-a"]

    # The shard's process dies and Ray starts a new one: a new shard, its trackers new too. Subject B
    # is the first face it sees; then subject A, still in view, is tracked again.
    models.people = [subject_b]
    after = CameraShard([spec], shard_settings(), models, matcher, clock=lambda: T0 + 2.0)
    analyse(after, after.workers[0], range(3, 5))
    models.people = [subject_b, subject_a]
    analyse(after, after.workers[0], range(5, 8))
    assert matcher.alerted == ["subject-a", "subject-b"]  # B alerts; A's new track is in cooldown
    assert matcher.decider.counts.get("cooldown") == 1


@pytest.mark.parametrize("max_age_s", [3.0, 5.0])
def test_a_track_lives_as_long_as_the_config_says(max_age_s: float) -> None:
    config = SafeCityConfig.model_validate({"pipeline": {"track_max_age_s": max_age_s}})
    spec = CameraSpec(CameraRef("cam-1", "Camera 1", "fr"), "unused.mp4", 2.0, faces=True, plates=True)
    shard = CameraShard([spec], config.shard_settings(), FakeModels(), FakeMatcher())
    for tracker in (shard.workers[0].face_tracker, shard.workers[0].plate_tracker):
        [track] = tracker.update(np.array([[0, 0, 50, 50]], np.float32), at=T0)
        assert tracker.expired(at=T0 + max_age_s - 0.5) == []  # still the same person or car
        assert tracker.expired(at=T0 + max_age_s + 0.5) == [track]


# ---- cameras changed at runtime ----


def camera(camera_id: str, url: str, fps: float = 5.0, name: str = "") -> CameraSpec:
    ref = CameraRef(camera_id, name or camera_id, "anpr")
    return CameraSpec(ref, url, fps, faces=False, plates=True, loop=True)


def test_set_cameras_keeps_a_retuned_camera_and_restarts_one_whose_stream_changed() -> None:
    shard = CameraShard(
        [camera("a", "a.mp4"), camera("b", "b.mp4")], shard_settings(), FakeModels(), FakeMatcher()
    )
    a, b = shard.workers
    a.face_tracker.update(np.array([[0, 0, 50, 50]], np.float32), at=T0)
    asyncio.run(shard.set_cameras([camera("a", "a.mp4", fps=0.5, name="A"), camera("b", "b2.mp4")]))
    kept, restarted = shard.workers
    assert kept is a and kept.pacer.interval_s == 2.0 and kept.spec.ref.name == "A"
    assert kept.face_tracker.update(np.array([[0, 0, 50, 50]], np.float32), at=T0 + 0.1) != []  # tracks kept
    assert restarted is not b and restarted.spec.url == "b2.mp4"
    assert b.reader.stats().state == "stopped"
    assert shard.window.maximum == 2 * shard.settings.max_in_flight


def test_a_running_shard_starts_an_added_camera_and_stops_a_removed_one(tmp_path: Path) -> None:
    first = str(write_video(tmp_path / "first.mp4", numbered_frames(10), fps=10))
    second = str(write_video(tmp_path / "second.mp4", numbered_frames(10), fps=10))
    models = FakeModels()
    shard = CameraShard([camera("first", first)], shard_settings(), models, FakeMatcher())

    def analysed(camera_id: str) -> int:
        return next((row.frames_analysed for row in shard.stats() if row.camera_id == camera_id), 0)

    async def until(done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(shard.run(stop))
        await until(lambda: analysed("first") > 0, "the first camera's analysis")
        await shard.set_cameras([camera("first", first), camera("second", second)])
        await until(lambda: analysed("second") > 0, "the added camera's analysis")
        removed = shard.workers[0]
        await shard.set_cameras([camera("second", second)])
        assert [row.camera_id for row in shard.stats()] == ["second"]
        assert removed.reader.stats().state == "stopped"
        stop.set()
        await running

    asyncio.run(scenario())


class Board:
    """A share board that answers a fixed fleet lateness, or fails; stops the shard after ``rounds``."""

    def __init__(self, fleet_s: float | None, stop: asyncio.Event, rounds: int, fail: bool = False) -> None:
        self.fleet_s, self.stop, self.rounds, self.fail = fleet_s, stop, rounds, fail
        self.reports: list[float] = []

    async def report(self, lateness_s: float) -> float | None:
        self.reports.append(lateness_s)
        if len(self.reports) >= self.rounds:
            self.stop.set()
        if self.fail:
            raise ConnectionError("board gone")
        return self.fleet_s


def two_camera_shard(monkeypatch: pytest.MonkeyPatch, streaming: str) -> CameraShard:
    """Cameras ``a`` and ``b`` at 2 frames/s; the one named ``streaming`` has frames, the other is down."""
    shard = CameraShard(
        [camera("a", "a.mp4", 2.0), camera("b", "b.mp4", 2.0)], shard_settings(), FakeModels(), FakeMatcher()
    )
    for worker in shard.workers:
        stats = worker.reader.stats()
        state = "streaming" if worker.spec.ref.camera_id == streaming else "backoff"
        monkeypatch.setattr(
            worker.reader, "stats", lambda stats=stats, state=state: replace(stats, state=state)
        )
    return shard


def test_a_shard_reports_how_late_its_most_overdue_streaming_camera_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shard = two_camera_shard(monkeypatch, streaming="a")
    a, b = shard.workers
    now = time.monotonic()
    a.last_sent_at, b.last_sent_at = now - 30.0, now - 90.0  # b waited longer, but has no frames to send
    assert shard.lateness_s() == pytest.approx(29.5, abs=0.1)  # 30 s waited, 0.5 s of it its interval
    a.last_sent_at = now - 0.2
    assert shard.lateness_s() == 0.0  # on time


@pytest.mark.parametrize(("fleet_s", "weight"), [(14.5, 2.0), (29.5, 1.0), (59.0, 0.5), (None, 1.0)])
def test_the_fleets_lateness_weighs_how_fast_the_window_grows(
    monkeypatch: pytest.MonkeyPatch, fleet_s: float | None, weight: float
) -> None:
    shard = two_camera_shard(monkeypatch, streaming="a")
    shard.workers[0].last_sent_at = time.monotonic() - 30.0

    async def run() -> Board:
        stop = asyncio.Event()
        board = Board(fleet_s, stop, rounds=2)
        await shard.share_models(board, stop, interval_s=0.001)
        return board

    board = asyncio.run(run())
    assert board.reports == [pytest.approx(29.5, abs=0.1)] * 2
    assert shard.window.weight == pytest.approx(weight, rel=0.05)


def test_without_the_board_the_window_grows_as_before_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shard = two_camera_shard(monkeypatch, streaming="a")
    shard.window.set_weight(2.0)

    async def run() -> Board:
        stop = asyncio.Event()
        board = Board(10.0, stop, rounds=3, fail=True)
        await shard.share_models(board, stop, interval_s=0.001)
        return board

    with caplog.at_level(logging.WARNING):
        assert len(asyncio.run(run()).reports) == 3
    assert shard.window.weight == 1.0
    assert [r.getMessage() for r in caplog.records] == [
        "model share board unreachable, window weight 1: board gone"
    ]
