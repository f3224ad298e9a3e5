"""`safecity run --config FILE` as an operator runs it: alerts flow until SIGTERM, then it stops cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from actors.lists_watch import FileChangeWatch
from cluster.analysis.stats import load_camera_stats
from cluster.config.faces import FacesConfig
from cluster.demo_city import build_demo_city
from cluster.demo_lists import enrol_demo_lists
from cluster.receiver import AlertReceiver
from serve.face_analyzer import FaceAnalyzer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_file_change_watch_sees_writes_creations_and_removals(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.parquet"
    watch = FileChangeWatch([path])
    assert not watch.changed()
    path.write_bytes(b"one")
    assert watch.changed() and not watch.changed()
    path.write_bytes(b"two!")
    assert watch.changed()
    path.unlink()
    assert watch.changed()


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.models
def test_run_delivers_alerts_until_sigterm(tmp_path: Path, face_analyzer: FaceAnalyzer) -> None:
    data_dir = tmp_path / "data"
    enrol_demo_lists(data_dir, face_analyzer, "test-operator", FacesConfig().enrolment_policy())
    secret = secrets.token_hex(24)
    receiver = AlertReceiver(secret.encode()).start()
    gate = build_demo_city(tmp_path / "media")[0]
    api_port = free_port()
    config = {
        "data_dir": str(data_dir),
        "cameras": [{"id": "gate", "name": "Gate", "url": str(gate.video), "kind": "fr", "analysis_fps": 3}],
        "dispatch": {"endpoints": [{"name": "c4", "url": receiver.url, "secret_env": "TEST_RUN_SECRET"}]},
        "api": {"port": api_port},
    }
    config_path = tmp_path / "city.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "TEST_RUN_SECRET": secret, "YOLO_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "run", "--config", str(config_path), "--report-every", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not receiver.received:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "no alert from `safecity run`"
            time.sleep(0.2)
        # The operator API runs beside the pipeline and shows the alert the camera raised.
        api = f"http://127.0.0.1:{api_port}/api/v1"
        assert httpx.get(f"{api}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{api}/alerts", timeout=10).status_code == 401  # and wants a key
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        receiver.stop()
    assert process.returncode == 0, output
    assert "safecity: stopped; all alerts delivered" in output
    assert "safecity: operator API at http://127.0.0.1:" in output
    assert '"camera_id": "gate"' in output  # the periodic per-camera report
    (tmp_path / "job.log").write_text(output)  # the job's log is the capacity notebook's input as it is
    counters = load_camera_stats(tmp_path / "job.log")
    assert set(counters["camera_id"]) == {"gate"} and counters["at"].notna().all()
    [alert] = receiver.received
    assert alert["subject"]["id"] == "subject-a" and alert["camera"]["id"] == "gate"
