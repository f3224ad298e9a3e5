"""Weight dequantisation folded at load gives the graph's own results, with no DequantizeLinear left."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from serve.onnx_weights import fold_weight_dequantization


def _graph_with_quantized_weight(scale: np.ndarray, zero: np.ndarray, **attributes: int) -> onnx.ModelProto:
    """y = x @ dequantize(w): an 8x6 int8 weight in front of a MatMul."""
    rng = np.random.default_rng(0)
    weight = rng.integers(-128, 127, (8, 6), dtype=np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zero"], ["w_float"]),
        helper.make_node("MatMul", ["x", "w_float"], ["y"]),
    ]
    nodes[0].attribute.extend(helper.make_attribute(name, value) for name, value in attributes.items())
    graph = helper.make_graph(
        nodes,
        "quantized_weight",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6])],
        [
            numpy_helper.from_array(weight, "w"),
            numpy_helper.from_array(scale.astype(np.float32), "w_scale"),
            numpy_helper.from_array(zero.astype(np.int8), "w_zero"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    # Unoptimised: onnxruntime may otherwise fuse DequantizeLinear + MatMul into a kernel that
    # quantises x too, and the reference would no longer be the graph's exact arithmetic.
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return np.asarray(session.run(None, {"x": x})[0])


@pytest.mark.parametrize(
    ("scale", "zero", "attributes"),
    [
        (np.array(0.05), np.array(3), {}),
        (np.linspace(0.01, 0.06, 6), np.arange(6) - 2, {"axis": 1}),
        (np.linspace(0.01, 0.08, 8), np.arange(8) - 4, {"axis": 0}),
        (np.linspace(0.01, 0.06, 18).reshape(3, 6), np.zeros((3, 6)), {"axis": 0, "block_size": 3}),
        (np.linspace(0.01, 0.08, 16).reshape(8, 2), np.ones((8, 2)), {"axis": 1, "block_size": 4}),
        (np.linspace(0.01, 0.08, 16).reshape(8, 2), np.ones((8, 2)), {"axis": 1, "block_size": 5}),
    ],
    ids=["per-tensor", "per-axis-1", "per-axis-0", "blocked-0", "blocked-1", "blocked-ragged"],
)
def test_folded_graph_computes_what_the_quantized_one_did(
    scale: np.ndarray, zero: np.ndarray, attributes: dict[str, int]
) -> None:
    quantized = _graph_with_quantized_weight(scale, zero, **attributes)
    x = np.random.default_rng(1).normal(size=(2, 8)).astype(np.float32)
    expected = _run(quantized, x)
    folded = onnx.ModelProto()
    folded.CopyFrom(quantized)

    assert fold_weight_dequantization(folded) == 1

    assert [node.op_type for node in folded.graph.node] == ["MatMul"]
    assert {tensor.name for tensor in folded.graph.initializer} == {"w_float"}
    np.testing.assert_allclose(_run(folded, x), expected, rtol=1e-6, atol=1e-5)


def test_dequantization_of_a_computed_tensor_is_kept() -> None:
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["x", "scale"], ["y"])],
        "activation",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(np.array(0.5, np.float32), "scale")],
    )
    model = helper.make_model(graph)

    assert fold_weight_dequantization(model) == 0

    assert [node.op_type for node in model.graph.node] == ["DequantizeLinear"]
