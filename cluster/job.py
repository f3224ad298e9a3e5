"""The long-running job: `safecity run --config F` or `ray job submit -- python -m cluster.job --config F`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import ray

from cluster.config import SafeCityConfig, load_config
from cluster.pipeline import RunningPipeline, start_pipeline
from serve.errors import SafeCityError


def connect_ray() -> None:
    """Join the cluster named by ``RAY_ADDRESS`` (set by ``ray job submit``), or start a local one."""
    address = os.environ.get("RAY_ADDRESS")
    ray.init(address=address, include_dashboard=False if address is None else None, log_to_driver=False)


def report_lines(pipeline: RunningPipeline) -> list[str]:
    """One JSON line per camera and one for the outbox, stamped with the time (unix s).

    The camera lines are what ``cluster.analysis.stats.load_camera_stats`` reads (capacity notebook).
    """
    at = round(time.time(), 3)
    lines = [json.dumps({"at": at, "camera": dataclasses.asdict(row)}) for row in pipeline.camera_stats()]
    dispatch = ray.get(pipeline.dispatcher.stats.remote())
    return [*lines, json.dumps({"at": at, "dispatch": dataclasses.asdict(dispatch)})]


def report(pipeline: RunningPipeline) -> None:
    """Print the counters (:func:`report_lines`)."""
    for line in report_lines(pipeline):
        print(line, flush=True)


def run(config: SafeCityConfig, stop: threading.Event, report_every_s: float = 30.0) -> RunningPipeline:
    """Start the operator API (``api.with_run``) and the pipeline; report camera counters until ``stop``."""
    if config.api.with_run:
        from cluster.api.deployment import deploy_api

        # Before the pipeline: Serve's HTTP address is fixed by whoever starts Serve first.
        url = deploy_api(config)
        print(f"safecity: operator API at {url}/api/v1", flush=True)
    pipeline = start_pipeline(config)
    analysed = sum(len(specs) for specs in pipeline.cameras.assignment.values())
    print(f"safecity: analysing {analysed} camera(s); Ctrl-C or SIGTERM stops", flush=True)
    while not stop.wait(report_every_s):
        try:
            report(pipeline)
        except ray.exceptions.RayError as exc:  # a node lost mid-report: its actors restart elsewhere
            print(f"safecity: counters unavailable this time: {type(exc).__name__}", flush=True)
    return pipeline


def run_job(
    config: SafeCityConfig, *, source: str, report_every_s: float = 30.0, drain_timeout_s: float = 30.0
) -> int:
    """Run ``config``'s cameras until SIGINT or SIGTERM, then deliver what is pending.

    ``source`` names the config in messages. Raises :class:`SafeCityError` for a config that cannot
    run, including a webhook secret missing on the state node.
    """
    if not config.cameras and not config.api.with_run:
        raise SafeCityError(
            f"{source}: cameras: at least one camera is needed to run (or api.with_run, to add them "
            "through the API)"
        )
    connect_ray()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which installs handlers of its own
        signal.signal(signum, lambda *_: stop.set())
    pipeline = run(config, stop, report_every_s)
    left = pipeline.stop(drain_timeout_s)
    if left.delivered_all:
        print("safecity: stopped; all alerts delivered")
    else:
        print(
            f"safecity: stopped; {left.pending_deliveries} deliveries and {left.unlogged_alerts} alert-log "
            "writes stay in the outbox for the next run"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cluster.job``."""
    parser = argparse.ArgumentParser(prog="python -m cluster.job")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--report-every", type=float, default=30.0, help="seconds between counter reports")
    parser.add_argument(
        "--drain-timeout", type=float, default=30.0, help="seconds to deliver pending alerts when stopping"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run_job(
            load_config(args.config),
            source=str(args.config),
            report_every_s=args.report_every,
            drain_timeout_s=args.drain_timeout,
        )
    except SafeCityError as exc:
        return _error(exc)


def _error(exc: SafeCityError) -> int:
    print(f"safecity: error: {str(exc).replace(chr(10), '; ')}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
