"""ONNX exports derived from verified model files, kept in the cache beside a manifest.

The manifest records the SHA-256 of the file the export was made from and of the export itself. An
export is used only when its source is the same file and its bytes match the manifest; a changed
source is exported again, a changed or unreadable export is refused with the fix.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from serve.errors import ModelCorruptError
from serve.models.files import (
    atomic_file,
    exclusive_lock,
    is_verified,
    replace_durably,
    sha256_of,
    temporary_path,
)
from serve.models.onnx_export import OnnxExporter
from serve.models.registry import ModelRole

log = logging.getLogger(__name__)

REEXPORT_FIX = "run `safecity models pull --force` to export it again"


@dataclass(frozen=True)
class VerifiedFile:
    """A file and the SHA-256 it was checked against."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class ExportManifest:
    """What an export was made from and what it must hash to."""

    source_sha256: str
    export_sha256: str
    exporter: str

    def to_json(self) -> str:
        """The manifest file's content."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ExportManifest:
        """Parse a manifest; ``ValueError`` when it is not one."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        values = []
        for name in ("source_sha256", "export_sha256", "exporter"):
            value = raw.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
            values.append(value)
        return cls(*values)


class OnnxExports:
    """Exports of model files to ONNX under ``root``, one per role, made once and verified on each use."""

    def __init__(self, root: Path, exporter: OnnxExporter, label: str = "ONNX export") -> None:
        self.root = root
        self._exporter = exporter
        self.label = label  # what the derived file is, in messages ("ONNX export", "int8 version")

    def path(self, role: ModelRole, source: Path) -> Path:
        """Where the export of ``source`` for ``role`` is kept."""
        return self.root / role.value / f"{source.stem}.onnx"

    def manifest_path(self, role: ModelRole, source: Path) -> Path:
        """The manifest beside the export."""
        export = self.path(role, source)
        return export.with_name(export.name + ".manifest.json")

    def ensure(
        self, role: ModelRole, source: Path, source_sha256: str, *, force: bool = False
    ) -> VerifiedFile:
        """The verified export of ``source`` (which must already be verified to hash to ``source_sha256``).

        Exports when there is none, when it was made from another file, or when ``force`` is set.
        """
        export, manifest_path = self.path(role, source), self.manifest_path(role, source)
        with exclusive_lock(export.parent / ".lock"):
            manifest = None if force else self._read_manifest(role, manifest_path)
            if manifest is not None and manifest.source_sha256 == source_sha256:
                self._verify(role, export, manifest)
                return VerifiedFile(export, manifest.export_sha256)
            if manifest is not None:
                log.info("model for role '%s': %s changed; making its %s again", role, source, self.label)
            made = self._export(role, source, source_sha256, export, manifest_path)
        return VerifiedFile(export, made.export_sha256)

    def _read_manifest(self, role: ModelRole, manifest_path: Path) -> ExportManifest | None:
        """The manifest, or ``None`` where no export was ever completed (the manifest is written last)."""
        try:
            text = manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return ExportManifest.from_json(text)
        except ValueError as exc:
            raise ModelCorruptError(
                f"model for role '{role}': the export manifest {manifest_path} is unreadable ({exc}); "
                f"{REEXPORT_FIX}"
            ) from exc

    def _verify(self, role: ModelRole, export: Path, manifest: ExportManifest) -> None:
        if is_verified(export, manifest.export_sha256):
            return
        actual = sha256_of(export) if export.is_file() else "(missing)"
        raise ModelCorruptError(
            f"model for role '{role}': the {self.label} at {export} has sha256 {actual}, but its manifest "
            f"records {manifest.export_sha256}; {REEXPORT_FIX}"
        )

    def _export(
        self, role: ModelRole, source: Path, source_sha256: str, export: Path, manifest_path: Path
    ) -> ExportManifest:
        export.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            manifest_path.unlink()  # from here until the new manifest, no export counts as made
        tmp = temporary_path(export)
        try:
            try:
                exporter = self._exporter(source, tmp)
            except Exception as exc:  # the exporter (ultralytics, torch) raises many types
                raise ModelCorruptError(
                    f"model for role '{role}': the {self.label} of {source} could not be made: {exc}"
                ) from exc
            export_sha256 = sha256_of(tmp)
            replace_durably(tmp, export)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        manifest = ExportManifest(source_sha256, export_sha256, exporter)
        with atomic_file(manifest_path) as handle:
            handle.write(manifest.to_json().encode())
        self._verify(role, export, manifest)
        log.info("model for role '%s': made the %s of %s at %s", role, self.label, source, export)
        return manifest
