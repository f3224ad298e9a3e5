"""Face search ranking: one entry per subject (its best photo), below-threshold subjects marked."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from actors.face_matcher import WatchlistMatcher
from actors.watchlist import EnrolledPhoto, Subject, WatchlistSnapshot


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(128, np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def snapshot(photos: dict[str, list[np.ndarray]], thresholds: dict[str, float | None]) -> WatchlistSnapshot:
    subjects, rows, row_subject, row_photo = {}, [], [], []
    for subject_id, embeddings in photos.items():
        enrolled = tuple(
            EnrolledPhoto(f"{subject_id}-{i}", f"{subject_id}-{i}.jpg", 0.9, e)
            for i, e in enumerate(embeddings)
        )
        subjects[subject_id] = Subject(
            subject_id, subject_id.title(), "demo", thresholds[subject_id], "t", datetime.now(UTC), enrolled
        )
        for photo in enrolled:
            rows.append(photo.embedding)
            row_subject.append(subject_id)
            row_photo.append(photo.photo_id)
    return WatchlistSnapshot(subjects, np.stack(rows), tuple(row_subject), tuple(row_photo))


def test_candidates_rank_subjects_by_their_best_photo_and_mark_thresholds() -> None:
    probe = unit(1, 0)
    matcher = WatchlistMatcher.build(
        snapshot(
            {
                "subject-a": [unit(1, 0.1), unit(1, 0.05), unit(0, 1)],  # three photos, the best counts
                "subject-b": [unit(1, 1)],  # cosine 0.71
                "subject-c": [unit(0, 1)],  # cosine 0
            },
            {"subject-a": None, "subject-b": 0.8, "subject-c": None},
        ),
        0.5,
    )
    found = matcher.candidates(probe, 5)
    assert [c.subject_id for c in found] == ["subject-a", "subject-b", "subject-c"]
    assert found[0].photo_id == "subject-a-1" and found[0].reaches_threshold
    assert found[1].threshold == 0.8 and not found[1].reaches_threshold  # its own threshold, above 0.71
    assert [c.subject_id for c in matcher.candidates(probe, 1)] == ["subject-a"]
    assert WatchlistMatcher.build(_empty(), 0.5).candidates(probe, 3) == []


def _empty() -> WatchlistSnapshot:
    return WatchlistSnapshot({}, np.zeros((0, 128), np.float32), (), ())
