"""The two-node test cluster of ``tests.ray_nodes``: placement, actor restart, node death, cleanup."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.ray_nodes import LocalCluster
from tests.waiting import poll_until

NAMESPACE = "safecity-test"
# The job's driver: one restartable named actor on node b (by its resource), one on the head; then it waits
# for `ray job stop` and says which signal it got.
DRIVER = """
import signal, threading, ray
ray.init(namespace="safecity-test")
@ray.remote(max_restarts=-1, num_cpus=0)
class Pinned:
    def ping(self):
        return "pong"
on_b = Pinned.options(name="on_b", resources={"node_b": 1}).remote()
on_head = Pinned.options(name="on_head", resources={"node:__internal_head__": 0.01}).remote()
assert ray.get([on_b.ping.remote(), on_head.ping.remote()]) == ["pong", "pong"]
stopped = threading.Event()
def on_signal(signum, _frame):
    print("driver got", signal.Signals(signum).name, flush=True)
    stopped.set()
signal.signal(signal.SIGTERM, on_signal)
print("actors", "placed", flush=True)  # not the text of the source: the job log echoes it
stopped.wait()
"""


@pytest.mark.slow
@pytest.mark.ray
def test_two_node_cluster_places_restarts_loses_a_node_and_cleans_up(tmp_path: Path) -> None:
    began = time.monotonic()
    cluster = LocalCluster(tmp_path, head_cpus=2, node_cpus=2, node_resources={"node_b": 1})
    with cluster:
        started = time.monotonic()
        assert cluster.head_node_id != cluster.node_id
        job_id = cluster.submit_job([sys.executable, "-c", DRIVER], stop_wait_s=10)

        def alive(name: str) -> dict[str, object] | None:
            actor = cluster.actor(name, NAMESPACE)
            return actor if actor is not None and actor["state"] == "ALIVE" else None

        poll_until(lambda: "actors placed" in cluster.job_logs(job_id), 60, "the driver to place its actors")
        on_b = poll_until(lambda: alive("on_b"), 30, "actor on_b ALIVE")
        on_head = poll_until(lambda: alive("on_head"), 30, "actor on_head ALIVE")
        assert on_b["node_id"] == cluster.node_id, on_b
        assert on_head["node_id"] == cluster.head_node_id, on_head
        assert cluster.job_status(job_id) == "RUNNING", cluster.job_logs(job_id)

        killed = cluster.kill_actor_process("on_b", NAMESPACE)
        assert killed == on_b["pid"]
        restarted = poll_until(
            lambda: a if (a := alive("on_b")) is not None and a["pid"] != killed else None, 60, "on_b restart"
        )
        assert restarted["node_id"] == cluster.node_id and restarted["num_restarts"] == 1, restarted

        death_s = cluster.kill_node()
        assert cluster.node_state(cluster.node_id) == "DEAD"
        assert cluster.node_state(cluster.head_node_id) == "ALIVE"
        assert not cluster.processes("b")
        assert alive("on_head") is not None

        assert "on_head" in cluster.state_api_dump()
        assert cluster.stop_job(job_id) == "STOPPED"
        assert "driver got SIGTERM" in cluster.job_logs(job_id)
        started_procs = cluster.processes()
        assert {"gcs_server", "raylet"} <= {p.name() for p in started_procs}, started_procs
        ran = time.monotonic()
    assert not [p for p in started_procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not cluster.processes()
    cluster.stop()  # idempotent
    print(
        f"start {started - began:.1f} s, scenario {ran - started:.1f} s (node b DEAD after {death_s:.1f} s), "
        f"stop {time.monotonic() - ran:.1f} s"
    )
