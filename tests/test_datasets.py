import dataclasses
import gzip
import http.server
import shutil
import threading
from functools import partial

import numpy as np
import pytest

from digitrec import datasets


def test_mnist_loads_with_documented_shapes_and_counts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    # Counts and first labels as the data's README documents them.
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert x_train.max() == 255 and x_train[0, 0, 0] == 0  # white ink on a black background


def test_fashion_mnist_loads(data_dir):
    (x_train, y_train), (x_test, y_test) = datasets.load("fashion-mnist", data_dir, download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_test).tolist() == [1000] * 10


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.tobytes())


def test_read_idx_round_trips_a_small_file(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "small-idx3-ubyte.gz", array)
    assert np.array_equal(datasets.read_idx(tmp_path / "small-idx3-ubyte.gz"), array)


@pytest.mark.parametrize("damage", ["truncated_gzip", "not_gzip", "bad_magic", "short_data",
                                    "long_data", "empty"])
def test_read_idx_rejects_damaged_files_with_a_clear_error(tmp_path, data_dir, damage):
    original = data_dir / "mnist" / datasets.TEST_LABELS
    path = tmp_path / datasets.TEST_LABELS
    if damage == "truncated_gzip":
        path.write_bytes(original.read_bytes()[:2000])
    elif damage == "not_gzip":
        path.write_bytes(b"<html>404 Not Found</html>")
    elif damage == "bad_magic":
        with gzip.open(path, "wb") as file:
            file.write(b"\x12\x34\x08\x01" + (10).to_bytes(4, "big") + bytes(10))
    elif damage == "short_data":
        _write_idx(path, np.zeros(10, np.uint8))
        data = gzip.decompress(path.read_bytes())
        path.write_bytes(gzip.compress(data[:-3]))
    elif damage == "long_data":
        _write_idx(path, np.zeros(10, np.uint8))
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"extra"))
    elif damage == "empty":
        path.write_bytes(b"")
    with pytest.raises(datasets.DatasetError) as error:
        datasets.read_idx(path)
    assert str(path) in str(error.value)


def test_wrong_checksum_is_refused(tmp_path, data_dir, monkeypatch):
    folder = tmp_path / "mnist"
    shutil.copytree(data_dir / "mnist", folder)
    # A valid IDX file, but not the original: one label changed.
    labels = datasets.read_idx(folder / datasets.TEST_LABELS).copy()
    labels[0] = (labels[0] + 1) % 10
    _write_idx(folder / datasets.TEST_LABELS, labels)
    monkeypatch.setenv("DIGITREC_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(datasets.DatasetError, match="MD5"):
        datasets.load("mnist", tmp_path, download=False)


def test_search_order_explicit_dir_then_environment_then_cache(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DIGITREC_DATA", str(data_dir))
    explicit = tmp_path / "explicit"
    assert datasets.data_dirs(explicit) == [explicit, data_dir, tmp_path / "cache" / "digitrec"]
    # Files missing from the explicit folder are found through DIGITREC_DATA.
    paths = datasets.find_files("mnist", explicit, download=False)
    assert paths[datasets.TEST_IMAGES] == data_dir / "mnist" / datasets.TEST_IMAGES


def test_missing_files_offline_say_what_is_needed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITREC_DATA")
    # No network: every mirror refuses at once.
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(
        datasets.DATASETS["mnist"], mirrors=("http://127.0.0.1:9/",)))
    with pytest.raises(datasets.DatasetError) as error:
        datasets.find_files("mnist", tmp_path / "empty")
    message = str(error.value)
    assert "DIGITREC_DATA" in message and datasets.TRAIN_IMAGES in message
    assert not list((tmp_path / "cache").rglob("*.part"))  # nothing half-written left behind


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server standing in for a dataset mirror (loopback only)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *arguments: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_verifies_checksum_and_writes_into_the_cache(tmp_path, data_dir, mirror,
                                                               monkeypatch):
    served, address = mirror
    for filename in datasets.DATASETS["mnist"].md5:
        shutil.copy(data_dir / "mnist" / filename, served / filename)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITREC_DATA")
    # The first mirror is down; the second serves the real files.
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(
        datasets.DATASETS["mnist"], mirrors=("http://127.0.0.1:9/", address)))
    paths = datasets.find_files("mnist")
    cache = tmp_path / "cache" / "digitrec" / "mnist"
    assert paths[datasets.TEST_LABELS] == cache / datasets.TEST_LABELS
    assert datasets.file_md5(paths[datasets.TRAIN_IMAGES]) == "f68b3c2dcbeaaa9fbdd348bbdeb94873"


def test_download_of_a_corrupt_file_is_refused_and_not_kept(tmp_path, mirror, monkeypatch):
    served, address = mirror
    for filename in datasets.DATASETS["mnist"].md5:
        (served / filename).write_bytes(b"corrupt")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITREC_DATA")
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(
        datasets.DATASETS["mnist"], mirrors=(address,)))
    with pytest.raises(datasets.DatasetError, match="checksum"):
        datasets.find_files("mnist")
    assert not [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(datasets.DatasetError, match="fashion-mnist"):
        datasets.find_files("emnist")


def test_validation_split_is_stratified_disjoint_and_seeded(mnist):
    (x_train, y_train), _ = mnist
    (x_a, y_a), (x_v, y_v) = datasets.train_validation_split(x_train, y_train, 0.1, seed=3)
    assert len(x_a) + len(x_v) == 60000 and abs(len(x_v) - 6000) <= 10  # rounded per class
    counts = np.bincount(y_v) / np.bincount(y_train)
    assert np.allclose(counts, 0.1, atol=0.001)
    (_, y_b), (x_w, _) = datasets.train_validation_split(x_train, y_train, 0.1, seed=3)
    assert np.array_equal(x_v, x_w) and np.array_equal(y_a, y_b)
    with pytest.raises(ValueError):
        datasets.train_validation_split(x_train, y_train, 1.5)


def test_register_numbers_are_split_by_register_never_by_image():
    import csv

    from conftest import HANDWRITING

    folder = HANDWRITING / "register_numbers"
    with open(folder / "labels.csv") as file:
        register = {row["filename"]: row["register"] for row in csv.DictReader(file)}
    fit, holdout = (datasets.folder_files(folder, part) for part in ("fit", "holdout"))
    assert sorted(fit + holdout) == sorted(register)
    fit_registers = {register[name] for name in fit}
    holdout_registers = {register[name] for name in holdout}
    assert not fit_registers & holdout_registers
    assert len(fit_registers) == len(set(register.values())) // 2


def test_digit_boxes_give_each_strings_digits_in_order(tmp_path):
    """ORAND-CAR-A's digit boxes, by file: their digits, by position, are the file's label."""
    from conftest import HANDWRITING

    folder = HANDWRITING / "orand_car_a"
    boxes = datasets.digit_boxes(folder)
    labels = {path.relative_to(folder).as_posix(): label
              for path, label in datasets.folder_numbers(folder)}
    assert len(boxes) == len(labels) == 604
    for name, rows in boxes.items():
        assert "".join(str(digit) for _, digit, _ in sorted(rows)) == labels[name]
        assert all(len(box) == 4 and box[2] > 0 and box[3] > 0 for _, _, box in rows)
    with pytest.raises(datasets.DatasetError, match="no digit_boxes.csv"):
        datasets.digit_boxes(tmp_path)
