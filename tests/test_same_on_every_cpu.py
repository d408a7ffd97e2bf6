"""The shipped model answers the same on every CPU (AVX2 only, AVX-512, VNNI).

ONNX Runtime picks its int8 kernels by the CPU: with VNNI (Intel since Cascade Lake, AMD since
Zen 4) the products of uint8 activations and int8 weights are exact; without it (AVX2, or
AVX-512 without VNNI) they are added in pairs in 16 bits (VPMADDUBSW), which saturates unless
the weights keep to 7 bits. A model quantised with full-range weights then reads worse on those
CPUs only (the first shipped int8 model: 99.39% on MNIST's test set there, 99.56% with VNNI).
Two checks catch that on any machine: the graph's weights are read (saturation is possible or
not, whatever this CPU is), and the fastest kernels of this CPU are compared with ONNX
Runtime's reference kernels (graph optimisation off), which compute in float.
"""

import json

import numpy as np
import pytest

from digitrec import imaging, onnx_models
from digitrec.recognizer import DEFAULT_MODEL


def test_the_shipped_models_int8_products_cannot_saturate_on_any_cpu():
    assert onnx_models.saturating_weights(DEFAULT_MODEL / "model.onnx") == []
    metrics = json.loads((DEFAULT_MODEL / "metrics.json").read_text())
    assert metrics["kernel_agreement"]["saturating_weights"] == []
    assert metrics["kernel_agreement"]["max_probability_difference"] <= onnx_models.KERNEL_TOLERANCE


def test_fast_and_reference_kernels_agree_on_real_images(mnist, user_digits):
    """Tolerance :data:`digitrec.onnx_models.KERNEL_TOLERANCE` (0.02 in probability): with exact
    integer products the two kernels differ only where the reference kernels' float sums round
    an activation to the neighbouring int8 level; saturation moved probabilities by up to 0.98.
    On a CPU with VNNI this passes even for a saturating model: the test above is the one that
    holds everywhere."""
    _, (x_test, _) = mnist
    photos = [np.round(imaging.load_digit(row["path"]) * 255).astype(np.uint8)
              for row in user_digits if row["group"] != "small_28x28"]
    images = np.concatenate([x_test, np.stack(photos)])
    difference = onnx_models.kernel_agreement(DEFAULT_MODEL / "model.onnx", images)
    assert difference <= onnx_models.KERNEL_TOLERANCE


def test_saturating_weights_are_found_in_the_graph(tmp_path):
    """A copy of the shipped model with one weight tensor spread to the full int8 range is
    flagged (the int8 copies `digitrec quantize --full-range-weights` makes are too: see
    tests/test_training.py)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(DEFAULT_MODEL / "model.onnx"))
    weights = next(tensor for tensor in model.graph.initializer  # a kernel, not a zero point
                   if tensor.data_type == onnx.TensorProto.INT8 and len(tensor.dims) == 4)
    widened = np.clip(numpy_helper.to_array(weights).astype(np.int32) * 2, -127, 127)
    weights.CopyFrom(numpy_helper.from_array(widened.astype(np.int8), weights.name))
    onnx.save(model, str(tmp_path / "full-range.onnx"))
    assert onnx_models.saturating_weights(tmp_path / "full-range.onnx") == [weights.name]


@pytest.mark.parametrize("optimized", [True, False], ids=["fast kernels", "reference kernels"])
def test_shipped_model_accuracy_is_its_recorded_figure_with_either_kernels(mnist, optimized):
    _, (x_test, y_test) = mnist
    session = onnx_models.session(DEFAULT_MODEL / "model.onnx", optimized=optimized)
    accuracy = np.mean(onnx_models.probabilities(session, x_test).argmax(axis=1) == y_test)
    metrics = json.loads((DEFAULT_MODEL / "metrics.json").read_text())
    assert accuracy >= 0.995
    assert abs(accuracy - metrics["test_accuracy"]) <= 0.0005  # 0.05 points, 5 images

