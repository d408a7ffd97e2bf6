"""One self-contained HTML report of a run: configuration, model, curves, test metrics, confusion
matrix, worst mistakes and, where the data is at hand, accuracy on real handwriting.

    digitrec report RUN [--out report.html] [--handwriting ../shared/handwriting]

Images are embedded as base64 PNGs, so the one file can be opened anywhere or sent on.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
from pathlib import Path

import numpy as np

from digitrec import __version__, datasets, evaluation, imaging, plots, run_folder
from digitrec.recognizer import Recognizer

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       color: #111; }
h1 { margin-bottom: 0; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
td, th { border: 1px solid #ccc; padding: .2rem .6rem; text-align: right; }
th { background: #f0f2f5; } td:first-child, th:first-child { text-align: left; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; font-size: 12px; line-height: 1.2; }
img { max-width: 100%; } section { margin-bottom: 2rem; }
"""


def _figure_html(figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def handwriting_accuracy(recognizer: Recognizer, folder: str | os.PathLike) -> list[tuple]:
    """Accuracy on real handwriting: each ``user_digits`` group, and the holdout halves of
    ``usps`` and ``optdigits`` (see :func:`digitrec.datasets.load_folder`).

    Args:
        folder: a folder laid out as ``../shared/handwriting``.

    Returns:
        ``(name, images, accuracy)`` rows for the parts present; an image with no digit found
        counts as wrong.
    """
    folder = Path(folder)
    rows = []
    labels_file = folder / "user_digits" / "labels.csv"
    if labels_file.is_file():
        with open(labels_file) as file:
            entries = list(csv.DictReader(file))
        groups: dict[str, list[bool]] = {}
        for entry in entries:
            try:
                digit = recognizer.predict(imaging.load_digit(
                    folder / "user_digits" / entry["filename"]))[0]
            except imaging.ImageError:
                digit = -1
            groups.setdefault(entry.get("group", "all"), []).append(
                digit == int(entry["label"]))
        rows += [(f"user_digits: {group}", len(results), float(np.mean(results)))
                 for group, results in sorted(groups.items())]
    for name in ("usps", "optdigits"):
        if (folder / name / "labels.csv").is_file():
            images, labels = datasets.load_folder(folder / name, "holdout")
            rows.append((f"{name} (holdout half)", len(labels),
                         float(np.mean(recognizer.predict(images) == labels))))
    return rows


def compare(runs) -> list[dict]:
    """One row per run folder: model, parameters, epochs, training seconds, best validation
    accuracy (None for an ensemble, which has no epochs of its own) and test accuracy, from its
    metrics.json and history.json.

    Raises:
        ValueError: a folder that is not a run, or whose metrics.json lacks a field.
    """
    rows = []
    for run in map(Path, runs):
        metrics = run_folder.read_record(run, run_folder.METRICS, keys=run_folder.METRICS_FIELDS)
        history = run_folder.read_history(run)
        rows.append({"run": str(run), "model": metrics["model"],
                     "parameters": metrics["parameters"], "epochs": metrics["epochs"],
                     "training_seconds": metrics["training_seconds"],
                     "validation_accuracy": max(history.get("val_accuracy", [None])),
                     "test_accuracy": metrics["test_accuracy"]})
    return rows


def report(run: str | os.PathLike, out: str | os.PathLike | None = None, data_dir=None,
           handwriting: str | os.PathLike | None = None) -> Path:
    """Writes the HTML report of a run folder.

    Args:
        run: a run folder made by ``digitrec train``.
        out: the HTML file (default ``RUN/report.html``); written to a temporary file and renamed.
        data_dir: where the IDX files are (see :func:`digitrec.datasets.find_files`).
        handwriting: a folder laid out as ``../shared/handwriting``; its figures are included
            when given and present.

    Returns:
        The report's path.

    Raises:
        ValueError: not a run folder; digitrec.datasets.DatasetError: data missing.
    """
    run = Path(run)
    if not (run / run_folder.MODEL).is_file() or not (run / run_folder.CONFIG).is_file():
        raise ValueError(f"{run}: not a run folder (no model.onnx and config.json); give a "
                         "folder made by `digitrec train`")
    out = Path(out) if out is not None else run / "report.html"
    config = run_folder.read_record(run, run_folder.CONFIG)
    metrics = run_folder.read_record(run, run_folder.METRICS, keys=run_folder.METRICS_FIELDS)
    predictions = evaluation.test_predictions(run, data_dir)
    result = evaluation.evaluate(predictions=predictions)
    names = result["class_names"]
    parts = [f"<h1>{html.escape(run.name)}</h1>",
             f'<p class="subtitle">model <b>{html.escape(metrics["model"])}</b> on '
             f'{html.escape(result["dataset"])}: test accuracy <b>{result["accuracy"]:.2%}</b>, '
             f'{metrics["parameters"]:,} parameters, {metrics["training_seconds"]:.0f} s of '
             f"training. Report by digitrec {__version__}.</p>"]

    parts += _run_sections(run, config, metrics)
    per_class = [(names[row["class"]], f"{row['precision']:.2%}", f"{row['recall']:.2%}",
                  f"{row['f1']:.2%}", row["support"]) for row in result["per_class"]]
    parts.append('<section id="test-metrics"><h2>Test metrics</h2>'
                 f"<p>accuracy {result['accuracy']:.2%}, loss {result['loss']:.4f}, "
                 f"{result['test_images']:,} images</p>"
                 + _table(("class", "precision", "recall", "F1", "support"), per_class)
                 + "</section>")
    parts.append('<section id="confusion-matrix"><h2>Confusion matrix</h2>'
                 + _figure_html(plots.confusion(predictions=predictions), "confusion matrix")
                 + "</section>")
    parts.append('<section id="mistakes"><h2>The most confident mistakes</h2>'
                 + _figure_html(plots.mistakes(predictions=predictions), "mistakes gallery")
                 + "</section>")
    if handwriting is not None and Path(handwriting).is_dir() and result["dataset"] == "mnist":
        rows = handwriting_accuracy(Recognizer.load(run), handwriting)
        if rows:
            parts.append('<section id="real-handwriting"><h2>Real handwriting</h2>'
                         "<p>Digits written by people, never trained on (user_digits), and the "
                         "halves of USPS and optdigits kept out of training.</p>"
                         + _table(("images", "count", "accuracy"),
                                  [(name, count, f"{accuracy:.1%}")
                                   for name, count, accuracy in rows]) + "</section>")
    document = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>digitrec report: {html.escape(run.name)}</title>"
                f"<style>{STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>\n")
    with run_folder.replacing(out) as temporary:
        temporary.write_text(document, encoding="utf-8")
    return out


def _run_sections(run: Path, config: dict, metrics: dict) -> list[str]:
    """The report's sections on how the run was made: configuration, model, training curves
    and, for an ensemble, its members."""
    parts = []
    parts.append('<section id="configuration"><h2>Configuration</h2>'
                 + _table(("setting", "value"), sorted(config.items())) + "</section>")
    summary = (run / run_folder.SUMMARY).read_text() if (run / run_folder.SUMMARY).is_file() else \
        f"{metrics['parameters']:,} parameters (no summary.txt in this run)"
    parts.append(f'<section id="model"><h2>Model</h2><pre>{html.escape(summary)}</pre>'
                 "</section>")
    try:
        curves = _figure_html(plots.history(run), "loss and accuracy per epoch")
    except ValueError as error:  # an ensemble whose members are gone: the rest still stands
        curves = f"<p>No training curves: {html.escape(str(error))}</p>"
    parts.append(f'<section id="curves"><h2>Training curves</h2>{curves}</section>')
    members = metrics.get("members", [])
    if members:
        parts.append('<section id="members"><h2>Members</h2>'
                     "<p>The model is the mean of these models' probabilities.</p>"
                     + _table(("run", "model", "seed", "test accuracy"),
                              [(member["run"], member["model"],
                                "-" if member.get("seed") is None else member["seed"],
                                f"{member['test_accuracy']:.2%}") for member in members])
                     + "</section>")
    return parts
