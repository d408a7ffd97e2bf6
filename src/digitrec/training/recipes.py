"""Named training recipes, each an architecture with the settings a tutorial (or digitrec) used.

Keras-free, so that ``digitrec models`` lists them with the base install. A recipe names an
architecture of :mod:`digitrec.training.architectures` and the options it changes; many recipes
may share one architecture (``mlp`` and ``mlp-dropout``). Every field here is also a field of
:class:`digitrec.training.config.TrainConfig`, which a run's ``config.json`` records resolved.
A new recipe is an entry in :data:`RECIPES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEDULES = ("constant", "cosine", "one-cycle")


@dataclass(frozen=True)
class Recipe:
    """An architecture and the training defaults its tutorial (or digitrec) used.

    Attributes:
        architecture: a key of :data:`digitrec.training.architectures.BUILDERS`.
        optimizer, learning_rate, batch_size, epochs: the optimisation; ``epochs`` may be
            fractional (1.5: one pass and half another).
        tutorial_accuracy: the MNIST test accuracy the tutorial reports, in [0, 1] (for
            digitrec's own recipes, what this recipe reached here).
        source: where the recipe comes from.
        parameters: the trainable and non-trainable weights of the architecture with this
            recipe's options (checked against Keras by the tests).
        options: architecture options this recipe sets (others take the architecture's
            defaults, :func:`digitrec.training.architectures.options`).
        augment, augment_strength: train on augmented images
            (:func:`digitrec.training.augmentation.augmentation`) at this strength.
        label_smoothing: the cross-entropy's smoothing, in [0, 1).
        schedule: ``"constant"``, ``"cosine"`` (linear warm-up over the first epoch, then cosine
            decay to zero) or ``"one-cycle"`` (linear warm-up over the first quarter of the
            steps, then cosine decay to zero: L. N. Smith, N. Topin, "Super-Convergence", 2018).
        ema: keep an exponential moving average of the weights (momentum 0.999) and validate,
            select and save the averaged weights.
        outlier_exposure: add non-digits trained towards the uniform distribution
            (:func:`digitrec.training.outliers.outlier_images`).
    """

    architecture: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: float
    tutorial_accuracy: float
    source: str
    parameters: int
    options: dict = field(default_factory=dict)
    augment: bool = False
    augment_strength: float = 1.0
    label_smoothing: float = 0.0
    schedule: str = "constant"
    ema: bool = False
    outlier_exposure: bool = False


RECIPES = {
    "softmax": Recipe("softmax", "sgd", 0.5, 100, 5, 0.92,
                      "TensorFlow 'MNIST for ML beginners' (2015): gradient descent 0.5, "
                      "batch 100", 7_850),
    "mlp": Recipe("mlp", "sgd", 0.01, 32, 10, 0.97,
                  "Keras MLP tutorials: 2x Dense(128, relu), SGD with Keras' default rate",
                  118_282),
    "mlp-dropout": Recipe("mlp", "adam", 0.001, 32, 10, 0.98,
                          "the MLP with Dropout(0.3) and Adam", 118_282, {"dropout": 0.3}),
    "cnn": Recipe("cnn", "rmsprop", 0.001, 64, 5, 0.9914,
                  "F. Chollet, Deep Learning with Python (2017), 5.1: rmsprop, batch 64, "
                  "5 epochs", 93_322),
    "cnn-small": Recipe("cnn-small", "adam", 0.001, 32, 10, 0.984,
                        "one-convolution Keras CNN tutorial: Adam, sparse categorical "
                        "crossentropy, 10 epochs", 607_394),
    "cnn-deep": Recipe("cnn-deep", "rmsprop", 0.001, 512, 20, 0.993,
                       "Kaggle-style deep CNN: RMSprop(1e-3), batch 512", 107_882),
    "robust": Recipe("robust", "adam", 0.003, 128, 20, 0.995,
                     "digitrec: augmentation for real handwriting, outlier exposure, label "
                     "smoothing 0.1, cosine schedule, best epoch on validation", 242_602,
                     augment=True, label_smoothing=0.1, schedule="cosine",
                     outlier_exposure=True),
    "fast": Recipe("fast", "nesterov", 0.8, 150, 1.25, 0.9908,
                   "digitrec: a good model now: 1.25 epochs, batch 150, SGD with Nesterov "
                   "momentum and a one-cycle schedule peaking at 0.8, label smoothing 0.1",
                   207_706, label_smoothing=0.1, schedule="one-cycle"),
    "best": Recipe("best", "adam", 0.003, 125, 50, 0.9969,
                   "C. Deotte's Kaggle MNIST CNN (2018), digitrec's recipe: augmentation at 0.6 "
                   "strength, label smoothing 0.1, cosine schedule over 50 epochs, weight "
                   "averaging (EMA), best epoch on validation", 326_826,
                   augment=True, augment_strength=0.6, label_smoothing=0.1, schedule="cosine",
                   ema=True),
}

