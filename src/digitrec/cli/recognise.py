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


FORMAT_HELP = ("text, json (one object per line) or csv (path, {key}, confidence, status, "
               "reason, error).")
JOBS_HELP = ("Processes reading the files, this one included (default: this machine's "
             "cores; 1: this process alone); with --address, actors on the cluster (default: "
             "one per CPU).")
ADDRESS_HELP = ("Run on a Ray cluster, ray://HEAD:10001 ('auto': the one this machine is part "
                "of), with Ray Data: the files, and --model, must be readable on every machine "
                "(a shared folder). Needs the scale extra.")
DRAWN_HEIGHT = 200  # pixels: read --explain enlarges smaller images to at least this height


def predict(
    images: List[str] = typer.Argument(..., help="Image files or folders, searched with "
                                                 "their subfolders (PNG, JPEG, BMP, GIF, "
                                                 "TIFF, WebP, AVIF; HEIC with the heif "
                                                 "extra); or their URIs (s3://, gs://: "
                                                 "with the scale extra)."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive",
                                   help="Look in folders' subfolders too."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line (as "
                                                       "--format json)."),
    output_format: str = typer.Option("text", "--format",
                                      help=FORMAT_HELP.format(key="digit")),
    jobs: Optional[int] = typer.Option(None, min=1, help=JOBS_HELP),
    address: Optional[str] = typer.Option(None, help=ADDRESS_HELP),
    explain: Optional[Path] = typer.Option(None, help="Save in this folder, for each image, "
                                                      "the 28x28 image the model saw "
                                                      "(NAME.28x28.png)."),
) -> None:
    """Recognise the digit in each image: the digit, its probability, the runner-up, a status.

    The status is "ok", "unsure" (confidence below the model's calibrated threshold: maybe not a
    digit) or "no_digit" (no ink). Answers come in the order of the files, with a progress bar
    on a terminal. The exit status is 1 if any image could not be read or held no digit.
    """
    from digitrec import imaging

    output_format = _output_format(output_format, as_json)
    try:
        if explain is not None:
            explain.mkdir(parents=True, exist_ok=True)
        files = _outside(imaging.image_files(images, recursive), explain, images)
        answered = _answers(files, "predict", model, None, jobs, explain is not None, address)
    except (ValueError, OSError) as error:
        fail(str(error))
    write = _writer(output_format, "digit")
    failed = False
    for path, answer in _progress(answered, len(files)):
        failed |= answer["status"] in ("no_digit", "error")
        if "model_input" in answer:
            answer["model_input"] = str(imaging.save_digit(
                answer["model_input"], explain / f"{Path(path).stem}.28x28.png"))
        write(path, answer)
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def read(
    images: List[str] = typer.Argument(..., help="Images of numbers written as a string of "
                                                 "digits (files or folders, searched with "
                                                 "their subfolders; or their URIs, s3://, "
                                                 "gs://: with the scale extra)."),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive",
                                   help="Look in folders' subfolders too."),
    model: Optional[Path] = typer.Option(None, help="Run folder or .onnx file (default: the "
                                                    "shipped model)."),
    reader: Optional[str] = typer.Option(None, help="A number reader's run folder (made by "
                                                    "`digitrec train-reader`; default: the "
                                                    "shipped reader), or 'segmentation' to cut "
                                                    "the number into digits for --model."),
    digits: Optional[int] = typer.Option(None, help="The number of digits each number has, "
                                                     "when it is known (a meter reading, a "
                                                     "form's boxes): every reading then has "
                                                     "exactly that many, or none."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line: path, text, "
                                                       "status, and each digit's box (as "
                                                       "--format json)."),
    output_format: str = typer.Option("text", "--format",
                                      help=FORMAT_HELP.format(key="text")),
    jobs: Optional[int] = typer.Option(None, min=1, help=JOBS_HELP),
    address: Optional[str] = typer.Option(None, help=ADDRESS_HELP),
    explain: Optional[Path] = typer.Option(None, help="Save in this folder, for each image, the "
                                                      "image with each digit's box and the "
                                                      "number read (NAME.read.png; boxes to "
                                                      "check in red)."),
) -> None:
    """Read a number written as a string of digits: a date, an amount, a meter reading, or the
    number in a crop of a document (a register's column).

    Separators (dots, commas, dashes) and underlines are dropped. The exit status is 1 if any
    image could not be read or held no digit.
    """
    from digitrec import imaging

    output_format = _output_format(output_format, as_json)
    try:
        if explain is not None:
            explain.mkdir(parents=True, exist_ok=True)
        files = _outside(imaging.image_files(images, recursive), explain, images)
        answered = _answers(files, "read", model, reader, jobs, False, address, digits)
    except (ValueError, OSError) as error:
        fail(str(error))
    write = _writer(output_format, "text")
    failed = False
    for path, reading in _progress(answered, len(files)):
        failed |= reading["status"] in ("no_digit", "error")
        if explain is not None and reading["status"] != "error":
            imaging.save_image(_drawn_reading(imaging.open_image(path), reading),
                               explain / f"{Path(path).stem}.read.png")
        write(path, reading)
    sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _drawn_reading(image, reading: dict):
    """The image (as :func:`digitrec.imaging.open_image` decodes it, enlarged to at least
    :data:`DRAWN_HEIGHT` pixels high) with each digit's box, green where the digit is "ok" and
    red and thicker where it is to check, under the text read and its status; the boxes, in
    the file's pixels, scaled to the drawing's."""
    from PIL import Image, ImageDraw, ImageFont

    from digitrec import imaging

    enlarged = -(-DRAWN_HEIGHT // image.height)  # a cheque 40 pixels high, 5 times
    scale = image.info.get(imaging.DRAFT_SCALE, 1.0) * enlarged
    image = image.convert("RGB").resize((image.width * enlarged, image.height * enlarged),
                                        Image.Resampling.NEAREST)
    size = max(12, min(image.size) // 8)  # the text's height
    canvas = Image.new("RGB", (image.width, image.height + size + 8), "white")
    canvas.paste(image, (0, size + 8))
    draw = ImageDraw.Draw(canvas)
    for digit in reading["digits"]:
        x, y, width, height = (value * scale for value in digit["box"])
        colour, line = ("green", 1 + enlarged // 2) if digit["status"] == "ok" else ("red", 4)
        draw.rectangle([x, y + size + 8, x + width, y + height + size + 8], outline=colour,
                       width=line)
    draw.text((4, 2), f"{reading['text'] or '(no digit)'}  {reading['status']}", fill="black",
              font=ImageFont.load_default(size=size))
    return canvas


def _outside(files, explain: Optional[Path], named):
    """``files`` (:func:`digitrec.imaging.image_files`' pairs) without those a folder in
    ``named`` led to inside the ``--explain`` folder: the images it saved in a folder being
    read are not read as inputs on the next run. A file named on its own is kept."""
    from digitrec import imaging

    if explain is None:
        return files
    drawings = explain.resolve()
    named = {Path(path).resolve() for path in named if not imaging.is_uri(path)}
    return [(path, error) for path, error in files
            if isinstance(path, str) or error is not None or Path(path).resolve() in named
            or drawings not in Path(path).resolve().parents]


def _output_format(output_format: str, as_json: bool) -> str:
    if output_format not in ("text", "json", "csv"):
        fail(f"--format must be text, json or csv, got {output_format!r}")
    return "json" if as_json else output_format


def _answers(files, task: str, model, reader, jobs: Optional[int], explain: bool,
             address: Optional[str], digits: Optional[int] = None):
    """The answers for ``files`` in order (:func:`digitrec.bulk.answers`), on ``jobs`` worker
    processes (default: every core), or on the Ray cluster at ``address``."""
    from digitrec import bulk

    if address:
        try:
            import ray  # noqa: F401 - only to tell a missing extra from other errors
        except ImportError as error:
            missing_extra("a Ray cluster", "scale", error)
    return bulk.answers(files, task, model, reader,
                        jobs or (0 if address else bulk.default_jobs()), explain, address,
                        digits)


def _progress(answered, total: int):
    """The answers, with a progress bar (files per second) on stderr when it is a terminal."""
    if not sys.stderr.isatty() or total < 2:
        yield from answered
        return
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeRemainingColumn

    started = time.perf_counter()
    with Progress(BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("files", total=total)
        for done, item in enumerate(answered, start=1):
            yield item
            rate = done / max(time.perf_counter() - started, 1e-9)
            bar.update(task, advance=1, description=f"files, {rate:,.0f}/s")


def _writer(output_format: str, key: str):
    """A function printing one answer in ``output_format``; ``key`` is the answer's main field
    ("digit" or "text")."""
    if output_format == "json":
        return _print_json
    if output_format == "csv":
        import csv

        table = csv.writer(sys.stdout, lineterminator="\n")
        table.writerow(["path", key, "confidence", "status", "reason", "error"])

        def write_row(path: Path, answer: dict) -> None:
            confidence = answer.get("confidence")  # a number's: the number reader's, as in JSON
            table.writerow([path, "" if answer.get(key) is None else answer[key],
                            "" if confidence is None else f"{confidence:.6f}",
                            answer["status"], answer.get("reason") or "",
                            answer.get("error", "")])
        return write_row
    return _print_answer if key == "digit" else _print_reading


def _print_json(path: Path, answer: dict) -> None:
    if answer["status"] == "error":
        answer = {"status": "error", "error": answer["error"]}
    typer.echo(json.dumps({"path": str(path), **answer}))


def _print_answer(path: Path, answer: DigitAnswer) -> None:
    """A digit's answer as ``digitrec predict`` prints it: errors and blanks on stderr."""
    if answer["status"] in ("error", "no_digit"):
        _print_problem(path, answer)
        return
    probabilities = answer["probabilities"]
    line = (f"{path}: {answer['digit']} ({probabilities[answer['digit']]:.1%}), runner-up "
            f"{answer['runner_up']} ({probabilities[answer['runner_up']]:.1%})")
    if answer["status"] == "unsure":
        line += f" - unsure: {answer['reason']}"
    if "model_input" in answer:
        line += f", model input {answer['model_input']}"
    typer.echo(line)


def _print_problem(path: Path, answer: dict) -> None:
    """A file that could not be read, or holds no digit: one line on stderr, naming it."""
    message = answer.get("error") or answer.get("reason") or f"{path}: no digits found"
    typer.echo(message if message.startswith(str(path)) else f"{path}: {message}", err=True)


def _print_reading(path: Path, reading: NumberAnswer) -> None:
    """A number read, as ``digitrec read`` prints it: errors and blanks on stderr."""
    if reading["status"] in ("error", "no_digit"):
        _print_problem(path, reading)
        return
    confidences = " ".join(f"{digit['digit']}:{digit['confidence']:.0%}"
                           for digit in reading["digits"])
    whole = "" if reading.get("confidence") is None else \
        f"the number at {reading['confidence']:.0%}; "  # none with --reader segmentation
    note = f" - unsure: {reading['reason']}" if reading["status"] == "unsure" else ""
    typer.echo(f"{path}: {reading['text']} ({whole}{confidences}){note}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every "
                                                "interface)."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
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

