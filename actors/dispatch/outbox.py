"""The durable outbox: every alert is on disk (SQLite, fsync'd) before anyone tries to send it.

One row per alert (the exact body that is sent and signed) and one delivery row per (alert, endpoint)
with its attempts, next retry time, last error and, once a 2xx came back, the receipt. Delivery rows
are created when the alert is added, for the endpoints configured then; deliveries to an endpoint that
is later removed from the configuration stay in the file but are no longer due or pending.

Thread-safe: one connection guarded by a lock, so an asyncio program can call it through
``asyncio.to_thread``. One process at a time: the outbox holds an exclusive lock on
``<file>.lock`` while open, because two senders on one outbox would send everything twice.

The retention purge removes alerts (their bodies hold the evidence crop) once they are past the
retention period; ``secure_delete`` overwrites what is deleted, so the evidence does not linger in free
pages of the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from serve.errors import StoreError

_TABLES = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    log_part TEXT,  -- the alert log part it was assigned to, before that part is written
    logged_at REAL
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL REFERENCES alerts(alert_id),
    endpoint TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    delivered_at REAL,
    receipt TEXT,
    PRIMARY KEY (alert_id, endpoint)
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (endpoint, next_attempt_at)
    WHERE delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_unlogged ON alerts (created_at) WHERE logged_at IS NULL;
CREATE INDEX IF NOT EXISTS alerts_log_part ON alerts (log_part) WHERE logged_at IS NULL;
"""
_MAX_ERROR_CHARS = 500
_REMOVE_CHUNK = 500  # alerts deleted per transaction: the sender waits on the lock for one chunk only


class OutboxInUseError(StoreError):
    """Another process (a running dispatcher) has the outbox open."""


@dataclass(frozen=True)
class Delivery:
    """One alert still to be delivered to one endpoint."""

    alert_id: str
    endpoint: str
    body: bytes
    attempts: int  # attempts made so far (0: never tried)
    created_at: float


@dataclass(frozen=True)
class ExpiredAlert:
    """An alert stored before a retention cutoff."""

    alert_id: str
    pending: int  # deliveries to configured endpoints never acknowledged


@dataclass(frozen=True)
class OutboxCounts:
    """What the outbox holds."""

    alerts: int  # stored, ever
    unlogged: int  # stored, not yet in the alert log
    delivered: int  # (alert, endpoint) deliveries acknowledged
    pending: int  # (alert, endpoint) deliveries still to make
    failed_attempts: int


class Outbox:
    """Alerts and their per-endpoint delivery state in one SQLite file (WAL, ``synchronous=FULL``)."""

    def __init__(self, path: Path, endpoints: Sequence[str]) -> None:
        if len(set(endpoints)) != len(endpoints):
            raise ValueError(f"endpoint names must be unique: {list(endpoints)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.endpoints = tuple(endpoints)
        self._lock = threading.Lock()
        self._lock_file = _lock_exclusively(path.with_name(path.name + ".lock"))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_TABLES)
            self._add_log_columns()
            self._db.executescript(_INDEXES)
        except sqlite3.Error as exc:
            self._db.close()
            os.close(self._lock_file)
            raise StoreError(f"cannot open the outbox {path}: {exc}; move it aside to start empty") from exc
        self._in_endpoints = self._in(self.endpoints)  # what every "pending" query filters on

    def _add_log_columns(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(alerts)")}
        if "logged_at" not in columns:  # an outbox from before the alert log was fed from it
            with self._transaction():
                self._db.execute("ALTER TABLE alerts ADD COLUMN log_part TEXT")
                self._db.execute("ALTER TABLE alerts ADD COLUMN logged_at REAL")
                self._db.execute("UPDATE alerts SET logged_at = created_at")  # that code logged on submit

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database and release the lock (idempotent)."""
        with self._lock:
            if self._lock_file < 0:
                return
            self._db.close()
            os.close(self._lock_file)
            self._lock_file = -1

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def add(self, alert_id: str, body: bytes, now: float | None = None) -> bool:
        """Store an alert, due now for every endpoint; False (and no change) if the id is already there.

        Raises :class:`StoreError` if the alert could not be stored (the caller must not drop it).
        """
        at = time.time() if now is None else now
        try:
            with self._lock, self._transaction():
                inserted = (
                    self._db.execute(
                        "INSERT OR IGNORE INTO alerts (alert_id, body, created_at) VALUES (?, ?, ?)",
                        (alert_id, body, at),
                    ).rowcount
                    == 1
                )
                if inserted:
                    self._db.executemany(
                        "INSERT INTO deliveries (alert_id, endpoint, next_attempt_at) VALUES (?, ?, ?)",
                        [(alert_id, endpoint, at) for endpoint in self.endpoints],
                    )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot store alert {alert_id} in the outbox {self.path}: {exc}") from exc
        return inserted

    def due(self, now: float, limit: int, *, endpoint: str | None = None) -> list[Delivery]:
        """Undelivered deliveries whose retry time has come (to ``endpoint``, or any), oldest alert first."""
        names = self.endpoints if endpoint is None else (endpoint,)
        with self._lock:
            rows = self._db.execute(
                "SELECT d.alert_id, d.endpoint, a.body, d.attempts, a.created_at "
                "FROM deliveries d JOIN alerts a USING (alert_id) "
                f"WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ? AND d.{self._in(names)} "
                "ORDER BY a.created_at, d.alert_id, d.endpoint LIMIT ?",
                (now, *names, limit),
            ).fetchall()
        return [Delivery(a, e, bytes(body), attempts, created) for a, e, body, attempts, created in rows]

    def next_due_at(self, *, after: float | None = None) -> float | None:
        """When the next undelivered delivery is due (the earliest later than ``after``), None if none."""
        where = "" if after is None else "AND next_attempt_at > ?"
        with self._lock:
            (value,) = self._db.execute(
                f"SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL "
                f"AND {self._in_endpoints} {where}",
                (*self.endpoints, *(() if after is None else (after,))),
            ).fetchone()
        return None if value is None else float(value)

    def mark_delivered(
        self, alert_id: str, endpoint: str, receipt: Mapping[str, Any], now: float | None = None
    ) -> None:
        """Record a 2xx answer and its receipt (a second call for the same delivery changes nothing)."""
        at = time.time() if now is None else now
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET delivered_at = ?, receipt = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE alert_id = ? AND endpoint = ? AND delivered_at IS NULL",
                (at, json.dumps(dict(receipt), sort_keys=True, default=str), alert_id, endpoint),
            )

    def mark_failed(self, alert_id: str, endpoint: str, error: str, next_attempt_at: float) -> None:
        """Record a failed attempt and when to try again."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE alert_id = ? AND endpoint = ? AND delivered_at IS NULL",
                (error[:_MAX_ERROR_CHARS], next_attempt_at, alert_id, endpoint),
            )

    def bodies_since(self, created_after: float) -> list[bytes]:
        """Bodies of the alerts stored after ``created_after`` (unix s), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM alerts WHERE created_at > ? ORDER BY created_at", (created_after,)
            ).fetchall()
        return [bytes(row[0]) for row in rows]

    def delivered(self, alert_id: str) -> dict[str, dict[str, Any]]:
        """Receipts of an alert, by endpoint (only the endpoints that acknowledged it)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT endpoint, receipt FROM deliveries WHERE alert_id = ? AND delivered_at IS NOT NULL",
                (alert_id,),
            ).fetchall()
        return {endpoint: json.loads(receipt) for endpoint, receipt in rows}

    def log_batch(self, new_part: str, limit: int) -> tuple[str, list[tuple[str, bytes]]]:
        """The next alerts to write to the alert log, as (part name, [(alert_id, body)]).

        A batch assigned to a part before a crash comes back whole under its old name (so the log
        writer can tell whether that part reached the disk); otherwise up to ``limit`` unlogged alerts,
        oldest first, are assigned to ``new_part``. An empty list: everything is logged.
        """
        with self._lock, self._transaction():
            row = self._db.execute(
                "SELECT log_part FROM alerts WHERE logged_at IS NULL AND log_part IS NOT NULL LIMIT 1"
            ).fetchone()
            if row is None:
                part = new_part
                self._db.execute(
                    "UPDATE alerts SET log_part = ? WHERE alert_id IN (SELECT alert_id FROM alerts "
                    "WHERE logged_at IS NULL ORDER BY created_at, alert_id LIMIT ?)",
                    (part, limit),
                )
            else:
                (part,) = row
            rows = self._db.execute(
                "SELECT alert_id, body FROM alerts WHERE log_part = ? AND logged_at IS NULL "
                "ORDER BY created_at, alert_id",
                (part,),
            ).fetchall()
        return part, [(alert_id, bytes(body)) for alert_id, body in rows]

    def mark_logged(self, part: str, now: float | None = None) -> None:
        """Record that the alerts assigned to ``part`` are in the alert log."""
        at = time.time() if now is None else now
        with self._lock:
            self._db.execute(
                "UPDATE alerts SET logged_at = ? WHERE log_part = ? AND logged_at IS NULL", (at, part)
            )

    def expired(self, created_before: float) -> list[ExpiredAlert]:
        """Alerts stored before ``created_before`` (unix s) and already in the alert log, oldest first.

        An alert not yet logged is left out: the log writer may be writing it now, and a purge that
        removed it then would leave it in the log; a later purge takes it once it is logged.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT a.alert_id, COALESCE(SUM(d.delivered_at IS NULL AND "
                f"d.{self._in_endpoints}), 0) FROM alerts a LEFT JOIN deliveries d USING (alert_id) "
                "WHERE a.created_at < ? AND a.logged_at IS NOT NULL "
                "GROUP BY a.alert_id ORDER BY a.created_at, a.alert_id",
                (*self.endpoints, created_before),
            ).fetchall()
        return [ExpiredAlert(alert_id, int(pending)) for alert_id, pending in rows]

    def remove(self, alert_ids: Collection[str]) -> int:
        """Delete alerts and all their deliveries (the retention purge); how many alerts were deleted."""
        ids = list(alert_ids)
        removed = 0
        for start in range(0, len(ids), _REMOVE_CHUNK):
            chunk = ids[start : start + _REMOVE_CHUNK]
            marks = ", ".join("?" * len(chunk))
            try:
                with self._lock, self._transaction():
                    self._db.execute(f"DELETE FROM deliveries WHERE alert_id IN ({marks})", chunk)
                    removed += self._db.execute(
                        f"DELETE FROM alerts WHERE alert_id IN ({marks})", chunk
                    ).rowcount
            except sqlite3.Error as exc:
                raise StoreError(f"cannot delete expired alerts from the outbox {self.path}: {exc}") from exc
        return removed

    def counts(self) -> OutboxCounts:
        """Alerts stored and not yet logged; deliveries done and pending; failed attempts so far."""
        with self._lock:
            alerts, unlogged = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(logged_at IS NULL), 0) FROM alerts"
            ).fetchone()
            delivered, pending, failures = self._db.execute(
                "SELECT COALESCE(SUM(delivered_at IS NOT NULL), 0), "
                f"COALESCE(SUM(delivered_at IS NULL AND {self._in_endpoints}), 0), "
                "COALESCE(SUM(attempts - (delivered_at IS NOT NULL)), 0) FROM deliveries",
                self.endpoints,
            ).fetchone()
        return OutboxCounts(int(alerts), int(unlogged), int(delivered), int(pending), int(failures))

    @staticmethod
    def _in(names: Sequence[str]) -> str:
        return f"endpoint IN ({', '.join('?' * len(names))})"


def _lock_exclusively(lock_path: Path) -> int:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutboxInUseError(
            f"the outbox {lock_path.with_suffix('')} is in use by another dispatcher; only one process may "
            "send from it (two would send every alert twice)"
        ) from None
    return fd
