"""Alert decisions: one alert per track, cooldown per subject or plate and camera, nothing for strangers;
stable alert ids, decisions recorded only when settled, and memory rebuilt from stored alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from actors.dispatch.dispatcher import alert_body
from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistEntry, HotlistMatcher
from actors.matcher import (
    Decision,
    FaceObservation,
    MatchDecider,
    PlateObservation,
    mark_from_alert_body,
)
from actors.watchlist import EnrolledPhoto, Subject, WatchlistSnapshot
from serve.alerts import CameraRef
from serve.errors import SafeCityError
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
    return FaceObservation(camera, track, at, near(SUBJECT_VECTOR, cosine), b"\xff\xd8jpeg")


def plate(track: int, at: float, text: str = "MLB803") -> PlateObservation:
    verdict = PlateVerdict(text, text, 0.9, "pk-abc-123", 2, 3)
    return PlateObservation(CAMERA, track, at, verdict, b"\xff\xd8jpeg")


def settled(matcher: MatchDecider, decision: Decision) -> str:
    """What the matcher actor does once the alert (if any) is durable."""
    matcher.settle(decision)
    return decision.outcome


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
        settled(matcher, matcher.decide_face(face(1, 1_000.0))),  # first sight of track 1
        settled(matcher, matcher.decide_face(face(1, 1_001.0))),  # same track again
        settled(matcher, matcher.decide_face(face(2, 1_030.0))),  # a new track of the person, in cooldown
        settled(matcher, matcher.decide_face(face(3, 1_030.0, camera=OTHER_CAMERA))),  # another camera
        settled(matcher, matcher.decide_face(face(4, 1_100.0))),  # after the cooldown
    ]
    assert outcomes == ["alert", "track-done", "cooldown", "alert", "alert"]
    assert matcher.track_done_by_camera == {"fr-gate-1": 1}  # a suppression operators can see


def test_strangers_give_nothing_and_are_not_remembered() -> None:
    matcher = decider()
    stranger = FaceObservation(CAMERA, 9, 1_000.0, unit(RNG.normal(size=128)), b"jpeg")
    assert settled(matcher, matcher.decide_face(stranger)) == "no-match"
    assert matcher._decided_tracks == {}  # a stranger's track may still match later (better crop)
    assert settled(matcher, matcher.decide_face(face(9, 1_001.0))) == "alert"


def test_plate_tracks_alert_once_and_unlisted_plates_do_not() -> None:
    matcher = decider()
    assert settled(matcher, matcher.decide_plate(plate(1, 1_000.0, "NO23456"))) == "no-match"
    first = matcher.decide_plate(plate(2, 1_000.0))
    assert first.alert is not None and first.alert.to_json()["plate"]["match"] == "exact"
    matcher.settle(first)
    assert settled(matcher, matcher.decide_plate(plate(2, 1_001.0))) == "track-done"
    fuzzy = decider().decide_plate(plate(3, 1_000.0, "MLB8O3"))
    assert fuzzy.alert is not None and fuzzy.alert.to_json()["plate"]["match"] == "fuzzy"


def test_the_alert_id_names_the_track_so_a_repeat_decision_gets_the_same_id() -> None:
    matcher = decider()
    first = matcher.decide_face(face(1, 1_000.0))
    # Not settled (the outbox write failed, or the matcher died before it returned): the track is still
    # open, and deciding it again, from the same or a later observation, gives the same alert id.
    again = matcher.decide_face(face(1, 1_000.4, cosine=0.8))
    assert first.alert is not None and again.alert is not None
    assert first.alert.alert_id == again.alert.alert_id
    other_ids = {
        decider().decide_face(face(2, 1_000.0)).alert.alert_id,  # type: ignore[union-attr]
        decider().decide_face(face(1, 1_000.0, camera=OTHER_CAMERA)).alert.alert_id,  # type: ignore[union-attr]
        decider().decide_plate(plate(1, 1_000.0)).alert.alert_id,  # type: ignore[union-attr]
    }
    assert len(other_ids) == 3 and first.alert.alert_id not in other_ids
    assert matcher.counts == {}  # nothing counted or remembered before settling


def test_a_restarted_matcher_rebuilt_from_the_outbox_neither_repeats_nor_forgets_the_cooldown() -> None:
    before = decider(cooldown_s=60.0)
    face_alert = before.decide_face(face(1, 1_000.0)).alert
    plate_alert = before.decide_plate(plate(7, 1_002.0)).alert
    assert face_alert is not None and plate_alert is not None
    after = decider(cooldown_s=60.0)  # a new process: empty memory
    marks = [mark_from_alert_body(alert_body(a)) for a in (face_alert, plate_alert)]
    assert after.remember(marks) == 2
    assert settled(after, after.decide_face(face(1, 1_005.0))) == "track-done"  # still in view
    assert settled(after, after.decide_face(face(2, 1_010.0))) == "cooldown"  # a new track of the person
    assert settled(after, after.decide_plate(plate(7, 1_005.0))) == "track-done"
    assert settled(after, after.decide_plate(plate(8, 1_070.0))) == "alert"  # the cooldown has passed


@pytest.mark.parametrize(
    "body", [b"not json", b'{"kind": "face"}', b'{"kind": "boat", "camera": {"id": "c"}, "track_id": 1}']
)
def test_an_unreadable_stored_alert_is_named_not_guessed(body: bytes) -> None:
    with pytest.raises(SafeCityError, match="not a valid webhook body"):
        mark_from_alert_body(body)
