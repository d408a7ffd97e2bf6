"""Training: a model from :mod:`digitrec.models` fitted on a dataset, saved as a run folder.

A run folder holds:

- ``model.keras``: the trained Keras model (outputs logits);
- ``model.onnx``: the same model for ONNX Runtime, checked to give the same probabilities;
- ``history.json``: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and wall
  ``seconds``;
- ``metrics.json``: test loss and accuracy, training seconds, parameter count, dataset checksums,
  library versions, seed;
- ``config.json``: the full configuration, every default resolved.

This module and :mod:`digitrec.models` are the only ones that import Keras; recognition never
does. Keras runs on the backend that ``KERAS_BACKEND`` names, TensorFlow by default (the
augmentation pipeline uses ``tf.data``, so TensorFlow must be installed whatever the backend).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from digitrec import __version__, datasets, models
from digitrec.recognizer import softmax

ONNX_TOLERANCE = 1e-5  # largest allowed |p_keras - p_onnx| over the check images
EXTRA_REPEAT = 3  # each real-handwriting image is seen this many times per epoch


@dataclasses.dataclass
class TrainConfig:
    """What to train and how. ``None`` fields take the model's recipe default (models.RECIPES).

    Attributes:
        model: a name from :data:`digitrec.models.RECIPES`.
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        epochs: passes over the training split, >= 1.
        batch_size: images per gradient step, >= 1.
        optimizer: ``"sgd"``, ``"adam"`` or ``"rmsprop"``.
        learning_rate: the optimizer's step size, > 0.
        validation_split: fraction of the training set held out for validation, in [0, 1).
        augment: train on augmented images (None: the recipe's choice); see :func:`augmentation`.
        seed: seeds the split, the initial weights, dropout, augmentation and the shuffle.
        train_limit: use only the first N images of the training split (None: all); for quick runs.
        extra_data: folders of real handwriting (see :func:`digitrec.datasets.load_folder`) whose
            "fit" half is added to the training images, each image :data:`EXTRA_REPEAT` times.
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`).
    """

    model: str = "cnn"
    dataset: str = "mnist"
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    augment: bool | None = None
    validation_split: float = 0.1
    seed: int = 0
    train_limit: int | None = None
    extra_data: tuple[str, ...] = ()
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
        )
        if config.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)}")
        if config.epochs < 1 or config.batch_size < 1 or config.learning_rate <= 0:
            raise ValueError("epochs and batch size must be at least 1 and the learning rate "
                             "positive")
        if not 0 <= config.validation_split < 1:
            raise ValueError(f"validation split must be in [0, 1), got {config.validation_split}")
        if config.train_limit is not None and config.train_limit < 1:
            raise ValueError("train limit must be at least 1")
        return config


OPTIMIZERS = ("sgd", "adam", "rmsprop")


def _optimizer(name: str, learning_rate):
    return {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
            "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=learning_rate)


def augmentation(seed: int = 0):
    """The ways people's digits differ from MNIST's, as random Keras preprocessing layers.

    Applied to training batches only, each image drawn independently: rotation up to +-15
    degrees, zoom +-15%, shear, translation up to 2 pixels, elastic distortion (P. Simard,
    D. Steinkraus, J. Platt, "Best practices for convolutional neural networks applied to visual
    document analysis", ICDAR 2003), thicker or thinner strokes, blur, contrast and noise.

    Args:
        seed: seeds every layer.

    Returns:
        A ``keras.Sequential`` mapping (batch, 28, 28, 1) float32 in [0, 1] to the same shape and
        range (call it with ``training=True``).
    """
    return keras.Sequential([
        keras.layers.RandomRotation(15 / 360, fill_mode="constant", seed=seed),
        keras.layers.RandomZoom(0.15, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomShear(x_factor=0.15, y_factor=0.05, fill_mode="constant",
                                 seed=seed + 2),
        keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=seed + 3),
        keras.layers.RandomElasticTransform(factor=0.5, scale=0.3, fill_mode="constant",
                                            seed=seed + 4),
        StrokeWidth(seed=seed + 5),
        keras.layers.RandomGaussianBlur(factor=0.3, sigma=(0.1, 0.8), seed=seed + 6),
        keras.layers.RandomContrast(0.3, seed=seed + 7),
        keras.layers.GaussianNoise(0.03, seed=seed + 8),
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


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 in 0..255 -> (N, 28, 28, 1) float32 in [0, 1], the models' input."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


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

    model.export(str(path), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_logits = session.run(None, {session.get_inputs()[0].name: check_images})[0]
    keras_logits = model.predict(check_images, batch_size=1000, verbose=0)
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


def train(config: TrainConfig, out: str | os.PathLike | None = None, verbose: int = 1) -> Path:
    """Trains a model and writes its run folder.

    The folder is built under a temporary name beside ``out`` and renamed when complete, so an
    interrupted run leaves no half-written folder and an existing folder is never overwritten.

    Args:
        config: what to train; ``None`` fields take the recipe's defaults.
        out: the run folder to create; it must not exist. Default: :func:`default_run_dir`.
        verbose: Keras' verbosity (1: a progress bar per epoch, 2: a line per epoch, 0: silent).

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
    keras.utils.set_random_seed(config.seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    (x_train, y_train), (x_validation, y_validation) = datasets.train_validation_split(
        x_train, y_train, config.validation_split, config.seed)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    extra_record = {}
    for folder in config.extra_data:
        images, labels = datasets.load_folder(folder, "fit")
        labels_file = next(Path(folder) / name for name in ("digit_boxes.csv", "labels.csv")
                           if (Path(folder) / name).is_file())
        extra_record[Path(folder).name] = {"images": int(len(images)),
                                           "labels_md5": datasets.file_md5(labels_file)}
        x_train = np.concatenate([x_train] + [images] * EXTRA_REPEAT)
        y_train = np.concatenate([y_train] + [labels] * EXTRA_REPEAT)
    x_train, x_validation, x_test = (to_model_input(x) for x in (x_train, x_validation, x_test))

    recipe = models.RECIPES[config.model]
    model = models.build(config.model)
    steps_per_epoch = max(1, len(x_train) // config.batch_size)
    learning_rate = config.learning_rate
    if recipe.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=steps_per_epoch * max(1, config.epochs - 1),
            warmup_target=config.learning_rate, warmup_steps=steps_per_epoch)
    model.compile(optimizer=_optimizer(config.optimizer, learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(
                      from_logits=True, label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])
    one_hot = keras.utils.to_categorical
    y_train_one_hot = one_hot(y_train, models.NUM_CLASSES)
    validation_data = ((x_validation, one_hot(y_validation, models.NUM_CLASSES))
                       if len(x_validation) else None)
    if config.augment:
        import tensorflow as tf

        augmenter = augmentation(config.seed)
        training_data = (
            tf.data.Dataset.from_tensor_slices((x_train, y_train_one_hot))
            .shuffle(len(x_train), seed=config.seed).repeat()
            .batch(config.batch_size, drop_remainder=True)
            .map(lambda images, labels: (
                keras.ops.clip(augmenter(images, training=True), 0.0, 1.0), labels),
                num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
        fit_data = dict(x=training_data, steps_per_epoch=steps_per_epoch)
    else:
        fit_data = dict(x=x_train, y=y_train_one_hot, batch_size=config.batch_size, shuffle=True)

    epoch_seconds = []
    callbacks = [keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(
            -1, epoch_seconds[-1] + time.perf_counter()))]
    selection = tempfile.TemporaryDirectory()
    best_weights = Path(selection.name) / "best.weights.h5"
    if validation_data is not None:
        # The model kept is the epoch with the best validation accuracy (the test set is not
        # looked at until the end).
        callbacks.append(keras.callbacks.ModelCheckpoint(
            best_weights, monitor="val_accuracy", mode="max", save_best_only=True,
            save_weights_only=True))
    started = time.perf_counter()
    with selection:
        history = model.fit(**fit_data, epochs=config.epochs, validation_data=validation_data,
                            verbose=verbose, callbacks=callbacks)
        training_seconds = time.perf_counter() - started
        if best_weights.exists():
            model.load_weights(best_weights)
    best_epoch = (int(np.argmax(history.history["val_accuracy"])) + 1
                  if validation_data is not None else config.epochs)
    test_loss, test_accuracy = model.evaluate(x_test, one_hot(y_test, models.NUM_CLASSES),
                                              batch_size=1000, verbose=0)

    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save(building / "model.keras")
        onnx_difference = export_onnx(model, building / "model.onnx", x_test[:1000])
        history_record = {key: [float(value) for value in values]
                          for key, values in history.history.items()}
        history_record["epoch"] = list(range(1, config.epochs + 1))
        history_record["seconds"] = [round(seconds, 3) for seconds in epoch_seconds]
        metrics = {
            "model": config.model,
            "dataset": config.dataset,
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
            "test_images": int(len(x_test)),
            "train_images": int(len(x_train)),
            "validation_images": int(len(x_validation)),
            "epochs": config.epochs,
            "best_epoch": best_epoch,
            "training_seconds": round(training_seconds, 3),
            "seconds_per_epoch": round(training_seconds / config.epochs, 3),
            "parameters": int(model.count_params()),
            "onnx_max_probability_difference": onnx_difference,
            "dataset_md5": datasets.checksum(config.dataset),
            "extra_data": extra_record,
            "versions": _library_versions(),
            "seed": config.seed,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        config_record = dataclasses.asdict(config)
        config_record["extra_data"] = list(config.extra_data)
        config_record.pop("data_dir")  # where the data was is not part of the recipe
        for name, record in (("history.json", history_record), ("metrics.json", metrics),
                             ("config.json", config_record)):
            (building / name).write_text(json.dumps(record, indent=2) + "\n")
        os.chmod(building, 0o755)
        os.rename(building, out)  # fails, rather than overwriting, if out appeared meanwhile
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return out
