"""``/api/v1/cameras``: the cameras, their health, and changes while the pipeline runs.

Operators read; supervisors add, change and remove. A change is stored on the state node
(``cluster.camera_store``) and the running job applies it to its camera shards within
``pipeline.camera_sync_s``; a restart of the job keeps it.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, status

from cluster.api.cameras import camera_infos
from cluster.api.schemas import CameraInfo
from cluster.api.security import AlertDesk, Services, Supervisor
from cluster.camera_store import CameraPatch
from cluster.config.cameras import CameraConfig

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("")
async def list_cameras(caller: AlertDesk, services: Services) -> list[CameraInfo]:
    """The cameras (the config's with the API's changes), with live counters from the running pipeline
    (``live`` null for a camera no shard analyses: disabled, plain, or no pipeline running)."""
    cameras = await asyncio.to_thread(services.cameras.cameras)
    live = await asyncio.to_thread(services.camera_stats)
    return camera_infos(cameras, live)


@router.get("/{camera_id}")
async def get_camera(camera_id: str, caller: AlertDesk, services: Services) -> CameraInfo:
    """One camera with its live counters."""
    camera = await asyncio.to_thread(services.cameras.get, camera_id)
    live = await asyncio.to_thread(services.camera_stats)
    [info] = camera_infos([camera], live)
    return info


@router.post("", status_code=status.HTTP_201_CREATED)
def add_camera(body: CameraConfig, caller: Supervisor, services: Services) -> CameraInfo:
    """Add a camera; the running pipeline starts analysing it within seconds."""
    [info] = camera_infos([services.cameras.add(body, caller.actor)], [])
    return info


@router.patch("/{camera_id}")
def change_camera(camera_id: str, body: CameraPatch, caller: Supervisor, services: Services) -> CameraInfo:
    """Enable or disable a camera, or change its analysis rate, name or zone."""
    [info] = camera_infos([services.cameras.patch(camera_id, body, caller.actor)], [])
    return info


@router.delete("/{camera_id}")
def remove_camera(camera_id: str, caller: Supervisor, services: Services) -> CameraInfo:
    """Remove a camera; the pipeline stops it within seconds. Its alerts stay."""
    [info] = camera_infos([services.cameras.remove(camera_id, caller.actor)], [])
    return info
