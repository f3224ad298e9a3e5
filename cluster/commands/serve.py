"""``safecity serve``: the operator API and console alone (lists, alerts, review; no cameras)."""

from __future__ import annotations

import argparse
import signal
import threading

from cluster.runtime import Runtime


def serve_api(args: argparse.Namespace, runtime: Runtime) -> int:
    """Run the API on a Ray cluster (``RAY_ADDRESS``, or a local one) until SIGINT or SIGTERM."""
    import ray
    from ray import serve

    from cluster.api.deployment import API_APP_NAME, deploy_api
    from cluster.job import connect_ray

    connect_ray()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which installs handlers of its own
        signal.signal(signum, lambda *_: stop.set())
    try:
        url = deploy_api(runtime.config)
        print(f"safecity: API at {url}/api/v1 (docs at {url}/docs); Ctrl-C or SIGTERM stops", flush=True)
        while not stop.wait(1.0):  # a timed wait, so the signal handler runs promptly
            pass
        serve.delete(API_APP_NAME)
    finally:
        ray.shutdown()
    return 0
