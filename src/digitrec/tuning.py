"""Hyperparameter search: Ray Tune, with Optuna's sampler and ASHA stopping bad trials early.

    digitrec tune --trials 20 --epochs 5 [--address ray://HOST:PORT] --out runs/tune

The search space covers the architecture's options (the ``cnn``'s filters, dense units, dropout
and L2 penalty; the ``mlp``'s hidden units, dropout and L2 penalty), the learning rate, batch
size, optimizer and augmentation strength (:data:`SPACE`, :func:`space`). Each trial trains on
the training split and reports its validation accuracy after every epoch; ASHA (L. Li et al.,
"A System for Massively Parallel Hyperparameter Tuning", MLSys 2020) stops the trials that fall
behind. The experiment is stored in ``OUT``; running the same command again resumes it, keeping
finished trials. The result: a table and a plot of the trials, and ``OUT/best.json``, a
configuration for ``digitrec train --config OUT/best.json``.

Trials run on Ray: locally on every core by default, on a cluster with ``address`` or
``$RAY_ADDRESS`` (see :mod:`digitrec.scaling`).
"""

from __future__ import annotations

import os
from pathlib import Path

from digitrec import datasets, run_folder
from digitrec.training.config import TrainConfig, architecture_defaults

# name: ("choice", options) or ("loguniform" / "uniform", low, high)
SPACE = {
    "filters": ("choice", [16, 32, 48]),
    "dense_units": ("choice", [32, 64, 128]),
    "hidden_units": ("choice", [64, 128, 256, 512]),
    "dropout": ("uniform", 0.0, 0.5),
    "l2": ("choice", [0.0, 1e-5, 1e-4, 1e-3, 1e-2]),
    "learning_rate": ("loguniform", 1e-4, 1e-2),
    "batch_size": ("choice", [64, 128, 256]),
    "optimizer": ("choice", ["adam", "rmsprop", "sgd"]),
    "augment_strength": ("choice", [0.0, 0.5, 1.0]),  # 0: no augmentation
}


def space(model: str) -> dict:
    """The part of :data:`SPACE` that ``model`` takes: its architecture's options (the ``cnn``'s
    filters, dense units, dropout and L2 penalty; the ``mlp``'s hidden units, dropout and L2
    penalty; none for the fixed networks) and the training settings.

    Raises:
        ValueError: an unknown model.
    """
    options = architecture_defaults(model)
    return {name: value for name, value in SPACE.items()
            if name in options or name not in _ARCHITECTURE_SEARCHED}


_ARCHITECTURE_SEARCHED = ("filters", "dense_units", "hidden_units", "dropout", "l2")


def _param_space(model: str):
    from ray import tune

    kinds = {"choice": tune.choice, "uniform": tune.uniform, "loguniform": tune.loguniform}
    return {name: kinds[kind](*arguments) for name, (kind, *arguments) in space(model).items()}


def trial_config(base: dict, parameters: dict) -> TrainConfig:
    """The training configuration of one trial: ``base`` fields with the sampled ``parameters``."""
    strength = parameters["augment_strength"]
    return TrainConfig(**{
        **base, **{key: value for key, value in parameters.items() if key != "augment_strength"},
        "augment": strength > 0, "augment_strength": strength if strength > 0 else 1.0})


def _trial(parameters: dict, base: dict) -> None:
    """One trial, run by Ray Tune in a worker: trains and reports after every epoch."""
    import keras
    import tensorflow as tf
    from ray import tune

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per trial
    config = trial_config(base, parameters).resolved()
    (x_train, y_train), _ = datasets.load(config.dataset, config.data_dir)
    (x_train, y_train), (x_validation, y_validation) = datasets.train_validation_split(
        x_train, y_train, config.validation_split, config.seed)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
        x_validation = x_validation[:max(1000, config.train_limit // 5)]
        y_validation = y_validation[:len(x_validation)]
    report = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: tune.report(
        {"val_accuracy": float(logs["val_accuracy"]), "val_loss": float(logs["val_loss"]),
         "epoch": epoch + 1}))
    from digitrec.training.fitting import fit

    fit(config, x_train, y_train, x_validation, y_validation, verbose=0,
                 callbacks=[report])


def tune(trials: int = 20, epochs: int = 5, out: str | os.PathLike = "runs/tune",
         model: str = "cnn", dataset: str = "mnist", train_limit: int | None = None,
         seed: int = 0, address: str | None = None, workers: int | None = None,
         data_dir: str | None = None) -> list[dict]:
    """Runs (or resumes) a search and writes ``OUT/best.json`` and ``OUT/trials.json``.

    Args:
        trials: how many configurations to try.
        epochs: the most epochs a trial trains (ASHA stops many sooner).
        out: the folder holding the experiment; an existing one is resumed.
        model: a recipe's name; the architecture options it takes are searched too
            (:func:`space`).
        train_limit: train each trial on only the first N training images.
        address, workers: where to run (see :func:`digitrec.scaling.connect`).

    Returns:
        The trials, best first: ``{"trial", "status", "val_accuracy", "epochs", **parameters,
        "error"}`` (``error``: the last line of a failed trial's error, else None).

    Raises:
        ValueError: an unknown model, or bad numbers.
    """
    from ray import tune as ray_tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    from digitrec import scaling

    searched = space(model)
    if trials < 1 or epochs < 1:
        raise ValueError("trials and epochs must be at least 1")
    out = Path(out).resolve()
    base = {"model": model, "dataset": dataset, "epochs": epochs, "train_limit": train_limit,
            "seed": seed, "data_dir": scaling.absolute(data_dir)}
    scaling.connect(address, workers)
    trainable = ray_tune.with_parameters(_trial, base=base)
    experiment = out / "experiment"
    if ray_tune.Tuner.can_restore(experiment):
        tuner = ray_tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True,
                                       resume_errored=True)
    else:
        tuner = ray_tune.Tuner(
            ray_tune.with_resources(trainable, {"cpu": 1}),
            param_space=_param_space(model),
            tune_config=ray_tune.TuneConfig(
                metric="val_accuracy", mode="max", num_samples=trials,
                search_alg=OptunaSearch(seed=seed),
                scheduler=ASHAScheduler(max_t=epochs, grace_period=1, time_attr="epoch")),
            run_config=ray_tune.RunConfig(name="experiment", storage_path=str(out),
                                          verbose=0))
    rows = _trial_rows(tuner.fit(), searched)
    rows.sort(key=lambda row: -(row["val_accuracy"] or 0))
    run_folder.write_record(out, "trials.json", rows)
    finished = [row for row in rows if row["val_accuracy"] is not None]
    if finished:
        config = trial_config({**base, "data_dir": None},
                              {name: finished[0][name] for name in searched})
        record = config.record()
        record.pop("train_limit")
        run_folder.write_record(out, "best.json", record)
    return rows


def _trial_rows(grid, searched: dict) -> list[dict]:
    """One row per trial of a finished Ray Tune grid (see :func:`tune`'s Returns)."""
    rows = []
    for index, result in enumerate(grid):
        metrics = result.metrics or {}
        frame = result.metrics_dataframe
        best = float(frame["val_accuracy"].max()) if frame is not None and len(frame) else None
        rows.append({"trial": index + 1, "status": "error" if result.error else "done",
                     "val_accuracy": best, "epochs": int(metrics.get("epoch", 0)),
                     **{name: result.config.get(name) for name in searched},
                     "error": str(result.error).strip().splitlines()[-1][:300]
                     if result.error else None})
    return rows


def plot_trials(rows: list[dict]):
    """Validation accuracy of each trial against its learning rate, coloured by optimizer."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    for optimizer in sorted({row["optimizer"] for row in rows}):
        chosen = [row for row in rows if row["optimizer"] == optimizer and row["val_accuracy"]]
        axis.scatter([row["learning_rate"] for row in chosen],
                     [row["val_accuracy"] for row in chosen],
                     s=[20 + 15 * row["epochs"] for row in chosen], label=optimizer, alpha=0.7)
    if any(row["val_accuracy"] for row in rows):
        axis.set_xscale("log")
    else:
        axis.text(0.5, 0.5, "no trial finished", ha="center", transform=axis.transAxes)
    axis.set_xlabel("learning rate")
    axis.set_ylabel("best validation accuracy")
    axis.set_title("trials (marker size: epochs run before ASHA stopped it)")
    axis.grid(alpha=0.3)
    if any(row["val_accuracy"] for row in rows):
        axis.legend()
    figure.tight_layout()
    return figure
