"""Append-only, hash-chained audit log of watchlist and hotlist changes and of searches.

One JSON object per line. Each entry carries the SHA-256 of the previous line, so deleting or editing
an entry breaks the chain and :meth:`AuditLog.verify` reports where.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.storage import exclusive_lock, write_bytes_atomic
from serve.errors import StoreError

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audited action: who did what to which record, when."""

    at: str
    actor: str
    action: str
    target: str
    details: Mapping[str, Any]
    prev_hash: str

    def to_json(self) -> str:
        """Serialise as one canonical JSON line (without newline)."""
        return json.dumps(
            {
                "at": self.at,
                "actor": self.actor,
                "action": self.action,
                "target": self.target,
                "details": dict(self.details),
                "prev_hash": self.prev_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


class AuditLog:
    """The audit log file of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        # Count and hash of the newest entry, so that cutting entries off the end is detected too.
        self.head_path = path.with_name(path.name + ".head")

    def append(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AuditEntry:
        """Append one entry durably (fsync) and return it."""
        if not actor.strip():
            raise StoreError("audit entries need a non-empty actor (who made the change)")
        with exclusive_lock(self._lock_path):
            entry = AuditEntry(
                at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                actor=actor,
                action=action,
                target=target,
                details=dict(details or {}),
                prev_hash=self._last_hash(),
            )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = entry.to_json()
            with open(self.path, "a", encoding="utf-8") as handle:
                if self._ends_torn():
                    handle.write("\n")  # keep a line torn by a crash apart; verify() reports it
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            count = self._head()[0] + 1
            write_bytes_atomic(
                self.head_path, json.dumps({"entries": count, "hash": _line_hash(line)}).encode()
            )
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        """Yield entries oldest first."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    raw = json.loads(line)
                    yield AuditEntry(**raw)
                except (json.JSONDecodeError, TypeError) as exc:
                    raise StoreError(f"{self.path} line {number} is not a valid audit entry: {exc}") from exc

    def verify(self) -> int:
        """Check the hash chain and the head record; return the number of entries.

        Raises :class:`StoreError` naming the first line that was edited, removed or torn, or saying
        that entries were cut off the end.
        """
        expected = GENESIS_HASH
        count = 0
        if self.path.exists():
            with open(self.path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    try:
                        raw = json.loads(line)
                        prev_hash = raw.get("prev_hash") if isinstance(raw, dict) else None
                    except json.JSONDecodeError:
                        raise StoreError(
                            f"{self.path} line {number} is not valid JSON (torn or edited)"
                        ) from None
                    if prev_hash != expected:
                        raise StoreError(
                            f"{self.path} hash chain broken at line {number}: "
                            "it or the line before was edited or removed"
                        )
                    expected = _line_hash(line.rstrip("\n"))
                    count += 1
        head_count, head_hash = self._head()
        if head_count > count:
            raise StoreError(
                f"{self.path} holds {count} entries but its head record says {head_count}: "
                "entries were removed from the end"
            )
        if head_count == count and count > 0 and head_hash != expected:
            raise StoreError(f"{self.path} line {count} (the newest entry) was edited")
        return count

    def _head(self) -> tuple[int, str]:
        try:
            raw = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(raw["entries"]), str(raw["hash"])
        except FileNotFoundError:
            return 0, GENESIS_HASH
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{self.head_path} is unreadable: {exc}") from exc

    def _ends_torn(self) -> bool:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) != b"\n"

    def _last_hash(self) -> str:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return GENESIS_HASH
        with open(self.path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            position = handle.tell()
            chunk = b""
            while position > 0 and chunk.count(b"\n") < 2:
                step = min(4096, position)
                position -= step
                handle.seek(position)
                chunk = handle.read(step) + chunk
        last_line = chunk.rstrip(b"\n").split(b"\n")[-1].decode("utf-8")
        return _line_hash(last_line)
