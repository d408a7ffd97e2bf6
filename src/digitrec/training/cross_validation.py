"""Stratified K-fold cross-validation on the training set (the test set is never used)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from digitrec import datasets, run_folder
from digitrec.training.config import TrainConfig
from digitrec.training.fitting import fit


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
        raise ValueError(f"{out} exists already; choose another folder")
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
            path = Path(out) / f"fold-{result['fold']}" / run_folder.HISTORY
            with run_folder.replacing(path) as temporary:
                temporary.write_text(json.dumps(result["history"], indent=2) + "\n")
        with run_folder.replacing(Path(out) / "cv.json") as temporary:
            temporary.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
