"""The operator plug-in, with tiny ONNX graphs built here (needs the `onnx` package, a dev extra)."""

import json
from pathlib import Path

import numpy as np
import pytest

from portraitmatch.errors import InputError, ModelError
from portraitmatch.types import Box

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from portraitmatch.adapters.models.onnx_pad import OnnxPadModel  # noqa: E402


def _mean_brightness_model(path: Path, size: int = 32) -> Path:
    """attack probability = sigmoid(8 * (mean pixel - 0.5)): bright crops look like attacks."""
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sub", ["m", "half"], ["c"]),
        helper.make_node("Mul", ["c", "gain"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["s"]),
        helper.make_node("Reshape", ["s", "shape"], ["prob"]),
    ]
    inits = [
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [8.0]),
        helper.make_tensor("shape", TensorProto.INT64, [2], [1, 1]),
    ]
    graph = helper.make_graph(nodes, "pad", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)
    path.with_suffix(".json").write_text(json.dumps({"input_px": size, "margin": 0.1}))
    return path


def _two_class_model(path: Path) -> Path:
    """logits = [1 - mean, mean] over an NHWC input; column 0 is "live"."""
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 16, 3])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sub", ["one", "m"], ["live"]),
        helper.make_node("Concat", ["live", "m"], ["flat"], axis=0),
        helper.make_node("Mul", ["flat", "gain"], ["scaled"]),
        helper.make_node("Reshape", ["scaled", "shape"], ["logits"]),
    ]
    inits = [
        helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [6.0]),
        helper.make_tensor("shape", TensorProto.INT64, [2], [1, 2]),
    ]
    graph = helper.make_graph(nodes, "pad2", [inp], [out], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    spec = {"input_px": 16, "layout": "NHWC", "channel_order": "BGR", "live_index": 0, "softmax": True}
    path.with_suffix(".json").write_text(json.dumps(spec))
    return path


def _frame(level: int) -> np.ndarray:
    return np.full((120, 160, 3), level, np.uint8)


BOX = Box(50, 30, 60, 60)


def test_single_output_model_scores_attack_probability(tmp_path: Path) -> None:
    model = OnnxPadModel.load(_mean_brightness_model(tmp_path / "pad.onnx"))
    dark, bright = model.score(_frame(30), BOX), model.score(_frame(230), BOX)
    assert dark < 0.1 < 0.9 < bright
    expected = 1 / (1 + np.exp(-8 * (230 / 255 - 0.5)))
    assert bright == pytest.approx(expected, rel=1e-4)
    assert model.model_id == "onnx-pad:pad"


def test_class_scores_with_a_live_column(tmp_path: Path) -> None:
    model = OnnxPadModel.load(_two_class_model(tmp_path / "two.onnx"))
    assert model.score(_frame(20), BOX) < 0.5 < model.score(_frame(240), BOX)


def test_sha256_is_checked_and_broken_files_refused(tmp_path: Path) -> None:
    path = _mean_brightness_model(tmp_path / "pad.onnx")
    with pytest.raises(ModelError, match="sha256"):
        OnnxPadModel.load(path, sha256="0" * 64)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        OnnxPadModel.load(broken)
    with pytest.raises(ModelError):
        OnnxPadModel.load(tmp_path / "missing.onnx")
    (tmp_path / "odd.onnx").write_bytes(path.read_bytes())
    (tmp_path / "odd.json").write_text(json.dumps({"colour": "blue"}))
    with pytest.raises(ModelError, match="unknown keys"):
        OnnxPadModel.load(tmp_path / "odd.onnx")


def test_bad_pixels_are_input_errors(tmp_path: Path) -> None:
    model = OnnxPadModel.load(_mean_brightness_model(tmp_path / "pad.onnx"))
    with pytest.raises(InputError):
        model.score(np.zeros((10, 10), np.uint8), BOX)
    with pytest.raises(InputError):
        model.score(_frame(10), Box(0, 0, 0, 0))


def test_plugs_into_the_accumulator(tmp_path: Path) -> None:
    from portraitmatch.config import PadSettings
    from portraitmatch.liveness.pad import PadAccumulator, PadModel
    from tests.unit.pad.samples import analysis, face

    model = OnnxPadModel.load(_mean_brightness_model(tmp_path / "pad.onnx"))
    assert isinstance(model, PadModel)
    acc = PadAccumulator(PadSettings())
    for k in range(10):
        acc.add(analysis(k * 33.0, face()), model_score=model.score(_frame(230), BOX))
    assert acc.result().signal("model").fired
