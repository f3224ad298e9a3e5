"""Cameras changed at runtime: kept over the config's list, atomically, audited; bad changes refused."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actors.audit import AuditLog
from cluster import camera_store
from cluster.camera_store import (
    CameraChanges,
    CameraDirectory,
    CameraExistsError,
    CameraInputError,
    CameraPatch,
    CameraStore,
    effective_cameras,
)
from cluster.config.cameras import CameraConfig
from serve.errors import NotFoundError, StoreError

GATE = CameraConfig(id="gate", name="Gate", url="rtsp://viewer:s3cret@10.0.0.5/1", kind="fr")
ROAD = CameraConfig(id="road", name="Road", url="road.mp4", kind="anpr")
NEW = CameraConfig(id="market", name="Market", url="http://10.0.0.9/mjpeg", kind="fr+anpr", zone="east")


def store(tmp_path: Path, configured: list[CameraConfig] | None = None) -> CameraStore:
    return CameraStore(
        tmp_path, AuditLog(tmp_path / "audit.jsonl"), [GATE, ROAD] if configured is None else configured
    )


def test_without_changes_the_config_cameras_run(tmp_path: Path) -> None:
    assert store(tmp_path).cameras() == [GATE, ROAD]
    assert not (tmp_path / "cameras.json").exists()


def test_added_changed_and_removed_cameras_are_kept_for_the_next_reader(tmp_path: Path) -> None:
    first = store(tmp_path)
    first.add(NEW, "supervisor-1 (supervisor)")
    first.patch("gate", CameraPatch(enabled=False), "supervisor-1 (supervisor)")
    first.patch("gate", CameraPatch(analysis_fps=1.0), "supervisor-1 (supervisor)")
    first.remove("road", "supervisor-1 (supervisor)")
    # A new process (the job after a restart) reads the same file over the same config.
    cameras = store(tmp_path).cameras()
    assert [c.id for c in cameras] == ["gate", "market"]
    assert (cameras[0].enabled, cameras[0].analysis_fps, cameras[0].url) == (False, 1.0, GATE.url)
    assert cameras[1] == NEW


def test_every_change_is_audited_with_who_and_no_password(tmp_path: Path) -> None:
    cameras = store(tmp_path)
    cameras.add(NEW.model_copy(update={"url": "rtsp://u:hunter2@10.0.0.9/1"}), "supervisor-1 (supervisor)")
    cameras.patch("market", CameraPatch(zone="north"), "supervisor-2 (supervisor)")
    cameras.remove("market", "supervisor-1 (supervisor)")
    audit = AuditLog(tmp_path / "audit.jsonl")
    entries = list(audit.entries())
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("supervisor-1 (supervisor)", "camera.add", "market"),
        ("supervisor-2 (supervisor)", "camera.change", "market"),
        ("supervisor-1 (supervisor)", "camera.remove", "market"),
    ]
    assert entries[0].details["url"] == "rtsp://u:***@10.0.0.9/1"
    assert entries[1].details == {"zone": "north"}
    assert "hunter2" not in audit.path.read_text()
    assert audit.verify()


def test_a_camera_added_then_changed_and_removed_leaves_no_trace_in_the_overlay(tmp_path: Path) -> None:
    cameras = store(tmp_path)
    cameras.add(NEW, "s")
    assert cameras.patch("market", CameraPatch(name="Market square"), "s").name == "Market square"
    cameras.remove("market", "s")
    assert cameras.changes() == CameraChanges()
    assert cameras.cameras() == [GATE, ROAD]


def test_refusals_store_nothing_and_name_what_is_wrong(tmp_path: Path) -> None:
    cameras = store(tmp_path)
    with pytest.raises(CameraExistsError, match="'gate' exists already"):
        cameras.add(GATE.model_copy(update={"name": "Other"}), "s")
    with pytest.raises(NotFoundError, match="no camera 'nowhere'"):
        cameras.patch("nowhere", CameraPatch(enabled=False), "s")
    with pytest.raises(NotFoundError):
        cameras.remove("nowhere", "s")
    with pytest.raises(CameraInputError, match="nothing to change"):
        cameras.patch("gate", CameraPatch(), "s")
    assert not cameras.path.exists()
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_removed_config_camera_can_be_added_again(tmp_path: Path) -> None:
    cameras = store(tmp_path)
    cameras.remove("road", "s")
    with pytest.raises(NotFoundError):
        cameras.get("road")
    readded = ROAD.model_copy(update={"url": "road-2.mp4"})
    cameras.add(readded, "s")
    assert cameras.get("road") == readded


def test_an_added_camera_wins_over_the_same_id_added_to_the_config_later(tmp_path: Path) -> None:
    store(tmp_path, [GATE]).add(NEW, "s")
    later = NEW.model_copy(update={"name": "Config's market"})
    assert [c.name for c in store(tmp_path, [GATE, later]).cameras()] == ["Gate", "Market"]


def test_a_change_to_a_camera_gone_from_the_config_is_ignored(tmp_path: Path) -> None:
    store(tmp_path).patch("road", CameraPatch(enabled=False), "s")
    assert effective_cameras([GATE], store(tmp_path).changes()) == [GATE]


def test_a_damaged_file_is_named_and_left_alone(tmp_path: Path) -> None:
    cameras = store(tmp_path)
    cameras.path.write_text('{"added": [{"id": "x"}]}')
    with pytest.raises(StoreError, match=r"cameras\.json"):
        cameras.cameras()
    with pytest.raises(StoreError):
        cameras.add(NEW, "s")
    assert cameras.path.read_text() == '{"added": [{"id": "x"}]}'


def test_concurrent_supervisors_lose_no_change(tmp_path: Path) -> None:
    def add(index: int) -> None:
        camera = NEW.model_copy(update={"id": f"cam-{index}", "name": f"Camera {index}"})
        store(tmp_path).add(camera, f"supervisor-{index}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(24)))
    added = json.loads((tmp_path / "cameras.json").read_text())["added"]
    assert sorted(c["id"] for c in added) == sorted(f"cam-{i}" for i in range(24))
    assert len(list(AuditLog(tmp_path / "audit.jsonl").entries())) == 24


def test_the_directory_reads_the_file_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = CameraDirectory(tmp_path)
    reads: list[Path] = []
    real_read = camera_store.read_changes

    def counting_read(path: Path) -> CameraChanges:
        reads.append(path)
        return real_read(path)

    store(tmp_path).remove("road", "s")
    monkeypatch.setattr(camera_store, "read_changes", counting_read)
    assert directory.cameras([GATE, ROAD]) == [GATE] == directory.cameras([GATE, ROAD])
    assert len(reads) == 1  # the first time only
    monkeypatch.setattr(camera_store, "read_changes", real_read)
    store(tmp_path).add(NEW, "s")
    monkeypatch.setattr(camera_store, "read_changes", counting_read)
    assert [c.id for c in directory.cameras([GATE, ROAD])] == ["gate", "market"]
    assert [c.id for c in directory.cameras([GATE])] == ["gate", "market"]
    assert len(reads) == 2  # once more, after the change
