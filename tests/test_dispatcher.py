"""Alert delivery over real HTTP to the receiver example: signed, retried, never lost, never doubled."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from actors.backoff import Backoff
from actors.dispatch.alert_log import AlertLog
from actors.dispatch.dispatcher import Dispatcher, alert_body
from actors.dispatch.outbox import Outbox, OutboxCounts
from actors.dispatch.signing import sign
from actors.dispatch.webhook import Receipt, WebhookEndpoint
from cluster.receiver import AlertReceiver
from serve.alerts import Alert, CameraRef, PlateRef, SubjectRef
from serve.errors import StoreError
from tests.dispatch_support import Running, wait_until

SECRET = b"test-secret-0123456789"
FAST = Backoff(initial_s=0.05, maximum_s=0.2)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF-fake\xff\xd9"


def face_alert(index: int = 0, captured_at: datetime | None = None) -> Alert:
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind="face",
        camera=CameraRef("fr-gate-1", "Gate 1", "fr", 24.86, 67.0, "south"),
        captured_at=captured_at or datetime.now(UTC),
        track_id=index,
        evidence_jpeg=JPEG + bytes([index % 256]),
        subject=SubjectRef("subject-a", "Subject A", "warrant 2026/114", "p1.jpg"),
        similarity=0.61234,
        threshold=0.5,
        model_versions={"face_embedder": "sface#abc"},
    )


def delivery_errors(caplog: pytest.LogCaptureFixture, alert_id: str, endpoint: str) -> list[str]:
    """The failures the dispatcher logged for one alert at one endpoint, oldest first."""
    pattern = re.compile(
        rf"dispatcher: {re.escape(endpoint)}: (.*) \(alert {re.escape(alert_id)}, attempt \d+\)"
    )
    return [m.group(1) for m in map(pattern.fullmatch, caplog.messages) if m is not None]


def plate_alert() -> Alert:
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind="plate",
        camera=CameraRef("anpr-road-1", "Road 1", "anpr"),
        captured_at=datetime.now(UTC),
        track_id=7,
        evidence_jpeg=JPEG,
        plate=PlateRef("MLB803", "MLB803", "reported stolen", True, 0.96, 3),
    )


class RecordingReceiver(AlertReceiver):
    """The receiver example, also keeping every request as it came (headers, raw body, arrival time)."""

    def __init__(self, secret: bytes = SECRET, **kwargs: Any) -> None:
        super().__init__(secret, **kwargs)
        self.requests: list[tuple[dict[str, str], bytes, float]] = []

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        self.requests.append((headers, body, time.monotonic()))
        return super().handle(headers, body)


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    server = RecordingReceiver().start()
    yield server
    server.stop()


def endpoint(name: str, receiver: AlertReceiver, timeout_s: float = 2.0) -> WebhookEndpoint:
    return WebhookEndpoint(name, receiver.url, receiver.secret, timeout_s)


def build(tmp_path: Path, endpoints: list[WebhookEndpoint], **kwargs: Any) -> Dispatcher:
    outbox = Outbox(tmp_path / "outbox.sqlite3", [e.name for e in endpoints])
    return Dispatcher(
        outbox,
        endpoints,
        FAST,
        AlertLog(tmp_path / "alerts"),
        rng=random.Random(1),
        log_batch_s=0.05,
        **kwargs,
    )


async def test_an_alert_arrives_once_signed_with_the_exact_body_and_a_receipt(
    tmp_path: Path, receiver: RecordingReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    seen: list[tuple[str, str, Receipt]] = []
    dispatcher = build(tmp_path, [endpoint("cad", receiver)], on_delivered=lambda *args: seen.append(args))
    start(dispatcher)
    alert = face_alert()
    assert await dispatcher.submit(alert) is True
    assert await dispatcher.submit(alert) is False  # a repeated submit is ignored
    assert await dispatcher.drain(5)

    [(headers, body, _)] = receiver.requests
    assert body == alert_body(alert)
    assert receiver.received == [json.loads(body)] and receiver.received[0]["alert_id"] == alert.alert_id
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == alert.alert_id
    timestamp = headers["X-SafeCity-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 5
    digest = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-SafeCity-Signature"] == f"sha256={digest}"

    receipt = dispatcher.outbox.delivered(alert.alert_id)["cad"]
    assert (receipt["status"], receipt["body"], receipt["endpoint"]) == (200, "ok", "cad")
    assert receipt["headers"]["content-type"].startswith("text/plain")
    assert abs(receipt["at"] - time.time()) < 5
    assert [(a, e) for a, e, _ in seen] == [(alert.alert_id, "cad")] and seen[0][2] == receipt
    stats = dispatcher.stats()
    assert stats.outbox == OutboxCounts(alerts=1, unlogged=0, delivered=1, pending=0, failed_attempts=0)
    assert stats.failures_this_process == 0


async def test_two_endpoints_with_their_own_secrets_both_get_every_alert_through_server_errors(
    tmp_path: Path, start: Callable[[Dispatcher], Running]
) -> None:
    first, second = RecordingReceiver().start(), RecordingReceiver(b"other-secret-9876543210").start()
    first.fail_next = 3  # three 500s from the first: retried there, the second unaffected
    try:
        dispatcher = build(tmp_path, [endpoint("one", first), endpoint("two", second)])
        start(dispatcher)
        alerts = [face_alert(i) for i in range(3)]
        for alert in alerts:
            await dispatcher.submit(alert)
        assert await dispatcher.drain(5)
        for server in (first, second):
            assert sorted(a["alert_id"] for a in server.received) == sorted(a.alert_id for a in alerts)
            assert (server.rejected, server.duplicates) == (0, 0)
        assert all(set(dispatcher.outbox.delivered(a.alert_id)) == {"one", "two"} for a in alerts)
        assert dispatcher.failures == 3 and first.fail_next == 0
    finally:
        first.stop()
        second.stop()


async def test_while_the_receiver_is_down_alerts_are_retried_with_backoff_and_each_arrives_once(
    tmp_path: Path, start: Callable[[Dispatcher], Running], caplog: pytest.LogCaptureFixture
) -> None:
    receiver = RecordingReceiver().start()
    receiver.stop()  # the dispatch system is down; its port is known
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    start(dispatcher)
    alerts = [face_alert(i) for i in range(20)]
    for alert in alerts:
        await dispatcher.submit(alert)
    await wait_until(lambda: dispatcher.failures >= 3 * len(alerts))  # each alert refused three times
    assert dispatcher.outbox.counts().pending == 20
    assert delivery_errors(caplog, alerts[0].alert_id, "cad")[-1].startswith("ConnectError")

    receiver.start()
    try:
        assert await dispatcher.drain(5)
        assert sorted(a["alert_id"] for a in receiver.received) == sorted(a.alert_id for a in alerts)
        assert receiver.duplicates == 0 and len(receiver.requests) == 20
    finally:
        receiver.stop()


async def test_retries_of_a_failing_receiver_are_spaced_by_the_backoff(
    tmp_path: Path, receiver: RecordingReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    receiver.fail_next = 4  # four 500s, then 200
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    start(dispatcher)
    alert = face_alert()
    await dispatcher.submit(alert)
    assert await dispatcher.drain(5)
    times = [arrived for _, _, arrived in receiver.requests]
    assert len(times) == 5 and len(receiver.received) == 1
    for attempt, (before, after) in enumerate(itertools.pairwise(times), start=1):
        assert after - before >= FAST.base(attempt) * (1 - FAST.jitter)
    assert dispatcher.failures == 4
    assert dispatcher.stats().outbox.failed_attempts == 4
    assert dispatcher.outbox.delivered(alert.alert_id)["cad"]["status"] == 200


async def test_a_crashed_dispatcher_is_replaced_and_the_new_one_sends_only_what_was_left(
    tmp_path: Path, receiver: RecordingReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    first = start(dispatcher)
    delivered = [face_alert(i) for i in range(5)]
    for alert in delivered:
        await dispatcher.submit(alert)
    assert await dispatcher.drain(5)
    receiver.stop()
    left = [face_alert(i) for i in range(5, 15)]
    for alert in left:
        await dispatcher.submit(alert)
    await wait_until(lambda: dispatcher.failures >= len(left))
    await first.crash()

    receiver.start()
    restarted = build(tmp_path, [endpoint("cad", receiver)])
    start(restarted)
    assert await restarted.drain(5)
    everything = delivered + left
    assert sorted(a["alert_id"] for a in receiver.received) == sorted(a.alert_id for a in everything)
    assert receiver.duplicates == 0
    log = restarted.alert_log.read()  # logged once each, across the crash
    assert sorted(log.column("alert_id").to_pylist()) == sorted(a.alert_id for a in everything)


async def test_an_answer_lost_in_a_crash_is_resent_and_the_receiver_drops_it(
    tmp_path: Path, start: Callable[[Dispatcher], Running]
) -> None:
    release = threading.Event()
    receiver = RecordingReceiver(on_alert=lambda alert: release.wait(10)).start()
    try:
        dispatcher = build(tmp_path, [endpoint("cad", receiver)])
        first = start(dispatcher)
        alert = face_alert()
        await dispatcher.submit(alert)
        await wait_until(lambda: len(receiver.requests) == 1)  # the receiver is processing it...
        await first.crash()  # ...when the dispatcher dies, before the 200 comes back
        release.set()
        await wait_until(lambda: len(receiver.received) == 1)

        restarted = build(tmp_path, [endpoint("cad", receiver)])
        start(restarted)
        assert await restarted.drain(5)
        assert len(receiver.received) == 1 and receiver.duplicates == 1
        assert restarted.outbox.delivered(alert.alert_id)["cad"]["body"] == "duplicate ignored"
    finally:
        release.set()
        receiver.stop()


async def test_a_hanging_endpoint_times_out_without_holding_back_the_other(
    tmp_path: Path,
    receiver: RecordingReceiver,
    start: Callable[[Dispatcher], Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    hanging = RecordingReceiver(on_alert=lambda alert: release.wait(10)).start()
    try:
        endpoints = [endpoint("hangs", hanging, timeout_s=1.0), endpoint("cad", receiver)]
        dispatcher = build(tmp_path, endpoints, max_in_flight=2)
        start(dispatcher)
        alerts = [face_alert(i) for i in range(6)]
        for alert in alerts:
            await dispatcher.submit(alert)
        # Three rounds of two POSTs each reach "cad" while the first two to "hangs" still wait.
        await wait_until(lambda: len(receiver.received) == 6)
        assert dispatcher.failures == 0 and len(hanging.requests) == 2
        await wait_until(lambda: dispatcher.failures >= 2)
        assert "hangs: no answer within 1 s" in caplog.text
        release.set()
        assert await dispatcher.drain(5)
        assert sorted(a["alert_id"] for a in hanging.received) == sorted(a.alert_id for a in alerts)
    finally:
        release.set()
        hanging.stop()


async def test_a_wrongly_signed_delivery_is_refused_and_kept_pending(
    tmp_path: Path,
    receiver: RecordingReceiver,
    start: Callable[[Dispatcher], Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = WebhookEndpoint("cad", receiver.url, b"not-the-receivers-secret", 2.0)
    dispatcher = build(tmp_path, [wrong])
    start(dispatcher)
    alert = face_alert()
    await dispatcher.submit(alert)
    await wait_until(lambda: dispatcher.failures >= 2)
    assert receiver.received == [] and receiver.rejected >= 2
    assert "HTTP 401: signature does not match" in delivery_errors(caplog, alert.alert_id, "cad")[-1]
    assert dispatcher.outbox.counts().pending == 1


def test_the_receiver_refuses_stale_forged_and_malformed_requests_and_drops_duplicates(
    receiver: RecordingReceiver,
) -> None:
    body = alert_body(face_alert())
    alert_id = json.loads(body)["alert_id"]

    def post(timestamp: int, signature: str, payload: bytes = body, key: str = alert_id) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-SafeCity-Timestamp": str(timestamp),
            "X-SafeCity-Signature": signature,
            "Idempotency-Key": key,
        }
        return httpx.post(receiver.url, content=payload, headers=headers, timeout=5).status_code

    now = int(time.time())
    assert post(now - 3600, sign(SECRET, now - 3600, body)) == 401  # a replay of an old request
    assert post(now + 3600, sign(SECRET, now + 3600, body)) == 401
    assert post(now, sign(b"wrong-secret-0000000", now, body)) == 401
    assert post(now, sign(SECRET, now, body)[:-2]) == 401
    assert post(now, sign(SECRET, now, b"{not json"), b"{not json") == 400
    assert post(now, sign(SECRET, now, body), key="another-id") == 400
    assert receiver.received == []
    assert post(now, sign(SECRET, now, body)) == 200
    assert post(now, sign(SECRET, now, body)) == 200  # the same id again: answered, not processed twice
    assert [a["alert_id"] for a in receiver.received] == [alert_id]
    assert (receiver.duplicates, receiver.rejected) == (1, 4)


async def test_a_receiver_whose_processing_fails_answers_500_and_gets_the_alert_again(
    tmp_path: Path, start: Callable[[Dispatcher], Running]
) -> None:
    calls: list[str] = []

    def flaky(alert: dict[str, Any]) -> None:
        calls.append(alert["alert_id"])
        if len(calls) == 1:
            raise RuntimeError("database briefly down")

    receiver = RecordingReceiver(on_alert=flaky).start()
    try:
        dispatcher = build(tmp_path, [endpoint("cad", receiver)])
        start(dispatcher)
        alert = face_alert()
        await dispatcher.submit(alert)
        assert await dispatcher.drain(5)
        assert calls == [alert.alert_id, alert.alert_id] and len(receiver.received) == 1
        assert dispatcher.failures == 1 and receiver.duplicates == 0
    finally:
        receiver.stop()


def test_the_receiver_command_prints_one_line_per_alert(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_SECRET": SECRET.decode()}
    command = [sys.executable, "-m", "cluster.receiver", "--port", "0", "--secret-env", "DEMO_SECRET"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = read_line(process.stdout).removeprefix("listening on ").strip()
        alert = face_alert(captured_at=datetime.now(UTC) - timedelta(seconds=2))
        body, now = alert_body(alert), int(time.time())
        headers = {
            "X-SafeCity-Timestamp": str(now),
            "X-SafeCity-Signature": sign(SECRET, now, body),
            "Idempotency-Key": alert.alert_id,
        }
        assert httpx.post(url, content=body, headers=headers, timeout=5).status_code == 200
        line = read_line(process.stdout)
        assert line.startswith(
            "ALERT face  camera fr-gate-1 (Gate 1): subject subject-a 'Subject A' similarity 0.612"
        )
        latency = float(line.split("latency ")[1].split(" s")[0])
        assert 2.0 <= latency < 10.0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_the_receiver_command_needs_a_secret() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_SECRET"}
    command = [sys.executable, "-m", "cluster.receiver", "--secret-env", "NO_SUCH_SECRET"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "set NO_SUCH_SECRET" in done.stderr


def read_line(stream: IO[str], timeout_s: float = 10.0) -> str:
    ready, _, _ = select.select([stream], [], [], timeout_s)
    assert ready, "no output in time"
    return stream.readline()


async def test_the_alert_log_holds_every_alert_as_sent_even_if_submitted_before_the_loop_ran(
    tmp_path: Path, receiver: RecordingReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    yesterday = datetime.now(UTC) - timedelta(days=1)
    face, plate, old = face_alert(1), plate_alert(), face_alert(2, captured_at=yesterday)
    for alert in (face, plate, old):
        await dispatcher.submit(alert)
    assert dispatcher.alert_log.read().num_rows == 0  # stored in the outbox; logged by the loop
    start(dispatcher)
    assert await dispatcher.drain(5)

    rows = {row["alert_id"]: row for row in dispatcher.alert_log.read().to_pylist()}
    assert set(rows) == {face.alert_id, plate.alert_id, old.alert_id}
    assert {p.parent.name for p in (tmp_path / "alerts").rglob("*.parquet")} == {
        f"date={datetime.now(UTC):%Y-%m-%d}",
        f"date={yesterday:%Y-%m-%d}",
    }
    f, p = rows[face.alert_id], rows[plate.alert_id]
    assert (f["kind"], f["camera_id"], f["zone"], f["lat"], f["lon"]) == (
        "face",
        "fr-gate-1",
        "south",
        24.86,
        67.0,
    )
    assert (f["subject_id"], f["subject_label"], f["subject_category"]) == (
        "subject-a",
        "Subject A",
        "warrant 2026/114",
    )
    assert (f["similarity"], f["threshold"], f["plate_text"]) == (0.6123, 0.5, None)
    assert f["evidence_jpeg"] == face.evidence_jpeg and f["models"] == [("face_embedder", "sface#abc")]
    assert abs(f["captured_at"] - face.captured_at) < timedelta(milliseconds=1)
    assert (p["kind"], p["plate_text"], p["hotlist_plate"], p["plate_reason"], p["plate_exact"]) == (
        "plate",
        "MLB803",
        "MLB803",
        "reported stolen",
        True,
    )
    assert (p["subject_id"], p["similarity"], p["lat"], p["status"]) == (None, None, None, "unverified")
    assert rows[old.alert_id]["date"] == f"{yesterday:%Y-%m-%d}"


async def test_alerts_submitted_one_at_a_time_to_a_running_loop_are_each_logged(
    tmp_path: Path, receiver: RecordingReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    start(dispatcher)
    alerts = [face_alert(i) for i in range(3)]
    for count, alert in enumerate(alerts, start=1):
        await dispatcher.submit(alert)
        assert await dispatcher.drain(5)
        assert dispatcher.alert_log.read().num_rows == count
    assert sorted(dispatcher.alert_log.read().column("alert_id").to_pylist()) == sorted(
        a.alert_id for a in alerts
    )


async def test_stop_lets_the_loop_finish_and_it_cannot_run_twice(
    tmp_path: Path, receiver: RecordingReceiver
) -> None:
    dispatcher = build(tmp_path, [endpoint("cad", receiver)])
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await dispatcher.submit(face_alert())
    await wait_until(lambda: len(receiver.received) == 1)
    with pytest.raises(RuntimeError, match="already running"):
        await dispatcher.run(asyncio.Event())
    stop.set()
    await asyncio.wait_for(task, 5)
    assert dispatcher.stats().outbox.unlogged == 0  # the final log write happened on the way out
    assert await dispatcher.drain(0)  # nothing left to deliver or log


def test_a_second_dispatcher_on_the_same_outbox_is_refused(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite3", ["cad"]), pytest.raises(StoreError, match="in use"):
        Outbox(tmp_path / "outbox.sqlite3", ["cad"])


def test_dispatcher_and_outbox_must_agree_on_endpoints(tmp_path: Path, receiver: RecordingReceiver) -> None:
    with Outbox(tmp_path / "outbox.sqlite3", ["a"]) as outbox, pytest.raises(ValueError, match="differ"):
        Dispatcher(outbox, [endpoint("b", receiver)], FAST, AlertLog(tmp_path / "alerts"))


def test_backoff_grows_to_its_cap_with_bounded_jitter() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=8.0, jitter=0.5)
    rng = random.Random(0)
    for attempt in range(1, 10):
        base = min(8.0, 2.0 ** (attempt - 1))
        delays = [backoff.delay(attempt, rng) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays) and max(delays) - min(delays) > base / 4
    assert backoff.delay(100_000, rng) <= 8.0  # no overflow after days of failures
    assert Backoff(1.0, 8.0, jitter=0).delay(3, rng) == 4.0
    assert Backoff(10.0, 5.0).base(1) == 5.0
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
