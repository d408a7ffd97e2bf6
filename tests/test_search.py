"""Cross-validation, hyperparameter search and Ray: small but real runs on MNIST."""

import json
from pathlib import Path

import numpy as np
import pytest

from digitrec import datasets, onnx_models
from digitrec.training import cross_validation
from digitrec.training.config import TrainConfig
from digitrec.training.train import train


def test_folds_are_disjoint_complete_and_stratified(mnist):
    (_, y_train), _ = mnist
    folds = datasets.stratified_folds(y_train, 4, seed=0)
    together = np.concatenate(folds)
    assert len(together) == len(y_train) == len(np.unique(together))  # disjoint and complete
    overall = np.bincount(y_train) / len(y_train)
    for fold in folds:
        assert abs(len(fold) - len(y_train) / 4) <= 10
        assert np.abs(np.bincount(y_train[fold]) / len(fold) - overall).max() < 0.001
    with pytest.raises(ValueError):
        datasets.stratified_folds(y_train, 1)


def test_cross_validation_writes_each_fold(tmp_path, data_dir):
    config = TrainConfig(model="softmax", epochs=1, train_limit=1200,
                                  data_dir=str(data_dir))
    summary = cross_validation.cross_validate(config, folds=3, out=tmp_path / "cv", verbose=0)
    assert [fold["fold"] for fold in summary["folds"]] == [1, 2, 3]
    assert all(abs(fold["validation_images"] - 400) <= 10 for fold in summary["folds"])
    accuracies = [fold["validation_accuracy"] for fold in summary["folds"]]
    assert summary["mean"] == pytest.approx(np.mean(accuracies))
    assert summary["std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert 0.3 < summary["mean"] <= 1.0  # chance is 0.1
    for fold in (1, 2, 3):
        history = json.loads((tmp_path / "cv" / f"fold-{fold}" / "history.json").read_text())
        assert len(history["val_accuracy"]) == 1
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["mean"] == summary["mean"]


@pytest.fixture(scope="module")
def ray_local():
    import ray
    from digitrec import scaling

    scaling.connect(workers=2)
    assert ray.cluster_resources()["CPU"] == 2
    yield
    ray.shutdown()


def test_folds_run_in_parallel_on_ray(ray_local, tmp_path, data_dir):
    from digitrec import scaling

    config = TrainConfig(model="softmax", epochs=1, train_limit=1200,
                                  data_dir=str(data_dir))
    summary = scaling.cross_validate(config, folds=2, out=tmp_path / "cv")
    assert len(summary["folds"]) == 2 and 0.3 < summary["mean"] <= 1.0  # chance is 0.1
    assert (tmp_path / "cv" / "fold-2" / "history.json").is_file()


def test_tune_two_tiny_trials_on_ray_then_resume(ray_local, tmp_path, data_dir):
    from digitrec import tuning

    arguments = dict(trials=2, epochs=2, out=tmp_path / "tune", train_limit=300,
                     data_dir=str(data_dir))
    rows = tuning.tune(**arguments)
    assert len(rows) == 2 and all(row["status"] == "done" for row in rows)
    assert rows[0]["val_accuracy"] >= rows[1]["val_accuracy"]
    assert set(tuning.space("cnn")) <= set(rows[0])
    best = json.loads((tmp_path / "tune" / "best.json").read_text())
    assert best["filters"] == rows[0]["filters"] and best["model"] == "cnn"
    TrainConfig(**{**best, "extra_data": tuple(best["extra_data"])}).resolved()
    # Running it again resumes the stored search: the same trials, not new ones.
    again = tuning.tune(**arguments)
    assert [(row["learning_rate"], row["val_accuracy"]) for row in again] == \
        [(row["learning_rate"], row["val_accuracy"]) for row in rows]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, data_dir):
    folder = tmp_path_factory.mktemp("members")
    return [train(TrainConfig(model="softmax", epochs=1, train_limit=2000,
                                                seed=seed, data_dir=str(data_dir)),
                           folder / f"seed-{seed}", verbose=0) for seed in (0, 1)]


def test_ensemble_averages_its_members_probabilities(two_runs, tmp_path, mnist):
    from digitrec.recognizer import Recognizer

    run = onnx_models.ensemble(two_runs, tmp_path / "ensemble")
    _, (x_test, y_test) = mnist
    members = [Recognizer.load(member).predict_proba(x_test[:500]) for member in two_runs]
    averaged = Recognizer.load(run).predict_proba(x_test[:500])
    assert np.abs(averaged - np.mean(members, axis=0)).max() < 1e-5
    assert not np.allclose(members[0], members[1], atol=1e-3)  # the members do differ
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "ensemble" and len(metrics["members"]) == 2
    accuracy = np.mean(Recognizer.load(run).predict(x_test) == y_test)
    assert metrics["test_accuracy"] == pytest.approx(accuracy)
    with pytest.raises(ValueError, match="at least two"):
        onnx_models.combine_onnx([two_runs[0] / "model.onnx"], tmp_path / "one.onnx")


def test_ensemble_members_train_as_ray_tasks(ray_local, tmp_path, data_dir):
    from digitrec import scaling

    config = TrainConfig(model="softmax", epochs=1, train_limit=1000, data_dir=str(data_dir))
    run = Path(scaling.train_ensemble(config, 2, tmp_path / "ensemble"))
    assert (run / "members" / "seed-0" / "model.onnx").is_file()
    assert (run / "members" / "seed-1" / "metrics.json").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert [member["seed"] for member in metrics["members"]] == [0, 1]
    assert 0.5 < metrics["test_accuracy"] <= 1.0


def test_paths_given_to_ray_workers_are_absolute(tmp_path, monkeypatch):
    # Ray runs tasks and trials in folders of their own: relative paths would point elsewhere.
    from digitrec import scaling

    monkeypatch.chdir(tmp_path)
    config = TrainConfig(data_dir="../data", extra_data=("../handwriting/usps",))
    moved = scaling.for_workers(config)
    assert moved.data_dir == str(tmp_path.parent / "data")
    assert moved.extra_data == (str(tmp_path.parent / "handwriting" / "usps"),)
    assert scaling.absolute(None) is None
