"""Choose the compute device a model runs on."""

from __future__ import annotations

import re

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(requested: str) -> str:
    """Map ``auto``/``cpu``/``cuda``/``cuda:N`` to a concrete torch device string.

    ``auto`` picks the first GPU when torch sees one and the CPU otherwise; an explicit ``cuda`` on a
    machine without a GPU is an error rather than a silent fall-back to the CPU.
    """
    if not _DEVICE_PATTERN.match(requested):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {requested!r}")
    import torch  # deferred: importing torch costs seconds and is not needed to validate config

    has_cuda = torch.cuda.is_available()
    if requested == "auto":
        return "cuda:0" if has_cuda else "cpu"
    if requested.startswith("cuda") and not has_cuda:
        raise ValueError(f"device {requested!r} requested but torch sees no CUDA GPU on this machine")
    return "cuda:0" if requested == "cuda" else requested


def onnx_providers(device: str) -> list[str]:
    """onnxruntime execution providers for a resolved device, CPU always last as a fall-back."""
    if device.startswith("cuda"):
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
