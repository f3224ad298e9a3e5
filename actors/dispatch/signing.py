"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<raw body>"``."""

from __future__ import annotations

import hashlib
import hmac

from serve.errors import SafeCityError

TIMESTAMP_HEADER = "X-SafeCity-Timestamp"
SIGNATURE_HEADER = "X-SafeCity-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300.0


class SignatureError(SafeCityError):
    """A webhook request's signature or timestamp is missing, stale or wrong."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-SafeCity-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise :class:`SignatureError` unless the request is fresh and signed with ``secret``."""
    if not timestamp_header or not signature_header:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a unix time: {timestamp_header[:40]!r}") from None
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp {timestamp} is more than {tolerance_s:.0f} s from now (replay?)")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature_header.strip()):
        raise SignatureError("signature does not match the body")
