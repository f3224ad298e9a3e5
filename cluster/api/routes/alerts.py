"""``/api/v1/alerts``: the alert queue, one alert with its evidence, its review, the live stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import status as http
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from cluster.api.alerts import AlertFilter
from cluster.api.schemas import AlertDetail, AlertPage, AlertStatus, ReviewCreate, ReviewInfo
from cluster.api.security import AlertDesk, Services

router = APIRouter(prefix="/alerts", tags=["alerts"])
KEEP_ALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


@router.get("")
def list_alerts(
    caller: AlertDesk,
    services: Services,
    camera: str | None = None,
    kind: Literal["face", "plate"] | None = None,
    status: AlertStatus | None = None,
    since: Annotated[AwareDatetime | None, Query(description="Captured at or after (ISO 8601).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Captured before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertPage:
    """Alerts newest capture first, filtered and paged (no images: fetch one alert for its evidence)."""
    query = AlertFilter(camera_id=camera, kind=kind, status=status, since=since, until=until)
    items, total = services.alerts.query(query, limit, offset)
    return AlertPage(total=total, limit=limit, offset=offset, items=items)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
)
async def stream_alerts(request: Request, caller: AlertDesk, services: Services) -> StreamingResponse:
    """New alerts as server-sent events (``event: alert``, the summary as JSON), as they are logged."""
    poll_s = services.config.api.stream_poll_s
    seen = await asyncio.to_thread(services.alerts.recent_ids)

    async def events() -> AsyncIterator[str]:
        yield ": connected\n\n"
        quiet_s = 0.0
        while not await request.is_disconnected():
            fresh = await asyncio.to_thread(services.alerts.new_alerts, seen)
            for alert in fresh:
                seen.add(alert.alert_id)
                yield f"id: {alert.alert_id}\nevent: alert\ndata: {alert.model_dump_json()}\n\n"
            quiet_s = 0.0 if fresh else quiet_s + poll_s
            if quiet_s >= KEEP_ALIVE_S:
                quiet_s = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(poll_s)  # the alert log is a file: polled, not pushed

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{alert_id}")
def get_alert(alert_id: str, caller: AlertDesk, services: Services) -> AlertDetail:
    """One alert with its evidence crop and the enrolment photo it matched (each view is audited)."""
    alert = services.alerts.get(alert_id)
    services.audit.append(
        caller.actor, "alert.view", alert_id, {"kind": alert.kind, "enrolment_photo": alert.enrolment_photo}
    )
    return alert


@router.post("/{alert_id}/review", status_code=http.HTTP_201_CREATED)
def review_alert(alert_id: str, body: ReviewCreate, caller: AlertDesk, services: Services) -> ReviewInfo:
    """Record an officer's verdict; it sets the alert's status. One review per alert (409 after)."""
    origin = services.alerts.require(alert_id)
    review = services.reviews.add(
        alert_id, body.decision, body.reason, body.officer, caller.actor, keep=body.keep
    )
    services.review_metrics.reviewed(review.decision, origin.kind, origin.camera_id, origin.zone)
    return ReviewInfo.of(review)
