"""A webhook receiver for dispatch teams to copy: checks signatures, refuses replays, drops duplicates.

Standard library only (plus SafeCity's ``verify``). Run it with
``SAFECITY_WEBHOOK_SECRET=... python -m cluster.receiver --port 8080 --secret-env SAFECITY_WEBHOOK_SECRET``.

Without SafeCity installed, the check is (``secret`` is bytes; ``body`` the raw bytes as received)::

    import hashlib, hmac, re, time
    ts, sig = headers.get("X-SafeCity-Timestamp", ""), headers.get("X-SafeCity-Signature", "")
    if not re.fullmatch(r"[0-9]{1,12}", ts) or abs(time.time() - int(ts)) > 300:
        answer 401                      # missing, garbled, stale (a replay) or from the future
    expected = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        answer 401                      # wrong secret or altered body
    if headers["Idempotency-Key"] (== the body's alert_id) was processed before:
        answer 200 and do nothing       # SafeCity resent it because it never saw our 200

SafeCity resends until it gets a 2xx, so answer 2xx only once the alert is safely handed on, and keep
the processed ids somewhere durable (this example keeps them in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from actors.dispatch.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)

AlertHandler = Callable[[dict[str, Any]], None]
MAX_BODY_BYTES = 16 * 1024 * 1024


class AlertReceiver:
    """An HTTP server on ``host:port`` accepting SafeCity alerts (port 0 picks a free port).

    ``received`` holds each alert once, in arrival order; ``duplicates`` counts resends answered 200
    without processing; ``rejected`` counts requests refused for their signature or timestamp.
    ``on_alert`` runs once per alert (in the request's thread); if it raises, the answer is 500 and
    SafeCity will resend. Set ``fail_next`` to answer ``fail_status`` to that many valid requests
    (to exercise retries).
    """

    def __init__(
        self,
        secret: bytes,
        host: str = "127.0.0.1",
        port: int = 0,
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
        self.fail_next = 0
        self.fail_status = 500
        self._processing: set[str] = set()
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to send alerts (the port is known once started, and kept across stop and start)."""
        return f"http://{self._host}:{self._port}/alerts"

    def start(self) -> Self:
        """Listen (again, on the same port after a stop)."""
        if self._server is not None:
            return self
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = self.headers.get("Content-Length", "")
                if not length.isdigit():
                    self._answer(411, "Content-Length required")
                elif int(length) > MAX_BODY_BYTES:
                    self._answer(413, "body too large")
                else:
                    body = self.rfile.read(int(length))
                    self._answer(*receiver.handle(dict(self.headers.items()), body))

            def _answer(self, status: int, text: str) -> None:
                payload = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting; it will send the alert again

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True  # restart on the same port straight after a stop
            daemon_threads = True

        self._server = Server((self._host, self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="alert-receiver",
            daemon=True,
        )
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
            return 400, "body is not a SafeCity alert (JSON with an alert_id)"
        if lowered.get(IDEMPOTENCY_HEADER.lower(), alert_id) != alert_id:
            return 400, f"{IDEMPOTENCY_HEADER} does not match the body's alert_id"
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, "failing on purpose (fail_next)"
            if alert_id in self.received_at:
                self.duplicates += 1
                return 200, "duplicate ignored"
            if alert_id in self._processing:
                return 409, "this alert is being processed; send it again later"
            self._processing.add(alert_id)
        try:
            if self.on_alert is not None:
                self.on_alert(alert)
        except Exception as exc:
            with self._lock:
                self._processing.discard(alert_id)
            return 500, f"processing failed: {type(exc).__name__}"
        with self._lock:
            self._processing.discard(alert_id)
            self.received_at[alert_id] = time.time()
            self.received.append(alert)
        return 200, "ok"


def alert_latency_s(alert: dict[str, Any], received_at: float) -> float:
    """Seconds from the alert's frame (``captured_at``) to ``received_at`` (unix seconds)."""
    return received_at - datetime.fromisoformat(alert["captured_at"]).timestamp()


def describe_alert(alert: dict[str, Any], received_at: float) -> str:
    """One line for an operator's console: kind, camera, subject or plate, score, latency."""
    camera = alert["camera"]
    if alert["kind"] == "face":
        subject = alert["subject"]
        what = f"subject {subject['id']} '{subject['label']}' similarity {alert['similarity']:.3f}"
    else:
        plate = alert["plate"]
        what = f"plate {plate['text']} ({plate['match']} hit on {plate['hotlist_plate']}: {plate['reason']})"
    return (
        f"ALERT {alert['kind']:<5} camera {camera['id']} ({camera['name']}): {what}; "
        f"latency {alert_latency_s(alert, received_at):.2f} s; status {alert['status']}: verify before acting"
    )


def _print_alert(alert: dict[str, Any]) -> None:
    try:
        line = describe_alert(alert, time.time())
    except (KeyError, TypeError, ValueError):  # signed, but not the schema this example knows
        line = f"ALERT {json.dumps(alert)[:300]}"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run a receiver that prints each alert on one line."""
    parser = argparse.ArgumentParser(prog="python -m cluster.receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--secret-env", default="SAFECITY_WEBHOOK_SECRET")
    parser.add_argument("--tolerance-s", type=float, default=300.0)
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env, "")
    if len(secret) < 16:
        print(f"receiver: set {args.secret_env} to the webhook secret (16+ characters)", file=sys.stderr)
        return 2
    receiver = AlertReceiver(secret.encode(), args.host, args.port, args.tolerance_s, _print_alert)
    try:
        receiver.start()
    except OSError as exc:
        print(f"receiver: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    # Handlers of our own: a process started in the background inherits SIGINT ignored, and a service
    # manager stops it with SIGTERM; either must end it cleanly.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"listening on {receiver.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
