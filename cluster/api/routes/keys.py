"""``/api/v1/keys``: API keys (admin)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cluster.api.keys import ApiKey
from cluster.api.schemas import KeyCreate, KeyCreated, KeyInfo
from cluster.api.security import Admin, Services

router = APIRouter(prefix="/keys", tags=["keys"])


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(name=key.name, role=key.role, created_by=key.created_by, created_at=key.created_at)


@router.get("")
def list_keys(caller: Admin, services: Services) -> list[KeyInfo]:
    """Every key's name and role (never the keys)."""
    return [_info(key) for key in services.keys.list()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, caller: Admin, services: Services) -> KeyCreated:
    """Make a key; the answer shows it once, and it cannot be recovered afterwards."""
    key, token = services.keys.create(body.name, body.role, caller.actor)
    return KeyCreated(**_info(key).model_dump(), key=token)


@router.delete("/{name}")
def revoke_key(name: str, caller: Admin, services: Services) -> KeyInfo:
    """Revoke a key: requests with it are refused from now on."""
    return _info(services.keys.revoke(name, caller.actor))
