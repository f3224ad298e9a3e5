"""The device a model runs on, threads from a replica's CPU share, and the onnxruntime sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cv2
import pytest
import torch

from serve.device import limit_library_threads, onnx_providers, resolve_device, threads_for_share
from serve.errors import ConfigError
from serve.onnx_session import session_options


@pytest.mark.parametrize(
    ("num_cpus", "threads"), [(0.0, 1), (0.25, 1), (1.0, 1), (1.99, 1), (2.0, 2), (3.5, 3), (16, 16)]
)
def test_threads_are_the_floor_of_the_share_and_at_least_one(num_cpus: float, threads: int) -> None:
    assert threads_for_share(num_cpus) == threads


@pytest.mark.parametrize("num_cpus", [-1.0, float("nan"), float("inf")])
def test_a_share_that_is_not_a_cpu_count_is_refused(num_cpus: float) -> None:
    with pytest.raises(ValueError, match="num_cpus"):
        threads_for_share(num_cpus)


def test_session_options_pin_intra_op_threads_and_one_inter_op_thread() -> None:
    options = session_options(3)
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)
    assert session_options(None).intra_op_num_threads == 0, "None keeps onnxruntime's default"
    with pytest.raises(ValueError, match="at least 1"):
        session_options(0)


@pytest.fixture
def restore_library_threads() -> Iterator[None]:
    cv2_threads, torch_threads = cv2.getNumThreads(), torch.get_num_threads()
    yield
    cv2.setNumThreads(cv2_threads)
    torch.set_num_threads(torch_threads)


@pytest.mark.usefixtures("restore_library_threads")
def test_library_threads_are_capped_or_left_alone() -> None:
    limit_library_threads(1)
    assert (cv2.getNumThreads(), torch.get_num_threads()) == (1, 1)
    before = (cv2.getNumThreads(), torch.get_num_threads())
    limit_library_threads(None)
    assert (cv2.getNumThreads(), torch.get_num_threads()) == before


def test_cuda_without_the_gpu_runtime_falls_back_to_the_cpu_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime

    # The CPU-only onnxruntime, whatever this machine has installed.
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger="serve.device"):
        assert onnx_providers("cuda:0") == ["CPUExecutionProvider"]
    assert "no CUDAExecutionProvider" in caplog.text and "safecity[gpu]" in caplog.text
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]


@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_on_a_machine_without_a_gpu_is_a_config_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, requested: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=rf"models.device is '{requested}' but torch sees no CUDA GPU"):
        resolve_device(requested)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"


def test_a_gpu_index_past_the_last_gpu_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda") == "cuda:0" and resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ConfigError, match=r"'cuda:2' but torch sees 2 CUDA GPU\(s\).*cuda:0 to cuda:1"):
        resolve_device("cuda:2")
