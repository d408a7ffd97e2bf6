"""Recognition of many files: worker processes, the model run on batches, answers in order.

``digitrec predict`` and ``digitrec read`` answer folders of any size through :func:`answers`: the
files are cut into chunks of :data:`CHUNK` paths (:data:`READ_CHUNK` for read); each process (this
one, and ``jobs - 1`` workers of Python's ``concurrent.futures.ProcessPoolExecutor``) holds one
:class:`~digitrec.recognizer.Recognizer` and answers a chunk at a time (decoding and pre-processing
each file, then the model once on the chunk); the answers come back in the input's order as soon as
they are ready. This process answers a chunk whenever the next answers to write are not ready
(while the workers start, and when they fall behind), so no core waits. At most a few chunks per
worker are in flight, so memory does not grow with the number of files. With one job, or no more
files than two chunks, everything runs in this process (no start-up cost).
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from digitrec import answers as answer_types
from digitrec import imaging

CHUNK = 64  # files per task of predict: enough to batch the model, few enough to share out
READ_CHUNK = 8  # files per task of read (20 ms or so each, one model call per line anyway)
IN_FLIGHT = 4  # chunks queued per worker: enough that it never waits for this process, few
# enough that little is left to the workers alone at the end (docs/bulk.md)
AHEAD = 16  # chunks this process may answer itself while the workers' next one is not ready
WINDOW = 4096  # files per task on a Ray cluster (see _ray_answers)

_recognizer = None  # each worker process's own Recognizer (set by _start_worker)
_start_error: Exception | None = None  # why a worker's Recognizer could not be loaded


def default_jobs() -> int:
    """The number of CPU cores this process may use (its affinity; all cores elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def answers(files: Iterable[tuple[Path, imaging.ImageError | None]], task: str,
            model=None, reader=None, jobs: int = 1, explain: bool = False,
            address: str | None = None, digits: int | None = None
            ) -> Iterator[tuple[Path, dict]]:
    """Answers each file, in order.

    Args:
        files: ``(path, error)`` pairs as :func:`digitrec.imaging.image_files` gives them; a
            path with an error is answered with it, not read.
        task: "predict" (:meth:`Recognizer.recognize`: a DigitAnswer, NoDigitAnswer or
            ErrorAnswer) or "read" (:meth:`Recognizer.read`: a NumberAnswer, or an ErrorAnswer
            for a file that cannot be read).
        model, reader: as for :meth:`digitrec.recognizer.Recognizer.load` (``reader`` is not
            loaded for "predict", which does not use it).
        jobs: processes answering, this one included (1: this process alone); with
            ``address``, Recognizer actors on the cluster (0: one per CPU of the cluster).
        explain: for "predict", each answer also holds the 28x28 ``model_input``.
        address: a Ray cluster (``ray://HEAD:10001``, or "auto" for the one this machine is
            part of): the work runs there on Ray Data, one Recognizer per actor; the files'
            paths must be readable on every machine (a shared folder), as must ``model`` and
            ``reader`` when given.
        digits: for "read", the number of digits each number has (see
            :meth:`digitrec.recognizer.Recognizer.read`).

    Yields:
        ``(path, answer)`` for each file, in the order of ``files``.

    Raises:
        ValueError: the model or reader cannot be loaded, an unknown ``task``, or ``digits``
            that :meth:`digitrec.recognizer.Recognizer.read` refuses.
    """
    if task not in ("predict", "read"):
        raise ValueError(f"task must be predict or read, got {task!r}")
    if jobs < (0 if address else 1):
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    from digitrec.recognizer import SEGMENTATION, check_digits

    if task == "predict":
        reader = SEGMENTATION
    else:
        check_digits(digits, reader == SEGMENTATION)
    options = {"explain": explain} if task == "predict" else {"digits": digits}
    if address:
        _start_worker(model, reader)  # the model's errors are raised here, before any work
        return _ray_answers(files, task, model, reader, jobs, options, address)
    chunks = _chunks(files, CHUNK if task == "predict" else READ_CHUNK)
    head = [chunk for chunk in (next(chunks, None), next(chunks, None)) if chunk is not None]
    pool = first = None
    if jobs > 1 and len(head) == 2:
        # Spawned workers: a fresh interpreter each, never a fork of this one's ONNX Runtime
        # threads. The first is given work now, so that it starts while this process loads.
        pool = ProcessPoolExecutor(jobs - 1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_pool_worker, initargs=(model, reader))
        first = pool.submit(_answer_chunk_list, head.pop(0), task, options)
    try:
        _start_worker(model, reader)  # the model's errors are raised here, before any work
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is None:
        return _answers_here(_chain(head, chunks), task, options)
    return _answers_shared(pool, first, _chain(head, chunks), task, options, jobs - 1)


def _answers_here(chunks: Iterator[list], task: str, options: dict
                  ) -> Iterator[tuple[Path, dict]]:
    for chunk in chunks:
        yield from _answer_chunk(chunk, task, options)


def _answers_shared(pool: ProcessPoolExecutor, first: Future, chunks: Iterator[list], task: str,
                    options: dict, workers: int) -> Iterator[tuple[Path, dict]]:
    """The answers of ``first`` and ``chunks``, in order, from the pool's ``workers`` and this
    process: each worker has up to :data:`IN_FLIGHT` chunks queued, and when they are all
    busy and the next answers to write are not ready, this process answers the next chunk
    itself (at most :data:`AHEAD` chunks ahead), rather than wait."""
    pending: collections.deque[Future | list] = collections.deque([first])
    try:
        for chunk in chunks:
            while pending and _ready(pending[0]):
                yield from _result(pending.popleft())
            queued = sum(isinstance(item, Future) for item in pending)
            if queued < workers * IN_FLIGHT:
                pending.append(pool.submit(_answer_chunk_list, chunk, task, options))
            elif len(pending) < workers * IN_FLIGHT + AHEAD:
                pending.append(list(_answer_chunk(chunk, task, options)))
            else:  # the next answers are a worker's, still running: wait for them
                yield from _result(pending.popleft())
                pending.append(pool.submit(_answer_chunk_list, chunk, task, options))
        while pending:
            yield from _result(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ready(item: Future | list) -> bool:
    return not isinstance(item, Future) or item.done()


def _result(item: Future | list) -> list[tuple[Path, dict]]:
    return item.result() if isinstance(item, Future) else item


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def _chunks(files: Iterable[tuple[Path, imaging.ImageError | None]], size: int
            ) -> Iterator[list]:
    chunk = []
    for item in files:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _start_worker(model, reader) -> None:
    """Loads this process's Recognizer (a worker's initializer), with one thread for OpenCV and
    one for ONNX Runtime, as a worker process among others should (and so that every process
    computes alike, whatever the jobs)."""
    global _recognizer
    import cv2

    from digitrec import onnx_models
    from digitrec.recognizer import Recognizer

    cv2.setNumThreads(1)
    onnx_models.THREADS = 1
    _recognizer = Recognizer.load(model, reader=reader)


def _start_pool_worker(model, reader) -> None:
    """A pool worker's initializer: :func:`_start_worker`, whose error is kept for the worker's
    tasks to raise (the process that made the pool reports it; a failing initializer would
    print a traceback and break the pool)."""
    global _start_error
    try:
        _start_worker(model, reader)
    except Exception as error:
        _start_error = error


def _answer_chunk_list(chunk, task: str, options: dict) -> list[tuple[Path, dict]]:
    if _start_error is not None:
        raise _start_error
    return list(_answer_chunk(chunk, task, options))


def _answer_chunk(chunk: list[tuple[Path, imaging.ImageError | None]], task: str,
                  options: dict) -> Iterator[tuple[Path, dict]]:
    """The answers for one chunk, in order: the model runs once on its readable images.
    ``options``: the keyword arguments of the task's method (``explain``, ``digits``)."""
    readable = [path for path, error in chunk if error is None]
    if task == "predict":
        found = iter(_recognizer.recognize(readable, **options) if readable else [])
    for path, error in chunk:
        if error is not None:
            yield path, answer_types.error(str(error))
        elif task == "predict":
            yield path, next(found)
        else:
            try:
                yield path, _recognizer.read(path, **options)
            except imaging.ImageError as image_error:
                yield path, answer_types.error(str(image_error))


class RecognizerActor:
    """A Ray Data actor answering batches of files with its own Recognizer: the rows' ``path``
    and ``error`` ("" for a file to read) in, each answer as JSON (``answer``) out."""

    def __init__(self, task: str, model, reader, options: dict):
        _start_worker(model, reader)  # one CPU per actor
        self.task, self.options = task, options

    def __call__(self, batch: dict) -> dict:
        chunk = [(_path(path), imaging.ImageError(error) if error else None)
                 for path, error in zip(batch["path"], batch["error"])]
        answered = [answer for _, answer in _answer_chunk(chunk, self.task, self.options)]
        for answer in answered:
            if "model_input" in answer:
                answer["model_input"] = answer["model_input"].tolist()
        return {"path": batch["path"], "answer": [json.dumps(answer) for answer in answered]}


def _ray_answers(files, task: str, model, reader, jobs: int, options: dict, address: str
                 ) -> Iterator[tuple[Path, dict]]:
    """:func:`answers` on a Ray cluster. Ray Data does not run through Ray Client (ray://), so
    each window of :data:`WINDOW` files is answered by a task on the cluster that runs the Ray
    Data pipeline (:func:`_answer_window`); the next window is under way while this one is
    written out, and memory holds two windows at most."""
    import numpy as np
    import ray

    for attempt in range(3):
        if ray.is_initialized():
            break
        try:
            # Through Ray Client the workers' logs stay on the cluster anyway.
            ray.init(address=address, **({} if address.startswith("ray://") else
                                         {"log_to_driver": False}))
        except ConnectionError:
            # The head starts a Ray Client server for each connection; on a loaded head that
            # start can fail once.
            if attempt == 2:
                raise
            time.sleep(2)
    actors = jobs or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # The coordinating task takes no CPU: the actors need them all.
    window_task = ray.remote(num_cpus=0)(_answer_window)
    options = {"task": task, "model": str(model) if model else None,
               "reader": str(reader) if reader else None, "options": options}
    windows = _windows(files)
    pending = [window_task.remote(window, actors, options) for window in
               [next(windows, None)] if window]
    while pending:
        window = next(windows, None)
        if window:
            pending.append(window_task.remote(window, actors, options))
        for path, text in ray.get(pending.pop(0)):
            answer = json.loads(text)
            if "model_input" in answer:
                answer["model_input"] = np.asarray(answer["model_input"], dtype=np.float32)
            yield _path(path), answer


def _path(path: str) -> Path | str:
    """A path as :func:`digitrec.imaging.image_files` gives it: a Path, or a URI's str."""
    return path if imaging.is_uri(path) else Path(path)


def _windows(files) -> Iterator[list[dict]]:
    window = []
    for path, error in files:
        window.append({"path": str(path), "error": str(error) if error else ""})
        if len(window) == WINDOW:
            yield window
            window = []
    if window:
        yield window


def _answer_window(rows: list[dict], actors: int, options: dict) -> list[tuple[str, str]]:
    """One window of files answered on the cluster with Ray Data: ``actors``
    :class:`RecognizerActor` (one Recognizer each) over batches of :data:`CHUNK` rows, in the
    rows' order. Returns (path, answer as JSON) for each row."""
    import logging

    import ray

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-window chatter on stderr
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    answered = ray.data.from_items(rows).map_batches(
        RecognizerActor, batch_size=CHUNK, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(actors, -(-len(rows) // CHUNK))),
        fn_constructor_kwargs=options)
    return [(row["path"], row["answer"]) for row in answered.iter_rows()]
