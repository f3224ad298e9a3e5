"""`safecity serve`: the API as a Ray Serve application on a local Ray cluster, over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
import yaml

from actors.audit import AuditLog
from cluster.api.keys import KeyStore
from cluster.api.roles import Role
from cluster.samples import REPO_ROOT
from tests.api_support import face_alert, log_alerts, wait_for

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_safecity_serve_runs_the_api_on_serve_until_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    keys = KeyStore(data_dir, AuditLog(data_dir / "audit.jsonl"))
    _, token = keys.create("desk-1", Role.OPERATOR, "test-setup")
    alert = face_alert()
    log_alerts(data_dir, alert)
    port = free_port()
    config = tmp_path / "city.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "data", "api": {"port": port}}))
    process = subprocess.Popen(
        [sys.executable, "-m", "cluster.cli", "serve", "--config", str(config)],
        cwd=REPO_ROOT,
        # A fresh local cluster, never one that happens to run on this machine already.
        env={**os.environ, "RAY_ADDRESS": "local"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        wait_for(lambda: answers(f"{base}/healthz"), timeout_s=180, what="the API on Serve")
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/me", headers=auth).json() == {"name": "desk-1", "role": "operator"}
        assert httpx.get(f"{base}/me", headers={"Authorization": "Bearer sck_wrong"}).status_code == 401
        # The replica sees the caller's address through Serve's proxy (the sign-in throttle keys on it).
        [refusal] = [e for e in AuditLog(data_dir / "audit.jsonl").entries() if e.action == "api.refused"]
        assert refusal.details["address"] == "127.0.0.1"
        [listed] = httpx.get(f"{base}/alerts", headers=auth).json()["items"]
        assert listed["alert_id"] == alert.alert_id
        review = {"decision": "confirmed", "reason": "seen at the gate", "officer": "PC 1"}
        assert (
            httpx.post(f"{base}/alerts/{alert.alert_id}/review", headers=auth, json=review).status_code == 201
        )
        [row] = pq.read_table(data_dir / "reviews.parquet").to_pylist()
        assert (row["alert_id"], row["decision"], row["reviewed_by"]) == (
            alert.alert_id,
            "confirmed",
            "desk-1 (operator)",
        )
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200  # the console
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert f"API at http://127.0.0.1:{port}/api/v1" in output
