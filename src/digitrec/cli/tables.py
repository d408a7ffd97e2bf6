"""The command line's Rich tables: the models, an evaluation, runs compared, tuning trials.

Each takes what a library function returned and prints it; none computes anything. Rich is
imported inside them, as the commands import their libraries.
"""

from __future__ import annotations

import os
from pathlib import Path


def print_models(recipes: dict) -> None:
    """The models that can be trained (``digitrec.training.recipes.RECIPES``), with their
    parameter counts and recipes, then each recipe's source (and network, where it is
    another recipe's)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="digitrec models (input 28x28x1, output 10 logits)")
    table.add_column("name", no_wrap=True)
    for column in ("params", "optimizer", "lr", "batch", "epochs", "tutorial acc."):
        table.add_column(column, justify="right")
    for name, recipe in recipes.items():
        table.add_row(name, f"{recipe.parameters:,}", recipe.optimizer,
                      f"{recipe.learning_rate:g}", str(recipe.batch_size), f"{recipe.epochs:g}",
                      f"{recipe.tutorial_accuracy:.2%}")
    console = Console()
    console.print(table)
    for name, recipe in recipes.items():
        network = "" if recipe.architecture == name else f" ({recipe.architecture} network)"
        console.print(f"{name}{network}: {recipe.source}", highlight=False)


def print_evaluation(result: dict) -> None:
    """What :func:`digitrec.evaluation.evaluate` found: accuracy and loss, the per-class
    figures and the confusion matrix."""
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


def print_reading_evaluation(result: dict) -> None:
    """What :func:`digitrec.evaluation.evaluate_reading` found: the figures, then each number
    not read exactly."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    readers = (f"reader {result['reader'] or 'shipped'}, "
               f"digit model {result['model'] or 'shipped'}"
               + (f", {result['digits']} digits each" if result["digits"] else ""))
    console.print(f"[bold]{result['folder']}[/bold]: {result['numbers']:,} numbers read "
                  f"({readers})")
    console.print(f"exact {result['exact']:.1%}   per digit {result['per_digit']:.1%}   text or "
                  f"alternative {result['text_or_alternative']:.1%}   "
                  f"{result['ms_per_image']:.1f} ms per image")
    precision = result["ok_precision"]
    console.print(f"\"ok\" {result['ok_coverage']:.1%} of them" + (
        f", {precision:.1%} of those right ({result['wrong_ok']} wrong)"
        if precision is not None else ""))
    if not result["mistakes"]:
        return
    mistakes = Table(title="not read exactly")
    for column in ("file", "label", "read", "status", "why"):
        mistakes.add_column(column)
    for mistake in result["mistakes"]:
        mistakes.add_row(os.path.relpath(mistake["path"], result["folder"]), mistake["label"],
                         mistake["text"], mistake["status"],
                         mistake.get("reason") or mistake.get("error") or "")
    console.print(mistakes)


def print_comparison(rows) -> None:
    """Runs side by side, the rows of :func:`digitrec.report.compare`."""
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


def print_trials(rows, space) -> None:
    """A search's trials, best first (the rows of :func:`digitrec.tuning.tune`), with the
    hyperparameters of ``space``."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} trials, best first")
    columns = ["trial", "val_accuracy", "epochs", *space]
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
