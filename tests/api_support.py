"""The operator API under test: the real app on real HTTP (uvicorn on loopback), keys for each role."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from actors.dispatch.alert_log import AlertLog
from cluster.api.app import build_app
from cluster.api.cameras import StatsSource
from cluster.api.roles import Role
from cluster.api.services import ApiServices
from cluster.config import SafeCityConfig
from cluster.config.cameras import CameraConfig
from serve.alerts import Alert, CameraRef, PlateRef, SubjectRef
from serve.face_analyzer import FaceAnalyzer
from tests.waiting import poll_until

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF-evidence\xff\xd9"


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """The suite's :func:`tests.waiting.poll_until` with the API tests' defaults (10 s, polled often)."""
    poll_until(condition, timeout_s, what, interval=0.02)


@contextmanager
def live_server(services: ApiServices) -> Iterator[str]:
    """The API app served by uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Open event streams (a browser's live queue) would hold a graceful shutdown open; cut them short.
    config = uvicorn.Config(
        build_app(services), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, what="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop within 10 s"


@dataclass
class Api:
    """A running API with one key per role (``keys[role]``) and its services."""

    url: str
    services: ApiServices
    keys: dict[Role, str]

    def client(self, role: Role | None = None, token: str | None = None) -> httpx.Client:
        """An HTTP client sending ``role``'s key (or ``token``; none when both are ``None``)."""
        token = self.keys[role] if role is not None else token
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)

    def audit_actions(self) -> list[str]:
        """Every audited action so far, oldest first."""
        return [entry.action for entry in self.services.audit.entries()]


def make_services(
    data_dir: Path,
    faces: Callable[[], FaceAnalyzer] | None = None,
    cameras: list[CameraConfig] | None = None,
    camera_stats: StatsSource | None = None,
    **api: Any,
) -> ApiServices:
    """Services over a fresh data directory; ``api`` overrides fields of the ``api`` config section."""
    base = SafeCityConfig()
    config = base.model_copy(
        update={"data_dir": data_dir, "api": base.api.model_copy(update=api), "cameras": cameras or []}
    )

    def no_models() -> FaceAnalyzer:
        raise AssertionError("this test does not enrol: the face models must not be loaded")

    return ApiServices.build(config, faces=faces or no_models, camera_stats=camera_stats)


def role_keys(services: ApiServices) -> dict[Role, str]:
    """One key per role, named after it (``admin-1``, ...)."""
    return {role: services.keys.create(f"{role}-1", role, "test-setup")[1] for role in Role}


def face_alert(
    camera_id: str = "fr-gate-1",
    captured_at: datetime | None = None,
    photo: str = "p1.jpg",
    evidence_jpeg: bytes = JPEG,
) -> Alert:
    """A face alert for subject-a, as the matcher makes them."""
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind="face",
        camera=CameraRef(camera_id, "Gate 1", "fr", 24.86, 67.0, "south"),
        captured_at=captured_at or datetime.now(UTC),
        track_id=1,
        evidence_jpeg=evidence_jpeg,
        subject=SubjectRef("subject-a", "Subject A", "demo", photo),
        similarity=0.61234,
        threshold=0.5,
        model_versions={"face_embedder": "sface#abc"},
    )


def plate_alert(camera_id: str = "anpr-road-1", captured_at: datetime | None = None) -> Alert:
    """A plate alert for the demo plate."""
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind="plate",
        camera=CameraRef(camera_id, "Road 1", "anpr"),
        captured_at=captured_at or datetime.now(UTC),
        track_id=7,
        evidence_jpeg=JPEG,
        plate=PlateRef("MLB803", "MLB803", "demo: reported stolen", True, 0.96, 3),
    )


def log_alerts(data_dir: Path, *alerts: Alert) -> None:
    """Append alerts to the alert log as the dispatcher does."""
    AlertLog(data_dir / "alerts").append_json([alert.to_json() for alert in alerts], AlertLog.new_part_name())
