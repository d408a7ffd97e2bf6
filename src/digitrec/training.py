"""Training: a model from :mod:`digitrec.models` fitted on a dataset, saved as a run folder.

A run folder holds:

- ``model.keras``: the trained Keras model (outputs logits);
- ``model.onnx``: the same model for ONNX Runtime, checked to give the same probabilities;
- ``history.json``: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and wall
  ``seconds``;
- ``metrics.json``: test loss and accuracy, training seconds, parameter count, dataset checksums,
  library versions, seed;
- ``config.json``: the full configuration, every default resolved;
- ``summary.txt``: Keras' ``model.summary()``, the layers and their parameter counts;
- ``rejection.json`` (recipes with outlier exposure): the confidence threshold below which an
  answer is "unsure", calibrated on the validation digits.

This module and :mod:`digitrec.models` are the only ones that import Keras; recognition never
does. Keras runs on the backend that ``KERAS_BACKEND`` names, TensorFlow by default (the
augmentation pipeline uses ``tf.data``, so TensorFlow must be installed whatever the backend).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from digitrec import __version__, datasets, files, models, onnx_models
from digitrec.model_format import softmax, to_model_input

ONNX_TOLERANCE = 1e-5  # largest allowed |p_keras - p_onnx| over the check images
EXTRA_REPEAT = 3  # default: each real-handwriting image is seen this many times per epoch
OUTLIERS = 12_000  # non-digit images added with outlier exposure, at most 20% of the digits
REJECTION_QUANTILE = 0.005  # fraction of validation digits the rejection threshold lets go
# Images per call when validating, evaluating or predicting: inference gives each image the same
# answer at any batch size, and Keras' default (32) spends most of a validation in Python.
INFERENCE_BATCH_SIZE = 1000


@dataclasses.dataclass
class TrainConfig:
    """What to train and how. ``None`` fields take the model's recipe default (models.RECIPES).

    Attributes:
        model: a name from :data:`digitrec.models.RECIPES`.
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        epochs: passes over the training split, > 0; a fraction trains the last pass part-way
            (1.5: one pass and half another).
        batch_size: images per gradient step, >= 1.
        optimizer: ``"sgd"`` (plain gradient descent), ``"nesterov"`` (SGD with Nesterov
            momentum 0.9), ``"adam"`` or ``"rmsprop"``.
        learning_rate: the optimizer's step size, > 0.
        validation_split: fraction of the training set held out for validation, in [0, 1).
        augment: train on augmented images (None: the recipe's choice); see :func:`augmentation`.
        augment_strength: scales every augmentation's range, > 0 (1: the ranges documented;
            None: the recipe's).
        filters, dense_units, dropout: architecture options, for models that take them (the
            ``cnn``; see :func:`digitrec.models.options`); None keeps the model's own.
        seed: seeds the split, the initial weights, dropout, augmentation and the shuffle.
        train_limit: use only the first N images of the training split (None: all); for quick runs.
        extra_data: folders of real handwriting (see :func:`digitrec.datasets.load_folder`) whose
            "fit" half is added to the training images.
        extra_repeat: how many times each extra image is seen per epoch, >= 1 (more weight on
            real handwriting against MNIST's 54,000 digits).
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`).
    """

    model: str = "cnn"
    dataset: str = "mnist"
    epochs: float | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    augment: bool | None = None
    augment_strength: float | None = None
    filters: int | None = None
    dense_units: int | None = None
    dropout: float | None = None
    validation_split: float = 0.1
    seed: int = 0
    train_limit: int | None = None
    extra_data: tuple[str, ...] = ()
    extra_repeat: int = EXTRA_REPEAT
    data_dir: str | None = None

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` recipe field filled from the model's recipe.

        Raises:
            ValueError: an unknown model, dataset or optimizer, or a value out of range.
        """
        if self.model not in models.RECIPES:
            raise ValueError(f"unknown model {self.model!r}; choose one of "
                             f"{', '.join(models.RECIPES)}")
        if self.dataset not in datasets.DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of "
                             f"{', '.join(datasets.DATASETS)}")
        recipe = models.RECIPES[self.model]
        config = dataclasses.replace(
            self,
            epochs=self.epochs if self.epochs is not None else recipe.epochs,
            batch_size=self.batch_size if self.batch_size is not None else recipe.batch_size,
            optimizer=self.optimizer if self.optimizer is not None else recipe.optimizer,
            learning_rate=(self.learning_rate if self.learning_rate is not None
                           else recipe.learning_rate),
            augment=self.augment if self.augment is not None else recipe.augment,
            augment_strength=(self.augment_strength if self.augment_strength is not None
                              else recipe.augment_strength),
        )
        if config.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        for name, value in (("epochs", config.epochs), ("learning rate", config.learning_rate),
                            ("batch size", config.batch_size)):
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value:g}")
        if not 0 <= config.validation_split < 1:
            raise ValueError(f"validation split must be in [0, 1), got {config.validation_split}")
        if config.train_limit is not None and config.train_limit < 1:
            raise ValueError("train limit must be at least 1")
        if config.extra_repeat < 1:
            raise ValueError(f"extra repeat must be at least 1, got {config.extra_repeat}")
        if config.augment_strength <= 0:
            raise ValueError("augment strength must be positive (use --no-augment to turn "
                             "augmentation off)")
        architecture = {name for name in ("filters", "dense_units", "dropout")
                        if getattr(config, name) is not None}
        if architecture - models.options(config.model):
            raise ValueError(f"model {config.model!r} does not take "
                             f"{', '.join(sorted(architecture - models.options(config.model)))}")
        return config


OPTIMIZERS = ("sgd", "nesterov", "adam", "rmsprop")
NESTEROV_MOMENTUM = 0.9  # "nesterov": SGD with Nesterov momentum, as in I. Sutskever et al.,
# "On the importance of initialization and momentum in deep learning" (ICML 2013)


def _optimizer(name: str, learning_rate, ema: bool = False):
    averaging = {"use_ema": ema, "ema_momentum": 0.999}
    if name == "nesterov":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=NESTEROV_MOMENTUM,
                                    nesterov=True, **averaging)
    return {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
            "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=learning_rate, **averaging)


class _FractionalLastEpoch(keras.callbacks.ProgbarLogger):
    """Stops training after ``steps`` batches, part-way through the last epoch, and shows that
    epoch's progress out of the steps it runs (Keras' own bar would show a quarter epoch as
    360/360 steps, and its time per step over 360)."""

    def __init__(self, steps: int, steps_per_epoch: int):
        super().__init__()
        self.steps, self.steps_per_epoch, self.epoch = steps, steps_per_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.target = min(self.steps_per_epoch, self.steps - epoch * self.steps_per_epoch)
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.epoch * self.steps_per_epoch + batch + 1 >= self.steps:
            self.model.stop_training = True


MAX_STEPS_PER_EXECUTION = 32  # training steps run in one TensorFlow call, at most


def steps_per_execution(steps_per_epoch: int, total_steps: int) -> int:
    """How many training steps Keras runs in one compiled call: the largest number up to
    :data:`MAX_STEPS_PER_EXECUTION` that divides both the steps of an epoch and the steps of the
    whole run, so that every epoch, and a fractional last one, ends where it should.

    Running steps in one call instead of one at a time spends less of each step in Python and
    in TensorFlow's dispatch: about a fifth of the fast recipe's time on a 2-core CPU. The
    weights come out the same.
    """
    common = math.gcd(steps_per_epoch, total_steps)
    return max(divisor for divisor in range(1, MAX_STEPS_PER_EXECUTION + 1)
               if common % divisor == 0)


def augmentation(seed: int = 0, strength: float = 1.0):
    """The ways people's digits differ from MNIST's, as random Keras preprocessing layers.

    Applied to training batches only, each image drawn independently: rotation up to +-15
    degrees, zoom +-15%, shear, translation up to 2 pixels, Keras' RandomElasticTransform,
    thicker or thinner strokes, blur, contrast and noise.

    RandomElasticTransform, at these settings, is not the elastic distortion of P. Simard,
    D. Steinkraus and J. Platt ("Best practices for convolutional neural networks applied to
    visual document analysis", ICDAR 2003): Keras draws one random field for both directions and
    its smoothing kernel, 6 sigma wide with sigma under half a pixel here, is one pixel, so it
    moves each pixel on its own by about a tenth of a pixel (standard deviation; a third at
    most), along one diagonal. It is kept because the shipped models were trained with it.
    Simard's distortion (alpha 34 x strength, sigma 4 pixels) was tried for ``best``: 99.60%
    on validation against 99.65% (test 99.63% against 99.69%), with the augmentation twice as
    fast (Keras' layer resamples one image at a time); for ``robust``, at full strength, MNIST
    validation fell to 99.10% from 99.55% and real handwriting read worse.

    Args:
        seed: seeds every layer.
        strength: multiplies every range above, > 0.

    Returns:
        A ``keras.Sequential`` mapping (batch, 28, 28, 1) float32 in [0, 1] to the same shape and
        range (call it with ``training=True``).
    """
    k = strength
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360 * k, fill_mode="constant", seed=seed),
        keras.layers.RandomZoom(0.15 * k, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomShear(x_factor=0.15 * k, y_factor=0.05 * k, fill_mode="constant",
                                 seed=seed + 2),
        keras.layers.RandomTranslation(2 / 28 * k, 2 / 28 * k, fill_mode="constant",
                                       seed=seed + 3),
        keras.layers.RandomElasticTransform(factor=min(1.0, 0.5 * k), scale=0.3,
                                            fill_mode="constant", seed=seed + 4),
        StrokeWidth(probability=min(1.0, 0.5 * k), seed=seed + 5),
        keras.layers.RandomGaussianBlur(factor=min(1.0, 0.3 * k), sigma=(0.1, 0.8),
                                        seed=seed + 6),
        keras.layers.RandomContrast(min(1.0, 0.3 * k), seed=seed + 7),
        keras.layers.GaussianNoise(0.03 * k, seed=seed + 8),
    ], name="augmentation")


class StrokeWidth(keras.layers.Layer):
    """Thickens or thins each image's strokes at random: grey-level dilation (3x3 maximum) or
    erosion (2x2 minimum), each with probability ``probability / 2``. Training only."""

    def __init__(self, probability: float = 0.5, seed: int | None = None, **keywords):
        super().__init__(**keywords)
        self.probability = probability
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        draw = keras.random.uniform((keras.ops.shape(images)[0], 1, 1, 1),
                                    seed=self.seed_generator)
        thicker = keras.ops.max_pool(images, 3, 1, "same")
        thinner = -keras.ops.max_pool(-images, 2, 1, "same")
        return keras.ops.where(draw < self.probability / 2, thicker,
                               keras.ops.where(draw < self.probability, thinner, images))


def scribbles(count: int, seed: int = 0) -> np.ndarray:
    """Random scribbles: tangles of 10 to 16 random pen strokes, and random filled shapes.

    Returns:
        (count, 28, 28) uint8, white on black, placed in MNIST's format by
        :func:`digitrec.imaging.center_in_28x28`.
    """
    import cv2

    from digitrec import imaging

    generator = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        canvas = np.zeros((112, 112), np.float32)
        points = generator.uniform(8, 104, (generator.integers(10, 17), 2)).astype(np.int32)
        if index % 3 == 2:
            cv2.fillPoly(canvas, [points[:generator.integers(3, 7)]], 1.0)
        else:
            cv2.polylines(canvas, [points], False, 1.0, int(generator.integers(3, 12)),
                          cv2.LINE_AA)
        images[index] = np.round(imaging.center_in_28x28(canvas) * 255)
    return images


def touching_pairs(digits: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Two digits side by side, touching or overlapping by up to 4 pixels, in MNIST's format.

    Not one digit: trained as outliers, they teach the model to doubt a piece of a written number
    that holds two digits, which is what lets :mod:`digitrec.segmentation` choose its cuts by
    recognition.

    Args:
        digits: (N, 28, 28) uint8 MNIST-format digits to pair up.

    Returns:
        (count, 28, 28) uint8.
    """
    from digitrec import imaging

    generator = np.random.default_rng(seed)
    pairs = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        left, right = digits[generator.choice(len(digits), 2, replace=False)]
        left, right = imaging.crop_to_ink(left / 255.0), imaging.crop_to_ink(right / 255.0)
        overlap = min(int(generator.integers(0, 5)), left.shape[1] - 1, right.shape[1] - 1)
        height = max(len(left), len(right))
        canvas = np.zeros((height, left.shape[1] + right.shape[1] - overlap), np.float32)
        canvas[height - len(left):, :left.shape[1]] = left
        joined = canvas[height - len(right):, left.shape[1] - overlap:]
        np.maximum(joined, right, out=joined)
        pairs[index] = np.round(imaging.center_in_28x28(canvas) * 255)
    return pairs


def outlier_images(count: int, seed: int = 0, data_dir: str | None = None,
                   digits: np.ndarray | None = None) -> np.ndarray:
    """Non-digits for outlier exposure (D. Hendrycks, M. Mazeika, T. Dietterich, "Deep Anomaly
    Detection with Outlier Exposure", ICLR 2019): Fashion-MNIST *training* images and
    :func:`scribbles`, put through digitrec's image pipeline as a user's photo would be, and,
    given ``digits``, :func:`touching_pairs` of them; in equal parts. Fashion-MNIST's *test*
    images are never used, so they stay a fair measurement.

    Returns:
        (count, 28, 28) uint8, white on black.
    """
    from PIL import Image

    from digitrec import imaging

    parts = 3 if digits is not None else 2
    (fashion, _), _ = datasets.load("fashion-mnist", data_dir)
    chosen = np.random.default_rng(seed).choice(len(fashion), count // parts, replace=False)
    clothes = []
    for image in fashion[chosen]:
        try:
            clothes.append(np.round(imaging.to_mnist(Image.fromarray(image)) * 255))
        except imaging.ImageError:
            continue
    outliers = [np.array(clothes, np.uint8).reshape(-1, 28, 28)]
    if digits is not None:
        outliers.append(touching_pairs(digits, count // parts, seed))
    outliers.append(scribbles(count - sum(map(len, outliers)), seed))
    return np.concatenate(outliers)


def export_onnx(model, path: Path, check_images: np.ndarray) -> float:
    """Exports a Keras model to ONNX and checks that ONNX Runtime agrees with Keras.

    Args:
        model: a built Keras model taking (N, 28, 28, 1) float32.
        path: where to write ``model.onnx``.
        check_images: (N, 28, 28, 1) float32 images to compare the two on.

    Returns:
        The largest absolute difference between the two models' probabilities.

    Raises:
        RuntimeError: the difference exceeds :data:`ONNX_TOLERANCE`.
    """
    import onnxruntime

    with warnings.catch_warnings():
        # Keras' bundled tf2onnx asks numpy for np.object, which numpy warns about.
        warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export")
        model.export(str(path), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {session.get_inputs()[0].name: check_images})[0]
    keras_logits = model.predict(check_images, batch_size=INFERENCE_BATCH_SIZE, verbose=0)
    difference = float(np.abs(softmax(onnx_logits) - softmax(keras_logits)).max())
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(f"the ONNX export differs from Keras by {difference:.2e} in "
                           f"probability (tolerance {ONNX_TOLERANCE:.0e})")
    return difference


def _library_versions() -> dict[str, str]:
    import importlib.metadata

    versions = {"digitrec": __version__, "python": platform.python_version(),
                "keras": keras.__version__, "keras_backend": keras.backend.backend()}
    for package in ("numpy", "tensorflow", "tensorflow-cpu", "onnxruntime", "tf2onnx", "onnx"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def default_run_dir(config: TrainConfig) -> Path:
    """``runs/<model>-<dataset>-<UTC time>``, relative to the working directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.model}-{config.dataset}-{stamp}"


@dataclasses.dataclass
class Fitted:
    """What :func:`fit` returns: the model (weights of the best validation epoch) and a record.

    Attributes:
        model: the trained Keras model.
        history: per-epoch metrics as Keras records them, plus ``epoch`` (the epochs completed
            at each record: 1, 2, ... and, for a fractional last epoch, 1.25, say) and wall
            ``seconds``.
        image_counts: training images by source (the dataset, each extra folder, outliers).
        extra_data: for each extra folder, its image count and the MD5 of its labels file.
        training_seconds: wall time of ``model.fit``.
        best_epoch: the epoch kept, as in ``history["epoch"]``: the best validation accuracy,
            or the last.
    """

    model: object
    history: dict
    image_counts: dict
    extra_data: dict
    training_seconds: float
    best_epoch: int | float


def fit(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray,
        x_validation: np.ndarray, y_validation: np.ndarray, verbose: int = 1,
        log_dir: str | os.PathLike | None = None, callbacks=()) -> Fitted:
    """Trains ``config``'s model on the given images, keeping the best validation epoch.

    Args:
        config: a resolved configuration (:meth:`TrainConfig.resolved`).
        x_train, x_validation: (N, 28, 28) uint8 images, white ink on black.
        y_train, y_validation: (N,) integer labels in 0..9. The validation part may be empty.
        verbose: Keras' verbosity.
        log_dir: where to write TensorBoard logs (None: none).
        callbacks: more Keras callbacks (a search's reporting, say).

    Returns:
        A :class:`Fitted`.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    if keras.backend.backend() == "tensorflow":
        tf.config.experimental.enable_op_determinism()
    image_counts = {config.dataset: int(len(x_train))}
    extra_record = {}
    for folder in config.extra_data:
        images, labels = datasets.load_folder(folder, "fit")
        labels_file = next(Path(folder) / name for name in ("digit_boxes.csv", "labels.csv")
                           if (Path(folder) / name).is_file())
        extra_record[Path(folder).name] = {"images": int(len(images)),
                                           "labels_md5": datasets.file_md5(labels_file)}
        image_counts[Path(folder).name] = int(len(images))
        x_train = np.concatenate([x_train] + [images] * config.extra_repeat)
        y_train = np.concatenate([y_train] + [labels] * config.extra_repeat)
    y_train_targets = keras.utils.to_categorical(y_train, models.NUM_CLASSES)
    recipe = models.RECIPES[config.model]
    if recipe.outlier_exposure:
        outliers = outlier_images(min(OUTLIERS, len(x_train) // 5), config.seed,
                                  config.data_dir, digits=x_train)
        image_counts["outliers"] = int(len(outliers))
        x_train = np.concatenate([x_train, outliers])
        y_train_targets = np.concatenate([
            y_train_targets,
            np.full((len(outliers), models.NUM_CLASSES), 1 / models.NUM_CLASSES, np.float32)])
    x_validation = to_model_input(x_validation)

    model = models.build(config.model, filters=config.filters, dense_units=config.dense_units,
                         dropout=config.dropout)
    steps_per_epoch = max(1, len(x_train) // config.batch_size)
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    learning_rate = config.learning_rate
    if recipe.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(steps_per_epoch, total_steps - steps_per_epoch),
            warmup_target=config.learning_rate, warmup_steps=steps_per_epoch)
    elif recipe.schedule == "one-cycle":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total_steps - total_steps // 4, warmup_target=config.learning_rate,
            warmup_steps=total_steps // 4)
    model.compile(steps_per_execution=steps_per_execution(steps_per_epoch, total_steps),
                  optimizer=_optimizer(config.optimizer, learning_rate, recipe.ema),
                  loss=keras.losses.CategoricalCrossentropy(
                      from_logits=True, label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])
    validation_data = ((x_validation, keras.utils.to_categorical(y_validation,
                                                                 models.NUM_CLASSES))
                       if len(x_validation) else None)
    # Batches come from tf.data with .repeat() and steps_per_epoch: Keras' fit on numpy arrays
    # stalls for seconds at the start of some epochs on this CPU, this does not. The uint8
    # images are held once in memory and shuffled indices gathered a batch at a time, scaled as
    # to_model_input scales them: no float copy of the training set and no shuffle buffer of
    # images.
    images, targets = tf.constant(x_train), tf.constant(y_train_targets)
    training_data = (
        tf.data.Dataset.range(len(x_train)).shuffle(len(x_train), seed=config.seed).repeat()
        .batch(config.batch_size, drop_remainder=True)
        .map(lambda index: ((tf.cast(tf.gather(images, index), tf.float32) / 255.0)[..., None],
                            tf.gather(targets, index))))
    if config.augment:
        augmenter = augmentation(config.seed, config.augment_strength)
        # Prefetching overlaps augmentation with training; without augmentation there is too
        # little to overlap for the seconds its shutdown costs (too much for the fast recipe).
        training_data = training_data.map(
            lambda images, labels: (keras.ops.clip(augmenter(images, training=True), 0.0, 1.0),
                                    labels),
            num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    epoch_seconds = []
    extra_callbacks, callbacks = list(callbacks), [keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(
            -1, epoch_seconds[-1] + time.perf_counter()))]
    if total_steps < steps_per_epoch * math.ceil(config.epochs):
        callbacks.append(_FractionalLastEpoch(total_steps, steps_per_epoch))
    if recipe.ema:
        # Before the checkpoint: validation, selection and saving all see the averaged weights.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
    selection = tempfile.TemporaryDirectory()
    best_weights = Path(selection.name) / "best.weights.h5"
    if validation_data is not None:
        # The model kept is the epoch with the best validation accuracy (the test set is not
        # looked at until the end).
        callbacks.append(keras.callbacks.ModelCheckpoint(
            best_weights, monitor="val_accuracy", mode="max", save_best_only=True,
            save_weights_only=True))
    callbacks += extra_callbacks
    started = time.perf_counter()
    with selection:
        history = model.fit(training_data, steps_per_epoch=steps_per_epoch,
                            epochs=math.ceil(config.epochs), shuffle=False,
                            validation_data=validation_data,
                            validation_batch_size=INFERENCE_BATCH_SIZE,
                            verbose=verbose, callbacks=callbacks)
        training_seconds = time.perf_counter() - started
        if best_weights.exists():
            model.load_weights(best_weights)
    record = {key: [float(value) for value in values] for key, values in history.history.items()}
    # Epochs completed at each record: a fractional last epoch is 1.25, not 2.
    record["epoch"] = [min(epoch, config.epochs) for epoch in range(1, len(record["loss"]) + 1)]
    record["seconds"] = [round(seconds, 3) for seconds in epoch_seconds]
    kept = int(np.argmax(record["val_accuracy"])) if validation_data is not None else -1
    return Fitted(model, record, image_counts, extra_record, training_seconds,
                  record["epoch"][kept])


def train(config: TrainConfig, out: str | os.PathLike | None = None, verbose: int = 1,
          tensorboard: bool = False, callbacks=()) -> Path:
    """Trains a model and writes its run folder.

    The folder is built under a temporary name beside ``out`` and renamed when complete, so an
    interrupted run leaves no half-written folder and an existing folder is never overwritten.

    Args:
        config: what to train; ``None`` fields take the recipe's defaults.
        out: the run folder to create; it must not exist. Default: :func:`default_run_dir`.
        verbose: Keras' verbosity (1: a progress bar per epoch, 2: a line per epoch, 0: silent).
        tensorboard: also write TensorBoard logs, into ``out/tensorboard``.
        callbacks: more Keras callbacks for ``model.fit`` (a benchmark's timing, say).

    Returns:
        The run folder's path.

    Raises:
        ValueError: a bad configuration, or ``out`` exists already.
        digitrec.datasets.DatasetError: the dataset cannot be found or is damaged.
        RuntimeError: the ONNX export disagrees with Keras.
    """
    config = config.resolved()
    out = Path(out) if out is not None else default_run_dir(config)
    if out.exists():
        raise ValueError(f"{out} exists already; choose another --out (runs are never "
                         "overwritten)")
    (x_train, y_train), (x_test, y_test) = datasets.load(config.dataset, config.data_dir)
    (x_train, y_train), (x_validation, y_validation) = datasets.train_validation_split(
        x_train, y_train, config.validation_split, config.seed)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    with files.creating_folder(out) as building:
        fitted = fit(config, x_train, y_train, x_validation, y_validation, verbose,
                     log_dir=building / "tensorboard" if tensorboard else None,
                     callbacks=callbacks)
        model = fitted.model
        x_validation, x_test = to_model_input(x_validation), to_model_input(x_test)
        test_loss, test_accuracy = model.evaluate(
            x_test, keras.utils.to_categorical(y_test, models.NUM_CLASSES),
            batch_size=INFERENCE_BATCH_SIZE, verbose=0)
        rejection = None
        if models.RECIPES[config.model].outlier_exposure and len(x_validation):
            # The confidence below which an answer is "unsure": REJECTION_QUANTILE of the
            # validation digits fall below it (the test set is not looked at).
            confidence = softmax(model.predict(x_validation, batch_size=INFERENCE_BATCH_SIZE,
                                               verbose=0)).max(axis=1)
            rejection = {"method": "maximum softmax probability after outlier exposure",
                         "threshold": float(np.quantile(confidence, REJECTION_QUANTILE)),
                         "validation_rejected": REJECTION_QUANTILE}
        model.save(building / "model.keras")
        onnx_difference = export_onnx(model, building / "model.onnx", x_test[:1000])
        training_seconds = fitted.training_seconds
        metrics = {
            "model": config.model,
            "dataset": config.dataset,
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
            "test_images": int(len(x_test)),
            "train_images": fitted.image_counts,
            "validation_images": int(len(x_validation)),
            "epochs": config.epochs,
            "best_epoch": fitted.best_epoch,
            "training_seconds": round(training_seconds, 3),
            "seconds_per_epoch": round(training_seconds / config.epochs, 3),
            "parameters": int(model.count_params()),
            "onnx_max_probability_difference": onnx_difference,
            "dataset_md5": datasets.checksum(config.dataset),
            "extra_data": fitted.extra_data,
            "versions": _library_versions(),
            "seed": config.seed,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        config_record = dataclasses.asdict(config)
        config_record["extra_data"] = list(config.extra_data)
        config_record.pop("data_dir")  # where the data was is not part of the recipe
        summary_lines = []
        model.summary(print_fn=lambda line, *arguments, **keywords: summary_lines.append(line))
        (building / "summary.txt").write_text("\n".join(summary_lines) + "\n")
        records = [("history.json", fitted.history), ("metrics.json", metrics),
                   ("config.json", config_record)]
        if rejection is not None:
            records.append(("rejection.json", rejection))
        for name, record in records:
            (building / name).write_text(json.dumps(record, indent=2) + "\n")
    return out


def cross_validate(config: TrainConfig, folds: int = 4, out: str | os.PathLike | None = None,
                   verbose: int = 2) -> dict:
    """Stratified K-fold cross-validation on the training set (the test set is not used).

    Each fold in turn is held out for validation while the model trains on the others. Folds
    run one after another here; :func:`digitrec.scaling.cross_validate` runs them in parallel.

    Args:
        config: what to train.
        folds: K, at least 2.
        out: a folder to create, holding ``fold-K/history.json`` for each fold and ``cv.json``;
            None: nothing written.
        verbose: Keras' verbosity.

    Returns:
        ``{"model", "dataset", "folds": [{"fold", "validation_accuracy", "best_epoch",
        "train_images", "validation_images"}], "mean", "std"}``, accuracies the best validation
        epoch's.

    Raises:
        ValueError: a bad configuration or K; ``out`` exists already.
    """
    config = config.resolved()
    (x_train, y_train), _ = datasets.load(config.dataset, config.data_dir)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    parts = datasets.stratified_folds(y_train, folds, config.seed)
    if out is not None and Path(out).exists():
        raise ValueError(f"{out} exists already; choose another --out")
    results = [run_fold(config, x_train, y_train, parts, fold, verbose) for fold in range(folds)]
    return summarize_folds(config, results, out)


def run_fold(config: TrainConfig, x_train, y_train, parts, fold: int, verbose: int = 2) -> dict:
    """Trains on every part but ``parts[fold]`` and validates on that one.

    Returns:
        ``{"fold", "validation_accuracy", "best_epoch", "train_images", "validation_images",
        "history"}``.
    """
    held_out = parts[fold]
    kept = np.concatenate([part for index, part in enumerate(parts) if index != fold])
    fitted = fit(config, x_train[kept], y_train[kept], x_train[held_out], y_train[held_out],
                 verbose)
    return {"fold": fold + 1, "validation_accuracy": max(fitted.history["val_accuracy"]),
            "best_epoch": fitted.best_epoch, "train_images": int(len(kept)),
            "validation_images": int(len(held_out)), "history": fitted.history}


def summarize_folds(config: TrainConfig, results: list[dict], out=None) -> dict:
    """The cross-validation summary of :func:`run_fold` results. With ``out``, writes each
    fold's ``fold-K/history.json`` and the summary as ``cv.json`` there."""
    accuracies = np.array([result["validation_accuracy"] for result in results])
    folds = [{key: value for key, value in result.items() if key != "history"}
             for result in results]
    summary = {"model": config.model, "dataset": config.dataset, "folds": folds,
               "mean": float(accuracies.mean()), "std": float(accuracies.std(ddof=1))}
    if out is not None:
        for result in results:
            path = Path(out) / f"fold-{result['fold']}" / "history.json"
            with files.replacing(path) as temporary:
                temporary.write_text(json.dumps(result["history"], indent=2) + "\n")
        with files.replacing(Path(out) / "cv.json") as temporary:
            temporary.write_text(json.dumps(summary, indent=2) + "\n")
    return summary



def train_ensemble(config: TrainConfig, members: int, out: str | os.PathLike,
                   parallel: bool = False, address: str | None = None,
                   verbose: int = 2) -> Path:
    """Trains ``members`` models with seeds ``seed``, ``seed + 1``... and averages them.

    Args:
        config: what each member trains (its seed is the first member's).
        members: how many, at least 2.
        out: the ensemble's run folder (see :func:`ensemble`), holding the members' run folders
            in ``members/seed-K``; it must not exist.
        parallel: train the members as Ray tasks (:func:`digitrec.scaling.train_members`).
        address: the Ray cluster, with ``parallel``.

    Raises:
        ValueError: fewer than two members, a bad configuration, or ``out`` exists.
    """
    if members < 2:
        raise ValueError("an ensemble needs at least two members")
    config = config.resolved()
    configs = [dataclasses.replace(config, seed=config.seed + index) for index in range(members)]
    names = [f"members/seed-{member.seed}" for member in configs]
    with files.creating_folder(out) as building:
        if parallel:
            from digitrec import scaling

            scaling.train_members(configs, [building / name for name in names], address)
        else:
            for member, name in zip(configs, names):
                train(member, building / name, verbose)
        onnx_models.write_ensemble([building / name for name in names], names, building,
                                   config.data_dir)
    return Path(out)
