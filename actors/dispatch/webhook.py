"""One signed webhook POST of one alert to one endpoint."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TypedDict

import httpx

from actors.dispatch.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from serve.errors import SafeCityError

RECEIPT_BODY_CHARS = 500
# Response headers worth keeping as evidence of who acknowledged the alert.
RECEIPT_HEADERS = ("date", "server", "content-type", "x-request-id", "location")
_MAX_READ_BYTES = 4 * RECEIPT_BODY_CHARS  # enough for 500 characters of UTF-8; the rest is not read


class Receipt(TypedDict):
    """A 2xx answer, kept in the outbox as proof of delivery."""

    endpoint: str
    status: int
    headers: dict[str, str]
    body: str  # the first RECEIPT_BODY_CHARS characters of the answer
    at: float  # when the attempt was sent (the signed timestamp's clock)
    elapsed_s: float


@dataclass(frozen=True)
class WebhookEndpoint:
    """A dispatch system's alert endpoint."""

    name: str
    url: str
    secret: bytes = field(repr=False)
    timeout_s: float = 5.0


class DeliveryError(SafeCityError):
    """The endpoint did not acknowledge the alert (no 2xx answer within the timeout)."""


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


async def post_alert(
    client: httpx.AsyncClient, endpoint: WebhookEndpoint, alert_id: str, body: bytes, now: float
) -> Receipt:
    """POST ``body`` signed at ``now``; the receipt on a 2xx answer, :class:`DeliveryError` otherwise.

    ``endpoint.timeout_s`` bounds the whole attempt (connect, send, answer), not each read.
    Redirects are not followed: a 3xx is a failure, and the signed body goes nowhere else.
    """
    timestamp = int(now)
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        IDEMPOTENCY_HEADER: alert_id,
    }
    started = time.monotonic()
    try:
        async with asyncio.timeout(endpoint.timeout_s):
            request = client.build_request(
                "POST", endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_s
            )
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                head = bytearray()
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= _MAX_READ_BYTES:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        raise DeliveryError(f"{endpoint.name}: no answer within {endpoint.timeout_s:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = _one_line(str(exc)) or "no details"
        raise DeliveryError(f"{endpoint.name}: {type(exc).__name__}: {reason}") from exc
    text = bytes(head).decode("utf-8", errors="replace")[:RECEIPT_BODY_CHARS]
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{endpoint.name}: HTTP {response.status_code}: {_one_line(text)}")
    return Receipt(
        endpoint=endpoint.name,
        status=response.status_code,
        headers={name: response.headers[name] for name in RECEIPT_HEADERS if name in response.headers},
        body=text,
        at=now,
        elapsed_s=round(time.monotonic() - started, 4),
    )
