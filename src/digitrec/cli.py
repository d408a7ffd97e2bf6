"""The ``digitrec`` command line: a thin face over datasets, training, evaluation and recognition.

Heavy libraries are imported inside the commands that need them, so that ``digitrec predict``
starts in a fraction of a second and never loads Keras or TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from digitrec import files

app = typer.Typer(
    help="Recognise handwritten digits: train MNIST models, evaluate them, read your own images.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode="markdown")

DATA_DIR_HELP = "Folder holding mnist/ and fashion-mnist/ IDX files (default: $DIGITREC_DATA, " \
                "then ~/.cache/digitrec, downloading there if missing)."


def fail(message: str, code: int = 2) -> None:
    """Prints a one-line error to stderr and exits."""
    typer.echo(f"digitrec: error: {message}", err=True)
    raise typer.Exit(code)


def missing_extra(what: str, extras: str, error: ImportError) -> None:
    """Ends the command: ``what`` needs digitrec's optional ``extras`` ("train", or
    "train,scale"), which are not installed; the message says how to install them."""
    plural = "s" if "," in extras else ""
    fail(f"{what} needs the {extras} extra{plural} ({error}); install with: "
         f"pip install 'digitrec[{extras}]'")


@contextlib.contextmanager
def _training_errors(*expected: type[Exception]):
    """Inside: code that needs the training extra. A missing extra, or one of the ``expected``
    errors, ends the command with a one-line message instead of a traceback."""
    try:
        yield
    except typer.Exit:
        raise  # a message printed already (click's Exit is a RuntimeError)
    except ImportError as error:
        missing_extra("this command", "train", error)
    except expected as error:
        fail(str(error))


def _quiet_tensorflow() -> None:
    """Keeps TensorFlow's native log lines off the terminal, unless ``TF_CPP_MIN_LOG_LEVEL``
    asks for information (0).

    The level defaults to 3: TensorFlow's C++ errors of this kind (a tf.data attribute this
    build does not know, say) are harmless, and real failures still arrive as Python
    exceptions. The lines TensorFlow writes while it loads (oneDNN, absl) ignore the level, so
    TensorFlow is imported here with the process's stderr pointed at /dev/null; an import
    that fails is left to the command, which reports the missing extra.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if (os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0" or "tensorflow" in sys.modules
            or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            with contextlib.suppress(ImportError):
                import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@app.command()
def models() -> None:
    """List the models that can be trained, with their parameter counts and recipes."""
    _quiet_tensorflow()
    try:
        from digitrec import models as registry
    except ImportError as error:
        missing_extra("listing models", "train", error)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="digitrec models (input 28x28x1, output 10 logits)")
    table.add_column("name", no_wrap=True)
    for column in ("params", "optimizer", "lr", "batch", "epochs", "tutorial acc."):
        table.add_column(column, justify="right")
    for name, recipe in registry.RECIPES.items():
        table.add_row(name, f"{registry.build(name).count_params():,}", recipe.optimizer,
                      f"{recipe.learning_rate:g}", str(recipe.batch_size), f"{recipe.epochs:g}",
                      f"{recipe.tutorial_accuracy:.2%}")
    console = Console()
    console.print(table)
    for name, recipe in registry.RECIPES.items():
        console.print(f"{name}: {recipe.source}", highlight=False)


def _train_config(config_file, **options):
    """A TrainConfig from a JSON file (as written to run folders, or by `digitrec tune`), with
    the options given on the command line (those not None) taking precedence."""
    from digitrec import training

    fields = {}
    if config_file is not None:
        try:
            fields = json.loads(Path(config_file).read_text())
        except (OSError, ValueError) as error:
            fail(f"{config_file}: cannot read the configuration ({error})")
        if not isinstance(fields, dict):
            fail(f"{config_file}: not a configuration (a JSON object of settings is expected)")
        known = {field.name for field in dataclasses.fields(training.TrainConfig)}
        # A quantized run's config records its source; training from it trains the float
        # model (run `digitrec quantize` on the result to make the int8 copy again).
        for recorded in ("precision", "weight_bits", "quantized_from"):
            fields.pop(recorded, None)
        unknown = set(fields) - known
        if unknown:
            fail(f"{config_file}: unknown settings {', '.join(sorted(unknown))}")
    fields.update({name: value for name, value in options.items() if value is not None})
    if "extra_data" in fields:
        fields["extra_data"] = tuple(str(folder) for folder in fields["extra_data"])
    if "data_dir" in fields:
        fields["data_dir"] = str(fields["data_dir"])
    return training.TrainConfig(**fields)


@app.command()
def train(
    model: Optional[str] = typer.Option(None, help="Model name (see `digitrec models`; "
                                                   "default cnn)."),
    dataset: Optional[str] = typer.Option(None, help="mnist (default) or fashion-mnist."),
    epochs: Optional[float] = typer.Option(None, help="Epochs, may be fractional (default: "
                                           "the model's recipe)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size (default: the recipe's)."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, nesterov (SGD with Nesterov "
                                                       "momentum), adam or rmsprop (default: "
                                                       "the recipe's)."),
    learning_rate: Optional[float] = typer.Option(None, help="Learning rate (default: the "
                                                             "recipe's)."),
    validation_split: Optional[float] = typer.Option(None, help="Fraction of the training set "
                                                                "held out for validation "
                                                                "(default 0.1)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 0); the same seed gives "
                                                  "the same result on the same machine."),
    train_limit: Optional[int] = typer.Option(None, help="Train on only the first N training "
                                                         "images (for a quick try)."),
    augment: Optional[bool] = typer.Option(None, "--augment/--no-augment",
                                           help="Train on augmented images (default: the "
                                                "recipe's choice)."),
    extra_data: Optional[List[Path]] = typer.Option(None, help="A folder of real handwriting "
                                                               "(labels.csv or digit_boxes.csv) "
                                                               "whose first half is added to "
                                                               "training; repeatable."),
    extra_repeat: Optional[int] = typer.Option(None, help="Times each --extra-data image is "
                                                          "seen per epoch (default 3)."),
    config: Optional[Path] = typer.Option(None, help="A JSON configuration (a run's "
                                                     "config.json, or tune's best.json); the "
                                                     "options above override it."),
    tensorboard: bool = typer.Option(False, help="Also write TensorBoard logs, into "
                                                 "RUN/tensorboard."),
    ensemble: int = typer.Option(1, help="Train this many models, seeds SEED, SEED+1..., and "
                                         "average them into one (2 or more)."),
    parallel: bool = typer.Option(False, help="With --ensemble: train the members as Ray "
                                              "tasks (local, or --address / $RAY_ADDRESS)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT."),
    out: Optional[Path] = typer.Option(None, help="Run folder to create (default: "
                                                  "runs/MODEL-DATASET-TIME); never overwritten."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Train a model and write a run folder (model.keras, model.onnx, history, metrics, config)."""
    _quiet_tensorflow()
    from digitrec import datasets

    with _training_errors(ValueError, TypeError, datasets.DatasetError, RuntimeError):
        from digitrec import training
        train_config = _train_config(
            config, model=model, dataset=dataset, epochs=epochs, batch_size=batch_size,
            optimizer=optimizer, learning_rate=learning_rate, validation_split=validation_split,
            seed=seed, train_limit=train_limit, augment=augment,
            extra_data=extra_data or None, extra_repeat=extra_repeat, data_dir=data_dir)
        # A progress bar on a terminal; one line per epoch in a log file.
        verbose = 1 if sys.stdout.isatty() else 2
        if ensemble > 1:
            if out is None:
                single = training.default_run_dir(train_config.resolved())
                out = single.with_name(f"ensemble{ensemble}-{single.name}")
            run = training.train_ensemble(train_config, ensemble, out, parallel, address,
                                          verbose)
        else:
            run = training.train(train_config, out, verbose=verbose, tensorboard=tensorboard)
    _print_run(run)
    if tensorboard:
        typer.echo(f"TensorBoard logs: tensorboard --logdir {run / 'tensorboard'}")


def _print_run(run: Path) -> None:
    metrics = files.read_record(run, "metrics.json")
    typer.echo(f"run folder: {run}")
    line = (f"test accuracy {metrics['test_accuracy']:.2%}, loss {metrics['test_loss']:.4f}, "
            f"{metrics['training_seconds']:.1f} s training")
    if "seconds_per_epoch" in metrics and metrics.get("epochs", 1) >= 1:
        # Under one epoch, the time per epoch would extrapolate start-up costs (tracing).
        line += f" ({metrics['seconds_per_epoch']:.1f} s per epoch)"
    for member in metrics.get("members", []):
        line += f"\n  member {member['run']}: test accuracy {member['test_accuracy']:.2%}"
    typer.echo(line)


@app.command("ensemble")
def ensemble_command(
    runs: List[Path] = typer.Argument(..., help="Run folders to average (two or more)."),
    out: Path = typer.Option(..., help="The ensemble's run folder to create."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Average several trained runs into one model (one ONNX graph), usable as any run."""
    from digitrec import datasets, onnx_models

    try:
        run = onnx_models.ensemble(runs, out, str(data_dir) if data_dir is not None else None)
    except (ValueError, OSError, RuntimeError, datasets.DatasetError) as error:
        fail(str(error))
    _print_run(run)


@app.command()
def quantize(
    run: Path = typer.Argument(..., help="Run folder (or ensemble) to quantize."),
    out: Path = typer.Option(..., help="The int8 model's run folder to create."),
    full_range_weights: bool = typer.Option(
        False, "--full-range-weights",
        help="8-bit weights instead of 7. Only for CPUs with VNNI (Intel since Cascade Lake, "
             "AMD since Zen 4): on x86 CPUs without it ONNX Runtime's int8 products saturate "
             "and the model answers differently and worse there (the shipped model: 99.39% "
             "on MNIST's test set against 99.56%)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Make an int8 copy of a model (ONNX Runtime static quantization) that answers the same on
    every CPU, and faster than the float model."""
    from digitrec import datasets, onnx_models

    try:
        made = onnx_models.quantize(run, out, str(data_dir) if data_dir is not None else None,
                                    full_range_weights=full_range_weights)
    except (ValueError, OSError, datasets.DatasetError) as error:
        fail(str(error))
    _print_run(made)
    metrics = files.read_record(made, "metrics.json")
    source, agreement = metrics["quantized_from"], metrics["kernel_agreement"]
    typer.echo(f"  float model: test accuracy {source['test_accuracy']:.2%}, loss "
               f"{source['test_loss']:.4f}; largest probability difference "
               f"{metrics['max_probability_difference_to_float']:.3f}")
    typer.echo(f"  fast against reference kernels on this CPU ({agreement['cpu']}): largest "
               f"probability difference {agreement['max_probability_difference']:.4f}")
    if agreement["saturating_weights"]:
        typer.echo("  warning: its int8 products saturate on x86 CPUs without VNNI, where it "
                   "answers differently (made with --full-range-weights)", err=True)


@app.command()
def cv(
    model: str = typer.Option("cnn", help="Model name (see `digitrec models`)."),
    folds: int = typer.Option(4, help="Number of folds K."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    epochs: Optional[float] = typer.Option(None, help="Epochs, may be fractional (default: "
                                           "the model's recipe)."),
    train_limit: Optional[int] = typer.Option(None, help="Use only the first N training "
                                                         "images."),
    seed: int = typer.Option(0, help="Random seed for the folds and the training."),
    parallel: bool = typer.Option(False, help="Run the folds in parallel on Ray (local, or the "
                                              "cluster at --address / $RAY_ADDRESS)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT (with "
                                                     "--parallel)."),
    out: Optional[Path] = typer.Option(None, help="Folder for each fold's history and cv.json "
                                                  "(default: runs/cv-MODEL-TIME)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Stratified K-fold cross-validation on the training set.

    Prints each fold's validation accuracy, and their mean and standard deviation.
    """
    _quiet_tensorflow()
    from datetime import datetime, timezone

    from digitrec import datasets

    out = out if out is not None else Path("runs") / (
        f"cv-{model}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}")
    with _training_errors(ValueError, datasets.DatasetError):
        from digitrec import training
        config = _train_config(None, model=model, dataset=dataset, epochs=epochs,
                               train_limit=train_limit, seed=seed, data_dir=data_dir)
        if parallel:
            from digitrec import scaling
            summary = scaling.cross_validate(config, folds, out, address)
        else:
            summary = training.cross_validate(config, folds, out,
                                              verbose=1 if sys.stdout.isatty() else 2)
    for fold in summary["folds"]:
        typer.echo(f"fold {fold['fold']}: validation accuracy {fold['validation_accuracy']:.2%} "
                   f"(best epoch {fold['best_epoch']}, {fold['validation_images']} images)")
    typer.echo(f"{summary['model']}, {len(summary['folds'])} folds: "
               f"{summary['mean']:.2%} +- {summary['std']:.2%}; histories in {out}")


@app.command()
def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run folder (default: the shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Test accuracy and loss, per-class precision and recall, and the confusion matrix."""
    from digitrec import datasets, evaluation

    try:
        result = evaluation.evaluate(run, data_dir)
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(result))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{result['run']}[/bold] on {result['dataset']} test "
                  f"({result['test_images']:,} images)")
    console.print(f"accuracy {result['accuracy']:.2%}   loss {result['loss']:.4f}")
    names = result["class_names"]
    per_class = Table(title="per class")
    for column in ("class", "precision", "recall", "f1", "support"):
        per_class.add_column(column, justify="right")
    for row in result["per_class"]:
        per_class.add_row(names[row["class"]], f"{row['precision']:.2%}",
                          f"{row['recall']:.2%}", f"{row['f1']:.2%}", str(row["support"]))
    console.print(per_class)
    matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
    matrix.add_column("true", justify="right")
    for index in range(len(names)):
        matrix.add_column(str(index), justify="right")
    for index, counts in enumerate(result["confusion_matrix"]):
        matrix.add_row(f"{index} {names[index]}" if names[index] != str(index) else names[index],
                       *[f"[bold]{count}[/bold]" if column == index else
                         (str(count) if count else "[dim]0[/dim]")
                         for column, count in enumerate(counts)])
    console.print(matrix)


def _answer_line(path: Path, answer: dict) -> str:
    """A digit's answer as ``digitrec predict`` prints it."""
    probabilities = answer["probabilities"]
    line = (f"{path}: {answer['digit']} ({probabilities[answer['digit']]:.1%}), runner-up "
            f"{answer['runner_up']} ({probabilities[answer['runner_up']]:.1%})")
    if answer["status"] == "unsure":
        line += f" - unsure: {answer['reason']}"
    if "model_input" in answer:
        line += f", model input {answer['model_input']}"
    return line


def _report_error(path: Path, error: Exception | str, as_json: bool) -> None:
    message = str(error)
    if as_json:
        typer.echo(json.dumps({"path": str(path), "status": "error", "error": message}))
    else:
        typer.echo(message if message.startswith(str(path)) else f"{path}: {message}", err=True)


@app.command()
def predict(
    images: List[Path] = typer.Argument(..., help="Image files or folders (PNG, JPEG, BMP, GIF, "
                                                  "TIFF, WebP, AVIF; HEIC with the heif "
                                                  "extra)."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    explain: Optional[Path] = typer.Option(None, help="Save in this folder, for each image, "
                                                      "the 28x28 image the model saw "
                                                      "(NAME.28x28.png)."),
) -> None:
    """Recognise the digit in each image: the digit, its probability, the runner-up, a status.

    The status is "ok", "unsure" (confidence below the model's calibrated threshold: maybe not a
    digit) or "no_digit" (no ink). The exit status is 1 if any image could not be read or held
    no digit.
    """
    from digitrec import answers, imaging
    from digitrec.recognizer import Recognizer

    try:
        recognizer = Recognizer.load(model)
        if explain is not None:
            explain.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as error:
        fail(str(error))
    failed = False
    for path, error in imaging.image_files(images):
        if error is not None:
            answer = answers.error(str(error))
        else:
            answer = recognizer.recognize(path, explain=explain is not None)[0]
        failed |= answer["status"] in ("no_digit", "error")
        if answer["status"] == "error":
            _report_error(path, answer["error"], as_json)
            continue
        if "model_input" in answer:
            answer["model_input"] = str(imaging.save_digit(
                answer["model_input"], explain / f"{path.stem}.28x28.png"))
        if as_json:
            typer.echo(json.dumps({"path": str(path), **answer}))
        elif answer["status"] == "no_digit":
            typer.echo(answer["reason"], err=True)
        else:
            typer.echo(_answer_line(path, answer))
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


@app.command()
def read(
    images: List[Path] = typer.Argument(..., help="Images of numbers written as a string of "
                                                  "digits (files or folders)."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line: path, text, "
                                                       "status, and each digit's box."),
) -> None:
    """Read a number written as a string of digits: a date, an amount, a meter reading.

    Separators (dots, commas, dashes) and underlines are dropped; touching digits are split.
    """
    from digitrec import imaging
    from digitrec.recognizer import Recognizer

    try:
        recognizer = Recognizer.load(model)
    except ValueError as error:
        fail(str(error))
    failed = False
    for path, error in imaging.image_files(images):
        if error is None:
            try:
                reading = recognizer.read(path)
            except imaging.ImageError as image_error:
                error = image_error
            else:
                # A blank image is reported as an unreadable one is (as it always was here).
                if reading["status"] == "no_digit" and "reason" in reading:
                    error = reading["reason"]
        if error is not None:
            failed = True
            _report_error(path, error, as_json)
            continue
        if as_json:
            typer.echo(json.dumps({"path": str(path), **reading}))
        elif reading["status"] == "no_digit":
            failed = True
            typer.echo(f"{path}: no digits found", err=True)
        else:
            confidences = " ".join(f"{digit['digit']}:{digit['confidence']:.0%}"
                                   for digit in reading["digits"])
            note = " - unsure of some digits" if reading["status"] == "unsure" else ""
            typer.echo(f"{path}: {reading['text']} ({confidences}){note}")
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _need_plots() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        missing_extra("drawing pictures", "plots", error)


def _save_and_report(figure, path: Path) -> None:
    from digitrec import plots

    for written in plots.save(figure, path):
        typer.echo(f"wrote {written}")
    plots.show(figure)


@app.command()
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
    _need_plots()
    from digitrec import datasets, plots

    index = list(index) + list(indices or [])
    try:
        if index:
            _save_and_report(plots.samples(dataset, index, data_dir=data_dir),
                             out / f"{dataset}-samples")
        if per_class > 0:
            _save_and_report(plots.samples_per_class(dataset, per_class, data_dir=data_dir),
                             out / f"{dataset}-per-class")
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))


@app.command()
def plot(
    run: Optional[Path] = typer.Argument(None, help="Run folder (default: the shipped model)."),
    out: Optional[Path] = typer.Option(None, help="Folder for the PNG and SVG files (default: "
                                                  "RUN/plots)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Draw a run's training curves, confusion matrix, prediction grid and worst mistakes."""
    _need_plots()
    from digitrec import datasets, evaluation, plots
    from digitrec.recognizer import DEFAULT_MODEL

    folder = run if run is not None else DEFAULT_MODEL
    out = out if out is not None else (folder / "plots" if run is not None else Path("plots"))
    try:
        curves = plots.history(folder)
    except ValueError as error:
        if not (folder / "metrics.json").is_file():
            fail(str(error))
        curves = None  # an ensemble whose members are gone: the other figures still stand
        typer.echo(f"no training curves: {error}", err=True)
    try:
        if curves is not None:
            _save_and_report(curves, out / "curves")
        predictions = evaluation.test_predictions(folder, data_dir)
        _save_and_report(plots.confusion(predictions=predictions), out / "confusion-matrix")
        _save_and_report(plots.prediction_grid(predictions=predictions), out / "predictions")
        _save_and_report(plots.mistakes(predictions=predictions), out / "mistakes")
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))


@app.command()
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
    _need_plots()
    from digitrec import datasets
    from digitrec import report as reporting

    if handwriting is None and os.environ.get("DIGITREC_HANDWRITING"):
        handwriting = Path(os.environ["DIGITREC_HANDWRITING"])
    try:
        written = reporting.report(run, out, data_dir, handwriting)
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    typer.echo(f"wrote {written}")


def _print_comparison(rows) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="runs compared")
    for column in ("run", "model", "params", "epochs", "train s", "val acc", "test acc"):
        table.add_column(column, justify="left" if column in ("run", "model") else "right")
    for row in rows:
        table.add_row(Path(row["run"]).name, row["model"], f"{row['parameters']:,}",
                      f"{row['epochs']:g}", f"{row['training_seconds']:.0f}",
                      "-" if row["validation_accuracy"] is None
                      else f"{row['validation_accuracy']:.2%}", f"{row['test_accuracy']:.2%}")
    Console().print(table)


@app.command()
def compare(
    runs: List[Path] = typer.Argument(..., help="Run folders."),
    out: Path = typer.Option(Path("plots"), help="Folder for the validation-curves plot."),
) -> None:
    """Compare runs: a table of their figures, and their validation curves in one plot.

    The table: model, parameters, epochs, training time, validation and test accuracy.
    """
    _need_plots()
    from digitrec import plots
    from digitrec import report as reporting

    try:
        rows = reporting.compare(runs)
        figure = plots.compare(runs)
    except ValueError as error:
        fail(str(error))
    _print_comparison(rows)
    _save_and_report(figure, out / "compare")


@app.command()
def tutorial(
    out: Path = typer.Option(Path("runs/tutorial"), help="Folder for the runs (one per model)."),
    epochs: Optional[float] = typer.Option(None, help="Epochs for every model (default: each "
                                                    "recipe's; 1 gives a quick tour)."),
    train_limit: Optional[int] = typer.Option(None, help="Train on only the first N images."),
    models_to_train: List[str] = typer.Option(
        ["softmax", "mlp", "mlp-dropout", "cnn-small", "cnn", "cnn-deep", "robust"], "--model",
        help="Models, in order (repeatable; default: the tutorials' progression, then ours)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Train the tutorials' progression, softmax to MLP to CNN to ours, and compare them.

    softmax (92%), MLP (97%), MLP with dropout and Adam, the CNNs (99%), and digitrec's robust
    model, one after another. Runs already in OUT are reused. With the recipes' epochs this
    takes about half an hour here; --epochs 1 takes a few minutes.
    """
    _need_plots()
    _quiet_tensorflow()
    from digitrec import datasets, plots
    from digitrec import report as reporting

    runs = []
    with _training_errors(ValueError, datasets.DatasetError):
        from digitrec import training
        for name in models_to_train:
            run = out / name
            if not (run / "metrics.json").is_file():
                typer.echo(f"training {name}...")
                training.train(_train_config(None, model=name, epochs=epochs,
                                             train_limit=train_limit, data_dir=data_dir), run,
                               verbose=1 if sys.stdout.isatty() else 0)
            runs.append(run)
        rows = reporting.compare(runs)
    _print_comparison(rows)
    _save_and_report(plots.compare(runs), out / "compare")


@app.command()
def tune(
    trials: int = typer.Option(20, help="Configurations to try."),
    epochs: int = typer.Option(5, help="The most epochs a trial trains (ASHA stops bad ones "
                                       "sooner)."),
    model: str = typer.Option("cnn", help="Model to tune (one taking filters, dense units and "
                                          "dropout)."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    train_limit: Optional[int] = typer.Option(None, help="Train each trial on only the first N "
                                                         "images."),
    seed: int = typer.Option(0, help="Seeds the sampler and the trials."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT (default: "
                                                     "$RAY_ADDRESS, else this machine)."),
    workers: Optional[int] = typer.Option(None, help="Local Ray workers (default: all cores)."),
    out: Path = typer.Option(Path("runs/tune"), help="Folder of the search; an existing one is "
                                                     "resumed."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Search hyperparameters with Ray Tune, Optuna and ASHA early stopping; resumable.

    The space: filters, dense units, dropout, learning rate, batch size, optimizer and
    augmentation strength. Running the same command again resumes the search in OUT.
    """
    _need_plots()
    _quiet_tensorflow()
    from digitrec import datasets

    try:
        from digitrec import tuning
        rows = tuning.tune(trials, epochs, out, model, dataset, train_limit, seed, address,
                           workers, str(data_dir) if data_dir is not None else None)
    except ImportError as error:
        missing_extra("tuning", "train,scale", error)
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} trials, best first")
    columns = ["trial", "val_accuracy", "epochs", *tuning.SPACE]
    headers = {"val_accuracy": "val acc", "dense_units": "dense", "learning_rate": "lr",
               "batch_size": "batch", "augment_strength": "augment", "optimizer": "opt"}
    for column in columns:
        table.add_column(headers.get(column, column), justify="right")
    for row in rows:
        table.add_row(*[("-" if row[column] is None else f"{row[column]:.2%}")
                        if column == "val_accuracy" else
                        (f"{row[column]:.3g}" if isinstance(row[column], float)
                         else str(row[column])) for column in columns])
    Console().print(table)
    _save_and_report(tuning.plot_trials(rows), out / "trials")
    failed = [row for row in rows if row["status"] == "error"]
    if failed:
        typer.echo(f"{len(failed)} of {len(rows)} trials failed; the first: {failed[0]['error']}",
                   err=True)
        if len(failed) == len(rows):
            raise typer.Exit(1)
    if (out / "best.json").is_file():
        typer.echo(f"best configuration: {out / 'best.json'}; train it with: "
                   f"digitrec train --config {out / 'best.json'}")


@app.command("plot-image")
def plot_image(
    image: Path = typer.Argument(..., help="An image of one digit."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    out: Optional[Path] = typer.Option(None, help="File to write, without suffix (default: "
                                                  "IMAGE-explained in the current folder)."),
) -> None:
    """Draw a person's image, the 28x28 image the model saw, and the ten probabilities."""
    _need_plots()
    from digitrec import imaging, plots

    try:
        figure = plots.explain(image, model)
    except (ValueError, imaging.ImageError) as error:
        fail(str(error))
    _save_and_report(figure, out if out is not None else Path(f"{image.stem}-explained"))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every "
                                                "interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
) -> None:
    """Serve the web page (/) and the HTTP API (/v1, documented at /docs)."""
    try:
        from digitrec import server
    except ImportError as error:
        missing_extra("serving", "serve", error)
    try:
        server.serve(host, port, model)
    except ValueError as error:
        fail(str(error))


if __name__ == "__main__":
    app()
