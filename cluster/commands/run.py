"""``safecity run``: the live pipeline for the config's cameras, until stopped."""

from __future__ import annotations

import argparse

from cluster.runtime import Runtime
from serve.errors import SafeCityError


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    """Run the config (with ``--data-dir`` applied) as ``python -m cluster.job`` would."""
    if args.config is None:
        raise SafeCityError("run needs the cameras' config: safecity run --config FILE")
    from cluster import job

    return job.run_job(
        runtime.config,
        source=str(args.config),
        report_every_s=args.report_every,
        drain_timeout_s=args.drain_timeout,
    )
