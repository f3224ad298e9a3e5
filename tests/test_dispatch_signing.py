"""Webhook signatures: the documented HMAC over "<timestamp>.<body>", and every reason to refuse."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from actors.dispatch.signing import SignatureError, sign, verify

SECRET = b"signing-secret-0123456789"
BODY = b'{"alert_id":"a-1","kind":"face"}'
NOW = 1_700_000_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_fresh_request_verifies_up_to_the_tolerance_either_side() -> None:
    signature = sign(SECRET, NOW, BODY)
    for now in (NOW, NOW + 300, NOW - 300, NOW + 0.5):
        verify(SECRET, str(NOW), signature, BODY, now=now)
    verify(SECRET, f" {NOW} ", f" {signature.upper().replace('SHA256=', 'sha256=')} ", BODY, now=NOW)
    verify(SECRET, str(NOW), signature, BODY, now=NOW + 50, tolerance_s=60)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "now", "reason"),
    [
        (None, sign(SECRET, NOW, BODY), BODY, NOW, "missing X-SafeCity-Timestamp"),
        (str(NOW), None, BODY, NOW, "missing X-SafeCity-Signature"),
        (str(NOW), "", BODY, NOW, "missing X-SafeCity-Signature"),
        ("soon", sign(SECRET, NOW, BODY), BODY, NOW, "not unix seconds"),
        ("+1700000000", sign(SECRET, NOW, BODY), BODY, NOW, "not unix seconds"),
        ("1_700_000_000", sign(SECRET, NOW, BODY), BODY, NOW, "not unix seconds"),
        ("01700000000", sign(SECRET, NOW, BODY), BODY, NOW, "not unix seconds"),
        ("-5", sign(SECRET, NOW, BODY), BODY, NOW, "not unix seconds"),
        (str(NOW), "md5=abc", BODY, NOW, "is not 'sha256='"),
        (str(NOW), sign(SECRET, NOW, BODY)[:-1], BODY, NOW, "is not 'sha256='"),
        (str(NOW), sign(SECRET, NOW, BODY)[:-1] + "\u00e9", BODY, NOW, "is not 'sha256='"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY, NOW + 301, "301 s from now \\(old\\)"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY, NOW - 301, "301 s from now \\(ahead\\)"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY, float("nan"), "from now"),
        (str(NOW), sign(SECRET, NOW, BODY), BODY + b" ", NOW, "does not match"),
        (str(NOW), sign(b"another-secret-0123456789", NOW, BODY), BODY, NOW, "does not match"),
        (str(NOW + 1), sign(SECRET, NOW, BODY), BODY, NOW, "does not match"),  # a re-dated replay
    ],
)
def test_refusals_name_their_reason(
    timestamp: str | None, signature: str | None, body: bytes, now: float, reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(SECRET, timestamp, signature, body, now=now)


def test_sign_refuses_a_negative_timestamp() -> None:
    with pytest.raises(ValueError, match="unix seconds"):
        sign(SECRET, -1, BODY)
