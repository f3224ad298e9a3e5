"""CPU cost of reading MJPEG cameras: every frame decoded (OpenCV/FFmpeg) or JPEG bytes kept.

The camera fleet (:mod:`cluster.bench.camera_fleet`) runs in a subprocess; this process runs
``--streams`` camera readers one way, then the other, ``--runs`` times, and counts its own CPU time (all
threads) per 1,000 frames read after a warm-up. It also times decoding one of the fleet's JPEGs: what
the lazy path pays per frame a shard analyses.

Run: ``python -m cluster.bench.mjpeg_reader --streams 200 --seconds 30 --runs 3``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from actors.camera.capture import Capture, open_source
from actors.camera.latest_frame import LatestFrameReader
from actors.camera.source import open_capture
from cluster.bench.camera_fleet import FLEET_SIZE, demo_frames, running_fleet
from cluster.config import SafeCityConfig
from serve.imaging import decode_image

OPENERS: dict[str, Callable[..., Capture]] = {"opencv": open_capture, "lazy": open_source}


@dataclass(frozen=True)
class ReaderRun:
    """One way of reading, measured once."""

    reader: str
    run: int
    frames: int
    cpu_s: float
    cpu_s_per_1000_frames: float


def measure(kind: str, run: int, port: int, streams: int, seconds: float, warmup_s: float) -> ReaderRun:
    """Read ``streams`` cameras with ``kind``'s opener; CPU and frames over ``seconds`` after warm-up."""
    settings = SafeCityConfig().shard_settings().stream
    readers = [
        LatestFrameReader(f"http://127.0.0.1:{port}/cam/{n}", settings, opener=OPENERS[kind]).start()
        for n in range(streams)
    ]
    try:
        time.sleep(warmup_s)  # connections opened and FFmpeg's probing done before counting
        frames_before, cpu_before = sum(r.stats().frames_read for r in readers), time.process_time()
        time.sleep(seconds)
        frames = sum(r.stats().frames_read for r in readers) - frames_before
        cpu_s = time.process_time() - cpu_before
    finally:
        with ThreadPoolExecutor(max_workers=64) as pool:  # each stop may wait out a blocked read
            list(pool.map(lambda r: r.stop(), readers))
    errors = sum(r.stats().errors for r in readers)
    if errors:
        print(f"warning: {kind} run {run}: {errors} stream errors", file=sys.stderr)
    return ReaderRun(kind, run, frames, round(cpu_s, 2), round(1000 * cpu_s / max(1, frames), 3))


def decode_ms(size: tuple[int, int], repeats: int = 200) -> float:
    """Milliseconds of CPU to decode one of the fleet's JPEGs (the lazy path's cost per analysed frame)."""
    faces, plates = demo_frames(size)
    jpegs = faces + plates
    started = time.process_time()
    for index in range(repeats):
        decode_image(jpegs[index % len(jpegs)])
    return round(1000 * (time.process_time() - started) / repeats, 3)


def main(argv: list[str] | None = None) -> int:
    """Measure both readers ``--runs`` times, alternating; one JSON line per run, then a summary."""
    parser = argparse.ArgumentParser(prog="python -m cluster.bench.mjpeg_reader")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--width", type=int, default=FLEET_SIZE[0])
    parser.add_argument("--height", type=int, default=FLEET_SIZE[1])
    args = parser.parse_args(argv)
    size = (args.width, args.height)
    results: list[ReaderRun] = []
    with running_fleet(args.streams, args.fps, size) as port:
        for run in range(1, args.runs + 1):
            for kind in OPENERS:
                result = measure(kind, run, port, args.streams, args.seconds, args.warmup)
                results.append(result)
                print(json.dumps(asdict(result)), flush=True)
    summary = {kind: [r.cpu_s_per_1000_frames for r in results if r.reader == kind] for kind in OPENERS}
    print(json.dumps({"cpu_s_per_1000_frames": summary, "decode_ms_per_analysed_frame": decode_ms(size)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
