"""Embarrassingly parallel work on Ray: cross-validation folds, and the members of an ensemble.
(Hyperparameter searches run on Ray Tune: :mod:`digitrec.tuning`.)

Ray runs locally by default, on every core of this machine; with ``address`` (or the
``RAY_ADDRESS`` environment variable) the same code runs on a cluster, ``ray://HOST:PORT``.
The cluster's machines need digitrec installed (``pip install 'digitrec[train,scale]'``) and
the datasets (``DIGITREC_DATA``); results come back to this machine, which writes the files.

Start a cluster (see https://docs.ray.io/en/latest/cluster/getting-started.html)::

    ray start --head --port 6379 --ray-client-server-port 10001     # on the head machine
    ray start --address HEAD:6379                                     # on each other machine
    digitrec cv --model cnn --folds 4 --parallel --address ray://HEAD:10001
"""

from __future__ import annotations

import os

import ray

from digitrec import datasets, onnx_models, run_folder
from digitrec.training import cross_validation
from digitrec.training.config import TrainConfig


def connect(address: str | None = None, workers: int | None = None) -> None:
    """Connects to Ray: the cluster at ``address`` or ``$RAY_ADDRESS``, else a local instance
    with ``workers`` CPUs (default: all of this machine's)."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    # Workers inherit where the data is, as an absolute path: they run in folders of their own.
    runtime_env = {"env_vars": {key: os.environ[key] for key in ("KERAS_BACKEND",
                                                                  "TF_CPP_MIN_LOG_LEVEL")
                                if key in os.environ}}
    if os.environ.get("DIGITREC_DATA"):
        runtime_env["env_vars"]["DIGITREC_DATA"] = absolute(os.environ["DIGITREC_DATA"])
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
                 runtime_env=runtime_env, log_to_driver=False)


def absolute(path: str | None) -> str | None:
    """A path made absolute against this process's working directory (Ray's workers run in
    other folders); None stays None."""
    return os.path.abspath(os.path.expanduser(path)) if path is not None else None


def for_workers(config: TrainConfig) -> TrainConfig:
    """The configuration with its paths (data, extra data) made absolute, for Ray's workers."""
    import dataclasses

    return dataclasses.replace(config, data_dir=absolute(config.data_dir),
                               extra_data=tuple(absolute(folder)
                                                for folder in config.extra_data))


@ray.remote(num_cpus=1)
def _run_fold(config, x_train, y_train, parts, fold):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per task
    return cross_validation.run_fold(config, x_train, y_train, parts, fold, verbose=0)


def cross_validate(config: TrainConfig, folds: int = 4, out=None,
                   address: str | None = None, workers: int | None = None) -> dict:
    """:func:`digitrec.training.cross_validation.cross_validate`, each fold a Ray task (one
    CPU each).

    Returns:
        The same summary; files are written by this process.
    """
    config = for_workers(config.resolved())
    (x_train, y_train), _ = datasets.load(config.dataset, config.data_dir)
    if config.train_limit is not None:
        x_train, y_train = x_train[:config.train_limit], y_train[:config.train_limit]
    parts = datasets.stratified_folds(y_train, folds, config.seed)
    connect(address, workers)
    images, labels = ray.put(x_train), ray.put(y_train)
    results = ray.get([_run_fold.remote(config, images, labels, parts, fold)
                       for fold in range(folds)])
    return cross_validation.summarize_folds(config, results, out)


@ray.remote(num_cpus=1)
def _train_member(config) -> bytes:
    """Trains one run on a worker and returns its folder as a tar archive (the worker's disk may
    be another machine's)."""
    import io
    import tarfile
    import tempfile

    import tensorflow as tf

    from digitrec.training.train import train

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per task
    with tempfile.TemporaryDirectory() as folder:
        run = train(config, os.path.join(folder, "run"), verbose=0)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(run, arcname=".")
        return buffer.getvalue()


def train_members(configs, outs, address: str | None = None, workers: int | None = None) -> None:
    """Trains one run per configuration as Ray tasks, writing each to its folder in ``outs``."""
    import io
    import tarfile

    connect(address, workers)
    archives = ray.get([_train_member.remote(for_workers(config)) for config in configs])
    for archive, out in zip(archives, outs):
        os.makedirs(out)
        with tarfile.open(fileobj=io.BytesIO(archive)) as members:
            members.extractall(out, filter="data")


def train_ensemble(config: TrainConfig, members: int, out: str | os.PathLike,
                   address: str | None = None, workers: int | None = None) -> str | os.PathLike:
    """:func:`digitrec.training.train.train_ensemble`, each member a Ray task (one CPU each).

    Raises:
        ValueError: fewer than two members, a bad configuration, or ``out`` exists.
    """
    from digitrec.training.train import ensemble_members

    configs, names = ensemble_members(config, members)
    with run_folder.creating_folder(out) as building:
        train_members(configs, [building / name for name in names], address, workers)
        onnx_models.write_ensemble([building / name for name in names], names, building,
                                   config.data_dir)
    return out
