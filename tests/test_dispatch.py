"""Alert delivery over real HTTP to the receiver example: signed, retried, never lost, never doubled."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from actors.dispatch.alert_log import AlertLog
from actors.dispatch.backoff import Backoff
from actors.dispatch.dispatcher import Dispatcher, alert_body
from actors.dispatch.outbox import Outbox
from actors.dispatch.signing import SignatureError, sign, verify
from actors.dispatch.webhook import WebhookEndpoint
from cluster.receiver import AlertReceiver
from serve.alerts import Alert, CameraRef, SubjectRef
from tests.dispatch_support import Running, wait_until

SECRET = b"test-secret-0123456789"
FAST = Backoff(initial_s=0.05, maximum_s=0.2)


def make_alert(index: int = 0) -> Alert:
    return Alert(
        alert_id=str(uuid.uuid4()),
        kind="face",
        camera=CameraRef("fr-gate-1", "Gate 1", "fr", 24.86, 67.0, "south"),
        captured_at=datetime.now(UTC),
        track_id=index,
        evidence_jpeg=b"\xff\xd8\xff\xe0fake-jpeg",
        subject=SubjectRef("subject-a", "Subject A", "test", "p1.jpg"),
        similarity=0.61,
        threshold=0.5,
    )


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    server = AlertReceiver(SECRET).start()
    yield server
    server.stop()


def build(tmp_path: Path, receivers: list[AlertReceiver]) -> Dispatcher:
    endpoints = [WebhookEndpoint(f"ep{i}", r.url, SECRET, timeout_s=2.0) for i, r in enumerate(receivers)]
    outbox = Outbox(tmp_path / "outbox.sqlite3", [e.name for e in endpoints])
    return Dispatcher(outbox, endpoints, FAST, AlertLog(tmp_path / "alerts"), rng=random.Random(1))


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"alert_id":"x"}'
    now = 1_700_000_000
    signature = sign(SECRET, now, body)
    verify(SECRET, str(now), signature, body, now=now + 10)
    for timestamp, header, payload, reason in [
        (str(now), signature, body + b" ", "does not match"),
        (str(now), sign(b"other-secret-000000", now, body), body, "does not match"),
        (str(now - 301), sign(SECRET, now - 301, body), body, "beyond the 300 s tolerance"),
        ("soon", signature, body, "not unix seconds"),
        (None, signature, body, "missing"),
    ]:
        with pytest.raises(SignatureError, match=reason):
            verify(SECRET, timestamp, header, payload, now=now)


def test_outbox_is_idempotent_and_durable(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", ["a", "b"])
    assert outbox.add("id-1", b"{}", now=1.0) is True
    assert outbox.add("id-1", b"{}", now=2.0) is False
    outbox.mark_delivered("id-1", "a", {"status": 200}, now=3.0)
    outbox.close()
    reopened = Outbox(tmp_path / "o.sqlite3", ["a", "b"])
    assert [(d.alert_id, d.endpoint) for d in reopened.due(now=10.0, limit=10)] == [("id-1", "b")]
    assert reopened.delivered("id-1") == {"a": {"status": 200}}


async def test_an_alert_arrives_once_signed_with_the_exact_body(
    tmp_path: Path, receiver: AlertReceiver, start: Callable[[Dispatcher], Running]
) -> None:
    dispatcher = build(tmp_path, [receiver])
    start(dispatcher)
    alert = make_alert()
    assert await dispatcher.submit(alert)
    assert not await dispatcher.submit(alert)  # a repeat submit is ignored
    await wait_until(lambda: len(receiver.received) == 1)
    assert await dispatcher.drain(5)
    assert receiver.received[0] == json.loads(alert_body(alert)) and receiver.rejected == 0
    assert dispatcher.outbox.delivered(alert.alert_id)["ep0"]["status"] == 200
    [row] = dispatcher.alert_log.read().to_pylist()
    assert (row["alert_id"], row["subject_id"], row["camera_id"]) == (
        alert.alert_id,
        "subject-a",
        "fr-gate-1",
    )


async def test_receiver_down_then_up_every_alert_arrives_exactly_once_even_across_a_crash(
    tmp_path: Path, start: Callable[[Dispatcher], Running]
) -> None:
    receiver = AlertReceiver(SECRET)
    receiver.start()
    receiver.stop()  # the dispatch system is down; its port is known
    dispatcher = build(tmp_path, [receiver])
    first = start(dispatcher)
    alerts = [make_alert(i) for i in range(20)]
    for alert in alerts:
        await dispatcher.submit(alert)
    await wait_until(lambda: dispatcher.failures >= 20)  # every alert tried and failed at least once
    await first.crash()  # the dispatcher process dies with everything undelivered (its outbox closed)

    receiver.start()
    restarted = build(tmp_path, [receiver])
    start(restarted)
    await wait_until(lambda: len(receiver.received) == len(alerts))
    assert await restarted.drain(5)
    assert sorted(a["alert_id"] for a in receiver.received) == sorted(a.alert_id for a in alerts)
    assert receiver.duplicates == 0
    receiver.stop()


async def test_server_errors_are_retried_and_two_endpoints_both_get_it(
    tmp_path: Path, start: Callable[[Dispatcher], Running]
) -> None:
    flaky, steady = AlertReceiver(SECRET).start(), AlertReceiver(SECRET).start()
    flaky.fail_next = 3
    dispatcher = build(tmp_path, [flaky, steady])
    start(dispatcher)
    alert = make_alert()
    await dispatcher.submit(alert)
    # The outbox records a delivery after the receiver has answered: wait for the record, not the answer.
    await wait_until(lambda: set(dispatcher.outbox.delivered(alert.alert_id)) == {"ep0", "ep1"})
    assert len(flaky.received) == 1 and len(steady.received) == 1
    assert dispatcher.failures == 3 and flaky.fail_next == 0
    flaky.stop()
    steady.stop()


def test_receiver_refuses_stale_and_forged_requests_and_drops_duplicates(receiver: AlertReceiver) -> None:
    body = alert_body(make_alert())
    alert_id = json.loads(body)["alert_id"]

    def post(timestamp: int, signature: str) -> int:
        headers = {
            "X-SafeCity-Timestamp": str(timestamp),
            "X-SafeCity-Signature": signature,
            "Idempotency-Key": alert_id,
        }
        return httpx.post(receiver.url, content=body, headers=headers, timeout=5).status_code

    now = int(time.time())
    assert post(now - 3600, sign(SECRET, now - 3600, body)) == 401
    assert post(now, sign(b"wrong-secret-0000000", now, body)) == 401
    assert post(now, sign(SECRET, now, body)) == 200
    assert post(now, sign(SECRET, now, body)) == 200
    assert (len(receiver.received), receiver.duplicates, receiver.rejected) == (1, 1, 2)


def test_backoff_grows_to_its_cap_with_bounded_jitter() -> None:
    backoff = Backoff(initial_s=1.0, maximum_s=8.0, jitter=0.5)
    rng = random.Random(0)
    delays = [backoff.delay(attempt, rng) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        base = min(8.0, 2.0 ** (attempt - 1))
        assert base / 2 <= delay <= base
