"""Pictures of datasets, training runs and answers, with matplotlib, as the tutorials draw them.

Every function returns a ``matplotlib.figure.Figure``; :func:`save` writes it as PNG and SVG.
Figures are made with matplotlib's object-oriented API on the Agg canvas, so they work with no
display; :func:`show` opens them in a window where one exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from digitrec import datasets, run_folder
from digitrec.recognizer import Recognizer

MISTAKE_COLOUR = "#c00000"


def save(figure: Figure, path: str | os.PathLike, formats=("png", "svg")) -> list[Path]:
    """Saves a figure as ``path.png`` and ``path.svg`` (any suffix of ``path`` is replaced).

    Each file is written to a temporary name beside it and renamed into place.

    Returns:
        The paths written.
    """
    written = []
    for fmt in formats:
        target = Path(path).with_suffix(f".{fmt}")
        with run_folder.replacing(target) as temporary:
            figure.savefig(temporary, format=fmt, dpi=100, bbox_inches="tight")
        written.append(target)
    return written


def show(figure: Figure) -> bool:
    """Opens the figure in a window if there is a display. Returns whether it did."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name != "nt":
        return False
    import matplotlib.pyplot as pyplot

    manager = pyplot.figure()
    manager.canvas.figure = figure
    figure.set_canvas(manager.canvas)
    pyplot.show()
    return True


def _image_axes(figure: Figure, rows: int, columns: int):
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
    return axes


def samples(dataset: str = "mnist", indices=(0,), split: str = "train",
            data_dir=None) -> Figure:
    """The images at ``indices`` of a dataset's split, each titled with its label.

    Raises:
        ValueError: an index out of range or an unknown split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    (x_train, y_train), (x_test, y_test) = datasets.load(dataset, data_dir)
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    names = datasets.DATASETS[dataset].class_names
    for index in indices:
        if not 0 <= index < len(images):
            raise ValueError(f"index {index} is outside 0..{len(images) - 1}")
    figure = Figure(figsize=(2 * len(indices), 2.3))
    for axis, index in zip(_image_axes(figure, 1, len(indices))[0], indices):
        axis.imshow(images[index], cmap="gray_r")
        axis.set_title(f"#{index}: {names[labels[index]]}", fontsize=10)
    return figure


def samples_per_class(dataset: str = "mnist", per_class: int = 8, seed: int = 0,
                      data_dir=None) -> Figure:
    """A grid of random training images: one row per class, ``per_class`` columns."""
    (x_train, y_train), _ = datasets.load(dataset, data_dir)
    names = datasets.DATASETS[dataset].class_names
    generator = np.random.default_rng(seed)
    figure = Figure(figsize=(per_class * 0.9 + 1.5, 10 * 0.9))
    axes = _image_axes(figure, 10, per_class)
    for label in range(10):
        chosen = generator.choice(np.flatnonzero(y_train == label), per_class, replace=False)
        for column, index in enumerate(chosen):
            axes[label, column].imshow(x_train[index], cmap="gray_r")
        axes[label, 0].set_ylabel(names[label], rotation=0, ha="right", va="center", fontsize=9)
    figure.suptitle(f"{dataset}: random training images per class")
    return figure


def history(run: str | os.PathLike) -> Figure:
    """Loss and accuracy per epoch, training against validation, best validation epoch marked.

    An ensemble has no epochs of its own: its figure is its members' validation accuracy per
    epoch (:func:`compare`), from the member runs still on disk. A number reader's run
    (``digitrec train-reader``) has its training loss and the share of its validation numbers
    read exactly, the epoch it kept marked.

    Raises:
        ValueError: the run folder has no history.json (nor, for an ensemble, any member that
            has one).
    """
    record = run_folder.read_history(run)
    reader = "validation_exact" in record  # a number reader's: validated on numbers read
    if reader:
        record = {"epoch": record["epoch"], "loss": record["loss"],
                  "accuracy": record["validation_exact"]}
    if not record:
        members = [member for member in run_folder.ensemble_members(run)
                   if (member / run_folder.HISTORY).is_file()]
        if members:
            return compare(members, f"{Path(run).name}: its members' validation accuracy")
        raise ValueError(f"{run}: no history.json; give a run folder made by `digitrec train` "
                         "(or an ensemble whose member runs are still on disk)")
    epochs = record.get("epoch", list(range(1, len(record["loss"]) + 1)))
    figure = Figure(figsize=(10, 4))
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for axis, metric in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
        axis.plot(epochs, record[metric], "o-",
                  label="validation numbers" if reader and metric == "accuracy" else "training")
        if f"val_{metric}" in record:
            axis.plot(epochs, record[f"val_{metric}"], "s-", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel("read exactly" if reader and metric == "accuracy" else metric)
        if len(epochs) <= 10:
            axis.set_xticks(epochs)  # every record, a fractional last epoch (1.25) included
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    if "val_accuracy" in record:  # the epoch kept: the best validation accuracy
        marked = ("val_loss", "val_accuracy")
    elif reader:  # the epoch kept: the first that read the most validation numbers
        marked = ("loss", "accuracy")
    else:
        marked = None
    if marked:
        best = int(np.argmax(record[marked[1]]))
        for axis, metric in zip((loss_axis, accuracy_axis), marked):
            axis.axvline(epochs[best], color="grey", linestyle="--", linewidth=1)
            axis.plot(epochs[best], record[metric][best], "*", markersize=14, color="black",
                      label=f"best validation (epoch {epochs[best]})")
    loss_axis.legend()
    accuracy_axis.legend()
    figure.suptitle(f"{Path(run).name}: training curves")
    figure.tight_layout()
    return figure


def compare(runs, title: str = "validation accuracy per epoch") -> Figure:
    """The validation accuracy per epoch of several runs, overlaid.

    Ensembles among the runs have no epochs of their own and draw no curve.

    Raises:
        ValueError: a folder without history.json that is not an ensemble.
    """
    figure = Figure(figsize=(8, 4.5))
    axis = figure.subplots()
    for run in runs:
        record = run_folder.read_history(run)
        if not record:
            config = run_folder.read_record(run, run_folder.CONFIG, required=False)
            if config.get("model") == "ensemble":
                continue
            raise ValueError(f"{run}: no history.json; give run folders made by `digitrec train`")
        if "val_accuracy" in record:
            axis.plot(record.get("epoch", range(1, len(record["val_accuracy"]) + 1)),
                      record["val_accuracy"], "o-", label=Path(run).name, markersize=3)
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation accuracy")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=8)
    axis.set_title(title)
    figure.tight_layout()
    return figure


def confusion(run=None, data_dir=None, predictions=None) -> Figure:
    """The test set's confusion matrix as a heatmap (rows: true class, columns: predicted).

    ``predictions``: already computed :func:`digitrec.evaluation.test_predictions` of ``run``.
    """
    from digitrec.evaluation import confusion_matrix

    dataset, _, y_test, probabilities = _predictions(run, data_dir, predictions)
    matrix = confusion_matrix(y_test, probabilities.argmax(axis=1))
    names = datasets.DATASETS[dataset].class_names
    figure = Figure(figsize=(7.5, 6.5))
    axis = figure.subplots()
    # Log colours, so that the few mistakes show beside the large diagonal.
    image = axis.imshow(np.log1p(matrix), cmap="Blues")
    for row in range(10):
        for column in range(10):
            if matrix[row, column]:
                axis.text(column, row, str(matrix[row, column]), ha="center", va="center",
                          fontsize=8, color="white" if row == column else "black")
    axis.set_xticks(range(10), names, rotation=45 if dataset != "mnist" else 0, ha="right"
                    if dataset != "mnist" else "center")
    axis.set_yticks(range(10), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    accuracy = np.trace(matrix) / matrix.sum()
    axis.set_title(f"confusion matrix, {dataset} test ({accuracy:.2%} accurate)")
    figure.colorbar(image, ax=axis, label="log(1 + count)")
    figure.tight_layout()
    return figure


def prediction_grid(run=None, count: int = 36, seed: int = 0, data_dir=None,
                    predictions=None) -> Figure:
    """Random test images titled with prediction and confidence; mistakes in red."""
    dataset, x_test, y_test, probabilities = _predictions(run, data_dir, predictions)
    names = datasets.DATASETS[dataset].class_names
    chosen = np.random.default_rng(seed).choice(len(x_test), count, replace=False)
    return _grid(x_test[chosen], y_test[chosen], probabilities[chosen], names,
                 f"{dataset} test: prediction (confidence); mistakes in red")


def mistakes(run=None, count: int = 24, data_dir=None, predictions=None) -> Figure:
    """The test images the model got wrong most confidently."""
    dataset, x_test, y_test, probabilities = _predictions(run, data_dir, predictions)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != y_test)
    worst = wrong[np.argsort(-probabilities[wrong].max(axis=1))][:count]
    names = datasets.DATASETS[dataset].class_names
    return _grid(x_test[worst], y_test[worst], probabilities[worst], names,
                 f"{dataset} test: the {len(worst)} most confident mistakes "
                 f"(of {len(wrong)})")


def _predictions(run, data_dir, predictions):
    """(dataset, images, labels, probabilities) on the test set, computed if not given."""
    from digitrec.evaluation import test_predictions

    if predictions is None:
        predictions = test_predictions(run, data_dir)
    return (predictions.dataset, predictions.images, predictions.labels,
            predictions.probabilities)


def _grid(images, labels, probabilities, names, title) -> Figure:
    columns = 6 if len(images) > 6 else max(1, len(images))
    rows = max(1, -(-len(images) // columns))
    figure = Figure(figsize=(columns * 1.6, rows * 1.9))
    axes = _image_axes(figure, rows, columns)
    for axis, image, label, row in zip(axes.ravel(), images, labels, probabilities):
        predicted = int(row.argmax())
        axis.imshow(image, cmap="gray_r")
        right = predicted == label
        axis.set_title(f"{names[predicted]} ({row[predicted]:.0%})"
                       + ("" if right else f"\ntrue {names[label]}"),
                       fontsize=8, color="black" if right else MISTAKE_COLOUR)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def explain(image_path: str | os.PathLike, run=None) -> Figure:
    """A person's image: as given, as the model saw it (28x28), and the ten probabilities.

    Raises:
        digitrec.imaging.ImageError: the image cannot be read or holds no digit.
    """
    from digitrec import imaging

    recognizer = Recognizer.load(run)
    original = imaging.open_image(image_path)
    answer = recognizer.recognize(original, explain=True)[0]
    if answer["status"] == "no_digit":
        raise imaging.NoDigitError(answer["reason"])
    if answer["status"] == "error":
        raise imaging.ImageError(answer["error"])
    digit = answer["model_input"]
    figure = Figure(figsize=(11, 3.4))
    given, seen, bars = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.6]})
    for axis in (given, seen):
        axis.set_xticks([])
        axis.set_yticks([])
    given.imshow(original.convert("RGB"))
    given.set_title("your image")
    seen.imshow(digit, cmap="gray", vmin=0, vmax=1)
    seen.set_title("what the model saw (28x28)")
    colours = ["#1f5fa8" if index == answer["digit"] else "#9aa5b1" for index in range(10)]
    bars.bar(range(10), answer["probabilities"], color=colours)
    bars.set_xticks(range(10))
    bars.set_ylim(0, 1)
    bars.set_xlabel("digit")
    bars.set_ylabel("probability")
    status = "" if answer["status"] == "ok" else f" - {answer['status']}"
    bars.set_title(f"answer: {answer['digit']} ({answer['confidence']:.1%}){status}")
    figure.tight_layout()
    return figure
