"""Webhook signatures: ``sha256=`` + hex HMAC-SHA256, keyed with the endpoint's secret, over
``b"<timestamp>." + raw body``. The timestamp is signed too, so a captured request cannot be replayed
with a fresh timestamp."""

from __future__ import annotations

import hashlib
import hmac
import math
import re

from serve.errors import SafeCityError

TIMESTAMP_HEADER = "X-SafeCity-Timestamp"
SIGNATURE_HEADER = "X-SafeCity-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300.0

_PREFIX = "sha256="
# Unix seconds as plain ASCII digits: int() alone would also take "+1", " 1" or "1_000", and the
# signature is computed over the header text exactly as sent.
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


class SignatureError(SafeCityError):
    """A webhook request's signature or timestamp is missing, garbled, stale or wrong."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-SafeCity-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    if timestamp < 0:
        raise ValueError(f"timestamp must be unix seconds, not {timestamp}")
    digest = hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(
    secret: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Return if the request was signed with ``secret`` within ``tolerance_s`` of ``now``.

    Raises :class:`SignatureError` naming the reason otherwise: a missing or garbled header, a
    timestamp too far in the past (a replay) or the future, or a signature that does not match.
    """
    if not timestamp_header:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not signature_header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp_text = timestamp_header.strip()
    if not _TIMESTAMP.fullmatch(timestamp_text):
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds: {timestamp_header[:40]!r}")
    signature = signature_header.strip().lower()
    if not _SIGNATURE.fullmatch(signature):
        raise SignatureError(f"{SIGNATURE_HEADER} is not 'sha256=' and 64 hex digits")
    timestamp = int(timestamp_text)
    if not math.isfinite(now) or abs(now - timestamp) > tolerance_s:
        direction = "old" if timestamp <= now else "ahead"
        raise SignatureError(
            f"timestamp {timestamp} is {abs(now - timestamp):.0f} s from now ({direction}), beyond the "
            f"{tolerance_s:.0f} s tolerance: a replay, or clocks out of sync"
        )
    expected = sign(secret, timestamp, body).encode("ascii")
    if not hmac.compare_digest(expected, signature.encode("ascii")):
        raise SignatureError("signature does not match the body (wrong secret, or the body was altered)")
