"""Watchlist enrolment, refusals, durability and 1:N matching with the real face models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from actors.audit import AuditLog
from actors.face_matcher import WatchlistMatcher
from actors.watchlist import EnrolmentPolicy, PhotoUpload, WatchlistInputError, WatchlistStore
from cluster.config.faces import DEFAULT_MATCH_THRESHOLD
from serve.errors import EnrolmentError, MultipleFacesError, NoFaceError, NotFoundError, PoorQualityError
from serve.face_analyzer import FaceAnalyzer
from serve.imaging import encode_jpeg, read_image
from tests.conftest import FACES, PLATE_SCENE

pytestmark = pytest.mark.models


def upload(path: Path, face_index: int | None = None) -> PhotoUpload:
    return PhotoUpload(path.name, path.read_bytes(), face_index)


def enrol(store: WatchlistStore, analyzer: FaceAnalyzer, subject_id: str, *photos: PhotoUpload) -> None:
    store.enrol(
        subject_id, subject_id.title(), list(photos), analyzer=analyzer, actor="operator-1", category="test"
    )


def stored_state(store: WatchlistStore) -> tuple[bytes, bytes]:
    table = store.table_path.read_bytes() if store.table_path.exists() else b""
    audit = store.audit.path.read_bytes() if store.audit.path.exists() else b""
    return table, audit


@pytest.fixture
def store(tmp_path: Path, audit: AuditLog) -> WatchlistStore:
    return WatchlistStore(tmp_path, audit)


def test_enrol_persists_and_audits(
    store: WatchlistStore, face_analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    enrol(store, face_analyzer, "subject-a", upload(FACES / "person_a_1.jpg"))
    reopened = WatchlistStore(tmp_path, AuditLog(tmp_path / "audit.jsonl"))
    [subject] = reopened.list()
    assert (subject.subject_id, subject.label, subject.category, subject.added_by) == (
        "subject-a",
        "Subject-A",
        "test",
        "operator-1",
    )
    [photo] = subject.photos
    assert photo.embedding.shape == (128,) and abs(float(np.linalg.norm(photo.embedding)) - 1) < 1e-5
    assert reopened.photo_path(photo).read_bytes() == (FACES / "person_a_1.jpg").read_bytes()
    [entry] = list(reopened.audit.entries())
    assert (entry.actor, entry.action, entry.target) == ("operator-1", "watchlist.enrol", "subject-a")


def test_more_photos_for_a_subject_are_added_once(store: WatchlistStore, face_analyzer: FaceAnalyzer) -> None:
    enrol(store, face_analyzer, "subject-b", upload(FACES / "person_b_1.jpg"))
    enrol(
        store, face_analyzer, "subject-b", upload(FACES / "person_b_1.jpg"), upload(FACES / "person_b_2.jpg")
    )
    [subject] = store.list()
    assert len(subject.photos) == 2
    assert [e.action for e in store.audit.entries()] == ["watchlist.enrol", "watchlist.update"]


def test_remove_deletes_subject_and_photos(store: WatchlistStore, face_analyzer: FaceAnalyzer) -> None:
    enrol(store, face_analyzer, "subject-a", upload(FACES / "person_a_1.jpg"))
    enrol(store, face_analyzer, "subject-b", upload(FACES / "person_b_1.jpg"))
    photo_path = store.photo_path(store.get("subject-a").photos[0])
    store.remove("subject-a", actor="operator-2")
    assert [s.subject_id for s in store.list()] == ["subject-b"]
    assert not photo_path.exists()
    with pytest.raises(NotFoundError, match="subject-a"):
        store.remove("subject-a", actor="operator-2")
    assert [e.action for e in store.audit.entries()][-1] == "watchlist.remove"


def _two_faces(tmp_path: Path) -> Path:
    left, right = read_image(FACES / "person_a_2.jpg"), read_image(FACES / "person_b_2.jpg")
    size = (round(right.shape[1] * left.shape[0] / right.shape[0]), left.shape[0])
    right = np.asarray(cv2.resize(right, size), np.uint8)
    path = tmp_path / "two_faces.jpg"
    path.write_bytes(encode_jpeg(np.hstack([left, right])))
    return path


def _refusals(tmp_path: Path) -> list[tuple[PhotoUpload, type[Exception], str]]:
    sharp = read_image(FACES / "person_b_1.jpg")
    blurred = np.asarray(cv2.GaussianBlur(sharp, (0, 0), 8), np.uint8)
    tiny = np.asarray(cv2.resize(sharp, None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA), np.uint8)
    return [
        (
            PhotoUpload("notes.jpg", b"this is not an image"),
            EnrolmentError,
            "notes.jpg: not a decodable image",
        ),
        (PhotoUpload("empty.jpg", b""), EnrolmentError, "empty.jpg: empty"),
        (upload(PLATE_SCENE), NoFaceError, "no face found"),
        (upload(_two_faces(tmp_path)), MultipleFacesError, "2 faces found"),
        (upload(_two_faces(tmp_path), face_index=5), EnrolmentError, "face #5 requested but only 2"),
        (PhotoUpload("blurred.jpg", encode_jpeg(blurred)), PoorQualityError, "too blurred"),
        (PhotoUpload("tiny.jpg", encode_jpeg(tiny)), EnrolmentError, "tiny.jpg"),
    ]


def test_bad_photos_are_refused_and_nothing_changes(
    store: WatchlistStore, face_analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    enrol(store, face_analyzer, "subject-a", upload(FACES / "person_a_1.jpg"))
    before = stored_state(store)
    photos_before = sorted(store.photo_dir.iterdir())
    for photo, error, message in _refusals(tmp_path):
        with pytest.raises(error, match=message):
            enrol(store, face_analyzer, "subject-c", photo)
        # One bad photo among good ones refuses the whole request.
        with pytest.raises(error):
            enrol(store, face_analyzer, "subject-a", upload(FACES / "person_a_2.jpg"), photo)
        assert stored_state(store) == before, photo.name
        assert sorted(store.photo_dir.iterdir()) == photos_before


def test_bad_ids_labels_and_thresholds_are_refused(
    store: WatchlistStore, face_analyzer: FaceAnalyzer
) -> None:
    photo = upload(FACES / "person_a_1.jpg")
    for subject_id, label, threshold, message in [
        ("../etc", "X", None, "subject id"),
        ("", "X", None, "subject id"),
        ("subject-a", " ", None, "label"),
        ("subject-a", "X", 1.5, "threshold"),
    ]:
        with pytest.raises(WatchlistInputError, match=message):
            store.enrol(subject_id, label, [photo], analyzer=face_analyzer, actor="op", threshold=threshold)
    assert not store.table_path.exists() and not store.audit.path.exists()


def test_choosing_one_of_several_faces(
    store: WatchlistStore, face_analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    group = _two_faces(tmp_path)
    # Faces are numbered best score first; subject B is the one on the right.
    [found] = face_analyzer.detect([read_image(group)])
    enrol(store, face_analyzer, "subject-b", upload(group, face_index=int(found.xyxy[:, 0].argmax())))
    matcher = WatchlistMatcher.build(store.snapshot(), DEFAULT_MATCH_THRESHOLD)
    probe = face_analyzer.analyze([read_image(FACES / "person_b_1.jpg")])[0][0][1]
    assert probe is not None
    [match] = matcher.match_faces([probe])
    assert match is not None and match.subject_id == "subject-b"


def test_one_to_n_matching_on_the_bundled_pairs(store: WatchlistStore, face_analyzer: FaceAnalyzer) -> None:
    enrol(store, face_analyzer, "subject-a", upload(FACES / "person_a_1.jpg"))
    enrol(store, face_analyzer, "subject-b", upload(FACES / "person_b_1.jpg"))
    matcher = WatchlistMatcher.build(store.snapshot(), DEFAULT_MATCH_THRESHOLD)
    probes = ["person_a_2.jpg", "person_b_2.jpg", "impostor_1.jpg", "impostor_2.jpg"]
    faces = [
        face for image in face_analyzer.analyze([read_image(FACES / p) for p in probes]) for _, face in image
    ]
    assert all(face is not None for face in faces)
    matches = matcher.match_faces([f for f in faces if f is not None])
    assert [m.subject_id if m else None for m in matches] == ["subject-a", "subject-b", None, None]
    assert all(m.threshold == DEFAULT_MATCH_THRESHOLD for m in matches if m)


def test_a_subject_threshold_overrides_the_default(
    store: WatchlistStore, face_analyzer: FaceAnalyzer
) -> None:
    store.enrol(
        "subject-a",
        "Subject A",
        [upload(FACES / "person_a_1.jpg")],
        analyzer=face_analyzer,
        actor="op",
        threshold=0.9,
    )
    matcher = WatchlistMatcher.build(store.snapshot(), DEFAULT_MATCH_THRESHOLD)
    probe = face_analyzer.analyze([read_image(FACES / "person_a_2.jpg")])[0][0][1]
    assert probe is not None
    assert matcher.match_faces([probe]) == [None]


def test_stricter_enrolment_policy_refuses_the_small_portrait(
    store: WatchlistStore, face_analyzer: FaceAnalyzer
) -> None:
    # person_a_1.jpg is the smallest bundled face (about 76 px).
    with pytest.raises(PoorQualityError, match="at least 100 px"):
        store.enrol(
            "subject-a",
            "Subject A",
            [upload(FACES / "person_a_1.jpg")],
            analyzer=face_analyzer,
            actor="op",
            policy=EnrolmentPolicy(min_face_px=100),
        )
