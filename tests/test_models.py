import os
import re
import subprocess
import sys

import pytest

from digitrec.training import architectures
from digitrec.training.config import TrainConfig
from digitrec.training.config import architecture_defaults
from digitrec.training.recipes import RECIPES

# Parameter counts: the tutorials' own figures where they give one (softmax 7,850; cnn 93,322),
# worked out by hand for the rest (Dense: inputs*units + units; Conv2D: 9*channels*filters
# + filters).
EXPECTED_PARAMETERS = {
    "softmax": 7_850,
    "mlp": 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10,
    "mlp-dropout": 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10,
    "cnn": 93_322,
    "cnn-small": 9 * 28 + 28 + 13 * 13 * 28 * 128 + 128 + 128 * 10 + 10,
    "cnn-deep": 160 + 4_640 + 9_248 + 18_496 + 36_928 + 64 * 512 + 512 + 512 * 10 + 10,
    # Convolutions without bias, each followed by batch normalisation (4 values per channel).
    "robust": (9 * 1 * 32 + 4 * 32) + (9 * 32 * 64 + 4 * 64) + (9 * 64 * 128 + 4 * 128)
              + (9 * 128 * 128 + 4 * 128) + 128 * 10 + 10,
    # Strided 5x5 and 3x3 convolutions, then a batch-normalised Dense(128) on 7*7*32 inputs.
    "fast": (25 * 1 * 16 + 4 * 16) + (9 * 16 * 32 + 4 * 32) + (7 * 7 * 32 * 128 + 4 * 128)
            + 128 * 10 + 10,
}
# Unpadded 3x3 convolutions (28->26->24), strided 5x5 ones (->12), again (->10->8->4), a 4x4 to 1x1.
EXPECTED_PARAMETERS["best"] = (
    (9 * 1 * 32 + 4 * 32) + (9 * 32 * 32 + 4 * 32) + (25 * 32 * 32 + 4 * 32)
    + (9 * 32 * 64 + 4 * 64) + (9 * 64 * 64 + 4 * 64) + (25 * 64 * 64 + 4 * 64)
    + (16 * 64 * 128 + 4 * 128) + 128 * 10 + 10)


def summary_total(model) -> int:
    """The 'Total params' figure that model.summary() prints."""
    lines = []
    model.summary(print_fn=lambda line, *arguments, **keywords: lines.append(line))
    text = "\n".join(lines)
    return int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))


@pytest.mark.parametrize("name", list(RECIPES))
def test_parameter_count_matches_model_summary(name):
    recipe = RECIPES[name]
    model = architectures.build(recipe.architecture, **architecture_defaults(name))
    assert summary_total(model) == EXPECTED_PARAMETERS[name] == recipe.parameters
    assert model.output_shape == (None, 10)


def test_models_command_lists_every_model_with_its_count():
    # as a user runs it: TensorFlow's native start-up lines (oneDNN, absl) are kept off stderr
    environment = {key: value for key, value in os.environ.items()
                   if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "digitrec.cli", "models"], capture_output=True,
                            text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for name, count in EXPECTED_PARAMETERS.items():
        assert re.search(rf"{re.escape(name)}\s+│\s+{count:,}\s", result.stdout), name


def test_unknown_architecture_and_unknown_option_are_value_errors():
    with pytest.raises(ValueError, match="cnn-small"):
        architectures.build("resnet")
    with pytest.raises(ValueError, match="does not take filters"):
        architectures.build("mlp", filters=8)


def test_cnn_architecture_options_change_its_size():
    assert architectures.build("cnn", filters=16, dense_units=32).count_params() == (
        9 * 16 + 16 + 9 * 16 * 32 + 32 + 9 * 32 * 32 + 32 + 3 * 3 * 32 * 32 + 32 + 32 * 10 + 10)


def test_mlp_options_hidden_units_dropout_and_l2():
    model = architectures.build("mlp", hidden_units=256, dropout=0.3, l2=0.01)
    assert model.count_params() == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert sum(layer.__class__.__name__ == "Dropout" for layer in model.layers) == 2
    assert len(model.losses) == 3  # one L2 penalty per kernel
    plain = architectures.build("mlp")
    assert not plain.losses and all(layer.__class__.__name__ != "Dropout"
                                    for layer in plain.layers)


def test_recipes_share_an_architecture_and_configs_resolve_every_setting():
    config = TrainConfig(model="mlp-dropout").resolved()
    assert config.architecture == "mlp" and config.dropout == 0.3
    assert (config.hidden_units, config.l2, config.optimizer) == (128, 0.0, "adam")
    robust = TrainConfig(model="robust").resolved()
    assert (robust.label_smoothing, robust.schedule, robust.outlier_exposure) == (
        0.1, "cosine", True)
    assert robust.hidden_units is None and robust.dropout is None
    with pytest.raises(ValueError, match="does not take hidden_units"):
        TrainConfig(model="cnn", hidden_units=64).resolved()
    with pytest.raises(ValueError, match="does not take dropout, l2"):
        TrainConfig(model="robust", dropout=0.1, l2=0.01).resolved()
