"""The networks, by name: Keras models from (batch, 28, 28, 1) float32 images to logits.

Every model takes images of shape (batch, 28, 28, 1), float32 in [0, 1], ink white on black, and
returns logits of shape (batch, 10), float32 (the last layer is linear; the loss applies the
softmax, ``from_logits=True``, and the recognizer applies it at inference). A network's options
are its builder's keyword arguments, with their defaults (:func:`options`). A new network is a
builder here and its entry in :data:`BUILDERS`; ``digitrec train --architecture NAME`` trains it
with any recipe.
"""

from __future__ import annotations

import keras

from digitrec.model_format import INPUT_SHAPE, NUM_CLASSES


def softmax(l2: float = 0.0) -> keras.Model:
    """Multinomial logistic regression: Flatten-Dense(10). 7,850 parameters.

    ``l2``: the L2 penalty on the kernel (0: none).
    """
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(NUM_CLASSES, kernel_regularizer=_penalty(l2)),
    ], name="softmax")


def mlp(hidden_units: int = 128, dropout: float = 0.0, l2: float = 0.0) -> keras.Model:
    """Two hidden layers of ``hidden_units`` ReLU units, each followed by Dropout(``dropout``)
    when it is above 0, and an L2 penalty ``l2`` on every kernel (0: none). 118,282 parameters
    with 128 units, the Keras MLP tutorials' network.
    """
    layers = [keras.Input(INPUT_SHAPE), keras.layers.Flatten()]
    for _ in range(2):
        layers.append(keras.layers.Dense(hidden_units, activation="relu",
                                         kernel_regularizer=_penalty(l2)))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(NUM_CLASSES, kernel_regularizer=_penalty(l2)))
    return keras.Sequential(layers, name="mlp")


def _penalty(l2: float):
    """Keras' L2 regulariser for a weight ``l2`` > 0, or None (no penalty, no extra loss)."""
    return keras.regularizers.L2(l2) if l2 > 0 else None


def cnn(filters: int = 32, dense_units: int = 64, dropout: float = 0.25,
        l2: float = 0.0) -> keras.Model:
    """Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dropout(0.25)-Dense64-Dense10. 93,322 parameters.

    The convnet of F. Chollet, "Deep Learning with Python" (Manning, 2017), section 5.1, which
    reaches 99.14% MNIST test accuracy there, with the Dropout(0.25) of its common variants.
    ``filters`` (the first convolution's; the others have twice as many), ``dense_units`` and
    ``dropout`` can be changed, for hyperparameter search, and ``l2`` puts an L2 penalty on
    every kernel (0: none).
    """
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Conv2D(filters, 3, activation="relu",
                            kernel_regularizer=_penalty(l2)),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(2 * filters, 3, activation="relu",
                            kernel_regularizer=_penalty(l2)),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(2 * filters, 3, activation="relu",
                            kernel_regularizer=_penalty(l2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(dense_units, activation="relu",
                           kernel_regularizer=_penalty(l2)),
        keras.layers.Dense(NUM_CLASSES, kernel_regularizer=_penalty(l2)),
    ], name="cnn")


def cnn_small() -> keras.Model:
    """Conv2D(28, 3x3)-MaxPool-Flatten-Dense128-Dropout(0.2)-Dense10. 607,394 parameters."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Conv2D(28, 3),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(NUM_CLASSES),
    ], name="cnn-small")


def cnn_deep() -> keras.Model:
    """Conv16-Conv32(same)-Pool-Drop-Conv32-Conv64-Pool-Drop-Conv64-Pool-Drop-Dense512-Dense10.

    All convolutions 3x3 with ReLU, dropout rate 0.5. 107,882 parameters.
    """
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Dropout(0.5),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Dropout(0.5),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(NUM_CLASSES),
    ], name="cnn-deep")


def _conv_block(inputs, filters: int, size: int = 3, strides: int = 1, padding: str = "same"):
    """Conv2D(size x size, no bias)-BatchNormalization-ReLU."""
    x = keras.layers.Conv2D(filters, size, strides=strides, padding=padding,
                            use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def robust() -> keras.Model:
    """digitrec's model for real handwriting: a small batch-normalised CNN with global pooling.

    Conv32-Pool-Conv64-Pool-Conv128-Conv128-GlobalAveragePooling-Dropout(0.25)-Dense10, each
    convolution 3x3 with batch normalisation and ReLU. 242,602 parameters. Chosen for this 2-core
    CPU: about 20 s per MNIST epoch, where adding a second 28x28 convolution doubles that.
    """
    inputs = keras.Input(INPUT_SHAPE)
    x = _conv_block(inputs, 32)
    x = keras.layers.MaxPooling2D(2)(x)
    x = _conv_block(x, 64)
    x = keras.layers.MaxPooling2D(2)(x)
    x = _conv_block(x, 128)
    x = _conv_block(x, 128)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.25)(x)
    outputs = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.Model(inputs, outputs, name="robust")


def fast() -> keras.Model:
    """digitrec's model for a good model now: few multiply-adds, strided convolutions.

    Conv16(5x5, stride 2)-Conv32(3x3, stride 2)-Flatten-Dense128-Dense10, each hidden layer with
    batch normalisation and ReLU. 207,706 parameters but only about 0.5 million multiply-adds per
    image (the tutorial's ``cnn``: 2.9 million), so an epoch takes about 2.4 s on a 2-core CPU.
    Found here by timing a dozen small candidates to 99% MNIST test accuracy: striding instead
    of pooling halved the time, the batch-normalised hidden layer added 0.3 points.
    """
    inputs = keras.Input(INPUT_SHAPE)
    x = _conv_block(inputs, 16, size=5, strides=2)
    x = _conv_block(x, 32, strides=2)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    outputs = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.Model(inputs, outputs, name="fast")


def best() -> keras.Model:
    """digitrec's most accurate single model on MNIST: a deeper batch-normalised CNN.

    Conv32-Conv32-Conv32(5x5, stride 2)-Dropout(0.4)-Conv64-Conv64-Conv64(5x5, stride 2)-
    Dropout(0.4)-Conv128(4x4)-Flatten-Dropout(0.4)-Dense10; 3x3 unpadded convolutions unless
    stated, each with batch normalisation and ReLU. 326,826 parameters, about 15 million
    multiply-adds per image (as many as :func:`robust`). The network of C. Deotte's "How to
    choose CNN Architecture MNIST" (Kaggle, 2018), whose ensembles reach 99.75% there. With
    digitrec's recipe (:data:`RECIPES`, 50 epochs, about 27 minutes on a 2-core CPU) it reached
    99.69%, 99.70%, 99.64%, 99.71% and 99.66% (seeds 0 to 4) on the MNIST test set here, the
    epoch chosen on validation; seeds 0 to 2 averaged, 99.74%.
    """
    inputs = keras.Input(INPUT_SHAPE)
    x = inputs
    for filters in (32, 64):
        x = _conv_block(x, filters, padding="valid")
        x = _conv_block(x, filters, padding="valid")
        x = _conv_block(x, filters, size=5, strides=2)
        x = keras.layers.Dropout(0.4)(x)
    x = _conv_block(x, 128, size=4, padding="valid")
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.4)(x)
    outputs = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.Model(inputs, outputs, name="best")


BUILDERS = {"softmax": softmax, "mlp": mlp, "cnn": cnn, "cnn-small": cnn_small,
            "cnn-deep": cnn_deep, "robust": robust, "fast": fast, "best": best}


def options(architecture: str) -> dict:
    """The options a network takes, with their defaults: its builder's keyword arguments.

    Raises:
        ValueError: an unknown architecture.
    """
    import inspect

    if architecture not in BUILDERS:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of "
                         f"{', '.join(BUILDERS)}")
    return {name: parameter.default for name, parameter
            in inspect.signature(BUILDERS[architecture]).parameters.items()}


def build(architecture: str, **chosen) -> keras.Model:
    """Builds a network, untrained.

    Args:
        architecture: a key of :data:`BUILDERS`.
        chosen: options the network takes (see :func:`options`); those not given, or None,
            take its defaults.

    Returns:
        A Keras model mapping (batch, 28, 28, 1) float32 images to (batch, 10) logits.

    Raises:
        ValueError: an unknown architecture, or an option it does not take.
    """
    defaults = options(architecture)
    chosen = {key: value for key, value in chosen.items() if value is not None}
    if set(chosen) - set(defaults):
        raise ValueError(f"architecture {architecture!r} does not take "
                         f"{', '.join(sorted(set(chosen) - set(defaults)))}")
    return BUILDERS[architecture](**{**defaults, **chosen})
