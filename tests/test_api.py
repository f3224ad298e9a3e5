"""The operator API over real HTTP: roles, refusals, lists, alerts and their review, audit, the stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from actors.camera.stats import ShedCounts
from cluster.api.roles import Role
from cluster.api.throttle import FailureThrottle
from cluster.cli import main
from cluster.config.cameras import CameraConfig
from tests.api_support import (
    Api,
    face_alert,
    live_server,
    log_alerts,
    make_services,
    plate_alert,
    role_keys,
)
from tests.camera_counters import camera_stats


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    services = make_services(tmp_path, max_upload_mb=1)
    keys = role_keys(services)
    with live_server(services) as url:
        yield Api(url, services, keys)


# ---- authentication and roles ----

# Read-only calls of each resource and the roles that may make them.
ALLOWED = {
    "/keys": {Role.ADMIN},
    "/watchlist/subjects": {Role.SUPERVISOR},
    "/hotlist": {Role.SUPERVISOR},
    "/alerts": {Role.OPERATOR, Role.SUPERVISOR},
    "/cameras": {Role.OPERATOR, Role.SUPERVISOR},
    "/audit": {Role.AUDITOR},
    "/me": set(Role),
}


def test_healthz_and_docs_need_no_key(api: Api) -> None:
    with api.client() as client:
        assert client.get("/healthz").json()["status"] == "ok"
    assert httpx.get(f"{api.url}/docs").status_code == 200
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    assert "/api/v1/alerts/{alert_id}/review" in paths and "/api/v1/watchlist/subjects" in paths


@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_each_role_is_admitted_or_refused_with_403_and_the_refusal_is_audited(api: Api, path: str) -> None:
    for role in Role:
        with api.client(role) as client:
            answer = client.get(path)
        if role in ALLOWED[path]:
            assert answer.status_code == 200, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert f"role {role}" in answer.json()["detail"]
            last = list(api.services.audit.entries())[-1]
            assert (last.actor, last.action, last.target) == (
                f"{role}-1 ({role})",
                "api.refused",
                f"GET /api/v1{path}",
            )
            assert last.details["status"] == 403


@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_no_key_or_an_unknown_key_is_401_and_audited(tmp_path: Path, path: str) -> None:
    services = make_services(tmp_path, auth_max_failures=100)
    with live_server(services) as url:
        api = Api(url, services, role_keys(services))
        basic = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        for client in (api.client(), api.client(token="sck_not-a-key"), basic):
            with client:
                answer = client.get(path)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "Bearer"
        refusals = [e for e in services.audit.entries() if e.action == "api.refused"]
        assert [(e.actor, e.details["status"]) for e in refusals] == [("anonymous", 401)] * 3


def test_writes_refused_by_role_change_nothing(api: Api) -> None:
    before = api.services.audit.path.read_bytes()
    with api.client(Role.OPERATOR) as client:
        assert client.post("/hotlist", json={"plate": "ABC123", "reason": "x"}).status_code == 403
        assert client.post("/keys", json={"name": "mine", "role": "admin"}).status_code == 403
    with api.client(Role.AUDITOR) as client:
        assert client.post("/alerts/x/review", json={}).status_code == 403
    assert not api.services.hotlist.path.exists()
    assert [k.name for k in api.services.keys.list()] == sorted(f"{r}-1" for r in Role)
    added = api.services.audit.path.read_bytes()[len(before) :].decode().splitlines()
    assert [json.loads(line)["action"] for line in added] == ["api.refused"] * 3


def test_repeated_failures_from_one_address_are_slowed_down(tmp_path: Path) -> None:
    now = [1000.0]
    services = make_services(tmp_path)
    services.throttle = FailureThrottle(3, 60.0, clock=lambda: now[0])
    keys = role_keys(services)
    with live_server(services) as url:
        api = Api(url, services, keys)
        with api.client(token="sck_guess") as guesser, api.client(Role.OPERATOR) as operator:
            assert [guesser.get("/me").status_code for _ in range(3)] == [401, 401, 401]
            refused = guesser.get("/me")
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 60
            # The address is refused before its key is looked at: a valid key waits too.
            assert operator.get("/me").status_code == 429
            now[0] += 61
            assert operator.get("/me").status_code == 200
    statuses = [e.details["status"] for e in services.audit.entries() if e.action == "api.refused"]
    assert statuses == [401, 401, 401, 429, 429]


def test_keys_made_by_an_admin_work_at_once_and_stop_when_revoked(api: Api) -> None:
    with api.client(Role.ADMIN) as admin:
        made = admin.post("/keys", json={"name": "desk-7", "role": "operator"})
        assert made.status_code == 201
        token = made.json()["key"]
        listed = admin.get("/keys").json()
        assert {"name": "desk-7", "role": "operator", "created_by": "admin-1 (admin)"}.items() <= next(
            k for k in listed if k["name"] == "desk-7"
        ).items()
        assert all("key" not in k and "sha256" not in k for k in listed)
        assert token not in api.services.keys.path.read_text()
        with api.client(token=token) as desk:
            assert desk.get("/me").json() == {"name": "desk-7", "role": "operator"}
            assert admin.post("/keys", json={"name": "desk-7", "role": "auditor"}).status_code == 409
            assert admin.delete("/keys/desk-7").status_code == 200
            assert desk.get("/me").status_code == 401
        assert admin.delete("/keys/desk-7").status_code == 404
        bad = admin.post("/keys", json={"name": "no spaces", "role": "chief"})
        assert bad.status_code == 422 and bad.json()["field"] in {"name", "role"}
    changes = [
        (e.actor, e.action, e.target) for e in api.services.audit.entries() if e.action.startswith("key.")
    ]
    assert changes[-2:] == [
        ("admin-1 (admin)", "key.create", "desk-7"),
        ("admin-1 (admin)", "key.revoke", "desk-7"),
    ]


# ---- hotlist ----


def test_hotlist_add_list_remove_with_expiry_and_audit(api: Api) -> None:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with api.client(Role.SUPERVISOR) as client:
        added = client.post(
            "/hotlist", json={"plate": "mlb-803", "reason": "demo: stolen", "expires_at": expires}
        )
        assert added.status_code == 201, added.text
        assert added.json()["plate"] == "MLB803" and added.json()["added_by"] == "supervisor-1 (supervisor)"
        [entry] = client.get("/hotlist").json()
        assert entry["plate"] == "MLB803" and not entry["expired"]
        assert datetime.fromisoformat(entry["expires_at"]) == datetime.fromisoformat(expires)
        assert client.delete("/hotlist/MLB 803").status_code == 200
        assert client.get("/hotlist").json() == []
        assert client.delete("/hotlist/MLB803").status_code == 404
    assert [a for a in api.audit_actions() if a.startswith("hotlist")] == ["hotlist.add", "hotlist.remove"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plate": "--", "reason": "x"}, "plate"),
        ({"plate": "ABC123", "reason": "  "}, "reason"),
        ({"plate": "ABC123"}, "reason"),
        ({"plate": "ABC123", "reason": "x", "expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        ({"plate": "ABC123", "reason": "x", "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"plate": "ABC123", "reason": "x", "expires_at": "next week"}, "expires_at"),
        ({"plate": "ABC123", "reason": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_hotlist_entries_are_refused_naming_the_field_and_nothing_is_stored(
    api: Api, body: dict[str, str], field: str
) -> None:
    audit_before = api.services.audit.path.read_bytes()
    with api.client(Role.SUPERVISOR) as client:
        answer = client.post("/hotlist", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and field in answer.json()["detail"]
    assert not api.services.hotlist.path.exists()
    assert api.services.audit.path.read_bytes() == audit_before


def test_bodies_over_the_limit_or_of_unstated_length_are_refused(api: Api) -> None:
    with api.client(Role.SUPERVISOR) as client:
        big = client.post("/hotlist", content=b"x" * 1_000_001, headers={"Content-Type": "application/json"})
        assert big.status_code == 413 and "at most 1000000" in big.json()["detail"]

        def chunks() -> Iterator[bytes]:
            yield b'{"plate": "ABC123", "reason": "x"}'

        assert client.post("/hotlist", content=chunks()).status_code == 411
    assert not api.services.hotlist.path.exists()


# ---- alerts and review ----


def test_alerts_are_listed_newest_first_filtered_and_paged(api: Api) -> None:
    now = datetime.now(UTC)
    old = face_alert(captured_at=now - timedelta(hours=2))
    face = face_alert(captured_at=now - timedelta(minutes=1))
    plate = plate_alert(captured_at=now)
    log_alerts(api.services.runtime.data_dir, old, face, plate)
    with api.client(Role.OPERATOR) as client:
        page = client.get("/alerts").json()
        assert page["total"] == 3
        assert [a["alert_id"] for a in page["items"]] == [plate.alert_id, face.alert_id, old.alert_id]
        assert all("evidence_jpeg_base64" not in a for a in page["items"])

        def ids(**params: str | int) -> list[str]:
            return [a["alert_id"] for a in client.get("/alerts", params=params).json()["items"]]

        assert ids(camera="fr-gate-1") == [face.alert_id, old.alert_id]
        assert ids(kind="plate") == [plate.alert_id]
        assert ids(since=(now - timedelta(hours=1)).isoformat()) == [plate.alert_id, face.alert_id]
        assert ids(until=(now - timedelta(hours=1)).isoformat()) == [old.alert_id]
        assert ids(limit=1, offset=1) == [face.alert_id]
        assert ids(status="unverified") == [plate.alert_id, face.alert_id, old.alert_id]
        assert ids(status="rejected") == []
        bad = client.get("/alerts", params={"kind": "bicycle"})
        assert bad.status_code == 422 and bad.json()["field"] == "kind"
        assert client.get("/alerts", params={"limit": 0}).json()["field"] == "limit"
        naive = client.get("/alerts", params={"since": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["field"] == "since"


def test_an_alert_shows_its_evidence_and_enrolment_photo_and_each_view_is_audited(api: Api) -> None:
    data_dir = api.services.runtime.data_dir
    photo_dir = data_dir / "watchlist-photos"
    photo_dir.mkdir()
    (photo_dir / "p1.jpg").write_bytes(b"enrolment-photo")
    alert = face_alert()
    log_alerts(data_dir, alert)
    with api.client(Role.OPERATOR) as client:
        detail = client.get(f"/alerts/{alert.alert_id}").json()
        assert client.get("/alerts/no-such-alert").status_code == 404
    assert detail["evidence_jpeg_base64"] == alert.to_json()["evidence"]["crop_jpeg_base64"]
    assert detail["enrolment_photo"] == "p1.jpg"
    assert detail["enrolment_photo_base64"] == "ZW5yb2xtZW50LXBob3Rv"  # b"enrolment-photo"
    assert (detail["similarity"], detail["threshold"], detail["camera_name"], detail["zone"]) == (
        0.6123,
        0.5,
        "Gate 1",
        "south",
    )
    [view] = [e for e in api.services.audit.entries() if e.action == "alert.view"]
    assert (view.actor, view.target) == ("operator-1 (operator)", alert.alert_id)


def test_a_review_is_stored_audited_and_sets_the_alerts_status_once(api: Api) -> None:
    data_dir = api.services.runtime.data_dir
    alert, other = face_alert(), plate_alert()
    log_alerts(data_dir, alert, other)
    body = {"decision": "rejected", "reason": "different person on closer look", "officer": "PC 4471"}
    with api.client(Role.OPERATOR) as client:
        stored = client.post(f"/alerts/{alert.alert_id}/review", json=body)
        assert stored.status_code == 201, stored.text
        assert stored.json()["keep"] is False
        again = client.post(f"/alerts/{alert.alert_id}/review", json={**body, "decision": "confirmed"})
        assert again.status_code == 409 and "already rejected by PC 4471" in again.json()["detail"]
        assert client.get(f"/alerts/{alert.alert_id}").json()["status"] == "rejected"
        assert [
            a["alert_id"] for a in client.get("/alerts", params={"status": "rejected"}).json()["items"]
        ] == [alert.alert_id]
        assert client.get("/alerts", params={"status": "unverified"}).json()["total"] == 1
    [row] = pq.read_table(data_dir / "reviews.parquet").to_pylist()
    assert (row["alert_id"], row["decision"], row["reason"], row["officer"], row["reviewed_by"]) == (
        alert.alert_id,
        "rejected",
        "different person on closer look",
        "PC 4471",
        "operator-1 (operator)",
    )
    [entry] = [e for e in api.services.audit.entries() if e.action == "alert.review"]
    assert entry.target == alert.alert_id and entry.details == {
        "decision": "rejected",
        "reason": "different person on closer look",
        "officer": "PC 4471",
        "keep": False,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe", "reason": "r", "officer": "o"}, "decision"),
        ({"decision": "confirmed", "reason": "", "officer": "o"}, "reason"),
        ({"decision": "confirmed", "reason": "r", "officer": "   "}, "officer"),
        ({"decision": "confirmed", "reason": "r"}, "officer"),
        ({"decision": "rejected", "reason": "r", "officer": "o", "keep": True}, "keep"),
        ({"decision": "confirmed", "reason": "r", "officer": "o", "keep": "forever"}, "keep"),
    ],
)
def test_bad_reviews_are_refused_naming_the_field_and_nothing_is_stored(
    api: Api, body: dict[str, str | bool], field: str
) -> None:
    alert = face_alert()
    log_alerts(api.services.runtime.data_dir, alert)
    with api.client(Role.OPERATOR) as client:
        answer = client.post(f"/alerts/{alert.alert_id}/review", json=body)
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
        unknown = client.post(
            "/alerts/nope/review", json={"decision": "confirmed", "reason": "r", "officer": "o"}
        )
        assert unknown.status_code == 404
    assert not (api.services.runtime.data_dir / "reviews.parquet").exists()
    assert "alert.review" not in api.audit_actions()


def test_new_alerts_arrive_on_the_stream(tmp_path: Path) -> None:
    services = make_services(tmp_path, stream_poll_s=0.05)
    earlier = face_alert()
    log_alerts(tmp_path, earlier)  # logged before the stream opened: not sent again
    keys = role_keys(services)
    with live_server(services) as url:
        api = Api(url, services, keys)
        with api.client(Role.OPERATOR) as client, client.stream("GET", "/alerts/stream") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(lines) == ": connected"
            fresh = plate_alert()
            log_alerts(tmp_path, fresh)
            deadline = time.monotonic() + 20
            for line in lines:
                assert time.monotonic() < deadline, "no event within 20 s"
                if line.startswith("data: "):
                    data = line
                    break
    event = json.loads(data.removeprefix("data: "))
    assert (event["alert_id"], event["plate_text"], event["status"]) == (
        fresh.alert_id,
        "MLB803",
        "unverified",
    )


def test_a_retention_purge_removes_old_alerts_but_not_a_confirmed_and_kept_one_and_is_audited(
    api: Api,
) -> None:
    data_dir = api.services.runtime.data_dir
    now = datetime.now(UTC)
    kept, confirmed, rejected, unreviewed = (
        face_alert(captured_at=now - timedelta(days=40)) for _ in range(4)
    )
    recent = plate_alert(captured_at=now - timedelta(days=29))
    log_alerts(data_dir, kept, confirmed, rejected, unreviewed, recent)
    review = {"reason": "checked on the spot", "officer": "PC 4471"}
    with api.client(Role.OPERATOR) as client:
        stored = client.post(
            f"/alerts/{kept.alert_id}/review", json={**review, "decision": "confirmed", "keep": True}
        )
        assert stored.status_code == 201 and stored.json()["keep"] is True, stored.text
        for alert, decision in ((confirmed, "confirmed"), (rejected, "rejected")):
            assert (
                client.post(
                    f"/alerts/{alert.alert_id}/review", json={**review, "decision": decision}
                ).status_code
                == 201
            )

        # The same code the dispatcher runs on its schedule, as `safecity purge` runs it beside `serve`.
        assert main(["--data-dir", str(data_dir), "--actor", "ops-cron", "purge"]) == 0

        listed = client.get("/alerts").json()
        assert [a["alert_id"] for a in listed["items"]] == [recent.alert_id, kept.alert_id]
        detail = client.get(f"/alerts/{kept.alert_id}").json()
        assert detail["status"] == "confirmed" and detail["review"]["keep"] is True
        assert detail["evidence_jpeg_base64"] == kept.to_json()["evidence"]["crop_jpeg_base64"]
        for alert in (confirmed, rejected, unreviewed):
            assert client.get(f"/alerts/{alert.alert_id}").status_code == 404
        assert (
            client.post(
                f"/alerts/{unreviewed.alert_id}/review", json={**review, "decision": "rejected"}
            ).status_code
            == 404
        )
    assert set(api.services.reviews.all()) == {kept.alert_id}
    with api.client(Role.AUDITOR) as client:
        page = client.get("/audit", params={"action": "retention.purge"}).json()
    assert page["chain_intact"]
    [entry] = page["entries"]
    assert entry["actor"] == "ops-cron"
    assert {k: entry["details"][k] for k in ("alerts", "reviews", "kept")} == {
        "alerts": 3,
        "reviews": 2,
        "kept": 1,
    }
    cutoff = datetime.fromisoformat(entry["details"]["cutoff"])
    assert (
        timedelta(days=30) - timedelta(minutes=5) < now - cutoff < timedelta(days=30) + timedelta(minutes=5)
    )


# ---- audit ----


def test_the_audit_log_is_read_newest_first_with_its_chain_verified(api: Api) -> None:
    with api.client(Role.SUPERVISOR) as client:
        client.post("/hotlist", json={"plate": "ABC123", "reason": "demo"})
    with api.client(Role.AUDITOR) as client:
        page = client.get("/audit", params={"limit": 2}).json()
        assert page["chain_intact"] and page["chain_error"] is None
        assert page["entries"][0]["action"] == "hotlist.add" and len(page["entries"]) == 2
        assert [
            e["action"] for e in client.get("/audit", params={"action": "key.create"}).json()["entries"]
        ] == ["key.create"] * 4
        lines = api.services.audit.path.read_text().splitlines()
        lines[0] = lines[0].replace("test-setup", "someone-else")
        api.services.audit.path.write_text("\n".join(lines) + "\n")
        broken = client.get("/audit").json()
        assert not broken["chain_intact"] and "line 2" in broken["chain_error"]


def test_the_console_is_served_and_loads_nothing_from_outside(api: Api) -> None:
    page = httpx.get(f"{api.url}/")
    assert page.status_code == 200 and "<title>SafeCity console</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "content-security-policy" not in httpx.get(f"{api.url}/docs").headers  # Swagger UI's own page
    for name in ("", "console.js", "console.css"):
        text = httpx.get(f"{api.url}/{name}").text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


def test_two_supervisors_changing_the_hotlist_at_once_lose_no_change(api: Api) -> None:
    second = api.services.keys.create("supervisor-2", Role.SUPERVISOR, "test-setup")[1]

    def add_plates(token: str, prefix: str) -> list[int]:
        with api.client(token=token) as client:
            return [
                client.post("/hotlist", json={"plate": f"{prefix}{n:03d}", "reason": "demo"}).status_code
                for n in range(12)
            ]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(add_plates, [api.keys[Role.SUPERVISOR], second], ["ABC", "XYZ"]))
    assert results == [[201] * 12] * 2
    plates = [entry.plate for entry in api.services.hotlist.list()]
    assert plates == [f"ABC{n:03d}" for n in range(12)] + [f"XYZ{n:03d}" for n in range(12)]
    assert api.audit_actions().count("hotlist.add") == 24
    api.services.audit.verify()


def test_cameras_are_listed_with_live_counters_and_no_password(tmp_path: Path) -> None:
    cameras = [
        CameraConfig(
            id="gate", name="Gate", url="rtsp://viewer:s3cret@10.0.0.5/stream1", kind="fr", zone="south"
        ),
        CameraConfig(id="road", name="Road", url="road.mp4", kind="anpr", enabled=False),
    ]
    gate = camera_stats(
        "gate",
        frames_read=120,
        frames_analysed=40,
        frames_dropped=2,
        shed=ShedCounts(detect=1, embed=2),
        reconnects=1,
        last_frame_age_s=0.2,
        faces_offered=3,
        faces_embedded=3,
    )
    services = make_services(tmp_path, cameras=cameras, camera_stats=lambda: [gate])
    keys = role_keys(services)
    with live_server(services) as url, Api(url, services, keys).client(Role.OPERATOR) as client:
        listed = client.get("/cameras").json()
    assert [c["id"] for c in listed] == ["gate", "road"]
    assert listed[0]["url"] == "rtsp://viewer:***@10.0.0.5/stream1" and "s3cret" not in json.dumps(listed)
    assert listed[0]["live"] == {
        "state": "streaming",
        "frames_read": 120,
        "frames_analysed": 40,
        "frames_dropped": 2,
        "frames_shed": 3,
        "reconnects": 1,
        "last_frame_age_s": 0.2,
        "stream_error": None,
    }
    assert listed[1]["live"] is None and listed[1]["enabled"] is False


def test_a_supervisor_adds_changes_and_removes_cameras_and_each_change_is_audited(tmp_path: Path) -> None:
    configured = [CameraConfig(id="gate", name="Gate", url="gate.mp4", kind="fr")]
    services = make_services(tmp_path, cameras=configured)
    with live_server(services) as url:
        api = Api(url, services, role_keys(services))
        body = {"id": "market", "name": "Market", "url": "rtsp://u:s3cret@10.0.0.9/1", "kind": "anpr"}
        with api.client(Role.SUPERVISOR) as client:
            added = client.post("/cameras", json={**body, "zone": "east", "analysis_fps": 1})
            assert added.status_code == 201, added.text
            assert added.json()["url"] == "rtsp://u:***@10.0.0.9/1"
            assert client.post("/cameras", json=body).status_code == 409
            changed = client.patch("/cameras/gate", json={"enabled": False, "analysis_fps": 0.5})
            assert (changed.json()["enabled"], changed.json()["analysis_fps"]) == (False, 0.5)
            assert client.get("/cameras/market").json()["zone"] == "east"
        with api.client(Role.OPERATOR) as client:  # operators read, and may not change
            assert [(c["id"], c["enabled"]) for c in client.get("/cameras").json()] == [
                ("gate", False),
                ("market", True),
            ]
            assert client.post("/cameras", json={**body, "id": "other"}).status_code == 403
            assert client.patch("/cameras/gate", json={"enabled": True}).status_code == 403
            assert client.delete("/cameras/gate").status_code == 403
        with api.client(Role.SUPERVISOR) as client:
            assert client.delete("/cameras/market").status_code == 200
            assert client.get("/cameras/market").status_code == 404
            assert client.delete("/cameras/market").status_code == 404
    changes = [
        (e.actor, e.action, e.target) for e in services.audit.entries() if e.action.startswith("camera")
    ]
    assert changes == [
        ("supervisor-1 (supervisor)", "camera.add", "market"),
        ("supervisor-1 (supervisor)", "camera.change", "gate"),
        ("supervisor-1 (supervisor)", "camera.remove", "market"),
    ]
    assert "s3cret" not in services.audit.path.read_text()
    # What a restarted service (or the job) reads: the config's cameras with the changes.
    assert [(c.id, c.enabled) for c in make_services(tmp_path, cameras=configured).cameras.cameras()] == [
        ("gate", False)
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/cameras", {"id": "bad id!", "name": "N", "url": "x.mp4"}, "id"),
        ("post", "/cameras", {"id": "cam", "name": "N", "url": "ftp://host/x"}, "url"),
        ("post", "/cameras", {"id": "cam", "name": "N", "url": "x.mp4", "kind": "thermal"}, "kind"),
        ("post", "/cameras", {"id": "cam", "name": "N", "url": "x.mp4", "analysis_fps": 0}, "analysis_fps"),
        ("post", "/cameras", {"id": "cam", "name": "N", "url": "x.mp4", "colour": "red"}, "colour"),
        ("post", "/cameras", {"name": "N", "url": "x.mp4"}, "id"),
        ("patch", "/cameras/gate", {"analysis_fps": 99}, "analysis_fps"),
        ("patch", "/cameras/gate", {"url": "y.mp4"}, "url"),
        ("patch", "/cameras/gate", {}, None),
    ],
)
def test_bad_camera_changes_are_422_naming_the_field_and_store_nothing(
    tmp_path: Path, method: str, path: str, body: dict[str, object], field: str | None
) -> None:
    configured = [CameraConfig(id="gate", name="Gate", url="gate.mp4", kind="fr")]
    services = make_services(tmp_path, cameras=configured)
    with (
        live_server(services) as url,
        Api(url, services, role_keys(services)).client(Role.SUPERVISOR) as client,
    ):
        answer = client.request(method.upper(), path, json=body)
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert answer.json()["field"] == field
    else:
        assert "nothing to change" in answer.json()["detail"]
    assert not services.cameras.path.exists()
    assert not any(e.action.startswith("camera") for e in services.audit.entries())
