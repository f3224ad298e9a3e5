"""EasyOCR's convolutional feature extractor run in onnxruntime on CPU: the same weights, 1.5x faster.

The recogniser is a VGG feature extractor, then a BiLSTM and a CTC head. On CPU the VGG part is most
of a read (about 70% in a profile of the plate reader, convolutions and max pooling). Exported once at
load from the loaded weights (nothing is downloaded or cached), it runs in onnxruntime in 9.0 ms for
a 64x160 line on one thread against 13.7 ms in torch, with features equal to 1e-6. The BiLSTM and the
head stay in torch, as EasyOCR quantises them for CPU. At two threads a whole read was slower this way
(0.81-0.84x), so the recogniser uses it on one thread only (``EasyOcrRecognizer.load``).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from serve.onnx_session import session_options

EXPORT_SHAPE = (1, 1, 64, 160)  # batch, grey, the recogniser's line height, a plate line's width
ONNX_OPSET = 17


def export_features(module: Any) -> bytes:
    """The feature extractor ``module`` as an ONNX graph, batch and width dynamic."""
    import torch

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(), torch.no_grad():
        path = Path(folder) / "features.onnx"
        warnings.simplefilter("ignore")  # torch's notes on its legacy exporter, which suits a plain CNN
        torch.onnx.export(
            module.eval(),
            (torch.zeros(EXPORT_SHAPE),),
            path,
            input_names=["lines"],
            output_names=["features"],
            dynamic_axes={"lines": {0: "batch", 3: "width"}, "features": {0: "batch", 3: "columns"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
        return path.read_bytes()


def onnx_feature_extraction(module: Any, cpu_threads: int | None) -> Any:
    """A drop-in for EasyOCR's ``FeatureExtraction`` module that runs it in onnxruntime on CPU."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(
        export_features(module), sess_options=session_options(cpu_threads), providers=["CPUExecutionProvider"]
    )

    class OnnxFeatureExtraction(torch.nn.Module):
        """Lines (batch, 1, 64, width) in, VGG features out, as the torch module gives them."""

        def forward(self, lines: torch.Tensor) -> torch.Tensor:
            array = np.ascontiguousarray(lines.detach().cpu().numpy(), dtype=np.float32)
            return torch.from_numpy(session.run(None, {"lines": array})[0])

    return OnnxFeatureExtraction()
