"""Export an ultralytics YOLO ``.pt`` to ONNX, offline, with ultralytics' own exporter.

The exporter prepares the graph the way ultralytics' predictor runs it (fused layers, the Detect head
in export mode: ``(batch, 4 + classes, anchors)`` output with decoded boxes and class scores), which a
plain ``torch.onnx.export`` of the module would not. It must not reach the network: ``simplify=False``
(simplifying would pip-install onnxslim), and its requirement checks are kept from installing anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

OnnxExporter = Callable[[Path, Path], str]
"""Writes an ONNX export of the weights at the first path to the second; returns how it was made."""

# Tracing size only: the export has dynamic batch, height and width.
_TRACE_SIZE_PX = 640


@contextlib.contextmanager
def _no_auto_install() -> Iterator[None]:
    """Keep ultralytics' ``check_requirements`` from pip-installing anything while exporting."""
    from ultralytics.utils import checks as checks_module

    checks: Any = checks_module  # AUTOINSTALL is a module global that the stubs do not export
    previous = checks.AUTOINSTALL
    checks.AUTOINSTALL = False
    try:
        yield
    finally:
        checks.AUTOINSTALL = previous


def export_yolo_onnx(source: Path, target: Path) -> str:
    """Export the YOLO weights at ``source`` to an ONNX graph at ``target`` (dynamic input, CPU)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import torch
    import ultralytics
    from ultralytics.models.yolo import YOLO
    from ultralytics.utils import LOGGER

    level = LOGGER.level
    LOGGER.setLevel(logging.WARNING)  # it logs every step of the export at INFO
    # The exporter writes beside its input, so it works on a private copy.
    with tempfile.TemporaryDirectory(prefix="safecity-export-") as tmp, _no_auto_install():
        copy = Path(tmp) / "model.pt"
        shutil.copyfile(source, copy)
        try:
            exported = YOLO(str(copy), task="detect").export(
                format="onnx",
                dynamic=True,
                simplify=False,
                imgsz=_TRACE_SIZE_PX,
                device="cpu",
                verbose=False,
            )
        finally:
            LOGGER.setLevel(level)
        shutil.copyfile(exported, target)
    return f"ultralytics {ultralytics.__version__} ONNX exporter, torch {torch.__version__}, dynamic input"
