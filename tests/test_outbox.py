"""The SQLite outbox: idempotent adds, due order and retry times, receipts, durability, one writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from actors.dispatch.outbox import ExpiredAlert, Outbox, OutboxCounts, OutboxInUseError
from serve.errors import StoreError


def last_errors(path: Path, alert_id: str) -> dict[str, str]:
    """What the file keeps for an operator: the last error of each endpoint still to acknowledge."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT endpoint, last_error FROM deliveries WHERE alert_id = ? AND delivered_at IS NULL "
            "AND last_error IS NOT NULL",
            (alert_id,),
        ).fetchall()
    return dict(rows)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", ["a", "b"])


def test_add_is_idempotent_and_keeps_the_first_body(outbox: Outbox) -> None:
    assert outbox.add("id-1", b'{"v":1}', now=1.0) is True
    assert outbox.add("id-1", b'{"v":2}', now=2.0) is False
    due = outbox.due(now=10.0, limit=10)
    assert [(d.alert_id, d.endpoint, d.body, d.attempts) for d in due] == [
        ("id-1", "a", b'{"v":1}', 0),
        ("id-1", "b", b'{"v":1}', 0),
    ]
    assert outbox.counts().pending == 2


def test_bodies_since_gives_what_was_stored_after_a_time_oldest_first(outbox: Outbox) -> None:
    outbox.add("old", b"0", now=5.0)
    outbox.add("newer", b"2", now=30.0)
    outbox.add("new", b"1", now=20.0)
    outbox.add("new", b"changed", now=40.0)  # a repeat keeps the first body and time
    assert outbox.bodies_since(10.0) == [b"1", b"2"]
    assert outbox.bodies_since(30.0) == []


def test_due_is_oldest_first_limited_filtered_and_respects_retry_times(outbox: Outbox) -> None:
    outbox.add("late", b"{}", now=20.0)
    outbox.add("early", b"{}", now=10.0)
    assert outbox.due(now=5.0, limit=10) == []
    assert [d.alert_id for d in outbox.due(now=30.0, limit=10, endpoint="a")] == ["early", "late"]
    assert [(d.alert_id, d.endpoint) for d in outbox.due(now=30.0, limit=1)] == [("early", "a")]
    assert outbox.next_due_at() == 10.0

    outbox.mark_failed("early", "a", "a: HTTP 503: busy", next_attempt_at=100.0)
    assert [d.alert_id for d in outbox.due(now=30.0, limit=10, endpoint="a")] == ["late"]
    assert outbox.next_due_at(after=20.0) == 100.0
    [retry] = outbox.due(now=100.0, limit=10, endpoint="a")[:1]
    assert (retry.alert_id, retry.attempts) == ("early", 1)
    assert last_errors(outbox.path, "early") == {"a": "a: HTTP 503: busy"}


def test_receipts_are_recorded_once_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, ["a", "b"]) as outbox:
        outbox.add("id-1", b"{}", now=1.0)
        outbox.mark_failed("id-1", "a", "refused", next_attempt_at=2.0)
        outbox.mark_delivered("id-1", "a", {"status": 200, "body": "ok"}, now=3.0)
        outbox.mark_delivered("id-1", "a", {"status": 202}, now=4.0)  # a late second answer changes nothing
        outbox.mark_failed("id-1", "a", "late failure", next_attempt_at=9.0)  # nor does a late failure
    with Outbox(path, ["a", "b"]) as reopened:
        assert reopened.delivered("id-1") == {"a": {"status": 200, "body": "ok"}}
        assert [(d.alert_id, d.endpoint) for d in reopened.due(now=10.0, limit=10)] == [("id-1", "b")]
        assert last_errors(path, "id-1") == {}
        assert reopened.counts() == OutboxCounts(
            alerts=1, unlogged=1, delivered=1, pending=1, failed_attempts=1
        )


def test_the_file_is_wal_with_full_sync(tmp_path: Path, outbox: Outbox) -> None:
    (mode,) = sqlite3.connect(tmp_path / "outbox.sqlite3").execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert outbox._db.execute("PRAGMA secure_delete").fetchone() == (1,)  # purged evidence is overwritten


def test_a_removed_endpoint_is_no_longer_pending_and_an_added_one_gets_new_alerts_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, ["a", "b"]) as outbox:
        outbox.add("old", b"{}", now=1.0)
    with Outbox(path, ["a", "c"]) as outbox:
        outbox.add("new", b"{}", now=2.0)
        assert [(d.alert_id, d.endpoint) for d in outbox.due(now=5.0, limit=10)] == [
            ("old", "a"),
            ("new", "a"),
            ("new", "c"),
        ]
        assert outbox.counts().pending == 3


def test_log_batches_come_back_whole_under_their_name_until_marked_logged(outbox: Outbox) -> None:
    outbox.add("x", b"1", now=3.0)
    outbox.add("y", b"2", now=1.0)
    outbox.add("z", b"3", now=2.0)
    assert outbox.log_batch("part-1", limit=2) == ("part-1", [("y", b"2"), ("z", b"3")])
    # Not marked (a crash before or after the part was written): the same batch, under its first name.
    assert outbox.log_batch("part-2", limit=2) == ("part-1", [("y", b"2"), ("z", b"3")])
    outbox.mark_logged("part-1")
    assert outbox.counts().unlogged == 1
    assert outbox.log_batch("part-3", limit=2) == ("part-3", [("x", b"1")])
    outbox.mark_logged("part-3")
    assert outbox.log_batch("part-4", limit=2) == ("part-4", [])
    assert outbox.counts().unlogged == 0


def test_an_outbox_from_before_the_log_column_counts_its_alerts_as_logged(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at REAL NOT NULL);"
        "INSERT INTO alerts VALUES ('old', x'7b7d', 1.0);"
    )
    old.close()
    with Outbox(path, ["a"]) as outbox:
        assert outbox.log_batch("part-1", limit=10) == ("part-1", [])
        assert outbox.add("old", b"{}") is False


def test_only_one_process_may_hold_an_outbox(tmp_path: Path, outbox: Outbox) -> None:
    with pytest.raises(OutboxInUseError, match="in use by another dispatcher"):
        Outbox(tmp_path / "outbox.sqlite3", ["a", "b"])
    outbox.close()
    outbox.close()
    Outbox(tmp_path / "outbox.sqlite3", ["a", "b"]).close()


def test_a_file_that_is_not_an_outbox_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="move it aside"):
        Outbox(path, ["a"])
    path.unlink()
    Outbox(path, ["a"]).close()  # the failed open released its lock


def test_endpoint_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        Outbox(tmp_path / "o.sqlite3", ["a", "a"])


def test_expired_alerts_are_the_logged_ones_stored_before_a_time_with_their_pending_count(
    outbox: Outbox,
) -> None:
    for alert_id, at in (("old-sent", 1.0), ("old-half-sent", 2.0), ("old-unsent", 3.0), ("new", 50.0)):
        outbox.add(alert_id, b"{}", now=at)
    part, _ = outbox.log_batch("part-1", 3)  # the three old ones
    outbox.mark_logged(part)
    outbox.add("old-unlogged", b"{}", now=4.0)  # not in the alert log yet: not offered for removal
    for endpoint in ("a", "b"):
        outbox.mark_delivered("old-sent", endpoint, {"status": 200})
    outbox.mark_delivered("old-half-sent", "a", {"status": 200})
    assert outbox.expired(10.0) == [
        ExpiredAlert("old-sent", 0),
        ExpiredAlert("old-half-sent", 1),
        ExpiredAlert("old-unsent", 2),
    ]
    assert outbox.remove(["old-sent", "old-half-sent", "no-such-alert"]) == 2
    assert outbox.delivered("old-sent") == {}
    # Left: old-unsent (logged), new and old-unlogged; each still due at both endpoints.
    assert outbox.counts() == OutboxCounts(alerts=3, unlogged=2, delivered=0, pending=6, failed_attempts=0)
