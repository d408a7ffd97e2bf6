"""What the command line's modules share: one-line errors, the messages for missing extras,
the help text of --data-dir, TensorFlow kept quiet, and figures saved and reported."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import typer

DATA_DIR_HELP = "Folder holding mnist/ and fashion-mnist/ IDX files (default: $DIGITREC_DATA, " \
                "then ~/.cache/digitrec, downloading there if missing)."


def text_or_none(path: Path | None) -> str | None:
    """An optional path as the library's functions take it."""
    return str(path) if path is not None else None


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
def training_errors(*expected: type[Exception]):
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


def quiet_tensorflow() -> None:
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


def need_plots() -> None:
    """Ends the command, naming the plots extra, if matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        missing_extra("drawing pictures", "plots", error)


def save_and_report(figure, path: Path) -> None:
    """Saves a figure as PATH.png and PATH.svg, says so, and shows it where there is a display."""
    from digitrec import plots

    for written in plots.save(figure, path):
        typer.echo(f"wrote {written}")
    plots.show(figure)
