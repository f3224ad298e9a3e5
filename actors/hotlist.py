"""The hotlist of wanted plates: a durable, audited store and a fast matcher over a snapshot of it."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from actors.audit import AuditLog
from actors.storage import exclusive_lock, read_table, replace_audited, write_table_atomic
from serve.errors import NotFoundError, SafeCityError
from serve.plate_text import canonical_plate, normalise_plate
from serve.types import PlateMatch

MIN_PLATE_LENGTH = 2
MAX_PLATE_LENGTH = 12

HOTLIST_SCHEMA = pa.schema(
    [
        pa.field("plate", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("added_by", pa.string(), nullable=False),
        pa.field("added_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("expires_at", pa.timestamp("us", tz="UTC"), nullable=True),
    ]
)


class HotlistEntryError(SafeCityError, ValueError):
    """A hotlist change was refused because of its input; nothing was stored or audited."""


@dataclass(frozen=True)
class HotlistEntry:
    """A wanted plate (normalised) with why, by whom and when it was listed, and when it lapses."""

    plate: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        """Whether the entry has lapsed at ``now``."""
        return self.expires_at is not None and self.expires_at <= now


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HotlistStore:
    """The hotlist of one data directory, a Parquet file rewritten atomically on each change.

    Every change is appended to the audit log. ``clock`` returns the current UTC time (tests pass
    their own).
    """

    def __init__(self, data_dir: Path, audit: AuditLog, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = data_dir / "hotlist.parquet"
        self._lock_path = data_dir / "hotlist.lock"
        self._audit = audit
        self._clock = clock

    def add(self, plate: str, reason: str, actor: str, expires_at: datetime | None = None) -> HotlistEntry:
        """List ``plate``, or update it if already listed; return the stored entry."""
        now = self._clock()
        normalised = valid_plate(plate)
        reason = reason.strip()
        if not reason:
            raise HotlistEntryError(f"hotlist entry for {normalised!r} needs a non-empty reason")
        _require_actor(actor)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise HotlistEntryError(
                    f"expiry {expires_at.isoformat()} for {normalised!r} needs a time zone (e.g. UTC)"
                )
            expires_at = expires_at.astimezone(UTC)
            if expires_at <= now:
                raise HotlistEntryError(
                    f"expiry {expires_at.isoformat()} for {normalised!r} is not in the future"
                )
        entry = HotlistEntry(normalised, reason, actor, now.astimezone(UTC), expires_at)
        with exclusive_lock(self._lock_path):
            entries = self._read()
            previous = entries.get(normalised)
            entries[normalised] = entry
            details: dict[str, Any] = {"reason": reason, "expires_at": _iso(expires_at)}
            if previous is None:
                action = "hotlist.add"
            else:
                action = "hotlist.update"
                details["previous_reason"] = previous.reason
                details["previous_expires_at"] = _iso(previous.expires_at)
            self._write_audited(entries, actor, action, normalised, details)
        return entry

    def remove(self, plate: str, actor: str) -> HotlistEntry:
        """Take ``plate`` off the hotlist and return the removed entry."""
        normalised = normalise_plate(plate)
        _require_actor(actor)
        with exclusive_lock(self._lock_path):
            entries = self._read()
            removed = entries.pop(normalised, None)
            if removed is None:
                raise NotFoundError(f"plate {normalised or plate!r} is not on the hotlist")
            details = {"reason": removed.reason, "expires_at": _iso(removed.expires_at)}
            self._write_audited(entries, actor, "hotlist.remove", normalised, details)
        return removed

    def get(self, plate: str, include_expired: bool = False) -> HotlistEntry | None:
        """The entry for ``plate`` (normalised first), or ``None`` if absent or expired."""
        entry = self._read().get(normalise_plate(plate))
        if entry is None or (not include_expired and entry.is_expired(self._clock())):
            return None
        return entry

    def list(self, include_expired: bool = False) -> builtins.list[HotlistEntry]:
        """All entries, sorted by plate; expired ones only if ``include_expired``."""
        now = self._clock()
        entries = sorted(self._read().values(), key=lambda entry: entry.plate)
        return [entry for entry in entries if include_expired or not entry.is_expired(now)]

    def matcher(self) -> HotlistMatcher:
        """A matcher over the current, unexpired entries."""
        now = self._clock()
        return HotlistMatcher(self.list(include_expired=True), now)

    def _read(self) -> dict[str, HotlistEntry]:
        rows = read_table(self.path, HOTLIST_SCHEMA).to_pylist()
        return {
            row["plate"]: HotlistEntry(
                plate=row["plate"],
                reason=row["reason"],
                added_by=row["added_by"],
                added_at=row["added_at"].astimezone(UTC),
                expires_at=None if row["expires_at"] is None else row["expires_at"].astimezone(UTC),
            )
            for row in rows
        }

    def _write(self, entries: dict[str, HotlistEntry]) -> None:
        ordered = sorted(entries.values(), key=lambda entry: entry.plate)
        table = pa.Table.from_pylist(
            [
                {
                    "plate": e.plate,
                    "reason": e.reason,
                    "added_by": e.added_by,
                    "added_at": e.added_at,
                    "expires_at": e.expires_at,
                }
                for e in ordered
            ],
            schema=HOTLIST_SCHEMA,
        )
        write_table_atomic(self.path, table)

    def _write_audited(
        self, entries: dict[str, HotlistEntry], actor: str, action: str, target: str, details: dict[str, Any]
    ) -> None:
        """Write ``entries`` and audit the change; if auditing fails, restore the previous file."""
        replace_audited(
            self.path,
            lambda: self._write(entries),
            lambda: self._audit.append(actor, action, target, details),
        )


def valid_plate(plate: str) -> str:
    """``plate`` normalised, or :class:`HotlistEntryError` if it cannot be a plate."""
    normalised = normalise_plate(plate)
    if not normalised:
        raise HotlistEntryError(f"plate {plate!r} has no letters or digits")
    if not MIN_PLATE_LENGTH <= len(normalised) <= MAX_PLATE_LENGTH:
        raise HotlistEntryError(
            f"plate {normalised!r} has {len(normalised)} characters; "
            f"expected {MIN_PLATE_LENGTH} to {MAX_PLATE_LENGTH}"
        )
    return normalised


def _require_actor(actor: str) -> None:
    if not actor.strip():
        raise HotlistEntryError("hotlist changes need a non-empty actor (who made the change)")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


class HotlistMatcher:
    """Matches plate reads against a snapshot of the hotlist (expired entries left out).

    An exact match (after normalisation) outranks any fuzzy one. Fuzzy matches are plates equal to the
    read after :func:`canonical_plate` (any number of OCR-confusion swaps), or whose canonical form has
    one character more or fewer than the read's; those insertion/deletion matches need the shorter
    text to have at least ``min_fuzzy_length`` characters, as on shorter ones they match almost
    anything. Among fuzzy matches the fewest edits win, then the lexicographically first plate.
    """

    def __init__(self, entries: Sequence[HotlistEntry], now: datetime, *, min_fuzzy_length: int = 4) -> None:
        self._min_fuzzy_length = min_fuzzy_length
        self._exact: dict[str, HotlistEntry] = {}
        for entry in entries:
            if not entry.is_expired(now):
                plate = normalise_plate(entry.plate)
                self._exact[plate] = entry if plate == entry.plate else replace(entry, plate=plate)
        self._by_canonical: dict[str, builtins.list[HotlistEntry]] = {}
        # Canonical forms with one character deleted: finds plates the read is missing a character of.
        self._by_deletion: dict[str, builtins.list[HotlistEntry]] = {}
        for plate, entry in self._exact.items():
            canonical = canonical_plate(plate)
            self._by_canonical.setdefault(canonical, []).append(entry)
            if len(canonical) - 1 >= min_fuzzy_length:
                for key in _deletions(canonical):
                    self._by_deletion.setdefault(key, []).append(entry)

    def __len__(self) -> int:
        return len(self._exact)

    def match(self, read_text: str) -> PlateMatch | None:
        """The best hotlist match for ``read_text``, or ``None``."""
        read = normalise_plate(read_text)
        if not read:
            return None
        exact = self._exact.get(read)
        if exact is not None:
            return PlateMatch(plate=exact.plate, reason=exact.reason, exact=True, read_text=read, edits=0)

        canonical = canonical_plate(read)
        candidates: builtins.list[tuple[int, str, HotlistEntry]] = [
            (_differences(read, entry.plate), entry.plate, entry)
            for entry in self._by_canonical.get(canonical, ())
        ]
        if len(canonical) - 1 >= self._min_fuzzy_length:
            # The read has one spurious character.
            for key in _deletions(canonical):
                for entry in self._by_canonical.get(key, ()):
                    candidates.append((_indel_edits(read, entry.plate), entry.plate, entry))
        # The read lacks one character.
        for entry in self._by_deletion.get(canonical, ()):
            candidates.append((_indel_edits(entry.plate, read), entry.plate, entry))
        if not candidates:
            return None
        edits, _, best = min(candidates, key=lambda candidate: candidate[:2])
        return PlateMatch(plate=best.plate, reason=best.reason, exact=False, read_text=read, edits=edits)


def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


def _differences(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _indel_edits(longer: str, shorter: str) -> int:
    """One deletion from ``longer`` plus the fewest swaps that then make it ``shorter``."""
    target = canonical_plate(shorter)
    return 1 + min(
        _differences(longer[:i] + longer[i + 1 :], shorter)
        for i in range(len(longer))
        if canonical_plate(longer[:i] + longer[i + 1 :]) == target
    )
