"""What a training run is: one dataclass holding every setting, as a run's ``config.json``.

``None`` fields take the named recipe's value (:mod:`digitrec.training.recipes`);
:meth:`TrainConfig.resolved` fills them, and the resolved configuration is what ``config.json``
records, so that ``digitrec train --config RUN/config.json`` trains the same run again.
"""

from __future__ import annotations

import dataclasses

from digitrec import datasets
from digitrec.training.recipes import RECIPES, SCHEDULES

OPTIMIZERS = ("sgd", "nesterov", "adam", "rmsprop")
EXTRA_REPEAT = 3  # default: each real-handwriting image is seen this many times per epoch
# Settings that a recipe supplies when the configuration leaves them None.
RECIPE_FIELDS = ("epochs", "batch_size", "optimizer", "learning_rate", "augment",
                 "augment_strength", "label_smoothing", "schedule", "ema", "outlier_exposure")
OPTION_FIELDS = ("filters", "dense_units", "hidden_units", "dropout", "l2")


@dataclasses.dataclass
class TrainConfig:
    """What to train and how. ``None`` fields take the recipe's value.

    Attributes:
        model: the recipe's name, a key of :data:`digitrec.training.recipes.RECIPES`.
        architecture: the network, a key of :data:`digitrec.training.architectures.BUILDERS`
            (None: the recipe's).
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        epochs: passes over the training split, > 0; a fraction trains the last pass part-way
            (1.5: one pass and half another).
        batch_size: images per gradient step, >= 1.
        optimizer: ``"sgd"`` (plain gradient descent), ``"nesterov"`` (SGD with Nesterov
            momentum 0.9), ``"adam"`` or ``"rmsprop"``.
        learning_rate: the optimizer's (peak) step size, > 0.
        augment: train on augmented images (see :mod:`digitrec.training.augmentation`).
        augment_strength: scales every augmentation's range, > 0 (1: the ranges documented).
        label_smoothing: the cross-entropy's label smoothing, in [0, 1).
        schedule: the learning rate over time, one of
            :data:`digitrec.training.recipes.SCHEDULES`.
        ema: validate, select and save an exponential moving average of the weights.
        outlier_exposure: also train on non-digits towards the uniform distribution, and
            calibrate a rejection threshold.
        filters, dense_units: the ``cnn``'s first convolution's filters and its dense units.
        hidden_units: the ``mlp``'s units in each of its two hidden layers.
        dropout: the dropout rate, in [0, 1), of the ``mlp`` (after each hidden layer) or of
            the ``cnn`` (before its dense layer).
        l2: the L2 weight penalty on every kernel of ``softmax``, ``mlp`` or ``cnn``, >= 0
            (``kernel_regularizer=keras.regularizers.l2(l2)``; the tutorials try 0.01).
        validation_split: fraction of the training set held out for validation, in [0, 1).
        seed: seeds the split, the initial weights, dropout, augmentation and the shuffle.
        train_limit: use only the first N images of the training split (None: all).
        extra_data: folders of real handwriting (see :func:`digitrec.datasets.load_folder`)
            whose "fit" half is added to the training images.
        extra_repeat: how many times each extra image is seen per epoch, >= 1.
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`); not
            recorded in ``config.json``.
    """

    model: str = "cnn"
    architecture: str | None = None
    dataset: str = "mnist"
    epochs: float | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    augment: bool | None = None
    augment_strength: float | None = None
    label_smoothing: float | None = None
    schedule: str | None = None
    ema: bool | None = None
    outlier_exposure: bool | None = None
    filters: int | None = None
    dense_units: int | None = None
    hidden_units: int | None = None
    dropout: float | None = None
    l2: float | None = None
    validation_split: float = 0.1
    seed: int = 0
    train_limit: int | None = None
    extra_data: tuple[str, ...] = ()
    extra_repeat: int = EXTRA_REPEAT
    data_dir: str | None = None

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` field the recipe or architecture sets filled in. Imports
        Keras (the architectures' options are their builders' arguments).

        Raises:
            ValueError: an unknown model, architecture, dataset, optimizer or schedule, a value
                out of range, or an architecture option the architecture does not take.
        """
        if self.model not in RECIPES:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(RECIPES)}")
        if self.dataset not in datasets.DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of "
                             f"{', '.join(datasets.DATASETS)}")
        recipe = RECIPES[self.model]
        architecture = self.architecture or recipe.architecture
        defaults = architecture_defaults(self.model, architecture)
        given = {name for name in OPTION_FIELDS if getattr(self, name) is not None}
        if given - set(defaults):
            takes = ", ".join(sorted(defaults)) or "no options"
            raise ValueError(f"model {self.model!r} ({architecture}) does not take "
                             f"{', '.join(sorted(given - set(defaults)))} (it takes: {takes})")
        filled = {name: getattr(recipe, name) for name in RECIPE_FIELDS
                  if getattr(self, name) is None}
        filled.update({name: value for name, value in defaults.items()
                       if getattr(self, name) is None})
        config = dataclasses.replace(self, architecture=architecture, **filled)
        config._check_ranges()
        return config

    def _check_ranges(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of "
                             f"{', '.join(SCHEDULES)}")
        for name, value in (("epochs", self.epochs), ("learning rate", self.learning_rate),
                            ("batch size", self.batch_size)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value:g}")
        for name, value in (("validation split", self.validation_split),
                            ("label smoothing", self.label_smoothing),
                            ("dropout", self.dropout or 0.0)):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if (self.l2 or 0.0) < 0:
            raise ValueError(f"l2 must be at least 0, got {self.l2}")
        for name, value in (("hidden units", self.hidden_units), ("filters", self.filters),
                            ("dense units", self.dense_units),
                            ("train limit", self.train_limit)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.extra_repeat < 1:
            raise ValueError(f"extra repeat must be at least 1, got {self.extra_repeat}")
        if self.augment_strength <= 0:
            raise ValueError("augment strength must be positive (turn augment off instead)")

    def architecture_options(self) -> dict:
        """The options passed to the architecture's builder (a resolved configuration's)."""
        return {name: getattr(self, name)
                for name in architecture_defaults(self.model, self.architecture)}

    def record(self) -> dict:
        """The configuration as ``config.json`` records it (``data_dir`` left out: where the
        data was is not part of the recipe)."""
        record = dataclasses.asdict(self)
        record["extra_data"] = list(self.extra_data)
        record.pop("data_dir")
        return record


def architecture_defaults(model: str, architecture: str | None = None) -> dict:
    """The architecture options a recipe trains with unless told otherwise: the architecture's
    own defaults, updated by the recipe's (for ``architecture``, default the recipe's).

    Raises:
        ValueError: an unknown recipe or architecture.
    """
    from digitrec.training import architectures

    if model not in RECIPES:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(RECIPES)}")
    recipe = RECIPES[model]
    defaults = architectures.options(architecture or recipe.architecture)
    if (architecture or recipe.architecture) == recipe.architecture:
        defaults.update(recipe.options)
    return defaults
