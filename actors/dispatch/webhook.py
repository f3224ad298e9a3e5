"""One signed webhook POST of one alert to one endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from actors.dispatch.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from serve.errors import SafeCityError


@dataclass(frozen=True)
class WebhookEndpoint:
    """A dispatch system's alert endpoint."""

    name: str
    url: str
    secret: bytes
    timeout_s: float = 5.0


class DeliveryError(SafeCityError):
    """The endpoint did not acknowledge the alert (no 2xx)."""


async def post_alert(
    client: httpx.AsyncClient, endpoint: WebhookEndpoint, alert_id: str, body: bytes, now: float
) -> dict[str, Any]:
    """POST the alert; the receipt on a 2xx answer, :class:`DeliveryError` otherwise."""
    timestamp = int(now)
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        IDEMPOTENCY_HEADER: alert_id,
    }
    try:
        response = await client.post(endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{endpoint.name}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{endpoint.name}: HTTP {response.status_code}: {response.text[:200]}")
    return {
        "endpoint": endpoint.name,
        "status": response.status_code,
        "at": now,
        "body": response.text[:500],
        "request_id": response.headers.get("x-request-id"),
    }
