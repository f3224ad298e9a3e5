"""``/api/v1/cameras``: the cameras and their health (read-only; operators and supervisors)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from cluster.api.cameras import camera_infos
from cluster.api.schemas import CameraInfo
from cluster.api.security import AlertDesk, Services

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("")
async def list_cameras(caller: AlertDesk, services: Services) -> list[CameraInfo]:
    """The config's cameras with live counters from the running pipeline (``live`` null without one)."""
    live = await asyncio.to_thread(services.camera_stats)
    return camera_infos(services.config.cameras, live)
