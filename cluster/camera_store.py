"""The cameras operators changed at runtime, kept in ``<data_dir>/cameras.json`` over the config's list.

The config file lists the cameras a deployment starts with (in Kubernetes a read-only ConfigMap); the
API adds, changes and removes cameras while the pipeline runs. Those changes are kept here, on the
state node's disk, as an overlay: cameras added, fields changed on configured cameras, configured
cameras removed. The cameras that run are ``effective_cameras(config, changes)``, read by the job on
every sync, so a change reaches the running shards within seconds and survives a restart of the job.
Every change is written atomically under a lock and audited; a refused change stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import Field, ValidationError

from actors.audit import AuditLog
from actors.camera.source import redact
from actors.storage import exclusive_lock, replace_audited, write_bytes_atomic
from cluster.config.base import Section
from cluster.config.cameras import CameraConfig
from serve.errors import NotFoundError, SafeCityError, StoreError

FILE_NAME = "cameras.json"


class CameraExistsError(SafeCityError):
    """A camera with that id runs already; nothing was stored."""


class CameraInputError(SafeCityError, ValueError):
    """A camera change was refused because of its input; nothing was stored."""


class CameraPatch(Section):
    """Fields of a running camera an operator may change; ``None`` leaves a field as it is."""

    name: str | None = Field(None, min_length=1, max_length=120, description="Name shown in alerts.")
    zone: str | None = Field(None, description="Free-text area sent with its alerts.")
    enabled: bool | None = Field(None, description="False stops streaming it; True starts it again.")
    analysis_fps: float | None = Field(None, gt=0, le=30, description="Frames per second to the models.")

    def applied_to(self, camera: CameraConfig) -> CameraConfig:
        """``camera`` with this patch's fields set."""
        return camera.model_copy(update=self.model_dump(exclude_none=True))

    def then(self, later: CameraPatch) -> CameraPatch:
        """This patch followed by ``later``: ``later``'s fields win."""
        return self.model_copy(update=later.model_dump(exclude_none=True))


class CameraChanges(Section):
    """What the API changed, over the config's cameras (the content of ``cameras.json``)."""

    added: list[CameraConfig] = Field(default_factory=list, description="Cameras added at runtime.")
    changed: dict[str, CameraPatch] = Field(
        default_factory=dict, description="Changes to cameras of the config file, by camera id."
    )
    removed: list[str] = Field(default_factory=list, description="Cameras of the config file removed.")


def effective_cameras(configured: Sequence[CameraConfig], changes: CameraChanges) -> list[CameraConfig]:
    """The cameras that run: the config's, changed or removed by ``changes``, then those added.

    A camera added at runtime whose id the config file later lists too is the added one (the runtime
    change is the newer word).
    """
    added_ids = {camera.id for camera in changes.added}
    removed = set(changes.removed)
    out = []
    for camera in configured:
        if camera.id in removed or camera.id in added_ids:
            continue
        patch = changes.changed.get(camera.id)
        out.append(patch.applied_to(camera) if patch else camera)
    return [*out, *changes.added]


class CameraStore:
    """``cameras.json`` of one data directory: read, and changed atomically with an audit entry each."""

    def __init__(self, data_dir: Path, audit: AuditLog, configured: Sequence[CameraConfig]) -> None:
        self.path = data_dir / FILE_NAME
        self._lock_path = data_dir / "cameras.lock"
        self._audit = audit
        self._configured = list(configured)

    def changes(self) -> CameraChanges:
        """The stored changes (none before the first)."""
        return read_changes(self.path)

    def cameras(self) -> list[CameraConfig]:
        """The cameras that run (:func:`effective_cameras`)."""
        return effective_cameras(self._configured, self.changes())

    def get(self, camera_id: str) -> CameraConfig:
        """One running camera; :class:`NotFoundError` if there is none with ``camera_id``."""
        return _find(self.cameras(), camera_id)

    def add(self, camera: CameraConfig, actor: str) -> CameraConfig:
        """Add ``camera``; :class:`CameraExistsError` if its id is taken."""

        def change(changes: CameraChanges, running: list[CameraConfig]) -> CameraChanges:
            if any(c.id == camera.id for c in running):
                raise CameraExistsError(f"camera {camera.id!r} exists already; change it with PATCH")
            return changes.model_copy(update={"added": [*changes.added, camera]})

        self._update("camera.add", camera.id, actor, change, _described(camera))
        return camera

    def patch(self, camera_id: str, patch: CameraPatch, actor: str) -> CameraConfig:
        """Change fields of a running camera; :class:`NotFoundError` if there is none."""
        if not patch.model_dump(exclude_none=True):
            raise CameraInputError(f"nothing to change: give one of {sorted(CameraPatch.model_fields)}")

        def change(changes: CameraChanges, running: list[CameraConfig]) -> CameraChanges:
            _find(running, camera_id)
            if any(c.id == camera_id for c in changes.added):
                added = [patch.applied_to(c) if c.id == camera_id else c for c in changes.added]
                return changes.model_copy(update={"added": added})
            earlier = changes.changed.get(camera_id, CameraPatch())
            return changes.model_copy(update={"changed": {**changes.changed, camera_id: earlier.then(patch)}})

        self._update("camera.change", camera_id, actor, change, patch.model_dump(exclude_none=True))
        return self.get(camera_id)

    def remove(self, camera_id: str, actor: str) -> CameraConfig:
        """Remove a running camera and return it; :class:`NotFoundError` if there is none."""
        removed: list[CameraConfig] = []

        def change(changes: CameraChanges, running: list[CameraConfig]) -> CameraChanges:
            removed.append(_find(running, camera_id))
            added = [c for c in changes.added if c.id != camera_id]
            changed = {k: v for k, v in changes.changed.items() if k != camera_id}
            configured = any(c.id == camera_id for c in self._configured)
            gone = [*changes.removed, camera_id] if configured else changes.removed
            return CameraChanges(added=added, changed=changed, removed=sorted(set(gone)))

        self._update("camera.remove", camera_id, actor, change, {})
        return removed[0]

    def _update(
        self,
        action: str,
        camera_id: str,
        actor: str,
        change: Callable[[CameraChanges, list[CameraConfig]], CameraChanges],
        details: dict[str, object],
    ) -> None:
        with exclusive_lock(self._lock_path):
            changes = self.changes()
            updated = change(changes, effective_cameras(self._configured, changes))
            replace_audited(
                self.path,
                lambda: write_bytes_atomic(self.path, updated.model_dump_json(indent=2).encode()),
                lambda: self._audit.append(actor, action, camera_id, details),
            )


class CameraDirectory:
    """The stored changes, for a reader that asks often (the job's sync, every few seconds).

    ``cameras.json`` is read again only when it was replaced (each change writes a new file, so a new
    inode) or its time or size changed.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self._seen: tuple[int, int, int] | None = None
        self._changes = CameraChanges()

    def cameras(self, configured: Sequence[CameraConfig]) -> list[CameraConfig]:
        """:func:`effective_cameras` of ``configured`` and the stored changes."""
        try:
            stat = self.path.stat()
            seen: tuple[int, int, int] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen:
            self._changes = read_changes(self.path)
            self._seen = seen
        return effective_cameras(configured, self._changes)


def read_changes(path: Path) -> CameraChanges:
    """The changes stored at ``path``; :class:`StoreError` naming the file when it cannot be used."""
    if not path.exists():
        return CameraChanges()
    try:
        return CameraChanges.model_validate(json.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; restore it from backup or move it aside") from exc


def _find(cameras: Sequence[CameraConfig], camera_id: str) -> CameraConfig:
    for camera in cameras:
        if camera.id == camera_id:
            return camera
    raise NotFoundError(f"no camera {camera_id!r}")


def _described(camera: CameraConfig) -> dict[str, object]:
    """What the audit log keeps of an added camera: its fields, the url without a password."""
    return {**camera.model_dump(mode="json", exclude={"url"}), "url": redact(camera.url)}
