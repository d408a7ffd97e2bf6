"""Commands that recognise: predict (one digit per image), read (a number per image) and serve
(the web page and HTTP API).

Each answer comes from :meth:`digitrec.recognizer.Recognizer.recognize` or
:meth:`~digitrec.recognizer.Recognizer.read`; these commands only print it. They never load
Keras or TensorFlow, so they start in a fraction of a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from digitrec.cli.common import fail, missing_extra

if TYPE_CHECKING:
    from digitrec.answers import DigitAnswer, NumberAnswer


def predict(
    images: List[Path] = typer.Argument(..., help="Image files or folders, searched with "
                                                  "their subfolders (PNG, JPEG, BMP, GIF, "
                                                  "TIFF, WebP, AVIF; HEIC with the heif "
                                                  "extra)."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive",
                                   help="Look in folders' subfolders too."),
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
    for path, error in imaging.image_files(images, recursive):
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


def _answer_line(path: Path, answer: DigitAnswer) -> str:
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
    """An image that could not be read: one JSON line on stdout, or one line on stderr."""
    message = str(error)
    if as_json:
        typer.echo(json.dumps({"path": str(path), "status": "error", "error": message}))
    else:
        typer.echo(message if message.startswith(str(path)) else f"{path}: {message}", err=True)


def read(
    images: List[Path] = typer.Argument(..., help="Images of numbers written as a string of "
                                                  "digits (files or folders, searched with "
                                                  "their subfolders)."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive",
                                   help="Look in folders' subfolders too."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    reader: Optional[str] = typer.Option(None, help="A number reader's run folder (made by "
                                                    "`digitrec train-reader`; default: the "
                                                    "shipped reader), or 'segmentation' to cut "
                                                    "the number into digits for --model."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line: path, text, "
                                                       "status, and each digit's box."),
) -> None:
    """Read a number written as a string of digits: a date, an amount, a meter reading.

    Separators (dots, commas, dashes) and underlines are dropped.
    """
    from digitrec import imaging
    from digitrec.recognizer import Recognizer

    try:
        recognizer = Recognizer.load(model, reader=reader)
    except ValueError as error:
        fail(str(error))
    failed = False
    for path, error in imaging.image_files(images, recursive):
        reading = None
        if error is None:
            try:
                reading = recognizer.read(path)
            except imaging.ImageError as image_error:
                error = image_error
        if reading is not None and reading["status"] == "no_digit" and "reason" in reading:
            error = reading["reason"]  # a blank image: reported as an unreadable one is
        if error is not None:
            failed = True
            _report_error(path, error, as_json)
        else:
            failed |= _print_reading(path, reading, as_json)
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _print_reading(path: Path, reading: NumberAnswer, as_json: bool) -> bool:
    """Prints a number read; returns whether that is a failure (no digit found, in text)."""
    if as_json:
        typer.echo(json.dumps({"path": str(path), **reading}))
        return False
    if reading["status"] == "no_digit":
        typer.echo(f"{path}: no digits found", err=True)
        return True
    confidences = " ".join(f"{digit['digit']}:{digit['confidence']:.0%}"
                           for digit in reading["digits"])
    note = " - unsure of some digits" if reading["status"] == "unsure" else ""
    typer.echo(f"{path}: {reading['text']} ({confidences}){note}")
    return False


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every "
                                                "interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    reader: Optional[str] = typer.Option(None, help="The number reader of /v1/read (as for "
                                                    "`digitrec read --reader`)."),
) -> None:
    """Serve the web page (/) and the HTTP API (/v1, documented at /docs)."""
    try:
        from digitrec import server
    except ImportError as error:
        missing_extra("serving", "serve", error)
    try:
        server.serve(host, port, model, reader)
    except ValueError as error:
        fail(str(error))


def openapi(
    out: Path = typer.Option(Path("docs/openapi.json"), help="File to write (replaced)."),
) -> None:
    """Write the HTTP API's OpenAPI schema, as the server serves it at /openapi.json, to a file
    (clients can be generated from it)."""
    from digitrec import run_folder

    try:
        from digitrec import server
    except ImportError as error:
        missing_extra("serving", "serve", error)
    schema = server.create_app().openapi()
    with run_folder.replacing(out) as temporary:
        temporary.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    typer.echo(f"OpenAPI schema written to {out}")

