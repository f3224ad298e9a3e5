"""``/api/v1/hotlist``: wanted vehicles (supervisor)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from actors.hotlist import HotlistEntry
from cluster.api.schemas import HotlistAdd, HotlistInfo
from cluster.api.security import Services, Supervisor

router = APIRouter(prefix="/hotlist", tags=["hotlist"])


def _info(entry: HotlistEntry) -> HotlistInfo:
    return HotlistInfo(
        plate=entry.plate,
        reason=entry.reason,
        added_by=entry.added_by,
        added_at=entry.added_at,
        expires_at=entry.expires_at,
        expired=entry.is_expired(datetime.now(UTC)),
    )


@router.get("")
def list_plates(caller: Supervisor, services: Services, all: bool = False) -> list[HotlistInfo]:
    """The hotlist by plate; expired entries only with ``all=true``."""
    return [_info(entry) for entry in services.hotlist.list(include_expired=all)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_plate(body: HotlistAdd, caller: Supervisor, services: Services) -> HotlistInfo:
    """Add a wanted plate, or update its reason and expiry."""
    return _info(services.hotlist.add(body.plate, body.reason, caller.actor, body.expires_at))


@router.delete("/{plate}")
def remove_plate(plate: str, caller: Supervisor, services: Services) -> HotlistInfo:
    """Take a plate off the hotlist."""
    return _info(services.hotlist.remove(plate, caller.actor))
