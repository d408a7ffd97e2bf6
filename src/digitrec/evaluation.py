"""Evaluation of a run on its dataset's test set: accuracy, loss, per-class figures, confusion
matrix.

Runs the run folder's ONNX model (through :class:`digitrec.recognizer.Recognizer`), so evaluating
needs no Keras and takes about a second for MNIST's 10,000 test images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digitrec import datasets, run_folder
from digitrec.recognizer import Recognizer


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """(classes, classes) int64 counts: row = true class, column = predicted class."""
    return np.bincount(labels.astype(np.int64) * classes + predictions.astype(np.int64),
                       minlength=classes * classes).reshape(classes, classes)


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, cross-entropy loss, per-class precision/recall/F1 and the confusion matrix.

    Args:
        labels: (N,) integer true classes in 0..9.
        probabilities: (N, 10) float, rows summing to 1.

    Returns:
        A JSON-ready dict: ``accuracy`` and ``loss`` (mean natural-log cross-entropy), floats;
        ``per_class``: a list of 10 dicts with ``class``, ``precision``, ``recall``, ``f1`` and
        ``support``; ``confusion_matrix``: 10 lists of 10 ints (row = true, column = predicted).
    """
    labels = np.asarray(labels).astype(np.int64)
    predictions = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions, probabilities.shape[1])
    true_positives = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives),
                          where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall,
                   out=np.zeros_like(true_positives), where=(precision + recall) > 0)
    picked = probabilities[np.arange(len(labels)), labels].astype(np.float64)
    return {
        "accuracy": float((predictions == labels).mean()),
        "loss": float(-np.log(np.clip(picked, 1e-12, 1.0)).mean()),
        "per_class": [{"class": int(index), "precision": float(precision[index]),
                       "recall": float(recall[index]), "f1": float(f1[index]),
                       "support": int(actual[index])} for index in range(len(actual))],
        "confusion_matrix": matrix.tolist(),
    }


class TestPredictions(NamedTuple):
    """A run's predictions on its dataset's test set.

    Attributes:
        run: the folder of the model.
        dataset: the dataset's name.
        images: (N, 28, 28) uint8 test images.
        labels: (N,) uint8 true classes.
        probabilities: (N, 10) float32 predicted probabilities.
    """

    run: Path
    dataset: str
    images: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray


def test_predictions(run: str | os.PathLike | None = None,
                     data_dir: str | os.PathLike | None = None,
                     dataset: str | None = None) -> TestPredictions:
    """Runs a run folder's model on the test set of the dataset it was trained on.

    Args:
        run: a run folder made by ``digitrec train`` (``None``: the shipped model).
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`).
        dataset: overrides the dataset named in the run's ``config.json``.

    Raises:
        ValueError: not a run folder; digitrec.datasets.DatasetError for missing data.
    """
    recognizer = Recognizer.load(run)
    folder = recognizer.model_path_.parent
    if dataset is None:
        config = run_folder.read_record(folder, run_folder.CONFIG, required=False)
        dataset = config.get("dataset", "mnist")
    _, (x_test, y_test) = datasets.load(dataset, data_dir)
    return TestPredictions(folder, dataset, x_test, y_test, recognizer.predict_proba(x_test))


def evaluate(run: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
             dataset: str | None = None, predictions: TestPredictions | None = None) -> dict:
    """Evaluates a run folder's model on the test set of the dataset it was trained on.

    Args:
        run, data_dir, dataset: see :func:`test_predictions`.
        predictions: already computed :func:`test_predictions` (the other arguments are then
            not used).

    Returns:
        :func:`classification_metrics`' dict, plus ``run``, ``dataset``, ``class_names`` and
        ``test_images``.

    Raises:
        ValueError: not a run folder; digitrec.datasets.DatasetError for missing data.
    """
    if predictions is None:
        predictions = test_predictions(run, data_dir, dataset)
    result = {"run": str(predictions.run), "dataset": predictions.dataset,
              "class_names": list(datasets.DATASETS[predictions.dataset].class_names),
              "test_images": int(len(predictions.labels))}
    result.update(classification_metrics(predictions.labels, predictions.probabilities))
    return result
