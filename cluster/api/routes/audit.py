"""``/api/v1/audit``: the audit log and its hash chain (auditor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cluster.api.schemas import AuditEntryInfo, AuditPage
from cluster.api.security import Auditor, Services
from serve.errors import StoreError

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def audit_entries(
    caller: Auditor,
    services: Services,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Entries newest first (``action`` filters), and whether the hash chain verifies."""
    try:
        services.audit.verify()
        chain_error = None
    except StoreError as exc:
        chain_error = str(exc)
    try:
        entries = [e for e in services.audit.entries() if action is None or e.action == action]
    except StoreError as exc:  # a torn or edited line: the chain result already says where
        chain_error = chain_error or str(exc)
        entries = []
    entries.reverse()
    return AuditPage(
        chain_intact=chain_error is None,
        chain_error=chain_error,
        total=len(entries),
        limit=limit,
        offset=offset,
        entries=[
            AuditEntryInfo(
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                details=dict(e.details),
                prev_hash=e.prev_hash,
            )
            for e in entries[offset : offset + limit]
        ],
    )
