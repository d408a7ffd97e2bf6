"""Shared fixtures: the real data beside the repository (../shared, or $DIGITREC_SHARED), never
downloaded."""

import functools
import os
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DIGITREC_SHARED", REPOSITORY.parent / "shared"))
HANDWRITING = SHARED / "handwriting"

# Tests read SHARED/data unless DIGITREC_DATA already points elsewhere.
os.environ.setdefault("DIGITREC_DATA", str(SHARED / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@functools.cache
def ruled_paper():
    """benchmarks/ruled_paper.py, whose pages of ruled and squared paper the tests write on."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ruled_paper", REPOSITORY / "benchmarks" / "ruled_paper.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["DIGITREC_DATA"])
    if not (path / "mnist").is_dir():
        raise RuntimeError(f"MNIST IDX files not found under {path}; set DIGITREC_DATA")
    return path


@pytest.fixture(scope="session")
def mnist(data_dir):
    from digitrec import datasets

    return datasets.load("mnist", data_dir, download=False)


@pytest.fixture(scope="session")
def recognizer():
    from digitrec.recognizer import Recognizer

    return Recognizer.load()


@pytest.fixture(scope="session")
def user_digits() -> list[dict]:
    import csv

    with open(HANDWRITING / "user_digits" / "labels.csv") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        row["path"] = HANDWRITING / "user_digits" / row["filename"]
        row["label"] = int(row["label"])
    return rows


@pytest.fixture
def mnist_digit(mnist) -> np.ndarray:
    """A real MNIST test digit (a 7), (28, 28) uint8, white on black."""
    (_, _), (x_test, y_test) = mnist
    return x_test[0]


@pytest.fixture(scope="session", params=["fast kernels", "reference kernels"])
def any_cpu_recognizer(request):
    """The shipped model with this CPU's fastest ONNX Runtime kernels, then with ONNX Runtime's
    reference kernels (graph optimisation off). A test that asserts one image's exact answer
    with it holds on every CPU: the answer is a fact of the model, not of one CPU's kernels
    (an int8 model whose products saturate without VNNI reads differently on such CPUs)."""
    from digitrec import onnx_models
    from digitrec.recognizer import Recognizer

    recognizer = Recognizer.load()
    if request.param == "reference kernels":
        recognizer.session_ = onnx_models.session(recognizer.model_path_, optimized=False)
    return recognizer
