"""Choose the compute device a model runs on, and how many CPU threads it may use."""

from __future__ import annotations

import logging
import math
import re

import cv2

from serve.errors import ConfigError

log = logging.getLogger(__name__)

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(requested: str) -> str:
    """Map ``auto``/``cpu``/``cuda``/``cuda:N`` to a concrete torch device string.

    ``auto`` picks the first GPU when torch sees one and the CPU otherwise; an explicit ``cuda`` on a
    machine without a GPU is a :class:`ConfigError` (one line in the CLI) rather than a silent fall-back
    to the CPU.
    """
    if not _DEVICE_PATTERN.match(requested):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {requested!r}")
    import torch  # deferred: importing torch costs seconds and is not needed to validate config

    has_cuda = torch.cuda.is_available()
    if requested == "auto":
        return "cuda:0" if has_cuda else "cpu"
    if requested == "cpu":
        return requested
    if not has_cuda:
        raise ConfigError(
            f"models.device is {requested!r} but torch sees no CUDA GPU on this machine; "
            "set models.device to auto or cpu"
        )
    resolved = "cuda:0" if requested == "cuda" else requested
    count = torch.cuda.device_count()
    if int(resolved.removeprefix("cuda:")) >= count:
        raise ConfigError(
            f"models.device is {requested!r} but torch sees {count} CUDA GPU(s) on this machine "
            f"(cuda:0 to cuda:{count - 1})"
        )
    return resolved


def onnx_providers(device: str) -> list[str]:
    """onnxruntime execution providers for a resolved device, CPU always last as a fall-back."""
    if device.startswith("cuda"):
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        log.warning(
            "device %s: this onnxruntime has no CUDAExecutionProvider, so ONNX models run on the CPU; "
            "install SafeCity with the gpu extra (pip install 'safecity[gpu]') for onnxruntime-gpu",
            device,
        )
    return ["CPUExecutionProvider"]


def threads_for_share(num_cpus: float) -> int:
    """Threads one model replica may use for a CPU share of ``num_cpus``: the floor, at least 1.

    At library defaults every replica starts one thread per core of the node, so replicas sharing a
    node oversubscribe it; Ray's ``num_cpus`` is the share each one was promised.
    """
    if not math.isfinite(num_cpus) or num_cpus < 0:
        raise ValueError(f"num_cpus must be a finite, non-negative number, got {num_cpus}")
    return max(1, math.floor(num_cpus))


def limit_library_threads(cpu_threads: int | None) -> None:
    """Cap OpenCV's and torch's thread pools in this process; ``None`` keeps the libraries' defaults.

    Both pools are per process, so this is called for every model built; onnxruntime's threads are
    set per session instead (:mod:`serve.onnx_session`).
    """
    if cpu_threads is None:
        return
    if cpu_threads < 1:
        raise ValueError(f"cpu_threads must be at least 1, got {cpu_threads}")
    import torch  # deferred like in resolve_device: seconds to import

    cv2.setNumThreads(cpu_threads)
    torch.set_num_threads(cpu_threads)
