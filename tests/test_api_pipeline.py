"""Enrolled through the API, alerted by a camera, reviewed through the API: the API and the live
pipeline share one data directory (local Ray, real Serve models, a file camera)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from cluster.api.roles import Role
from cluster.config import load_config
from cluster.config.cameras import CameraConfig
from cluster.demo_city import build_demo_city
from cluster.pipeline import start_pipeline
from cluster.samples import FACES, SAMPLE_CONFIG
from serve.face_analyzer import FaceAnalyzer
from tests.api_support import Api, live_server, make_services, role_keys, wait_for

pytestmark = [pytest.mark.ray, pytest.mark.models, pytest.mark.slow]


@pytest.fixture
def gate(tmp_path: Path) -> CameraConfig:
    """The demo gate camera: subject A walks past, filmed from another photo than the enrolled one."""
    video = {c.camera_id: c for c in build_demo_city(tmp_path / "media")}["fr-gate-1"].video
    return CameraConfig(id="gate", name="Gate", url=str(video), kind="fr", analysis_fps=3)


@pytest.fixture
def api(tmp_path: Path, face_analyzer: FaceAnalyzer, gate: CameraConfig) -> Iterator[Api]:
    services = make_services(tmp_path / "data", faces=lambda: face_analyzer, cameras=[gate])
    keys = role_keys(services)
    with live_server(services) as url:
        yield Api(url, services, keys)


def enrol_subject_a(api: Api) -> Path:
    """Enrol subject A through the API; returns the photo enrolled."""
    enrolled = FACES / "person_a_1.jpg"
    with api.client(Role.SUPERVISOR) as client:
        made = client.post(
            "/watchlist/subjects",
            data={"id": "subject-a", "label": "Subject A", "category": "demo"},
            files=[("photos", (enrolled.name, enrolled.read_bytes(), "image/jpeg"))],
        )
        assert made.status_code == 201, made.text
    return enrolled


def test_a_subject_enrolled_through_the_api_is_alerted_by_a_camera_and_reviewed(
    api: Api, gate: CameraConfig
) -> None:
    enrolled = enrol_subject_a(api)
    config = load_config(SAMPLE_CONFIG).model_copy(
        update={"data_dir": api.services.runtime.data_dir, "cameras": [gate]}
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        pipeline = start_pipeline(config)
        with api.client(Role.OPERATOR) as client:
            alerts: list[dict[str, object]] = []

            def alerted() -> bool:
                alerts[:] = client.get("/alerts", params={"camera": "gate"}).json()["items"]
                return bool(alerts)

            wait_for(alerted, timeout_s=240, what="the gate camera's alert in the API")
            [alert] = alerts
            assert (alert["kind"], alert["subject_id"], alert["status"]) == (
                "face",
                "subject-a",
                "unverified",
            )
            detail = client.get(f"/alerts/{alert['alert_id']}").json()
            assert base64.b64decode(detail["enrolment_photo_base64"]) == enrolled.read_bytes()
            assert detail["similarity"] >= detail["threshold"]
            [camera] = client.get("/cameras").json()  # counters from the running camera shard
            assert camera["id"] == "gate" and camera["live"]["frames_analysed"] > 0
            review = {"decision": "confirmed", "reason": "verified at the gate", "officer": "PC 1"}
            assert client.post(f"/alerts/{alert['alert_id']}/review", json=review).status_code == 201
            assert client.get(f"/alerts/{alert['alert_id']}").json()["status"] == "confirmed"
        pipeline.stop(drain_timeout_s=5)
    finally:
        ray.shutdown()


def test_a_camera_added_through_the_api_is_analysed_without_a_restart_and_kept_across_one(
    tmp_path: Path, face_analyzer: FaceAnalyzer, gate: CameraConfig
) -> None:
    """The job starts with no camera; one added through the API alerts; disabled, it stops; the change
    outlives a restart of the job; enabled again, it runs; removed, it goes."""
    services = make_services(tmp_path / "data", faces=lambda: face_analyzer, cameras=[])
    config = load_config(SAMPLE_CONFIG).model_copy(
        update={"data_dir": services.runtime.data_dir, "cameras": []}
    )
    added = {**gate.model_dump(mode="json"), "id": "gate-2", "name": "Gate 2"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with live_server(services) as url:
            api = Api(url, services, role_keys(services))
            enrol_subject_a(api)
            pipeline = start_pipeline(config)
            assert pipeline.camera_stats() == []
            with api.client(Role.SUPERVISOR) as client:
                assert client.post("/cameras", json=added).status_code == 201

                def alerts() -> list[dict[str, object]]:
                    items: list[dict[str, object]] = client.get(
                        "/alerts", params={"camera": "gate-2"}
                    ).json()["items"]
                    return items

                def running() -> set[str]:
                    return {row.camera_id for row in pipeline.camera_stats()}

                wait_for(
                    lambda: bool(alerts()), timeout_s=240, what="an alert from the camera added at runtime"
                )
                assert alerts()[0]["subject_id"] == "subject-a"
                assert client.get("/cameras/gate-2").json()["live"]["frames_analysed"] > 0
                assert client.patch("/cameras/gate-2", json={"enabled": False}).status_code == 200
                wait_for(lambda: running() == set(), timeout_s=30, what="the disabled camera to stop")
                pipeline.stop(drain_timeout_s=5)
                del pipeline  # its actors go with their last handle, as when a job ends

                pipeline = start_pipeline(config)  # the job restarted: the camera is there, disabled
                assert running() == set()
                assert client.get("/cameras").json()[0]["enabled"] is False
                assert client.patch("/cameras/gate-2", json={"enabled": True}).status_code == 200
                wait_for(lambda: running() == {"gate-2"}, timeout_s=120, what="the enabled camera to start")
                assert client.delete("/cameras/gate-2").status_code == 200
                wait_for(lambda: running() == set(), timeout_s=30, what="the removed camera to stop")
                pipeline.stop(drain_timeout_s=5)
    finally:
        ray.shutdown()
