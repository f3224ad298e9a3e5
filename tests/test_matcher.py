"""Alert decisions: one alert per track, cooldown per subject or plate and camera, nothing for strangers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistEntry, HotlistMatcher
from actors.matcher import FaceObservation, MatchDecider, PlateObservation
from actors.watchlist import EnrolledPhoto, Subject, WatchlistSnapshot
from serve.alerts import CameraRef
from serve.plate_vote import PlateVerdict

RNG = np.random.default_rng(3)
CAMERA = CameraRef("fr-gate-1", "Gate 1", "fr", 24.86, 67.0, "south")
OTHER_CAMERA = CameraRef("fr-gate-2", "Gate 2", "fr")


def unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector / np.linalg.norm(vector), np.float32)


SUBJECT_VECTOR = unit(RNG.normal(size=128))


def near(vector: np.ndarray, cosine: float) -> np.ndarray:
    noise = RNG.normal(size=128)
    noise -= (noise @ vector) * vector
    return unit(cosine * vector + np.sqrt(1 - cosine**2) * unit(noise))


def decider(cooldown_s: float = 60.0) -> MatchDecider:
    photo = EnrolledPhoto("p1", "p1.jpg", 0.9, SUBJECT_VECTOR)
    subject = Subject("subject-a", "Subject A", "test", None, "op", datetime.now(UTC), (photo,))
    snapshot = WatchlistSnapshot({"subject-a": subject}, SUBJECT_VECTOR[None, :], ("subject-a",), ("p1",))
    hotlist = HotlistMatcher([HotlistEntry("MLB803", "stolen", "op", datetime.now(UTC))], datetime.now(UTC))
    return MatchDecider(WatchlistMatcher.build(snapshot, 0.5), hotlist, cooldown_s, {"face_embedder": "test"})


def face(track: int, at: float, cosine: float = 0.7, camera: CameraRef = CAMERA) -> FaceObservation:
    return FaceObservation(camera, track, at, near(SUBJECT_VECTOR, cosine), b"\xff\xd8jpeg", 0.9)


def plate(track: int, at: float, text: str = "MLB803") -> PlateObservation:
    verdict = PlateVerdict(text, text, 0.9, "pk-abc-123", 2, 3)
    return PlateObservation(CAMERA, track, at, verdict, b"\xff\xd8jpeg")


def test_a_matching_face_gives_an_alert_with_evidence() -> None:
    decision = decider().decide_face(face(track=1, at=1_000.0))
    alert = decision.alert
    assert decision.outcome == "alert" and alert is not None
    body = alert.to_json()
    assert body["kind"] == "face" and body["status"] == "unverified"
    assert body["subject"] == {"id": "subject-a", "label": "Subject A", "category": "test"}
    assert body["evidence"]["enrolment_photo"] == "p1.jpg" and body["evidence"]["crop_jpeg_base64"]
    assert body["camera"]["location"] == {"lat": 24.86, "lon": 67.0}
    assert body["threshold"] == 0.5 and 0.6 < body["similarity"] < 0.8
    assert body["captured_at"].startswith(datetime.fromtimestamp(1_000.0, UTC).isoformat()[:19])


def test_one_alert_per_track_and_cooldown_per_subject_and_camera() -> None:
    matcher = decider(cooldown_s=60.0)
    outcomes = [
        matcher.decide_face(face(1, 1_000.0)).outcome,  # first sight of track 1
        matcher.decide_face(face(1, 1_001.0)).outcome,  # same track again
        matcher.decide_face(face(2, 1_030.0)).outcome,  # a new track of the same person, within cooldown
        matcher.decide_face(face(3, 1_030.0, camera=OTHER_CAMERA)).outcome,  # another camera
        matcher.decide_face(face(4, 1_100.0)).outcome,  # after the cooldown
    ]
    assert outcomes == ["alert", "track-done", "cooldown", "alert", "alert"]
    assert matcher.track_done_by_camera == {"fr-gate-1": 1}  # a suppression operators can see


def test_strangers_give_nothing_and_are_not_remembered() -> None:
    matcher = decider()
    stranger = FaceObservation(CAMERA, 9, 1_000.0, unit(RNG.normal(size=128)), b"jpeg", 0.9)
    assert matcher.decide_face(stranger).outcome == "no-match"
    assert matcher._decided_tracks == {}  # a stranger's track may still match later (better crop)
    assert matcher.decide_face(face(9, 1_001.0)).outcome == "alert"


def test_plate_tracks_alert_once_and_unlisted_plates_do_not() -> None:
    matcher = decider()
    assert matcher.decide_plate(plate(1, 1_000.0, "NO23456")).outcome == "no-match"
    first = matcher.decide_plate(plate(2, 1_000.0))
    assert first.alert is not None and first.alert.to_json()["plate"]["match"] == "exact"
    assert matcher.decide_plate(plate(2, 1_001.0)).outcome == "track-done"
    fuzzy = decider().decide_plate(plate(3, 1_000.0, "MLB8O3"))
    assert fuzzy.alert is not None and fuzzy.alert.to_json()["plate"]["match"] == "fuzzy"
