"""onnxruntime sessions for every ONNX model: providers for the device, threads for the CPU share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serve.device import onnx_providers
from serve.errors import ModelCorruptError

log = logging.getLogger(__name__)


def session_options(cpu_threads: int | None) -> Any:
    """Session options: ``cpu_threads`` intra-op threads (``None``: one per core), one inter-op thread.

    Detection and embedding graphs are chains of operators run sequentially: the cores go to the
    threads inside each operator.
    """
    import onnxruntime

    if cpu_threads is not None and cpu_threads < 1:
        raise ValueError(f"cpu_threads must be at least 1, got {cpu_threads}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are noise to an operator
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    # 0 is onnxruntime's default: one thread per core of the machine, even where the process may use
    # fewer (pinned to 1 of 2 cores: 98 ms per 640x384 plate frame against 52 ms with 1 thread).
    options.intra_op_num_threads = cpu_threads or 0
    return options


def open_session(
    path: Path,
    *,
    role: str,
    device: str,
    cpu_threads: int | None,
    prepare: Callable[[bytes], bytes] | None = None,
) -> Any:
    """An inference session for the model at ``path`` on ``device`` (a resolved device string).

    ``prepare`` rewrites the graph bytes first (a model that needs fixing to load). Any failure to
    read, prepare or load the file is a :class:`ModelCorruptError` naming ``role``.
    """
    import onnxruntime

    providers = onnx_providers(device)
    try:
        model = path.read_bytes()
        if prepare is not None:
            model = prepare(model)
        session = onnxruntime.InferenceSession(
            model, sess_options=session_options(cpu_threads), providers=providers
        )
    except Exception as exc:  # onnx and onnxruntime raise their own types for a bad file
        raise ModelCorruptError(f"model for role '{role}' at {path} does not load: {exc}") from exc
    if providers[0] not in session.get_providers():
        log.warning(
            "model for role '%s': %s did not start (see onnxruntime's log); running on %s",
            role,
            providers[0],
            session.get_providers()[0],
        )
    return session
