"""Enrolment through the API with the real face models: the CLI's store, rules and messages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.watchlist import PhotoUpload
from cluster.api.roles import Role
from serve.errors import EnrolmentError
from serve.face_analyzer import FaceAnalyzer
from tests.api_support import Api, live_server, make_services, role_keys
from tests.conftest import FACES, PLATE_SCENE

pytestmark = pytest.mark.models


@pytest.fixture
def api(tmp_path: Path, face_analyzer: FaceAnalyzer) -> Iterator[Api]:
    services = make_services(tmp_path, faces=lambda: face_analyzer)
    keys = role_keys(services)
    with live_server(services) as url:
        yield Api(url, services, keys)


def photo(path: Path, media: str = "image/jpeg") -> tuple[str, tuple[str, bytes, str]]:
    return ("photos", (path.name, path.read_bytes(), media))


def stored(api: Api) -> tuple[bytes, bytes]:
    table = api.services.watchlist.table_path
    return (table.read_bytes() if table.exists() else b"", api.services.audit.path.read_bytes())


def test_enrol_then_list_get_photo_and_remove(api: Api) -> None:
    fields = {"id": "subject-a", "label": "Subject A", "category": "demo", "threshold": "0.55"}
    with api.client(Role.SUPERVISOR) as client:
        made = client.post("/watchlist/subjects", data=fields, files=[photo(FACES / "person_a_1.jpg")])
        assert made.status_code == 201, made.text
        subject = made.json()
        assert (subject["subject_id"], subject["label"], subject["threshold"], subject["added_by"]) == (
            "subject-a",
            "Subject A",
            0.55,
            "supervisor-1 (supervisor)",
        )
        [listed] = client.get("/watchlist/subjects").json()
        assert listed == subject and "embedding" not in str(listed)
        photo_id = subject["photos"][0]["photo_id"]
        image = client.get(f"/watchlist/subjects/subject-a/photos/{photo_id}")
        assert image.content == (FACES / "person_a_1.jpg").read_bytes()
        assert image.headers["content-type"] == "image/jpeg"
        assert client.get("/watchlist/subjects/subject-a/photos/nope").status_code == 404
        assert client.delete("/watchlist/subjects/subject-a").status_code == 200
        assert client.get("/watchlist/subjects/subject-a").status_code == 404
        assert client.delete("/watchlist/subjects/subject-a").status_code == 404
    [enrol, view, remove] = [e for e in api.services.audit.entries() if e.action.startswith("watchlist")]
    assert (enrol.action, enrol.actor, enrol.target) == (
        "watchlist.enrol",
        "supervisor-1 (supervisor)",
        "subject-a",
    )
    assert (view.action, view.details) == ("watchlist.photo.view", {"photo_id": photo_id})
    assert remove.action == "watchlist.remove"


def test_a_refused_photo_refuses_the_whole_enrolment_with_the_clis_message(
    api: Api, face_analyzer: FaceAnalyzer
) -> None:
    try:  # what the CLI's store says about the same photo
        api.services.watchlist.enrol(
            "subject-a",
            "Subject A",
            [PhotoUpload(PLATE_SCENE.name, PLATE_SCENE.read_bytes())],
            analyzer=face_analyzer,
            actor="cli",
        )
    except EnrolmentError as exc:
        expected = str(exc)
    before = stored(api)
    with api.client(Role.SUPERVISOR) as client:
        answer = client.post(
            "/watchlist/subjects",
            data={"id": "subject-a", "label": "Subject A"},
            files=[photo(FACES / "person_a_1.jpg"), photo(PLATE_SCENE)],
        )
    assert answer.status_code == 422
    assert answer.json() == {"detail": expected, "field": "photos"}
    assert stored(api) == before
    assert not (api.services.watchlist.photo_dir).exists()


@pytest.mark.parametrize(
    ("fields", "media", "status", "field", "words"),
    [
        ({"id": "no spaces", "label": "A"}, "image/jpeg", 422, "id", "subject id 'no spaces' is invalid"),
        ({"id": "subject-a"}, "image/jpeg", 422, "label", "Field required"),
        ({"id": "subject-a", "label": " "}, "image/jpeg", 422, "label", "label must be 1-80 characters"),
        ({"id": "subject-a", "label": "A", "threshold": "1.5"}, "image/jpeg", 422, "threshold", "between 0"),
        ({"id": "subject-a", "label": "A", "threshold": "high"}, "image/jpeg", 422, "threshold", "number"),
        ({"id": "subject-a", "label": "A"}, "text/plain", 415, "photos", "person_a_1.jpg is text/plain"),
    ],
)
def test_bad_enrolments_are_refused_naming_the_field_and_nothing_is_stored(
    api: Api, fields: dict[str, str], media: str, status: int, field: str, words: str
) -> None:
    before = stored(api)
    with api.client(Role.SUPERVISOR) as client:
        answer = client.post(
            "/watchlist/subjects", data=fields, files=[photo(FACES / "person_a_1.jpg", media)]
        )
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field and words in answer.json()["detail"]
    assert stored(api) == before


def test_an_enrolment_without_photos_is_refused(api: Api) -> None:
    with api.client(Role.SUPERVISOR) as client:
        answer = client.post(
            "/watchlist/subjects", data={"id": "subject-a", "label": "A"}, files={"x": ("", b"")}
        )
    assert answer.status_code == 422 and answer.json()["field"] == "photos"


def test_a_face_search_ranks_subjects_audits_its_purpose_and_keeps_no_photo(api: Api) -> None:
    with api.client(Role.SUPERVISOR) as client:
        for subject_id, path in (("subject-a", "person_a_1.jpg"), ("subject-b", "person_b_1.jpg")):
            made = client.post(
                "/watchlist/subjects",
                data={"id": subject_id, "label": subject_id},
                files=[photo(FACES / path)],
            )
            assert made.status_code == 201, made.text
        photos_before = sorted(p.name for p in api.services.watchlist.photo_dir.iterdir())
        probe = FACES / "person_a_2.jpg"
        found = client.post(
            "/search/faces",
            data={"purpose": "case 2026/114", "k": "2"},
            files={"photo": (probe.name, probe.read_bytes(), "image/jpeg")},
        )
        assert found.status_code == 200, found.text
        first, second = found.json()["candidates"]
        assert (first["subject_id"], first["reaches_threshold"]) == ("subject-a", True)
        assert second["subject_id"] == "subject-b" and second["similarity"] < first["similarity"]
        blank = client.post(
            "/search/faces",
            data={"purpose": " "},
            files={"photo": (probe.name, probe.read_bytes(), "image/jpeg")},
        )
        assert blank.status_code == 422 and blank.json()["field"] == "purpose"
        missing = client.post(
            "/search/faces", files={"photo": (probe.name, probe.read_bytes(), "image/jpeg")}
        )
        assert missing.status_code == 422 and missing.json()["field"] == "purpose"
    with api.client(Role.OPERATOR) as client:
        refused = client.post(
            "/search/faces",
            data={"purpose": "x"},
            files={"photo": (probe.name, probe.read_bytes(), "image/jpeg")},
        )
        assert refused.status_code == 403
    assert sorted(p.name for p in api.services.watchlist.photo_dir.iterdir()) == photos_before
    [search] = [e for e in api.services.audit.entries() if e.action == "search.faces"]
    assert search.actor == "supervisor-1 (supervisor)" and search.details["purpose"] == "case 2026/114"
    assert search.target == hashlib.sha256(probe.read_bytes()).hexdigest()
    assert [c["subject_id"] for c in search.details["candidates"]] == ["subject-a", "subject-b"]
