"""A real two-node Ray cluster on one machine, for tests: a head (GCS, dashboard, job server) and node "b".

Both nodes are started with ``<venv>/bin/ray start`` on free ports, each with its own short temp dir (``ray
start --temp-dir`` is accepted per node), so two clusters on one machine never share a port, a socket or a
``ray_current_cluster`` file, and nothing here ever touches another cluster (no ``ray stop``).

Which processes belong to which node: each ``ray start`` runs as the leader of a new session, and everything
Ray spawns from it (GCS, dashboard, raylet, agents, workers) stays in that session; job drivers and their
watchers call ``setsid`` themselves, so each node's processes also carry the environment variable
``RAY_NODES_TEST_TAG=<cluster tag>/<node>``. A process is a node's when it is in the node's session or carries
its tag (agents scrub the environment; drivers leave the session; one of the two always holds).

Token authentication: the cluster gets its own random token in a 0600 file under the temp dir, and every
process (nodes, ``env()`` subprocesses) is given ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH``; the
in-process job and state clients send it as an ``Authorization: Bearer`` header. ``~/.ray/auth_token`` is
never read or written.

Node death: the head runs with a fast GCS health check (``health_check_period_ms`` etc. through ``--system-
config``), so a SIGKILLed node is marked DEAD within about 1-2 s instead of ~14 s with Ray's defaults.

``ray job stop`` (and ``stop_job``) sends SIGTERM to the entrypoint and all its descendants, then SIGKILL
after ``RAY_JOB_STOP_WAIT_TIME_S`` (default 3 s, read from the job's runtime-env ``env_vars``);
``RAY_JOB_STOP_SIGNAL=SIGINT`` there makes the first signal SIGINT.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil
from ray.job_submission import JobStatus, JobSubmissionClient
from ray.util.state import StateApiClient
from ray.util.state.common import ListApiOptions, StateResource

from tests.streams import free_port
from tests.waiting import poll_until

TAG_ENV = "RAY_NODES_TEST_TAG"
TERMINAL_JOB_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
# GCS health check of the raylets: a node that stops answering is DEAD after about
# period * threshold (+ timeout), here 1.5-2 s; with Ray's defaults it took 14 s on this machine.
FAST_HEALTH_CHECK = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
_RAY_ADDRESS_ENV = ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")


@contextlib.contextmanager
def _without_ray_address_env() -> Iterator[None]:
    """Ray's HTTP clients let RAY_API_SERVER_ADDRESS / RAY_ADDRESS override the address they are given."""
    saved = {name: os.environ.pop(name) for name in _RAY_ADDRESS_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _as_dict(row: Any) -> dict[str, Any]:
    """A state-API row (dataclass or pydantic model) as a plain dict."""
    result: dict[str, Any] = row.asdict() if hasattr(row, "asdict") else dict(row)
    return result


@dataclass
class _Node:
    """One ``ray start``: its session (the ``ray start`` pid) and its environment tag."""

    name: str
    tag: str
    temp_dir: Path
    session_id: int | None = None
    log: str = ""

    def owns(self, proc: psutil.Process) -> bool:
        """Whether ``proc`` was started by this node (same session, or carries the tag)."""
        try:
            if self.session_id is not None and os.getsid(proc.pid) == self.session_id:
                return True
            return bool(proc.environ().get(TAG_ENV) == self.tag)
        except (psutil.Error, OSError):
            return False


@dataclass
class LocalCluster:
    """A head node plus node "b" started with ``ray start`` on this machine; ``with`` starts and stops it."""

    work: Path
    head_cpus: int = 2
    node_cpus: int = 2
    node_resources: Mapping[str, float] = field(default_factory=dict)
    head_resources: Mapping[str, float] = field(default_factory=dict)
    object_store_mb: int | None = 256
    system_config: Mapping[str, Any] = field(default_factory=lambda: dict(FAST_HEALTH_CHECK))
    start_timeout: float = 60.0
    keep_logs: bool = True
    stop_grace_s: float = 1.0

    address: str = field(init=False, default="")
    dashboard_url: str = field(init=False, default="")
    head_node_id: str = field(init=False, default="")
    node_id: str = field(init=False, default="")
    last_node_death_s: float | None = field(init=False, default=None)
    _root: Path | None = field(init=False, default=None)
    _token_path: Path | None = field(init=False, default=None)
    _nodes: list[_Node] = field(init=False, default_factory=list)
    _jobs: JobSubmissionClient | None = field(init=False, default=None)
    _state: StateApiClient | None = field(init=False, default=None)
    _started: bool = field(init=False, default=False)
    _stopped: bool = field(init=False, default=False)

    # ---- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the head, then node "b", and wait until the GCS reports both ALIVE; stop all on failure."""
        if self._started:
            raise RuntimeError("LocalCluster.start() called twice")
        self._started = True
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        # Unix socket paths (<temp>/session_<date>_<pid>/sockets/...) must stay under ~107 chars: short root
        self._root = Path(tempfile.mkdtemp(prefix="rn-", dir="/tmp"))
        self._token_path = self._root / "auth_token"
        self._token_path.touch(mode=0o600)
        self._token_path.write_text(secrets.token_hex(32))
        tag = f"{self._root.name}-{secrets.token_hex(4)}"
        gcs_port, dashboard_port = free_port(), free_port()
        self.dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        head = _Node("head", f"{tag}/head", self._root / "h")
        self._launch(
            head,
            [
                "--head",
                f"--port={gcs_port}",
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dashboard_port}",
                f"--ray-client-server-port={free_port()}",
                f"--num-cpus={self.head_cpus}",
                *([f"--resources={json.dumps(dict(self.head_resources))}"] if self.head_resources else []),
                *([f"--system-config={json.dumps(dict(self.system_config))}"] if self.system_config else []),
            ],
        )
        # Ray advertises the GCS on this machine's reachable IP (never 127.0.0.1): use its spelling
        self.address = (head.temp_dir / "ray_current_cluster").read_text().strip()
        headers = {"Authorization": f"Bearer {self._token_path.read_text()}"}
        with _without_ray_address_env():
            self._state = StateApiClient(
                self.dashboard_url, headers={**headers, "Content-Type": "application/json"}
            )
            self._jobs = JobSubmissionClient(self.dashboard_url, headers=headers)
        node = _Node("b", f"{tag}/b", self._root / "b")
        self._launch(
            node,
            [
                f"--address={self.address}",
                f"--num-cpus={self.node_cpus}",
                *([f"--resources={json.dumps(dict(self.node_resources))}"] if self.node_resources else []),
            ],
        )

        def both_alive() -> tuple[str, str] | None:
            alive = [n for n in self._nodes_or_empty() if n["state"] == "ALIVE"]
            heads = [n["node_id"] for n in alive if n["is_head_node"]]
            others = [n["node_id"] for n in alive if not n["is_head_node"]]
            return (heads[0], others[0]) if len(heads) == 1 and len(others) == 1 else None

        self.head_node_id, self.node_id = poll_until(both_alive, self.start_timeout, "both nodes ALIVE")

    def _launch(self, node: _Node, args: list[str]) -> None:
        """``ray start`` one node in a session of its own; its pid is the session id of all its processes."""
        node.temp_dir.mkdir()
        self._nodes.append(node)
        env = {**self._client_env(), TAG_ENV: node.tag}
        command = [
            str(Path(sys.executable).parent / "ray"),
            "start",
            f"--dashboard-agent-listen-port={free_port()}",
            "--num-gpus=0",
            f"--temp-dir={node.temp_dir}",
            "--disable-usage-stats",
            *([f"--object-store-memory={self.object_store_mb * 2**20}"] if self.object_store_mb else []),
            *args,
        ]
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        node.session_id = process.pid
        try:
            node.log, _ = process.communicate(timeout=self.start_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            node.log, _ = process.communicate()
            raise RuntimeError(f"`ray start` of node {node.name} timed out:\n{node.log}") from None
        if process.returncode != 0:
            raise RuntimeError(f"`ray start` of node {node.name} failed ({process.returncode}):\n{node.log}")

    def stop(self) -> None:
        """Terminate every process of both nodes (SIGTERM, SIGKILL after ``stop_grace_s``), check that none
        survives, remove the temp dir (logs copied to ``work/ray-logs`` first). Idempotent; safe after a
        failed start."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        survivors: list[psutil.Process] = []
        if self._nodes:
            procs = self.processes()
            self._signal(procs, signal.SIGTERM)
            _, alive = psutil.wait_procs(procs, timeout=self.stop_grace_s)  # raylet, GCS ignore SIGTERM
            deadline = time.monotonic() + 15
            while True:  # SIGKILL what is left, and anything spawned meanwhile, until nothing remains
                alive = [p for p in {*alive, *self.processes()} if p.is_running()]
                self._signal(alive, signal.SIGKILL)
                _, survivors = psutil.wait_procs(alive, timeout=3)
                if (not survivors and not self.processes()) or time.monotonic() > deadline:
                    break
            survivors = survivors or self.processes()
        if self._root is not None:
            if self.keep_logs:
                for node in self._nodes:
                    logs = node.temp_dir / "session_latest" / "logs"
                    with contextlib.suppress(OSError):
                        shutil.copytree(logs, self.work / "ray-logs" / node.name, dirs_exist_ok=True)
            shutil.rmtree(self._root, ignore_errors=True)
        if survivors:
            raise RuntimeError(f"processes survived LocalCluster.stop(): {survivors}")

    def __enter__(self) -> Self:
        return self if self._started else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- processes ----------------------------------------------------------------------------------

    def processes(self, node: str | None = None) -> list[psutil.Process]:
        """Live processes started by the cluster (``node``: "head" or "b"; None: both), never this one."""
        nodes = [n for n in self._nodes if node is None or n.name == node]
        own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
        found: list[psutil.Process] = []
        for proc in psutil.process_iter():
            if proc.pid not in own and any(n.owns(proc) for n in nodes):
                with contextlib.suppress(psutil.Error):
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        found.append(proc)
        return found

    @staticmethod
    def _signal(procs: Sequence[psutil.Process], signum: signal.Signals) -> None:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signum)

    def _kill_pid(self, pid: int) -> int:
        """SIGKILL ``pid`` if the cluster started it (never anyone else's) and wait until it is gone."""
        proc = next((p for p in self.processes() if p.pid == pid), None)
        if proc is None:
            raise LookupError(f"pid {pid} is not a process of this cluster")
        proc.send_signal(signal.SIGKILL)
        psutil.wait_procs([proc], timeout=10)
        return pid

    def kill_node(self, timeout: float = 60) -> float:
        """SIGKILL node "b" (raylet, agents, workers) and wait until the GCS marks it DEAD; returns the
        seconds from the kill to DEAD (also in ``last_node_death_s``)."""
        procs = self.processes("b")
        raylets = [p for p in procs if p.name() == "raylet"]
        self._signal([*raylets, *procs], signal.SIGKILL)
        killed_at = time.monotonic()
        _, alive = psutil.wait_procs(procs, timeout=10)
        if alive or self.processes("b"):
            raise RuntimeError(f"node b processes survived SIGKILL: {alive or self.processes('b')}")
        poll_until(lambda: self.node_state(self.node_id) == "DEAD", timeout, "node b DEAD", interval=0.1)
        self.last_node_death_s = time.monotonic() - killed_at
        return self.last_node_death_s

    def kill_actor_process(self, name: str, namespace: str) -> int:
        """SIGKILL the worker process of the ALIVE named actor; returns its pid."""
        actor = self.actor(name, namespace)
        if actor is None or actor["state"] != "ALIVE" or not actor["pid"]:
            raise LookupError(f"no ALIVE actor {namespace}/{name}: {actor}")
        return self._kill_pid(int(actor["pid"]))

    def kill_serve_replica(self, deployment: str, app: str | None = None) -> int:
        """SIGKILL one ALIVE replica of a Serve deployment (actor class ``ServeReplica:<app>:<deployment>``);
        returns its pid."""
        for actor in self.actors(state="ALIVE"):
            _, *parts = str(actor["class_name"]).split(":")
            if (
                actor["class_name"].startswith("ServeReplica:")
                and parts[-1] == deployment
                and (app is None or ":".join(parts[:-1]) == app)
            ):
                return self._kill_pid(int(actor["pid"]))
        raise LookupError(f"no ALIVE replica of Serve deployment {app or '*'}:{deployment}")

    # ---- state API ----------------------------------------------------------------------------------

    def _list(
        self, resource: StateResource, filters: Sequence[tuple[str, str, Any]] = ()
    ) -> list[dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("LocalCluster is not started")
        options = ListApiOptions(limit=10_000, detail=True, filters=list(filters))
        rows = self._state.list(resource, options=options, raise_on_missing_output=False)
        return [_as_dict(row) for row in rows]

    def _nodes_or_empty(self) -> list[dict[str, Any]]:
        """The nodes, or none while the dashboard is not answering yet."""
        try:
            return self.nodes()
        except Exception:
            return []

    def nodes(self) -> list[dict[str, Any]]:
        """``ray list nodes --detail`` rows (node_id, state ALIVE/DEAD, is_head_node, resources_total...)."""
        return self._list(StateResource.NODES)

    def node_state(self, node_id: str) -> str | None:
        """ALIVE or DEAD, as the GCS sees the node now."""
        return next((str(n["state"]) for n in self.nodes() if n["node_id"] == node_id), None)

    def actors(self, namespace: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """``ray list actors --detail`` rows (name, state, pid, node_id, class_name, num_restarts...)."""
        filters = [("ray_namespace", "=", namespace)] if namespace else []
        filters += [("state", "=", state)] if state else []
        return self._list(StateResource.ACTORS, filters)

    def actor(self, name: str, namespace: str) -> dict[str, Any] | None:
        """The named actor's row (its latest incarnation), or None."""
        rows = [a for a in self.actors(namespace) if a["name"] == name]
        alive = [a for a in rows if a["state"] != "DEAD"]
        return (alive or rows)[-1] if rows else None

    def state_api_dump(self) -> str:
        """What ``ray list actors/jobs/nodes --detail`` shows of this cluster, as JSON text (to grep)."""
        sections = {
            "actors": self._list(StateResource.ACTORS),
            "jobs": self._list(StateResource.JOBS),
            "nodes": self._list(StateResource.NODES),
        }
        return json.dumps(sections, indent=1, default=str)

    # ---- jobs ---------------------------------------------------------------------------------------

    def _job_client(self) -> JobSubmissionClient:
        if self._jobs is None:
            raise RuntimeError("LocalCluster is not started")
        return self._jobs

    def submit_job(
        self,
        entrypoint: Sequence[str],
        env_vars: Mapping[str, str] | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        stop_wait_s: int | None = None,
        submission_id: str | None = None,
    ) -> str:
        """Submit ``entrypoint`` with the CLI, ``ray job submit --no-wait``, as an operator does; the job id.

        The driver runs on the head with the nodes' environment (venv on PATH, the auth token) plus
        ``env_vars``; ``stop_wait_s`` is how long ``stop_job`` waits after SIGTERM before SIGKILL (Ray: 3 s).
        """
        env = dict((runtime_env or {}).get("env_vars") or {})
        env.update(env_vars or {})
        if stop_wait_s is not None:
            env["RAY_JOB_STOP_WAIT_TIME_S"] = str(stop_wait_s)
        full_env = {**(runtime_env or {}), **({"env_vars": env} if env else {})}
        job_id = submission_id or f"raysubmit_{secrets.token_hex(8)}"
        command = [
            str(Path(sys.executable).parent / "ray"),
            "job",
            "submit",
            "--no-wait",
            f"--address={self.dashboard_url}",
            f"--submission-id={job_id}",
            *([f"--runtime-env-json={json.dumps(full_env)}"] if full_env else []),
            "--",
            *entrypoint,
        ]
        done = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"`ray job submit` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return job_id

    def job_status(self, job_id: str) -> str:
        """PENDING, RUNNING, SUCCEEDED, FAILED or STOPPED."""
        status: JobStatus = self._job_client().get_job_status(job_id)
        return str(status.value)

    def wait_job(self, job_id: str, timeout: float = 60, states: frozenset[str] = TERMINAL_JOB_STATES) -> str:
        """Poll until the job's status is one of ``states``; returns it."""
        return poll_until(
            lambda: s if (s := self.job_status(job_id)) in states else None,
            timeout,
            f"job {job_id} in {states}",
        )

    def job_logs(self, job_id: str) -> str:
        """The driver's stdout and stderr so far."""
        logs: str = self._job_client().get_job_logs(job_id)
        return logs

    def stop_job(self, job_id: str, timeout: float = 60) -> str:
        """``ray job stop``: SIGTERM to the driver and its children (SIGKILL after ``stop_wait_s``); waits
        until the job is terminal and returns its status (STOPPED unless it had already ended)."""
        self._job_client().stop_job(job_id)
        return self.wait_job(job_id, timeout)

    # ---- subprocesses -------------------------------------------------------------------------------

    def _client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (*_RAY_ADDRESS_ENV, "RAY_AUTH_TOKEN", TAG_ENV)}
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
        env["RAY_AUTH_MODE"] = "token"
        env["RAY_AUTH_TOKEN_PATH"] = str(self._token_path)
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        return env

    def env(self) -> dict[str, str]:
        """``os.environ`` for a subprocess that talks to this cluster: ``ray.init()`` (RAY_ADDRESS, the GCS),
        ``ray job ...``/``ray list ...`` (RAY_API_SERVER_ADDRESS, the dashboard), token auth, venv on PATH."""
        if not self.address:
            raise RuntimeError("LocalCluster is not started")
        return {
            **self._client_env(),
            "RAY_ADDRESS": self.address,
            "RAY_API_SERVER_ADDRESS": self.dashboard_url,
        }
