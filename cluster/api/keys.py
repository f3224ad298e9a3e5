"""API keys: random, shown once, stored only as their SHA-256, each with one role.

The key file (``<data_dir>/api-keys.json``) is replaced atomically under a lock and is readable by its
owner only; every change is audited. Keys are looked up on every request, so a key revoked from the
CLI stops working at once in a running service.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from actors.audit import AuditLog
from actors.storage import exclusive_lock, replace_audited, write_bytes_atomic
from cluster.api.roles import Role
from serve.errors import NotFoundError, SafeCityError, StoreError

KEY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_PREFIX = "sck_"  # recognisable in a leaked log or paste, like other services' key prefixes
_TOKEN_BYTES = 32


class KeyInputError(SafeCityError, ValueError):
    """A key request is malformed (bad name or role) or names a key that exists; nothing was stored."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its name, role and hash, who made it and when. The key itself is never stored."""

    name: str
    role: Role
    sha256: str
    created_by: str
    created_at: str  # ISO 8601, UTC

    @property
    def actor(self) -> str:
        """How this key's holder appears in the audit log: its name and role."""
        return f"{self.name} ({self.role})"


def hash_key(token: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def validate_key_name(name: str) -> str:
    """``name`` if it is a valid key name, else :class:`KeyInputError`."""
    if not KEY_NAME_PATTERN.match(name):
        raise KeyInputError(f"key name {name!r} is invalid: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def parse_role(text: str) -> Role:
    """A role from its name, else :class:`KeyInputError` listing the roles."""
    try:
        return Role(text)
    except ValueError:
        raise KeyInputError(f"role {text!r} is unknown: use one of {', '.join(Role)}") from None


class KeyStore:
    """The API keys of one data directory."""

    def __init__(self, data_dir: Path, audit: AuditLog) -> None:
        self.path = data_dir / "api-keys.json"
        self._lock_path = data_dir / "api-keys.lock"
        self._audit = audit

    def create(self, name: str, role: Role, actor: str) -> tuple[ApiKey, str]:
        """Make a key; returns its record and the key itself, which is shown once and never stored."""
        validate_key_name(name)
        token = KEY_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        with exclusive_lock(self._lock_path):
            keys = self._read()
            if name in keys:
                raise KeyInputError(f"key {name!r} exists; revoke it first or choose another name")
            key = ApiKey(
                name=name,
                role=role,
                sha256=hash_key(token),
                created_by=actor,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            keys[name] = key
            self._write_audited(keys, actor, "key.create", name, {"role": str(role)})
        return key, token

    def revoke(self, name: str, actor: str) -> ApiKey:
        """Delete a key; requests made with it are refused from now on."""
        with exclusive_lock(self._lock_path):
            keys = self._read()
            key = keys.pop(name, None)
            if key is None:
                raise NotFoundError(f"key {name!r} does not exist")
            self._write_audited(keys, actor, "key.revoke", name, {"role": str(key.role)})
        return key

    def list(self) -> builtins.list[ApiKey]:
        """All keys, by name (their hashes included; callers show what they need)."""
        return [key for _, key in sorted(self._read().items())]

    def authenticate(self, token: str) -> ApiKey | None:
        """The key whose hash matches ``token``, or ``None``.

        Every stored hash is compared in constant time, and all of them are compared, so the answer's
        timing says nothing about how much of a hash matched or which key it was.
        """
        presented = hash_key(token)
        found = None
        for key in self._read().values():
            if hmac.compare_digest(presented, key.sha256):
                found = key
        return found

    def _read(self) -> dict[str, ApiKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {self.path}: {exc}; restore it from backup") from exc
        try:
            keys = [ApiKey(**{**item, "role": Role(item["role"])}) for item in raw["keys"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{self.path} is not a key file of this SafeCity version: {exc}") from exc
        return {key.name: key for key in keys}

    def _write_audited(
        self, keys: dict[str, ApiKey], actor: str, action: str, target: str, details: dict[str, str]
    ) -> None:
        """Write ``keys`` and audit the change; if auditing fails, put the previous file back."""
        body = {"keys": [asdict(key) for _, key in sorted(keys.items())]}
        replace_audited(
            self.path,
            lambda: write_bytes_atomic(self.path, json.dumps(body, indent=1).encode("utf-8")),
            lambda: self._audit.append(actor, action, target, details),
        )
