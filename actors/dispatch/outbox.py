"""The durable outbox: every alert is on disk (SQLite, fsync'd) before anyone tries to send it."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    created_at REAL NOT NULL
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
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (delivered_at, next_attempt_at);
"""


@dataclass(frozen=True)
class Delivery:
    """One alert still to be delivered to one endpoint."""

    alert_id: str
    endpoint: str
    body: bytes
    attempts: int


class Outbox:
    """Alerts and their per-endpoint delivery state in one SQLite file."""

    def __init__(self, path: Path, endpoints: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.endpoints = tuple(endpoints)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def add(self, alert_id: str, body: bytes, now: float) -> bool:
        """Store an alert for every endpoint; False if it was already there (idempotent)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO alerts (alert_id, body, created_at) VALUES (?, ?, ?)",
                    (alert_id, body, now),
                )
                inserted = cursor.rowcount == 1
                if inserted:
                    self._db.executemany(
                        "INSERT INTO deliveries (alert_id, endpoint, next_attempt_at) VALUES (?, ?, ?)",
                        [(alert_id, endpoint, now) for endpoint in self.endpoints],
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return inserted

    def due(self, now: float, limit: int) -> list[Delivery]:
        """Undelivered deliveries whose retry time has come, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.alert_id, d.endpoint, a.body, d.attempts FROM deliveries d "
                "JOIN alerts a USING (alert_id) WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ? "
                "ORDER BY d.next_attempt_at, a.created_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [
            Delivery(alert_id, endpoint, bytes(body), attempts) for alert_id, endpoint, body, attempts in rows
        ]

    def next_due_at(self) -> float | None:
        """When the next undelivered delivery is due, or None if nothing is pending."""
        with self._lock:
            (value,) = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL"
            ).fetchone()
        return None if value is None else float(value)

    def mark_delivered(self, alert_id: str, endpoint: str, receipt: Mapping[str, Any], now: float) -> None:
        """Record a 2xx answer and its receipt."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET delivered_at = ?, receipt = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE alert_id = ? AND endpoint = ?",
                (now, json.dumps(dict(receipt), sort_keys=True), alert_id, endpoint),
            )

    def mark_failed(self, alert_id: str, endpoint: str, error: str, next_attempt_at: float) -> None:
        """Record a failed attempt and when to try again."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE alert_id = ? AND endpoint = ?",
                (error[:500], next_attempt_at, alert_id, endpoint),
            )

    def pending_count(self) -> int:
        """Deliveries not yet acknowledged."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL"
            ).fetchone()
        return int(count)

    def delivered(self, alert_id: str) -> dict[str, dict[str, Any]]:
        """Receipts of an alert, by endpoint."""
        with self._lock:
            rows = self._db.execute(
                "SELECT endpoint, receipt FROM deliveries WHERE alert_id = ? AND delivered_at IS NOT NULL",
                (alert_id,),
            ).fetchall()
        return {endpoint: json.loads(receipt) for endpoint, receipt in rows}

    def counts(self) -> dict[str, int]:
        """Alerts stored, deliveries done and pending, failed attempts so far."""
        with self._lock:
            (alerts,) = self._db.execute("SELECT COUNT(*) FROM alerts").fetchone()
            delivered, pending, failures = self._db.execute(
                "SELECT COALESCE(SUM(delivered_at IS NOT NULL), 0), COALESCE(SUM(delivered_at IS NULL), 0), "
                "COALESCE(SUM(attempts - (delivered_at IS NOT NULL)), 0) FROM deliveries"
            ).fetchone()
        return {"alerts": alerts, "delivered": delivered, "pending": pending, "failed_attempts": failures}
