"""Evaluation of a run on its dataset's test set: accuracy, loss, per-class figures, confusion
matrix; and of ``read`` on a folder of labelled numbers: exact, per digit, "ok" precision and
coverage.

Runs the run folder's ONNX model (through :class:`digitrec.recognizer.Recognizer`), so evaluating
needs no Keras and takes about a second for MNIST's 10,000 test images.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digitrec import bulk, datasets, run_folder
from digitrec.number_reader import edit_distance
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


def reading_figures(labels: list[str], texts: list[str], statuses: list[str],
                    alternatives: list[str | None] | None = None) -> dict:
    """How well numbers were read, against their labels (each a string of digits).

    Args:
        labels, texts, statuses: per number, its label, the text read and the answer's status
            (``"ok"``, ``"unsure"``, ``"no_digit"``, ``"error"``).
        alternatives: per number, the answer's ``alternative`` reading, or None.

    Returns:
        ``numbers``; ``exact``, the share read exactly; ``text_or_alternative``, the share
        whose text or alternative is the label; ``per_digit``, 1 - the summed edit distance
        (Levenshtein) between text and label over the labels' summed length; ``ok_coverage``,
        the share answered "ok"; ``ok_precision``, the share of those read exactly (None
        without any); ``wrong_ok``, how many "ok" answers are wrong. Shares in [0, 1].

    Raises:
        ValueError: no numbers, or lists of different lengths.
    """
    alternatives = alternatives if alternatives is not None else [None] * len(labels)
    if not labels or not len(labels) == len(texts) == len(statuses) == len(alternatives):
        raise ValueError(f"reading_figures needs as many labels, texts and statuses, at least "
                         f"one: got {len(labels)}, {len(texts)}, {len(statuses)}")
    exact = [text == label for text, label in zip(texts, labels)]
    ok = [status == "ok" for status in statuses]
    ok_exact = sum(right and is_ok for right, is_ok in zip(exact, ok))
    errors = sum(edit_distance(text, label) for text, label in zip(texts, labels))
    return {"numbers": len(labels), "exact": sum(exact) / len(labels),
            "text_or_alternative": sum(label in (text, alternative) for label, text, alternative
                                       in zip(labels, texts, alternatives)) / len(labels),
            "per_digit": 1 - errors / max(1, sum(len(label) for label in labels)),
            "ok_coverage": sum(ok) / len(labels),
            "ok_precision": ok_exact / sum(ok) if any(ok) else None,
            "wrong_ok": sum(ok) - ok_exact}


def evaluate_reading(folder: str | os.PathLike, model: str | os.PathLike | None = None,
                     reader: str | os.PathLike | None = None, digits: int | None = None,
                     jobs: int = 1) -> dict:
    """Reads every number of a folder of labelled numbers as ``digitrec read`` reads a folder
    in one process (:func:`digitrec.bulk.answers`, :meth:`Recognizer.read`: ONNX Runtime and
    OpenCV then run on one thread in this process) and measures it (:func:`reading_figures`):
    a bank's own cheques, an archive's registers, to judge a reader fine-tuned on others of
    them (``digitrec train-reader --extra-data``) against the shipped one.

    Args:
        folder: a folder with ``labels.csv`` (``filename,label``, the label the number's
            digits; :func:`digitrec.datasets.folder_numbers`).
        model, reader: as for :class:`~digitrec.recognizer.Recognizer` (None: the shipped).
        digits: every number's count of digits, where the field has one (a meter reading):
            each is read held to it (:meth:`Recognizer.read`'s ``digits``).
        jobs: processes reading, this one included (:func:`digitrec.bulk.answers`; 1: this
            process alone, so that ``ms_per_image`` is one process's time per image; more: the
            wall time over all of them, divided by the count of images).

    Returns:
        :func:`reading_figures`' dict, plus ``folder``, ``model`` and ``reader`` (None: the
        shipped), ``digits``, ``ms_per_image`` (milliseconds, opening the file included) and
        ``mistakes``: for each number not read exactly, its ``path``, ``label``, ``text``,
        ``status`` and ``reason`` or ``error`` (a file that cannot be read counts as a
        mistake, "error").

    Raises:
        ValueError: an unusable model or reader, or ``digits`` as :meth:`Recognizer.read`
        refuses it; digitrec.datasets.DatasetError: no labels.csv, or a label that is not
        digits.
    """
    numbers = datasets.folder_numbers(folder)
    if not numbers:
        raise datasets.DatasetError(f"{folder}: labels.csv lists no numbers")
    bad = [label for _, label in numbers if not label.isdigit()]
    if bad:
        raise datasets.DatasetError(f"{folder}/labels.csv: a label must be the number's digits "
                                    f"(such as 25441), got {bad[0]!r}")
    # Read as `digitrec read` reads a folder (digitrec.bulk), in this process: an unreadable
    # file is an "error" answer, with no text.
    read = bulk.answers([(path, None) for path, _ in numbers], "read", model, reader,
                        jobs=jobs, digits=digits)
    started = time.perf_counter()
    answers = [answer for _, answer in read]
    seconds = time.perf_counter() - started
    texts = [answer.get("text", "") for answer in answers]
    labels = [label for _, label in numbers]
    result = {"folder": str(folder), "model": None if model is None else str(model),
              "reader": None if reader is None else str(reader), "digits": digits}
    result.update(reading_figures(labels, texts, [answer["status"] for answer in answers],
                                  [answer.get("alternative") for answer in answers]))
    result["ms_per_image"] = seconds / len(numbers) * 1000
    result["mistakes"] = [{"path": str(path), "label": label, "text": text,
                           "status": answer["status"],
                           **{key: answer[key] for key in ("reason", "error") if key in answer}}
                          for (path, label), answer, text in zip(numbers, answers, texts)
                          if text != label]
    return result
