"""A webhook receiver for dispatch teams to copy: checks signatures, refuses replays, drops duplicates.

Standard library only. Run it with ``python -m cluster.receiver --port 8080 --secret-env VAR``.

Without SafeCity installed, the check is (``secret`` is bytes, headers and raw body as received)::

    import hashlib, hmac, time
    ts = headers["X-SafeCity-Timestamp"]
    expected = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if abs(time.time() - int(ts)) > 300 or not hmac.compare_digest(expected, headers["X-SafeCity-Signature"]):
        reject with 401
    if headers["Idempotency-Key"] was seen before: answer 200 and do nothing (SafeCity retried)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from actors.dispatch.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)

AlertHandler = Callable[[dict[str, Any]], None]


class AlertReceiver:
    """An HTTP server on ``host:port`` accepting SafeCity alerts (port 0 picks a free port)."""

    def __init__(
        self,
        secret: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tolerance_s: float = 300.0,
        on_alert: AlertHandler | None = None,
    ) -> None:
        self.secret = secret
        self.tolerance_s = tolerance_s
        self.on_alert = on_alert
        self.received: list[dict[str, Any]] = []
        self.received_at: dict[str, float] = {}
        self.duplicates = 0
        self.rejected = 0
        self.fail_next = 0  # answer 503 to this many valid requests (to exercise retries)
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to send alerts."""
        return f"http://{self._host}:{self._port}/alerts"

    def start(self) -> AlertReceiver:
        """Listen (again, on the same port after a stop)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, text = receiver.handle(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, format: str, *args: Any) -> None:
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """Check and record one request; returns the HTTP status and text to answer."""
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            verify(
                self.secret,
                lowered.get(TIMESTAMP_HEADER.lower()),
                lowered.get(SIGNATURE_HEADER.lower()),
                body,
                now=time.time(),
                tolerance_s=self.tolerance_s,
            )
        except SignatureError as exc:
            with self._lock:
                self.rejected += 1
            return 401, str(exc)
        try:
            alert = json.loads(body)
            alert_id = str(alert["alert_id"])
        except (ValueError, KeyError, TypeError):
            return 400, "body is not a SafeCity alert"
        if lowered.get(IDEMPOTENCY_HEADER.lower(), alert_id) != alert_id:
            return 400, "Idempotency-Key does not match alert_id"
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, "try again later"
            if alert_id in self.received_at:
                self.duplicates += 1
                return 200, "duplicate ignored"
            self.received_at[alert_id] = time.time()
            self.received.append(alert)
        if self.on_alert is not None:
            self.on_alert(alert)
        return 200, "ok"


def describe_alert(alert: dict[str, Any], received_at: float) -> str:
    """One line for an operator's console."""
    captured = datetime.fromisoformat(alert["captured_at"]).timestamp()
    camera = alert["camera"]
    if alert["kind"] == "face":
        subject = alert["subject"]
        what = f"subject {subject['id']} '{subject['label']}' similarity {alert['similarity']:.3f}"
    else:
        plate = alert["plate"]
        what = f"plate {plate['text']} ({plate['match']} hit on {plate['hotlist_plate']}: {plate['reason']})"
    return (
        f"ALERT {alert['kind']:<5} camera {camera['id']} ({camera['name']}): {what}; "
        f"latency {received_at - captured:.2f} s; status {alert['status']}: verify before acting"
    )


def main(argv: list[str] | None = None) -> int:
    """Run a receiver that prints each alert on one line."""
    parser = argparse.ArgumentParser(prog="python -m cluster.receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--secret-env", default="SAFECITY_WEBHOOK_SECRET")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env, "")
    if len(secret) < 16:
        print(f"receiver: set {args.secret_env} to the webhook secret (16+ characters)", file=sys.stderr)
        return 2
    receiver = AlertReceiver(secret.encode(), args.host, args.port)
    receiver.on_alert = lambda alert: print(describe_alert(alert, time.time()), flush=True)
    receiver.start()
    print(f"listening on {receiver.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
