"""Pipeline throughput against a plain single-process loop on the same cameras (``safecity bench pipeline``).

Both sides run the same models on the same demo-city videos, decoded the same way (OpenCV's FFmpeg
capture, one decoding thread per camera), for the same wall time, one side after the other:
- single: what a user would write first: one process, camera after camera, every frame, every model,
  one call at a time (detect faces and plates, embed every usable face, read every plate);
- pipeline: camera actors and batched Ray Serve deployments on a local Ray cluster, every camera asking
  for more frames per second than the machine can analyse, so the number is the pipeline's capacity.
It also reports the frame-to-webhook latency of the alerts the pipeline delivered, per kind, under
that overload.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from actors.camera.letterbox import letterbox
from actors.camera.source import FrameCapture, open_capture
from actors.camera.stats import CameraStats
from cluster.config import SafeCityConfig, load_config
from cluster.config.cameras import CameraConfig
from cluster.config.dispatch import DispatchConfig, EndpointConfig
from cluster.demo_city import build_demo_city
from cluster.demo_lists import enrol_demo_lists
from cluster.latency import LatencyLog
from cluster.pipeline import start_pipeline
from cluster.receiver import AlertReceiver
from cluster.samples import SAMPLE_CONFIG
from serve.face_analyzer import FaceAnalyzer
from serve.models.store import ModelStore
from serve.perception import build_face_analyzer, build_plate_analyzer
from serve.plate_analyzer import PlateAnalyzer

SECRET_ENV = "SAFECITY_BENCH_WEBHOOK_SECRET"
WARM_UP_S = 10.0


def open_cameras(videos: list[Path], cameras: int) -> list[FrameCapture]:
    """One looping capture per camera, decoded as fast as the loop asks (files are not paced here)."""
    captures = []
    for index in range(cameras):
        capture = open_capture(
            str(videos[index % len(videos)]), open_timeout_s=10, read_timeout_s=10, loop=True
        )
        capture.paced = False
        captures.append(capture)
    return captures


def single_process(config: SafeCityConfig, videos: list[Path], cameras: int, seconds: float) -> float:
    """Frames per second of a plain loop: camera after camera, every frame, every model, one at a time."""
    store = ModelStore(config.models.cache_dir, config.models.overrides(), show_progress=False)
    faces: FaceAnalyzer = build_face_analyzer(store, "cpu", config.face_settings())
    plates: PlateAnalyzer = build_plate_analyzer(store, "cpu", config.plate_settings())
    canvas_size = config.models.detector_canvas()
    captures = open_cameras(videos, cameras)
    try:

        def one_frame(capture: FrameCapture) -> None:
            frame = capture.read()
            canvas, transform = letterbox(frame, canvas_size)
            [face_boxes] = faces.detect([canvas])
            crops = [
                faces.crop(frame, (float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(score))
                for b, score in zip(transform.to_source(face_boxes.xyxy), face_boxes.confidence, strict=True)
            ]
            faces.embed([c for c in crops if faces.is_usable(c)])
            [plate_boxes] = plates.detect([canvas])
            for b in transform.to_source(plate_boxes.xyxy):
                plates.reader.read(frame, (float(b[0]), float(b[1]), float(b[2]), float(b[3])))

        for capture in captures:  # warm-up: first calls allocate
            one_frame(capture)
        done, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            one_frame(captures[done % len(captures)])
            done += 1
        return done / (time.monotonic() - started)
    finally:
        for capture in captures:
            capture.close()


@dataclass
class PipelineResult:
    """What the live pipeline did in the measured window."""

    fps: float = 0.0
    dropped: int = 0
    shed: int = 0
    errors: int = 0
    latency: LatencyLog = field(default_factory=LatencyLog)


def _analysed(stats: list[CameraStats]) -> int:
    return sum(row.frames_analysed for row in stats)


def pipeline_run(
    config: SafeCityConfig, videos: list[Path], cameras: int, seconds: float, work: Path
) -> PipelineResult:
    """Frames per second analysed by the live pipeline, and the latency of what it delivered."""
    result = PipelineResult()
    measuring = False
    os.environ[SECRET_ENV] = secrets.token_hex(24)

    def on_alert(alert: dict[str, Any]) -> None:
        if measuring:
            result.latency.record(alert, time.time())

    receiver = AlertReceiver(os.environ[SECRET_ENV].encode(), on_alert=on_alert).start()
    camera_configs = [
        CameraConfig(
            id=f"bench-{i}",
            name=f"Bench {i}",
            url=str(videos[i % len(videos)]),
            kind="fr+anpr",
            analysis_fps=10,
            loop=True,
        )
        for i in range(cameras)
    ]
    bench_config = config.model_copy(
        update={
            "data_dir": work / "data",
            "cameras": camera_configs,
            "dispatch": DispatchConfig(
                endpoints=[EndpointConfig(name="bench", url=receiver.url, secret_env=SECRET_ENV)]
            ),
            "pipeline": config.pipeline.model_copy(update={"cooldown_s": 0.0}),
        }
    )
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        pipeline = start_pipeline(bench_config)
        time.sleep(WARM_UP_S)  # first batches allocate; every camera reaches its steady state
        before = pipeline.camera_stats()
        measuring = True
        started = time.monotonic()
        time.sleep(seconds)
        after = pipeline.camera_stats()
        elapsed = time.monotonic() - started
        measuring = False
        pipeline.stop(drain_timeout_s=20)
    finally:
        ray.shutdown()
        receiver.stop()
    result.fps = (_analysed(after) - _analysed(before)) / elapsed
    result.dropped = sum(row.frames_dropped for row in after) - sum(row.frames_dropped for row in before)
    result.shed = sum(row.shed.total for row in after) - sum(row.shed.total for row in before)
    result.errors = sum(row.analysis_errors for row in after)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both sides and print them with their ratio."""
    parser = argparse.ArgumentParser(prog="safecity bench pipeline")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time of each side")
    parser.add_argument("--cameras", type=int, default=6)
    parser.add_argument("--config", type=Path, default=SAMPLE_CONFIG)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    work = Path(tempfile.mkdtemp(prefix="safecity-bench-"))
    videos = [camera.video for camera in build_demo_city(work / "media")]
    store = ModelStore(config.models.cache_dir, config.models.overrides(), show_progress=False)
    faces = build_face_analyzer(store, "cpu", config.face_settings())
    enrol_demo_lists(work / "data", faces, "bench", config.faces.enrolment_policy())
    single = single_process(config, videos, args.cameras, args.seconds)
    live = pipeline_run(config, videos, args.cameras, args.seconds, work)
    print(
        f"cameras: {args.cameras} (fr+anpr, asking 10 fps each); measured {args.seconds:.0f} s per side; "
        f"cores: {os.cpu_count()}"
    )
    print(f"{'side':<36} {'frames/s':>9}")
    print(f"{'single process, one frame at a time':<36} {single:>9.2f}")
    print(f"{'pipeline (Ray actors + Serve)':<36} {live.fps:>9.2f}")
    print(f"ratio pipeline / single: {live.fps / single:.2f}x")
    print(f"pipeline frames dropped {live.dropped}, shed {live.shed}, analysis errors {live.errors}")
    print(f"frame-to-webhook latency under this load: {live.latency.describe()}")
    return 0
