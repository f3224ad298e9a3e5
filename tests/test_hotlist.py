"""The hotlist store (durable, audited, validated) and the hotlist matcher."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from actors.audit import AuditEntry, AuditLog
from actors.hotlist import HotlistEntry, HotlistEntryError, HotlistMatcher, HotlistStore
from serve.errors import NotFoundError, SafeCityError
from serve.plate_text import CONFUSION_PAIRS
from serve.types import PlateMatch

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock so that expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl")


@pytest.fixture
def store(tmp_path: Path, audit: AuditLog, clock: Clock) -> HotlistStore:
    return HotlistStore(tmp_path, audit, clock=clock)


def reopen(tmp_path: Path, clock: Clock) -> HotlistStore:
    return HotlistStore(tmp_path, AuditLog(tmp_path / "audit.jsonl"), clock=clock)


def test_add_update_remove_round_trip_through_fresh_instances(
    tmp_path: Path, store: HotlistStore, audit: AuditLog, clock: Clock
) -> None:
    expiry = T0 + timedelta(days=7)
    added = store.add("mlb-803", "stolen", "officer.khan", expires_at=expiry)
    assert added == HotlistEntry("MLB803", "stolen", "officer.khan", T0, expiry)
    assert (tmp_path / "hotlist.parquet").exists()
    assert reopen(tmp_path, clock).list() == [added]
    assert reopen(tmp_path, clock).get("MLB 803") == added

    clock.now = T0 + timedelta(hours=1)
    updated = store.add("MLB803", "armed suspect", "officer.ali")
    fresh = reopen(tmp_path, clock)
    assert fresh.list() == [updated]
    assert updated == HotlistEntry("MLB803", "armed suspect", "officer.ali", clock.now, None)

    assert fresh.remove("mlb803", "officer.raza") == updated
    assert reopen(tmp_path, clock).list(include_expired=True) == []
    assert reopen(tmp_path, clock).get("MLB803") is None

    entries = list(audit.entries())
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("officer.khan", "hotlist.add", "MLB803"),
        ("officer.ali", "hotlist.update", "MLB803"),
        ("officer.raza", "hotlist.remove", "MLB803"),
    ]
    assert entries[0].details == {"reason": "stolen", "expires_at": expiry.isoformat()}
    assert entries[1].details["reason"] == "armed suspect"
    assert entries[1].details["expires_at"] is None
    assert entries[1].details["previous_reason"] == "stolen"
    assert audit.verify() == 3


def test_list_is_sorted_by_plate(store: HotlistStore) -> None:
    for plate in ("LEA1234", "ABC123", "KHI999"):
        store.add(plate, "wanted", "op")
    assert [e.plate for e in store.list()] == ["ABC123", "KHI999", "LEA1234"]


def test_expired_entries_are_hidden_but_kept(tmp_path: Path, store: HotlistStore, clock: Clock) -> None:
    store.add("ABC123", "stolen", "op", expires_at=T0 + timedelta(hours=1))
    store.add("LEA1234", "stolen", "op")
    assert [e.plate for e in store.list()] == ["ABC123", "LEA1234"]

    clock.now = T0 + timedelta(hours=1)
    fresh = reopen(tmp_path, clock)
    assert [e.plate for e in fresh.list()] == ["LEA1234"]
    assert [e.plate for e in fresh.list(include_expired=True)] == ["ABC123", "LEA1234"]
    assert fresh.get("ABC123") is None
    assert fresh.get("ABC123", include_expired=True) is not None
    assert fresh.matcher().match("ABC123") is None
    assert fresh.matcher().match("LEA1234") is not None


def test_remove_unknown_plate_names_it(store: HotlistStore, audit: AuditLog) -> None:
    store.add("ABC123", "stolen", "op")
    with pytest.raises(NotFoundError, match="XYZ789"):
        store.remove("xyz-789", "op")
    assert [e.action for e in audit.entries()] == ["hotlist.add"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"plate": "--"}, "no letters or digits"),
        ({"plate": "A"}, "1 characters"),
        ({"plate": "A" * 13}, "13 characters"),
        ({"reason": "   "}, "reason"),
        ({"actor": " "}, "actor"),
        ({"expires_at": T0 - timedelta(seconds=1)}, "not in the future"),
        ({"expires_at": T0}, "not in the future"),
        ({"expires_at": datetime(2030, 1, 1)}, "time zone"),
    ],
)
def test_invalid_add_is_refused_leaving_file_and_audit_untouched(
    tmp_path: Path, store: HotlistStore, audit: AuditLog, changes: Mapping[str, Any], message: str
) -> None:
    store.add("KHI999", "stolen", "op")
    hotlist_bytes = (tmp_path / "hotlist.parquet").read_bytes()
    audit_bytes = audit.path.read_bytes()
    args: dict[str, Any] = {"plate": "ABC123", "reason": "stolen", "actor": "op", "expires_at": None}
    args.update(changes)

    with pytest.raises(HotlistEntryError, match=message) as caught:
        store.add(**args)

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, SafeCityError)
    assert (tmp_path / "hotlist.parquet").read_bytes() == hotlist_bytes
    assert audit.path.read_bytes() == audit_bytes


def test_invalid_first_add_creates_no_file(tmp_path: Path, store: HotlistStore, audit: AuditLog) -> None:
    with pytest.raises(HotlistEntryError):
        store.add("ABC123", "", "op")
    assert not (tmp_path / "hotlist.parquet").exists()
    assert not audit.path.exists()


class FailingAudit(AuditLog):
    def append(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AuditEntry:
        raise OSError("disk full")


def test_change_that_cannot_be_audited_is_rolled_back(
    tmp_path: Path, store: HotlistStore, clock: Clock
) -> None:
    store.add("ABC123", "stolen", "op")
    before = (tmp_path / "hotlist.parquet").read_bytes()
    failing = HotlistStore(tmp_path, FailingAudit(tmp_path / "audit.jsonl"), clock=clock)

    with pytest.raises(OSError, match="disk full"):
        failing.add("LEA1234", "stolen", "op")
    with pytest.raises(OSError, match="disk full"):
        failing.remove("ABC123", "op")

    assert (tmp_path / "hotlist.parquet").read_bytes() == before
    assert [e.plate for e in reopen(tmp_path, clock).list()] == ["ABC123"]


def test_unauditable_first_add_leaves_no_file(tmp_path: Path, clock: Clock) -> None:
    failing = HotlistStore(tmp_path, FailingAudit(tmp_path / "audit.jsonl"), clock=clock)
    with pytest.raises(OSError):
        failing.add("LEA1234", "stolen", "op")
    assert not (tmp_path / "hotlist.parquet").exists()


def entry(plate: str, reason: str = "wanted", expires_at: datetime | None = None) -> HotlistEntry:
    return HotlistEntry(plate, reason, "op", T0, expires_at)


def matcher(*plates: str) -> HotlistMatcher:
    return HotlistMatcher([entry(p, reason=f"reason {p}") for p in plates], T0)


def test_exact_match_after_normalisation() -> None:
    assert matcher("LEA1234").match("lea-1234") == PlateMatch("LEA1234", "reason LEA1234", True, "LEA1234", 0)


def test_exact_outranks_fuzzy() -> None:
    # Both plates share a canonical form; "MLB803" also sorts first, so only exactness can pick "MLB8O3".
    m = matcher("MLB803", "MLB8O3")
    assert m.match("MLB8O3") == PlateMatch("MLB8O3", "reason MLB8O3", True, "MLB8O3", 0)
    assert m.match("MLB803") == PlateMatch("MLB803", "reason MLB803", True, "MLB803", 0)


@pytest.mark.parametrize(("digit", "letter"), CONFUSION_PAIRS)
def test_fuzzy_match_for_each_confusion_pair(digit: str, letter: str) -> None:
    plate = f"K{letter}M{digit}47"
    read = f"K{digit}M{letter}47"
    assert matcher(plate).match(read) == PlateMatch(plate, f"reason {plate}", False, read, 2)


def test_fewest_edits_win_then_lexicographic_plate() -> None:
    assert matcher("A8O1Z3", "ABO123").match("AB0123") == PlateMatch(
        "ABO123", "reason ABO123", False, "AB0123", 1
    )
    # One edit each: the tie goes to the plate that sorts first.
    assert matcher("AB0123", "A80I23").match("AB0I23") == PlateMatch(
        "A80I23", "reason A80I23", False, "AB0I23", 1
    )


@pytest.mark.parametrize("read", ["LEA12341", "1LEA1234", "LEA91234"])
def test_one_inserted_character_matches(read: str) -> None:
    assert matcher("LEA1234").match(read) == PlateMatch("LEA1234", "reason LEA1234", False, read, 1)


@pytest.mark.parametrize("read", ["EA1234", "LEA123", "LA1234"])
def test_one_missing_character_matches(read: str) -> None:
    assert matcher("LEA1234").match(read) == PlateMatch("LEA1234", "reason LEA1234", False, read, 1)


def test_indel_combined_with_swaps_counts_every_edit() -> None:
    assert matcher("LEA1234").match("LEA1Z341") == PlateMatch(
        "LEA1234", "reason LEA1234", False, "LEA1Z341", 2
    )
    assert matcher("LEA1234").match("LEAI23") == PlateMatch("LEA1234", "reason LEA1234", False, "LEAI23", 2)


@pytest.mark.parametrize("read", ["LEA12", "LEA123456", "LEA1299", "LEA1235", "XYZ789", ""])
def test_two_edits_or_a_substitution_do_not_match(read: str) -> None:
    assert matcher("LEA1234").match(read) is None


def test_short_texts_get_no_insertion_or_deletion_matches() -> None:
    m = matcher("AB", "XYZ9")
    assert m.match("A") is None
    assert m.match("XYZ") is None
    assert m.match("A8") == PlateMatch("AB", "reason AB", False, "A8", 1)


def test_matcher_ignores_expired_entries() -> None:
    m = HotlistMatcher([entry("ABC123", expires_at=T0), entry("LEA1234", expires_at=T0 + timedelta(1))], T0)
    assert len(m) == 1
    assert m.match("ABC123") is None
    assert m.match("LEA1234") is not None
