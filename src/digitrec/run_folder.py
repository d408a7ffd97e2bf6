"""A run folder: the names of its files, reading its JSON records with errors that name the
file, writing safely (to a temporary file beside the target, renamed into place when complete,
so that an interrupted write never leaves a half-written file or destroys an existing one), and
finding an ensemble's members.

What each record holds: :mod:`digitrec.training.train` (a trained run),
:func:`digitrec.onnx_models.ensemble` and :func:`digitrec.onnx_models.quantize`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

MODEL = "model.onnx"  # the model, for ONNX Runtime (every run)
KERAS_MODEL = "model.keras"  # the trained Keras model (trained runs)
CONFIG = "config.json"  # the configuration that made the run
METRICS = "metrics.json"  # test figures, sizes, times, versions
HISTORY = "history.json"  # per-epoch training figures (trained runs)
REJECTION = "rejection.json"  # the "unsure" threshold (recipes with outlier exposure)
SUMMARY = "summary.txt"  # Keras' model summary (trained runs)
# Fields every run's metrics.json holds (written by training, ensembles and int8 copies alike).
METRICS_FIELDS = ("model", "parameters", "epochs", "training_seconds", "test_accuracy")
READER_FIELDS = ("validation_exact", "training_strings")  # in a number reader's metrics.json


@contextlib.contextmanager
def replacing(target: str | os.PathLike, overwrite: bool = True):
    """Yields a temporary path beside ``target``; when the block ends without an error, the file
    written there becomes ``target`` (permissions 0644, as a normally created file).

    Args:
        target: the file to create.
        overwrite: whether an existing ``target`` may be replaced; if not, FileExistsError is
            raised rather than replacing it (also when it appears while writing).

    Raises:
        FileExistsError: ``target`` exists and ``overwrite`` is False.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".part")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        if overwrite:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # fails, rather than replaces, if target exists
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextlib.contextmanager
def creating_folder(target: str | os.PathLike):
    """Yields a temporary folder beside ``target``; when the block ends without an error, it
    becomes ``target`` (permissions 0755). On an error it is removed, so that an interrupted
    run leaves no half-made folder.

    Raises:
        ValueError: ``target`` exists already (it is never replaced).
    """
    import shutil

    target = Path(target)
    if target.exists():
        raise ValueError(f"{target} exists already; choose another folder (runs are never "
                         "overwritten)")
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield building
        os.chmod(building, 0o755)
        os.rename(building, target)  # fails, rather than replacing, if target appeared meanwhile
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def read_record(run: str | os.PathLike, name: str, required: bool = True,
                keys: tuple[str, ...] = ()) -> dict:
    """A run folder's JSON record: ``config.json``, ``metrics.json``, ``history.json`` or
    ``rejection.json`` (see :mod:`digitrec.training.train` for what each holds).

    Args:
        run: the run folder.
        name: the file's name in it.
        required: whether a missing file is an error; if not, a missing file reads as ``{}``.
        keys: fields the caller needs; a record (file present) without one is an error.

    Returns:
        The record, a dict.

    Raises:
        ValueError: the file is missing (and required), cannot be read, is not JSON or is not a
            JSON object, or lacks one of ``keys``; the message names the file and the fields.
    """
    path = Path(run) / name
    record = _parsed(run, name, required)
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a run's record (a JSON object is expected)")
    missing = [key for key in keys if key not in record]
    if missing:
        refuse_number_reader(run, record)
        raise ValueError(f"{path}: lacks {', '.join(missing)}; was it made by an older or "
                         "another program? Re-make the run with `digitrec train`")
    return record


def _parsed(run: str | os.PathLike, name: str, required: bool):
    """The JSON in the run folder's file ``name``: {} for a missing file not ``required``;
    ValueError, naming the file, for a missing one that is, or one that is not JSON."""
    path = Path(run) / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        if not required:
            return {}
        raise ValueError(f"{run}: not a run folder (no {name}); give a folder made by "
                         "`digitrec train`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as JSON ({error})") from None


def read_history(run: str | os.PathLike) -> dict:
    """A run folder's ``history.json`` as one list per figure (``{}`` without the file): a
    digit model's as Keras writes it (``loss``, ``accuracy``, ``val_loss``, ...), a number
    reader's list of epochs (``{"epoch", "loss", "validation_exact"}`` each) turned into
    ``epoch``, ``loss`` and ``validation_exact`` lists.

    Raises:
        ValueError: a file that is not JSON, nor an object or a list of epochs.
    """
    record = _parsed(run, HISTORY, required=False)
    if isinstance(record, list) and record and all(
            isinstance(epoch, dict) and "epoch" in epoch for epoch in record):
        return {key: [epoch.get(key) for epoch in record] for key in record[0]}
    if not isinstance(record, dict):
        raise ValueError(f"{Path(run) / HISTORY}: not a run's history (a JSON object, or a "
                         "list of epochs, is expected)")
    return record


def is_number_reader(metrics: dict) -> bool:
    """Whether ``metrics`` (a run folder's metrics.json, or ``{}``) is a number reader's
    (made by ``digitrec train-reader``: it holds :data:`READER_FIELDS`)."""
    return all(key in metrics for key in READER_FIELDS)


def refuse_number_reader(run: str | os.PathLike, metrics: dict) -> None:
    """Raises ValueError, saying where it belongs, where ``metrics`` is a number reader's
    (:func:`is_number_reader`): for commands that take a digit model's run."""
    if is_number_reader(metrics):
        raise ValueError(f"{run}: a number reader's run (made by `digitrec train-reader`), not "
                         "a digit model's: give it to `digitrec read --reader`; this takes a "
                         "run folder made by `digitrec train`")


def write_record(folder: str | os.PathLike, name: str, record: dict | list) -> None:
    """Writes ``record`` as ``folder/name``, indented JSON, through :func:`replacing` (into a
    folder being built by :func:`creating_folder`, or over an existing file, safely)."""
    with replacing(Path(folder) / name) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")


def ensemble_members(run: str | os.PathLike) -> list[Path]:
    """The run folders of an ensemble's members that are still on disk ([] for other folders).

    An ensemble's ``config.json`` names its members as ``digitrec train --ensemble`` wrote them
    (inside the ensemble's folder: ``members/seed-K``) or as they were given to ``digitrec
    ensemble`` (relative to the folder it ran in); each is looked for there, then beside the
    ensemble's folder.
    """
    run = Path(run)
    members = []
    for name in read_record(run, CONFIG, required=False).get("members", []):
        candidates = [run / name, Path(name), run.parent / Path(name).name]
        found = next((folder for folder in candidates if (folder / METRICS).is_file()), None)
        if found is not None:
            members.append(found)
    return members
