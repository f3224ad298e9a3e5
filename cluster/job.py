"""The long-running job: `safecity run --config F` or `ray job submit -- python -m cluster.job --config F`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
from pathlib import Path

import ray

from cluster.config import SafeCityConfig, load_config
from cluster.pipeline import RunningPipeline, start_pipeline
from serve.errors import SafeCityError


def connect_ray() -> None:
    """Join the cluster named by ``RAY_ADDRESS`` (set by ``ray job submit``), or start a local one."""
    address = os.environ.get("RAY_ADDRESS")
    ray.init(address=address, include_dashboard=False if address is None else None, log_to_driver=False)


def run(config: SafeCityConfig, stop: threading.Event, report_every_s: float = 30.0) -> RunningPipeline:
    """Start the pipeline and report camera counters until ``stop`` is set."""
    pipeline = start_pipeline(config)
    print(f"safecity: running {len(config.cameras)} camera(s); Ctrl-C or SIGTERM stops", flush=True)
    while not stop.wait(report_every_s):
        for row in pipeline.camera_stats():
            print(json.dumps({"camera": dataclasses.asdict(row)}), flush=True)
        print(json.dumps({"dispatch": ray.get(pipeline.dispatcher.stats.remote())}), flush=True)
    return pipeline


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cluster.job``."""
    parser = argparse.ArgumentParser(prog="python -m cluster.job")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--report-every", type=float, default=30.0, help="seconds between counter reports")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        if not config.cameras:
            raise SafeCityError(f"{args.config}: cameras: at least one camera is needed to run")
        for endpoint in config.dispatch.endpoints:
            endpoint.secret()
    except SafeCityError as exc:
        print(f"safecity: error: {str(exc).replace(chr(10), '; ')}", file=sys.stderr)
        return 1
    connect_ray()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which installs handlers of its own
        signal.signal(signum, lambda *_: stop.set())
    pipeline = run(config, stop, args.report_every)
    delivered = pipeline.stop()
    outcome = (
        "all alerts delivered" if delivered else "undelivered alerts stay in the outbox for the next run"
    )
    print(f"safecity: stopped; {outcome}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
