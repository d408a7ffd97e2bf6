"""The tutorials' models, by name, each with the training recipe its tutorial used.

Every model takes images of shape (batch, 28, 28, 1), float32 in [0, 1], ink white on black, and
returns logits of shape (batch, 10), float32 (the last layer is linear; the loss applies the
softmax, ``from_logits=True``, and the recognizer applies it at inference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def softmax() -> keras.Model:
    """Multinomial logistic regression: Flatten-Dense(10). 7,850 parameters."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(NUM_CLASSES),
    ], name="softmax")


def mlp() -> keras.Model:
    """Two hidden layers of 128 ReLU units. 118,282 parameters."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(NUM_CLASSES),
    ], name="mlp")


def mlp_dropout() -> keras.Model:
    """The MLP with Dropout(0.3) after each hidden layer. 118,282 parameters."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(NUM_CLASSES),
    ], name="mlp-dropout")


def cnn(filters: int = 32, dense_units: int = 64, dropout: float = 0.25) -> keras.Model:
    """Conv32-Pool-Conv64-Pool-Conv64-Flatten-Dropout(0.25)-Dense64-Dense10. 93,322 parameters.

    The convnet of F. Chollet, "Deep Learning with Python" (Manning, 2017), section 5.1, which
    reaches 99.14% MNIST test accuracy there, with the Dropout(0.25) of its common variants.
    ``filters`` (the first convolution's; the others have twice as many), ``dense_units`` and
    ``dropout`` can be changed, for hyperparameter search.
    """
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(2 * filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(2 * filters, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dense(NUM_CLASSES),
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
    stated, each with batch normalisation and ReLU. 328,714 parameters, about 15 million
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


@dataclass(frozen=True)
class Recipe:
    """A model's architecture and the training defaults its tutorial used.

    ``epochs`` may be fractional (1.5: one pass and half another). ``tutorial_accuracy`` is
    the MNIST test accuracy the tutorial reports, in [0, 1] (for digitrec's own models, what
    this recipe reached here). ``augment`` trains on augmented images
    (:func:`digitrec.training.augmentation`) at ``augment_strength``; ``label_smoothing`` is the
    cross-entropy's smoothing in [0, 1); ``schedule`` is ``"constant"``, ``"cosine"`` (linear
    warm-up over the first epoch, then cosine decay to zero) or ``"one-cycle"`` (linear warm-up
    over the first quarter of the steps, then cosine decay to zero: L. N. Smith, N. Topin,
    "Super-Convergence", 2018); ``ema`` keeps an exponential moving average of the weights
    (momentum 0.999) and validates, selects and saves the averaged weights;
    ``outlier_exposure`` adds non-digits trained towards the uniform distribution
    (:func:`digitrec.training.outlier_images`).
    """

    build: Callable[[], keras.Model]
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: float
    tutorial_accuracy: float
    source: str
    augment: bool = False
    augment_strength: float = 1.0
    label_smoothing: float = 0.0
    schedule: str = "constant"
    ema: bool = False
    outlier_exposure: bool = False


RECIPES = {
    "softmax": Recipe(softmax, "sgd", 0.5, 100, 5, 0.92,
                      "TensorFlow 'MNIST for ML beginners' (2015): gradient descent 0.5, "
                      "batch 100"),
    "mlp": Recipe(mlp, "sgd", 0.01, 32, 10, 0.97,
                  "Keras MLP tutorials: 2x Dense(128, relu), SGD with Keras' default rate"),
    "mlp-dropout": Recipe(mlp_dropout, "adam", 0.001, 32, 10, 0.98,
                          "the MLP with Dropout(0.3) and Adam"),
    "cnn": Recipe(cnn, "rmsprop", 0.001, 64, 5, 0.9914,
                  "F. Chollet, Deep Learning with Python (2017), 5.1: rmsprop, batch 64, 5 epochs"),
    "cnn-small": Recipe(cnn_small, "adam", 0.001, 32, 10, 0.984,
                        "one-convolution Keras CNN tutorial: Adam, sparse categorical "
                        "crossentropy, 10 epochs"),
    "cnn-deep": Recipe(cnn_deep, "rmsprop", 0.001, 512, 20, 0.993,
                       "Kaggle-style deep CNN: RMSprop(1e-3), batch 512"),
    "robust": Recipe(robust, "adam", 0.003, 128, 20, 0.995,
                     "digitrec: augmentation for real handwriting, outlier exposure, label "
                     "smoothing 0.1, cosine schedule, best epoch on validation",
                     augment=True, label_smoothing=0.1, schedule="cosine",
                     outlier_exposure=True),
    "fast": Recipe(fast, "nesterov", 0.8, 150, 1.25, 0.9908,
                   "digitrec: a good model now: 1.25 epochs, batch 150, SGD with Nesterov "
                   "momentum and a one-cycle schedule peaking at 0.8, label smoothing 0.1",
                   label_smoothing=0.1, schedule="one-cycle"),
    "best": Recipe(best, "adam", 0.003, 125, 50, 0.9969,
                   "C. Deotte's Kaggle MNIST CNN (2018), digitrec's recipe: augmentation at 0.6 "
                   "strength, label smoothing 0.1, cosine schedule over 50 epochs, weight "
                   "averaging (EMA), best epoch on validation",
                   augment=True, augment_strength=0.6, label_smoothing=0.1, schedule="cosine",
                   ema=True),
}


def options(name: str) -> set[str]:
    """The architecture options (keyword arguments) the named model's builder takes."""
    import inspect

    return set(inspect.signature(RECIPES[name].build).parameters)


def build(name: str, **architecture) -> keras.Model:
    """Builds the named model, untrained.

    Args:
        name: one of :data:`RECIPES`.
        architecture: options the model takes (see :func:`options`); None values are ignored.

    Returns:
        A Keras model mapping (batch, 28, 28, 1) float32 images to (batch, 10) logits.

    Raises:
        ValueError: an unknown name, or an option the model does not take.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(RECIPES)}")
    architecture = {key: value for key, value in architecture.items() if value is not None}
    unsupported = set(architecture) - options(name)
    if unsupported:
        raise ValueError(f"model {name!r} does not take {', '.join(sorted(unsupported))}")
    return RECIPES[name].build(**architecture)
