"""The roles an API key can have (no heavy imports: the CLI's parser lists them)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a key may do (see README, "Operator API")."""

    ADMIN = "admin"  # API keys
    SUPERVISOR = "supervisor"  # watchlist and hotlist, alerts and their review
    OPERATOR = "operator"  # alerts, their review, the live stream
    AUDITOR = "auditor"  # the audit log
