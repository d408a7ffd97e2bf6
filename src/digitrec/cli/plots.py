"""Commands that draw and report: show, plot, plot-image, report and compare.

Each is a thin call into :mod:`digitrec.plots` or :mod:`digitrec.report`; they need the plots
extra (matplotlib), and say so when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from digitrec import run_folder
from digitrec.cli.common import DATA_DIR_HELP, fail, need_plots, save_and_report
from digitrec.cli.tables import print_comparison


def show(
    indices: Optional[List[int]] = typer.Argument(None, help="Training-set indices to draw "
                                                             "(also: --index 200 1220)."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    index: List[int] = typer.Option([], help="Training-set indices to draw (repeatable)."),
    per_class: int = typer.Option(8, help="Also draw a grid of this many random images per "
                                          "class (0: none)."),
    out: Path = typer.Option(Path("plots"), help="Folder for the PNG and SVG files."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Draw sample images of a dataset, by index and per class."""
    need_plots()
    from digitrec import datasets, plots

    index = list(index) + list(indices or [])
    try:
        if index:
            save_and_report(plots.samples(dataset, index, data_dir=data_dir),
                             out / f"{dataset}-samples")
        if per_class > 0:
            save_and_report(plots.samples_per_class(dataset, per_class, data_dir=data_dir),
                             out / f"{dataset}-per-class")
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))


def plot(
    run: Optional[Path] = typer.Argument(None, help="Run folder (default: the shipped model)."),
    out: Optional[Path] = typer.Option(None, help="Folder for the PNG and SVG files (default: "
                                                  "RUN/plots)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Draw a run's training curves, confusion matrix, prediction grid and worst mistakes (a
    number reader's run: its training curves)."""
    need_plots()
    from digitrec import datasets, evaluation, plots
    from digitrec.recognizer import DEFAULT_MODEL

    folder = run if run is not None else DEFAULT_MODEL
    out = out if out is not None else (folder / "plots" if run is not None else Path("plots"))
    try:
        metrics = run_folder.read_record(folder, run_folder.METRICS, required=False)
        if run_folder.is_number_reader(metrics):  # its curves alone: the rest is the digits'
            save_and_report(plots.history(folder), out / "curves")
            return
    except ValueError as error:
        fail(str(error))
    try:
        curves = plots.history(folder)
    except ValueError as error:
        if not (folder / run_folder.METRICS).is_file():
            fail(str(error))
        curves = None  # an ensemble whose members are gone: the other figures still stand
        typer.echo(f"no training curves: {error}", err=True)
    try:
        if curves is not None:
            save_and_report(curves, out / "curves")
        predictions = evaluation.test_predictions(folder, data_dir)
        save_and_report(plots.confusion(predictions=predictions), out / "confusion-matrix")
        save_and_report(plots.prediction_grid(predictions=predictions), out / "predictions")
        save_and_report(plots.mistakes(predictions=predictions), out / "mistakes")
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))


def plot_image(
    image: Path = typer.Argument(..., help="An image of one digit."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    out: Optional[Path] = typer.Option(None, help="File to write, without suffix (default: "
                                                  "IMAGE-explained in the current folder)."),
) -> None:
    """Draw a person's image, the 28x28 image the model saw, and the ten probabilities."""
    need_plots()
    from digitrec import imaging, plots

    try:
        figure = plots.explain(image, model)
    except (ValueError, imaging.ImageError) as error:
        fail(str(error))
    save_and_report(figure, out if out is not None else Path(f"{image.stem}-explained"))


def report(
    run: Path = typer.Argument(..., help="Run folder."),
    out: Optional[Path] = typer.Option(None, help="HTML file to write (default: "
                                                  "RUN/report.html)."),
    handwriting: Optional[Path] = typer.Option(
        None, help="Folder laid out as ../shared/handwriting, for real-handwriting figures "
                   "(default: $DIGITREC_HANDWRITING, if set)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Write one self-contained HTML report of a run (images embedded)."""
    need_plots()
    from digitrec import datasets
    from digitrec import report as reporting

    if handwriting is None and os.environ.get("DIGITREC_HANDWRITING"):
        handwriting = Path(os.environ["DIGITREC_HANDWRITING"])
    try:
        written = reporting.report(run, out, data_dir, handwriting)
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    typer.echo(f"wrote {written}")


def compare(
    runs: List[Path] = typer.Argument(..., help="Run folders."),
    out: Path = typer.Option(Path("plots"), help="Folder for the validation-curves plot."),
) -> None:
    """Compare runs: a table of their figures, and their validation curves in one plot.

    The table: model, parameters, epochs, training time, validation and test accuracy.
    """
    need_plots()
    from digitrec import plots
    from digitrec import report as reporting

    try:
        rows = reporting.compare(runs)
        figure = plots.compare(runs)
    except ValueError as error:
        fail(str(error))
    print_comparison(rows)
    save_and_report(figure, out / "compare")
