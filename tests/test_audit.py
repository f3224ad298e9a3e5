"""The hash-chained audit log: order, verification, tampering, refusal and reopening."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from actors.audit import GENESIS_HASH, AuditEntry, AuditLog
from serve.errors import StoreError

ACTIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("alice", "watchlist.enrol", "subject-1", {"photos": 2}),
    ("bob", "hotlist.add", "ABC123", {"reason": "stolen"}),
    ("alice", "watchlist.remove", "subject-1", {}),
    ("carol", "search", "plate:AB1234", {"hits": 0}),
    ("bob", "hotlist.remove", "ABC123", {}),
]


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def filled(path: Path) -> AuditLog:
    log = AuditLog(path)
    for actor, action, target, details in ACTIONS:
        log.append(actor, action, target, details)
    return log


def test_entries_are_appended_in_order(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "data" / "audit.jsonl")
    appended = [log.append(actor, action, target, details) for actor, action, target, details in ACTIONS]
    read = list(log.entries())
    assert read == appended
    assert [(e.actor, e.action, e.target, dict(e.details)) for e in read] == ACTIONS
    assert read[0].prev_hash == GENESIS_HASH

    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(ACTIONS)
    for previous, entry in zip(lines, read[1:], strict=False):
        assert entry.prev_hash == line_hash(previous)
    assert [json.loads(line)["action"] for line in lines] == [a[1] for a in ACTIONS]


def test_details_default_to_empty(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    entry = log.append("alice", "search", "face:q1")
    assert dict(entry.details) == {}
    (read,) = log.entries()
    assert read == entry


def test_verify_counts_entries(tmp_path: Path) -> None:
    assert AuditLog(tmp_path / "absent.jsonl").verify() == 0
    log = filled(tmp_path / "audit.jsonl")
    assert log.verify() == len(ACTIONS)


def edit_line(path: Path, index: int) -> None:
    """Change one entry's target, keeping the line valid canonical JSON."""
    lines = path.read_text(encoding="utf-8").splitlines()
    raw = json.loads(lines[index])
    raw["target"] = raw["target"] + "-edited"
    lines[index] = AuditEntry(**raw).to_json()
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.mark.parametrize("index", range(len(ACTIONS) - 1))
def test_editing_an_earlier_line_breaks_the_chain(tmp_path: Path, index: int) -> None:
    log = filled(tmp_path / "audit.jsonl")
    edit_line(log.path, index)
    with pytest.raises(StoreError) as raised:
        log.verify()
    # The edited line's hash no longer matches the next line's prev_hash.
    assert f"line {index + 2}" in str(raised.value)
    assert str(log.path) in str(raised.value)


def test_editing_prev_hash_of_first_line_breaks_the_chain(tmp_path: Path) -> None:
    log = filled(tmp_path / "audit.jsonl")
    lines = log.path.read_text(encoding="utf-8").splitlines()
    raw = json.loads(lines[0])
    raw["prev_hash"] = "1" * 64
    lines[0] = AuditEntry(**raw).to_json()
    log.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(StoreError, match="line 1"):
        log.verify()


@pytest.mark.parametrize("index", range(len(ACTIONS) - 1))
def test_deleting_a_line_breaks_the_chain(tmp_path: Path, index: int) -> None:
    log = filled(tmp_path / "audit.jsonl")
    lines = log.path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[index]
    log.path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(StoreError) as raised:
        log.verify()
    # The line that followed the deleted one now sits at its place and points at a missing hash.
    assert f"line {index + 1}" in str(raised.value)


@pytest.mark.parametrize("actor", ["", "   ", "\t\n"])
def test_empty_actor_is_refused_and_nothing_written(tmp_path: Path, actor: str) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(StoreError, match="actor"):
        log.append(actor, "watchlist.enrol", "subject-1")
    assert not log.path.exists()

    log.append("alice", "watchlist.enrol", "subject-1")
    before = log.path.read_bytes()
    with pytest.raises(StoreError, match="actor"):
        log.append(actor, "watchlist.remove", "subject-1")
    assert log.path.read_bytes() == before
    assert log.verify() == 1


def test_chain_continues_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = AuditLog(path)
    first.append("alice", "watchlist.enrol", "subject-1")
    # An entry longer than the 4 KiB blocks the tail is read in.
    first.append("bob", "hotlist.add", "ABC123", {"note": "x" * 10_000})

    reopened = AuditLog(path)
    third = reopened.append("carol", "hotlist.remove", "ABC123")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert third.prev_hash == line_hash(lines[1])
    assert AuditLog(path).verify() == 3

    again = AuditLog(path)
    fourth = again.append("dave", "search", "plate:ABC123")
    assert fourth.prev_hash == line_hash(path.read_text(encoding="utf-8").splitlines()[2])
    assert again.verify() == 4
    assert [e.actor for e in AuditLog(path).entries()] == ["alice", "bob", "carol", "dave"]


def test_cutting_the_newest_entries_off_is_detected(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for index in range(3):
        log.append("operator-1", "watchlist.enrol", f"subject-{index}")
    lines = log.path.read_text(encoding="utf-8").splitlines(keepends=True)
    log.path.write_text("".join(lines[:2]), encoding="utf-8")
    with pytest.raises(StoreError, match="removed from the end"):
        log.verify()


def test_editing_the_newest_entry_is_detected(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("operator-1", "watchlist.enrol", "subject-1")
    log.append("operator-1", "watchlist.remove", "subject-1")
    text = log.path.read_text(encoding="utf-8")
    log.path.write_text(text.replace("watchlist.remove", "watchlist.enrol"), encoding="utf-8")
    with pytest.raises(StoreError, match="line 2"):
        log.verify()


def test_a_line_torn_by_a_crash_is_reported_and_later_appends_stay_separate(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("operator-1", "watchlist.enrol", "subject-1")
    with open(log.path, "a", encoding="utf-8") as handle:
        handle.write('{"action": "watchlist.en')  # the process died mid-write
    log.append("operator-1", "watchlist.enrol", "subject-2")
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[2].startswith("{") and "subject-2" in lines[2]
    with pytest.raises(StoreError, match="line 2 is not valid JSON"):
        log.verify()
