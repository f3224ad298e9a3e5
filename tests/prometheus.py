"""A real Prometheus (Debian's ``/usr/bin/prometheus``) scraping Ray's metrics endpoint, for tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.streams import free_port

PROMETHEUS = "/usr/bin/prometheus"


class Prometheus:
    """Scrapes ``targets`` every second into a temporary store; :meth:`query` asks its HTTP API."""

    def __init__(self, folder: Path, targets: list[str]) -> None:
        if shutil.which(PROMETHEUS) is None:
            raise RuntimeError(f"{PROMETHEUS} not found: run scripts/install-test-services.sh")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self._config = folder / "prometheus.yml"
        self._config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: ray\n    static_configs: [{{targets: {targets!r}}}]\n"
        )
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> Prometheus:
        """Start it and wait until it answers ready."""
        self._process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self._config}",
                f"--storage.tsdb.path={self._folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self._folder / "prometheus.log").open("wb"),
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self._folder / "prometheus.log").read_text()
                raise RuntimeError(f"prometheus exited: {log[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready within {timeout_s} s")

    def query(self, expression: str) -> list[tuple[dict[str, str], float]]:
        """The instant vector of ``expression``: (labels, value) per series."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        answer.raise_for_status()
        return [(row["metric"], float(row["value"][1])) for row in answer.json()["data"]["result"]]

    def stop(self) -> None:
        """Stop it."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
