"""SFace face embeddings with onnxruntime, batched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray

from serve.face_align import ALIGNED_SIZE_PX
from serve.imaging import Image
from serve.onnx_session import open_session
from serve.onnx_weights import fold_weight_dequantization


def prepare_sface_graph(model_bytes: bytes, *, fold_weights: bool = True) -> bytes:
    """Make the published SFace graph usable in onnxruntime with any batch size.

    The file lists every weight as a graph input, which onnxruntime refuses; keeping only ``data``
    leaves the weights as initialisers (results identical to OpenCV's). The batch dimension is fixed
    at 1 in the file; no operator depends on it, so it is made symbolic. Its int8 weights are
    dequantised once here rather than at every inference (:mod:`serve.onnx_weights`), unless
    ``fold_weights`` is False (``bench stages`` compares the two).
    """
    model = onnx.load_from_string(model_bytes)
    keep = [graph_input for graph_input in model.graph.input if graph_input.name == "data"]
    if len(keep) != 1:
        raise ValueError("not an SFace graph: no input named 'data'")
    del model.graph.input[:]
    model.graph.input.extend(keep)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[0].dim_param = "batch"
    del model.graph.value_info[:]
    if fold_weights:
        fold_weight_dequantization(model)
    return bytes(model.SerializeToString())


class SFaceEmbedder:
    """Turns aligned 112x112 BGR faces into L2-normalised 128-d embeddings."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self.dim = int(session.get_outputs()[0].shape[1])

    @classmethod
    def load(
        cls, path: Path, *, device: str, cpu_threads: int | None = None, fold_weights: bool = True
    ) -> SFaceEmbedder:
        """Load SFace weights from ``path`` on a resolved ``device`` with ``cpu_threads`` intra-op threads."""
        session = open_session(
            path,
            role="face_embedder",
            device=device,
            cpu_threads=cpu_threads,
            prepare=lambda graph: prepare_sface_graph(graph, fold_weights=fold_weights),
        )
        return cls(session)

    def embed(self, aligned_faces: list[Image]) -> NDArray[np.float32]:
        """Embeddings (n, dim), each of unit length."""
        if not aligned_faces:
            return np.zeros((0, self.dim), np.float32)
        for face in aligned_faces:
            if face.shape != (ALIGNED_SIZE_PX, ALIGNED_SIZE_PX, 3):
                raise ValueError(f"aligned faces must be 112x112x3, got {face.shape}")
        # Same preprocessing as OpenCV's FaceRecognizerSF: RGB, 0..255 floats, NCHW.
        blob = cv2.dnn.blobFromImages(
            aligned_faces, 1.0, (ALIGNED_SIZE_PX, ALIGNED_SIZE_PX), (0, 0, 0), True, False
        )
        features = np.asarray(self._session.run(None, {self._input_name: blob})[0], dtype=np.float32)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return np.asarray(features / np.maximum(norms, 1e-12), dtype=np.float32)
