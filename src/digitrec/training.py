"""Training: a model from :mod:`digitrec.models` fitted on a dataset, saved as a run folder.

A run folder holds:

- ``model.keras``: the trained Keras model (outputs logits);
- ``model.onnx``: the same model for ONNX Runtime, checked to give the same probabilities;
- ``history.json``: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and wall
  ``seconds``;
- ``metrics.json``: test loss and accuracy, training seconds, parameter count, dataset checksums,
  library versions, seed;
- ``config.json``: the full configuration, every default resolved.

This is the only module that imports Keras (with :mod:`digitrec.models`). Keras runs on the
backend that ``KERAS_BACKEND`` names, TensorFlow by default.
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

import numpy as np

from digitrec import __version__, datasets
from digitrec.recognizer import softmax

ONNX_TOLERANCE = 1e-5  # largest allowed |p_keras - p_onnx| over the check images


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
        seed: seeds the split, the initial weights, dropout and the shuffle.
        train_limit: use only the first N images of the training split (None: all); for quick runs.
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`).
    """

    model: str = "cnn"
    dataset: str = "mnist"
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    validation_split: float = 0.1
    seed: int = 0
    train_limit: int | None = None
    data_dir: str | None = None

    def resolved(self) -> TrainConfig:
        """A copy with every ``None`` recipe field filled from the model's recipe.

        Raises:
            ValueError: an unknown model, dataset or optimizer, or a value out of range.
        """
        from digitrec import models

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


def _optimizer(name: str, learning_rate: float):
    import keras

    return {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
            "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=learning_rate)


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

    import keras

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

    import keras

    from digitrec import models

    keras.utils.set_random_seed(config.seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    (x_train, y_train), (x_validation, y_validation) = datasets.train_validation_split(
        x_train, y_train, config.validation_split, config.seed)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    x_train, x_validation, x_test = (to_model_input(x) for x in (x_train, x_validation, x_test))

    model = models.build(config.model)
    model.compile(optimizer=_optimizer(config.optimizer, config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    validation_data = (x_validation, y_validation) if len(x_validation) else None
    epoch_seconds = []
    epoch_timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(
            -1, epoch_seconds[-1] + time.perf_counter()))
    started = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=config.batch_size, epochs=config.epochs,
                        validation_data=validation_data, shuffle=True, verbose=verbose,
                        callbacks=[epoch_timer])
    training_seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)

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
            "training_seconds": round(training_seconds, 3),
            "seconds_per_epoch": round(training_seconds / config.epochs, 3),
            "parameters": int(model.count_params()),
            "onnx_max_probability_difference": onnx_difference,
            "dataset_md5": datasets.checksum(config.dataset),
            "versions": _library_versions(),
            "seed": config.seed,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        config_record = dataclasses.asdict(config)
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
