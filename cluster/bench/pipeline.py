"""Pipeline throughput against a single-process loop on the same frames (``safecity bench pipeline``).

Both sides run the same models on frames of the same demo-city videos for the same wall time:
- baseline: one process, one frame at a time (detect faces and plates, embed faces, read plates);
- pipeline: camera actors and batched Ray Serve deployments on a local Ray cluster, every camera asking
  for more frames per second than the machine can analyse, so the number is the pipeline's capacity.
It also reports frame-to-webhook latency (p50/p95) of the alerts the pipeline delivered.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import ray

from actors.camera.letterbox import letterbox
from cluster.config import SafeCityConfig, load_config
from cluster.config.cameras import CameraConfig
from cluster.config.dispatch import DispatchConfig, EndpointConfig
from cluster.demo_city import build_demo_city
from cluster.live_demo import enrol_demo_lists
from cluster.pipeline import start_pipeline
from cluster.receiver import AlertReceiver
from cluster.samples import SAMPLE_CONFIG
from serve.imaging import Image
from serve.models.store import ModelStore
from serve.perception import build_face_analyzer, build_plate_analyzer

SECRET_ENV = "SAFECITY_BENCH_WEBHOOK_SECRET"


def load_frames(videos: list[Path]) -> list[Image]:
    """Every frame of the videos, camera after camera."""
    frames: list[Image] = []
    for video in videos:
        capture = cv2.VideoCapture(str(video))
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(np.asarray(frame, np.uint8))
        capture.release()
    return frames


def baseline(config: SafeCityConfig, frames: list[Image], seconds: float) -> float:
    """Frames per second of a plain loop calling the models one frame at a time."""
    store = ModelStore(config.models.cache_dir, config.models.overrides(), show_progress=False)
    faces = build_face_analyzer(store, "cpu", config.faces.settings())
    plates = build_plate_analyzer(store, "cpu", config.plates.settings())
    done, started, index = 0, time.monotonic(), 0
    while time.monotonic() - started < seconds:
        frame = frames[index % len(frames)]
        index += 1
        canvas, transform = letterbox(frame)
        [face_dets] = faces.detect([canvas])
        boxes = transform.to_source(face_dets.xyxy)
        crops = [
            faces.crop(frame, (float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(score))
            for b, score in zip(boxes, face_dets.confidence, strict=True)
        ]
        faces.embed([c for c in crops if faces.is_usable(c)])
        [plate_dets] = plates.detect([canvas])
        for b in transform.to_source(plate_dets.xyxy):
            plates.reader.read(frame, (float(b[0]), float(b[1]), float(b[2]), float(b[3])))
        done += 1
    return done / (time.monotonic() - started)


def pipeline_run(
    config: SafeCityConfig, videos: list[Path], cameras: int, seconds: float, work: Path
) -> dict[str, Any]:
    """Frames per second analysed by the live pipeline, and the latency of what it delivered."""
    latencies: list[float] = []
    os.environ[SECRET_ENV] = secrets.token_hex(24)

    def on_alert(alert: dict[str, Any]) -> None:
        latencies.append(time.time() - datetime.fromisoformat(alert["captured_at"]).timestamp())

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
        time.sleep(5.0)  # warm-up: first batches compile and allocate
        before = sum(row["frames_analysed"] for row in pipeline.camera_stats())
        started = time.monotonic()
        time.sleep(seconds)
        stats = pipeline.camera_stats()
        elapsed = time.monotonic() - started
        analysed = sum(row["frames_analysed"] for row in stats) - before
        pipeline.stop(drain_timeout_s=20)
    finally:
        ray.shutdown()
        receiver.stop()
    latencies.sort()
    return {
        "fps": analysed / elapsed,
        "dropped": sum(row["frames_dropped"] for row in stats),
        "alerts": len(latencies),
        "p50": latencies[len(latencies) // 2] if latencies else float("nan"),
        "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else float("nan"),
    }


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
    enrol_demo_lists(work / "data", build_face_analyzer(store, "cpu", config.faces.settings()), "bench")
    single = baseline(config, load_frames(videos), args.seconds)
    live = pipeline_run(config, videos, args.cameras, args.seconds, work)
    print(f"cameras: {args.cameras} (fr+anpr, asking 10 fps each); measured {args.seconds:.0f} s per side")
    print(f"{'side':<34} {'frames/s':>9}")
    print(f"{'single process, one frame at a time':<34} {single:>9.2f}")
    print(f"{'pipeline (Ray actors + Serve)':<34} {live['fps']:>9.2f}")
    print(f"ratio pipeline / single: {live['fps'] / single:.2f}x; frames dropped: {live['dropped']}")
    print(
        f"frame-to-webhook latency, {live['alerts']} alerts: p50 {live['p50']:.2f} s, p95 {live['p95']:.2f} s"
    )
    return 0
