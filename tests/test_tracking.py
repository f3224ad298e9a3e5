"""Tracking faces and plates per camera (synthetic boxes, injected times)."""

from __future__ import annotations

import numpy as np

from actors.tracking.face_tracks import FaceTrackBook
from actors.tracking.plate_tracks import PlateTrackBook
from actors.tracking.tracker import IouTracker, track_id_base
from serve.plate_vote import PlateCandidate


def box(x: float, y: float, w: float = 100, h: float = 120) -> list[float]:
    return [x, y, x + w, y + h]


def test_a_box_moving_steadily_keeps_its_id() -> None:
    tracker = IouTracker(max_age_s=2.0)
    ids = [tracker.update(np.array([box(100 + 20 * i, 50)], np.float32), at=i * 0.5)[0] for i in range(10)]
    assert len(set(ids)) == 1


def test_large_jumps_at_low_frame_rates_are_still_followed() -> None:
    tracker = IouTracker(max_age_s=2.0)
    # A whole box width per frame: the boxes never overlap, the centres move 0.64 box diagonals.
    ids = [tracker.update(np.array([box(100 + 100 * i, 50)], np.float32), at=i * 0.5)[0] for i in range(5)]
    assert len(set(ids)) == 1


def test_two_people_crossing_keep_their_ids() -> None:
    tracker = IouTracker(max_age_s=2.0)
    history: list[list[int]] = []
    for i in range(9):
        left_to_right = box(100 + 50 * i, 50)
        right_to_left = box(500 - 50 * i, 60)
        history.append(tracker.update(np.array([left_to_right, right_to_left], np.float32), at=i * 0.5))
    assert all(ids == history[0] for ids in history)
    assert history[0][0] != history[0][1]


def test_reappearing_after_max_age_is_a_new_track_and_old_ones_expire() -> None:
    tracker = IouTracker(max_age_s=2.0)
    [first] = tracker.update(np.array([box(100, 50)], np.float32), at=0.0)
    assert tracker.expired(at=1.0) == []
    assert tracker.expired(at=2.5) == [first]
    [second] = tracker.update(np.array([box(100, 50)], np.float32), at=3.0)
    assert second != first
    assert tracker.expired(at=5.5) == [second]  # the only track left


def test_new_far_away_detections_get_new_ids() -> None:
    tracker = IouTracker(max_age_s=2.0)
    [a] = tracker.update(np.array([box(0, 0)], np.float32), at=0.0)
    b, c = tracker.update(np.array([box(5, 0), box(900, 500)], np.float32), at=0.5)
    assert b == a and c not in (a, 0)
    assert tracker.update(np.zeros((0, 4), np.float32), at=1.0) == []


def test_face_book_embeds_first_then_better_faces_up_to_a_cap() -> None:
    book = FaceTrackBook(max_embeddings_per_track=2, min_quality_gain=0.05)
    decisions = [book.offer(7, q) for q in (0.5, 0.52, 0.6, 0.9, 0.95)]
    assert decisions == [True, False, True, False, False]
    assert (book.offered, book.accepted) == (5, 2)


def test_face_book_stops_after_a_match_and_forgets_ended_tracks() -> None:
    book = FaceTrackBook(max_embeddings_per_track=3)
    assert book.offer(1, 0.5)
    book.settle(1)
    assert not book.offer(1, 0.99)
    book.forget([1])
    assert book.offer(1, 0.5)  # a forgotten id is a new track


def read(text: str, confidence: float = 0.6, fits: bool = True) -> PlateCandidate:
    return PlateCandidate(text, text, confidence, "fmt" if fits else None)


def test_tracks_aged_out_during_update_are_still_reported_as_expired() -> None:
    # No detections for a while, then a new person: update() drops the stale track, and expired()
    # must still report it, or the track books would never forget it.
    tracker = IouTracker(max_age_s=2.0)
    [old] = tracker.update(np.array([box(100, 50)], np.float32), at=0.0)
    [new] = tracker.update(np.array([box(800, 400)], np.float32), at=10.0)
    assert new > old
    assert tracker.expired(at=10.0) == [old]
    assert tracker.expired(at=10.5) == []  # reported once


def test_half_a_width_per_frame_keeps_the_id() -> None:
    tracker = IouTracker(max_age_s=2.0)
    ids = [tracker.update(np.array([box(100 + 50 * i, 50)], np.float32), at=i * 0.5)[0] for i in range(8)]
    assert ids == [ids[0]] * 8


def test_a_box_of_very_different_size_nearby_is_a_new_track() -> None:
    tracker = IouTracker(max_age_s=2.0)
    [a] = tracker.update(np.array([box(100, 50)], np.float32), at=0.0)
    [b] = tracker.update(np.array([box(150, 50, w=300, h=360)], np.float32), at=0.5)
    assert b != a


def test_settling_a_forgotten_track_does_not_bring_it_back() -> None:
    faces, plates = FaceTrackBook(max_embeddings_per_track=3), PlateTrackBook(min_reads=2, max_reads=4)
    assert faces.offer(4, 0.5)
    assert plates.offer(4, 0.5)
    faces.forget([4])
    plates.forget([4])
    faces.settle(4)  # the match came back after the track had ended
    plates.settle(4)
    assert plates.add(4, [read("MLB803")], b"a") is None  # a read that was in flight
    assert len(faces) == 0 and len(plates) == 0


def test_track_ids_start_from_the_base_of_the_trackers_start() -> None:
    base = track_id_base(1_750_000_000.123)
    assert base == 1_750_000_000_123_000 and base < 2**53  # exact in any JSON reader
    tracker = IouTracker(max_age_s=2.0, first_id=base)
    ids = tracker.update(np.array([box(0, 0), box(500, 300)], np.float32), at=0.0)
    assert ids == [base, base + 1]


def test_a_tracker_started_later_never_reuses_an_earlier_trackers_ids() -> None:
    first = IouTracker(max_age_s=2.0, first_id=track_id_base(1_000.0))
    used = {i for step in range(200) for i in first.update(np.array([box(step * 700, 0)], np.float32), step)}
    second = IouTracker(max_age_s=2.0, first_id=track_id_base(1_001.0))  # restarted a second later
    [new] = second.update(np.array([box(0, 0)], np.float32), at=0.0)
    assert new not in used
