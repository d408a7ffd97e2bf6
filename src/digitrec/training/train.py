"""A training run: fit, evaluate on the test set, export to ONNX, and write the run folder.

A run folder (see :mod:`digitrec.run_folder`) holds ``model.keras``, ``model.onnx`` (checked to
give Keras' probabilities), ``history.json``, ``metrics.json``, ``config.json`` (the resolved
:class:`~digitrec.training.config.TrainConfig`, enough to train the run again),
``summary.txt`` and, with outlier exposure, ``rejection.json``.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from digitrec import __version__, datasets, onnx_models, run_folder
from digitrec.model_format import NUM_CLASSES, softmax, to_model_input
from digitrec.training.config import TrainConfig
from digitrec.training.fitting import INFERENCE_BATCH_SIZE, fit

ONNX_TOLERANCE = 1e-5  # largest allowed |p_keras - p_onnx| over the check images
REJECTION_QUANTILE = 0.005  # fraction of validation digits the rejection threshold lets go


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
    (x_train, y_train), (x_test, y_test) = datasets.load(config.dataset, config.data_dir)
    (x_train, y_train), (x_validation, y_validation) = datasets.train_validation_split(
        x_train, y_train, config.validation_split, config.seed)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    with run_folder.creating_folder(out) as building:
        fitted = fit(config, x_train, y_train, x_validation, y_validation, verbose,
                     log_dir=building / "tensorboard" if tensorboard else None,
                     callbacks=callbacks)
        model = fitted.model
        x_test = to_model_input(x_test)
        test_loss, test_accuracy = model.evaluate(
            x_test, keras.utils.to_categorical(y_test, NUM_CLASSES),
            batch_size=INFERENCE_BATCH_SIZE, verbose=0)
        model.save(building / run_folder.KERAS_MODEL)
        metrics = {
            "model": config.model, "dataset": config.dataset, "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy), "test_images": int(len(x_test)),
            "train_images": fitted.image_counts, "validation_images": int(len(x_validation)),
            "epochs": config.epochs, "best_epoch": fitted.best_epoch,
            "training_seconds": round(fitted.training_seconds, 3),
            "seconds_per_epoch": round(fitted.training_seconds / config.epochs, 3),
            "parameters": int(model.count_params()),
            "onnx_max_probability_difference": export_onnx(model, building / run_folder.MODEL,
                                                           x_test[:1000]),
            "dataset_md5": datasets.checksum(config.dataset), "extra_data": fitted.extra_data,
            "versions": _library_versions(), "seed": config.seed,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        summary_lines = []
        model.summary(print_fn=lambda line, *arguments, **keywords: summary_lines.append(line))
        (building / run_folder.SUMMARY).write_text("\n".join(summary_lines) + "\n")
        run_folder.write_record(building, run_folder.HISTORY, fitted.history)
        run_folder.write_record(building, run_folder.METRICS, metrics)
        run_folder.write_record(building, run_folder.CONFIG, config.record())
        if config.outlier_exposure and len(x_validation):
            run_folder.write_record(building, run_folder.REJECTION,
                                    rejection_threshold(model, x_validation))
    return out


def rejection_threshold(model, x_validation: np.ndarray) -> dict:
    """The confidence below which an answer is "unsure": :data:`REJECTION_QUANTILE` of the
    validation digits ((N, 28, 28) uint8) fall below it (the test set is not looked at).

    Returns:
        ``rejection.json``'s record: ``{"method", "threshold", "validation_rejected"}``.
    """
    confidence = softmax(model.predict(to_model_input(x_validation),
                                       batch_size=INFERENCE_BATCH_SIZE, verbose=0)).max(axis=1)
    return {"method": "maximum softmax probability after outlier exposure",
            "threshold": float(np.quantile(confidence, REJECTION_QUANTILE)),
            "validation_rejected": REJECTION_QUANTILE}


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
    with warnings.catch_warnings():
        # Keras' bundled tf2onnx asks numpy for np.object, which numpy warns about.
        warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export")
        model.export(str(path), format="onnx", verbose=False)
    session = onnx_models.session(path)
    onnx_logits = session.run(None, {session.get_inputs()[0].name: check_images})[0]
    keras_logits = model.predict(check_images, batch_size=INFERENCE_BATCH_SIZE, verbose=0)
    difference = float(np.abs(softmax(onnx_logits) - softmax(keras_logits)).max())
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(f"the ONNX export differs from Keras by {difference:.2e} in "
                           f"probability (tolerance {ONNX_TOLERANCE:.0e})")
    return difference


def train_ensemble(config: TrainConfig, members: int, out: str | os.PathLike,
                   verbose: int = 2) -> Path:
    """Trains ``members`` models with seeds ``seed``, ``seed + 1``... one after another, and
    averages them (:func:`digitrec.scaling.train_ensemble` trains them in parallel on Ray).

    Args:
        config: what each member trains (its seed is the first member's).
        members: how many, at least 2.
        out: the ensemble's run folder (see :func:`digitrec.onnx_models.ensemble`), holding
            the members' run folders in ``members/seed-K``; it must not exist.

    Raises:
        ValueError: fewer than two members, a bad configuration, or ``out`` exists.
    """
    configs, names = ensemble_members(config, members)
    with run_folder.creating_folder(out) as building:
        for member, name in zip(configs, names):
            train(member, building / name, verbose)
        onnx_models.write_ensemble([building / name for name in names], names, building,
                                   config.data_dir)
    return Path(out)


def ensemble_members(config: TrainConfig, members: int) -> tuple[list[TrainConfig], list[str]]:
    """The members' resolved configurations (seeds ``seed``, ``seed + 1``...) and their folders'
    names inside the ensemble's run folder (``members/seed-K``).

    Raises:
        ValueError: fewer than two members, or a bad configuration.
    """
    if members < 2:
        raise ValueError("an ensemble needs at least two members")
    config = config.resolved()
    configs = [dataclasses.replace(config, seed=config.seed + index) for index in range(members)]
    return configs, [f"members/seed-{member.seed}" for member in configs]


def default_run_dir(config: TrainConfig) -> Path:
    """``runs/<model>-<dataset>-<UTC time>``, relative to the working directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.model}-{config.dataset}-{stamp}"


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
