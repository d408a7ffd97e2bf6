"""The ``digitrec`` command line: a thin face over datasets, training, evaluation and recognition.

Heavy libraries are imported inside the commands that need them, so that ``digitrec predict``
starts in a fraction of a second and never loads Keras or TensorFlow.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    help="Recognise handwritten digits: train MNIST models, evaluate them, read your own images.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

DATA_DIR_HELP = "Folder holding mnist/ and fashion-mnist/ IDX files (default: $DIGITREC_DATA, " \
                "then ~/.cache/digitrec, downloading there if missing)."


def fail(message: str, code: int = 2) -> None:
    """Prints a one-line error to stderr and exits."""
    typer.echo(f"digitrec: error: {message}", err=True)
    raise typer.Exit(code)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@app.command()
def models() -> None:
    """List the models that can be trained, with their parameter counts and recipes."""
    _quiet_tensorflow()
    try:
        from digitrec import models as registry
    except ImportError as error:
        fail(f"listing models needs the training extra ({error}); "
             "install it with: pip install 'digitrec[train]'")
    from rich.console import Console
    from rich.table import Table

    table = Table(title="digitrec models (input 28x28x1, output 10 logits)")
    table.add_column("name", no_wrap=True)
    for column in ("params", "optimizer", "lr", "batch", "epochs", "tutorial acc."):
        table.add_column(column, justify="right")
    for name, recipe in registry.RECIPES.items():
        table.add_row(name, f"{registry.build(name).count_params():,}", recipe.optimizer,
                      f"{recipe.learning_rate:g}", str(recipe.batch_size), str(recipe.epochs),
                      f"{recipe.tutorial_accuracy:.2%}")
    console = Console()
    console.print(table)
    for name, recipe in registry.RECIPES.items():
        console.print(f"{name}: {recipe.source}", highlight=False)


@app.command()
def train(
    model: str = typer.Option("cnn", help="Model name (see `digitrec models`)."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    epochs: Optional[int] = typer.Option(None, help="Epochs (default: the model's recipe)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size (default: the recipe's)."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, adam or rmsprop (default: the "
                                                       "recipe's)."),
    learning_rate: Optional[float] = typer.Option(None, help="Learning rate (default: the "
                                                             "recipe's)."),
    validation_split: float = typer.Option(0.1, help="Fraction of the training set held out "
                                                     "for validation."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same result on the "
                                     "same machine."),
    train_limit: Optional[int] = typer.Option(None, help="Train on only the first N training "
                                                         "images (for a quick try)."),
    augment: Optional[bool] = typer.Option(None, "--augment/--no-augment",
                                           help="Train on augmented images (default: the "
                                                "recipe's choice)."),
    extra_data: List[Path] = typer.Option([], help="A folder of real handwriting (labels.csv "
                                                   "or digit_boxes.csv) whose first half is "
                                                   "added to training; repeatable."),
    out: Optional[Path] = typer.Option(None, help="Run folder to create (default: "
                                                  "runs/MODEL-DATASET-TIME); never overwritten."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Train a model and write a run folder (model.keras, model.onnx, history, metrics, config)."""
    _quiet_tensorflow()
    from digitrec import datasets

    try:
        from digitrec import training
        config = training.TrainConfig(
            model=model, dataset=dataset, epochs=epochs, batch_size=batch_size,
            optimizer=optimizer, learning_rate=learning_rate, validation_split=validation_split,
            seed=seed, train_limit=train_limit, augment=augment,
            extra_data=tuple(str(folder) for folder in extra_data),
            data_dir=str(data_dir) if data_dir is not None else None)
        # A progress bar on a terminal; one line per epoch in a log file.
        run = training.train(config, out, verbose=1 if sys.stdout.isatty() else 2)
    except ImportError as error:
        fail(f"training needs the training extra ({error}); "
             "install it with: pip install 'digitrec[train]'")
    except (ValueError, datasets.DatasetError, RuntimeError) as error:
        fail(str(error))
    metrics = json.loads((run / "metrics.json").read_text())
    typer.echo(f"run folder: {run}")
    typer.echo(f"test accuracy {metrics['test_accuracy']:.2%}, loss {metrics['test_loss']:.4f}, "
               f"{metrics['training_seconds']:.1f} s training "
               f"({metrics['seconds_per_epoch']:.1f} s per epoch)")


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


@app.command()
def predict(
    images: List[Path] = typer.Argument(..., help="Image files or folders (PNG, JPEG, BMP, GIF, "
                                                  "TIFF, WebP)."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    explain: Optional[Path] = typer.Option(None, help="Save in this folder, for each image, the "
                                                      "28x28 image the model saw (NAME.28x28.png)."),
) -> None:
    """Recognise the digit in each image: the digit, its probability and the runner-up."""
    from digitrec import imaging
    from digitrec.recognizer import Recognizer

    try:
        recognizer = Recognizer.load(model)
        if explain is not None:
            explain.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as error:
        fail(str(error))
    failed = False
    for path, error in imaging.image_files(images):
        seen = None
        if error is None:
            try:
                digit_image = imaging.load_digit(path)
                probabilities = recognizer.predict_proba(digit_image)[0]
                if explain is not None:
                    seen = str(imaging.save_digit(digit_image, explain / f"{path.stem}.28x28.png"))
            except imaging.ImageError as image_error:
                error = image_error
        if error is not None:
            failed = True
            message = str(error)
            if as_json:
                typer.echo(json.dumps({"path": str(path), "error": message}))
            else:
                typer.echo(message if message.startswith(str(path)) else f"{path}: {message}",
                           err=True)
            continue
        ranked = probabilities.argsort()[::-1]
        digit, runner_up = int(ranked[0]), int(ranked[1])
        if as_json:
            answer = {"path": str(path), "digit": digit, "confidence": float(probabilities[digit]),
                      "runner_up": runner_up,
                      "probabilities": [round(float(value), 6) for value in probabilities]}
            if seen is not None:
                answer["model_input"] = seen
            typer.echo(json.dumps(answer))
        else:
            typer.echo(f"{path}: {digit} ({probabilities[digit]:.1%}), runner-up {runner_up} "
                       f"({probabilities[runner_up]:.1%})"
                       + (f", model input {seen}" if seen is not None else ""))
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
