"""``safecity demo``: a small city streaming through the whole live pipeline on local Ray and Serve."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from actors.audit import AuditLog
from actors.hotlist import HotlistStore
from actors.watchlist import PhotoUpload, WatchlistStore
from cluster.config import SafeCityConfig, load_config
from cluster.config.cameras import CameraConfig, Location
from cluster.config.dispatch import DispatchConfig, EndpointConfig
from cluster.demo_city import DemoCamera, build_demo_city
from cluster.latency import LatencyLog
from cluster.pipeline import start_pipeline, wait_until_finished
from cluster.receiver import AlertReceiver, describe_alert
from cluster.samples import DEMO_SUBJECTS, SAMPLE_CONFIG
from serve.device import resolve_device
from serve.face_analyzer import FaceAnalyzer
from serve.models.store import ModelStore
from serve.perception import build_face_analyzer

DEMO_SECRET_ENV = "SAFECITY_DEMO_WEBHOOK_SECRET"
DEMO_HOTLIST = {"MLB803": "demo: reported stolen"}


@dataclass
class DemoResult:
    """What the demo saw."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    latency: LatencyLog = field(default_factory=LatencyLog)
    frames_analysed: int = 0
    frames_dropped: int = 0
    frames_shed: int = 0
    delivered: bool = False


def enrol_demo_lists(data_dir: Path, faces: FaceAnalyzer, actor: str) -> None:
    """Subject A and B on the watchlist (from photos the cameras do not show), one plate on the hotlist."""
    audit = AuditLog(data_dir / "audit.jsonl")
    watchlist = WatchlistStore(data_dir, audit)
    for subject in DEMO_SUBJECTS:
        photo = PhotoUpload(subject.enrol_photo.name, subject.enrol_photo.read_bytes())
        watchlist.enrol(
            subject.subject_id, subject.label, [photo], analyzer=faces, actor=actor, category="demo"
        )
    hotlist = HotlistStore(data_dir, audit)
    for plate, reason in DEMO_HOTLIST.items():
        hotlist.add(plate, reason, actor)


def camera_config(camera: DemoCamera, analysis_fps: float, *, loop: bool = False) -> CameraConfig:
    """A demo camera as the config names it."""
    return CameraConfig(
        id=camera.camera_id,
        name=camera.name,
        url=str(camera.video),
        kind=camera.kind,  # type: ignore[arg-type]
        analysis_fps=analysis_fps,
        location=Location(lat=camera.lat, lon=camera.lon),
        zone=camera.zone,
        loop=loop,
    )


def local_dispatch(receiver_url: str, secret_env: str) -> DispatchConfig:
    """Alerts to the local receiver, retried quickly."""
    endpoint = EndpointConfig(name="demo-dispatch", url=receiver_url, secret_env=secret_env)
    return DispatchConfig(endpoints=[endpoint], retry_initial_s=0.5, retry_max_s=5)


def demo_config(base: SafeCityConfig, data_dir: Path, media: Path, receiver_url: str) -> SafeCityConfig:
    """The sample config with the demo cameras and the local receiver as the dispatch endpoint."""
    cameras = [camera_config(c, analysis_fps=3.0) for c in build_demo_city(media)]
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "cameras": cameras,
            "dispatch": local_dispatch(receiver_url, DEMO_SECRET_ENV),
        }
    )


def start_ray_quietly() -> None:
    """A local Ray whose own INFO and WARNING lines stay out of the demo's output; errors still show.

    ``logging_level`` covers the "ray" logger (its start-up and token notices); Serve gives "ray.serve"
    a level of its own (its "Application ... is ready" lines). Workers' output stays in Ray's log
    files (``log_to_driver=False``), where ``ray logs`` finds it.
    """
    ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    logging.getLogger("ray.serve").setLevel(logging.ERROR)


def run_demo(
    config_path: Path | None, data_dir: Path | None, actor: str, timeout_s: float = 100.0
) -> DemoResult:
    """Build the demo city, run it through the live pipeline, and report what reached dispatch."""
    base = load_config(config_path or SAMPLE_CONFIG)
    if base.models.device.startswith("cuda"):  # the replicas are local: refuse now, not in their logs
        resolve_device(base.models.device)
    work = Path(tempfile.mkdtemp(prefix="safecity-demo-"))
    data = data_dir or work / "data"
    result = DemoResult()
    os.environ[DEMO_SECRET_ENV] = secrets.token_hex(24)

    def on_alert(alert: dict[str, Any]) -> None:
        received = time.time()
        result.alerts.append(alert)
        result.latency.record(alert, received)
        print(describe_alert(alert, received), flush=True)

    receiver = AlertReceiver(os.environ[DEMO_SECRET_ENV].encode(), on_alert=on_alert).start()
    config = demo_config(base, data, work / "media", receiver.url)
    print(f"demo: data in {data}; dispatch receiver at {receiver.url}", flush=True)
    enrol_demo_lists(
        data,
        build_face_analyzer(
            ModelStore(config.models.cache_dir, config.models.overrides()), "cpu", config.face_settings()
        ),
        actor,
    )
    print("demo: watchlist subject-a, subject-b; hotlist MLB803. Starting Ray and Serve...", flush=True)
    start_ray_quietly()
    try:
        started = time.monotonic()
        pipeline = start_pipeline(config)
        print(f"demo: pipeline up in {time.monotonic() - started:.0f} s; cameras streaming", flush=True)
        wait_until_finished(pipeline, timeout_s)
        stats = pipeline.camera_stats()
        result.delivered = pipeline.stop(drain_timeout_s=20).delivered_all
        result.frames_analysed = sum(row.frames_analysed for row in stats)
        result.frames_dropped = sum(row.frames_dropped for row in stats)
        result.frames_shed = sum(row.shed.total for row in stats)
        for row in stats:
            print(
                f"camera {row.camera_id}: read {row.frames_read}, analysed {row.frames_analysed}, "
                f"dropped {row.frames_dropped}, shed {row.shed.total}, reconnects {row.reconnects}, "
                f"faces embedded {row.faces_embedded} of {row.faces_offered} seen, "
                f"plates read {row.plates_read} of {row.plates_offered} seen",
                flush=True,
            )
    finally:
        ray.shutdown()
        receiver.stop()
    return result


def summary(result: DemoResult) -> str:
    """The closing line of the demo."""
    faces = sum(a["kind"] == "face" for a in result.alerts)
    plates = sum(a["kind"] == "plate" for a in result.alerts)
    return (
        f"summary: {result.frames_analysed} frames analysed ({result.frames_dropped} dropped, "
        f"{result.frames_shed} shed), {len(result.alerts)} alerts ({faces} face, {plates} plate); "
        f"frame-to-webhook latency {result.latency.describe()}; "
        f"{'all delivered' if result.delivered else 'SOME UNDELIVERED'}"
    )
