"""MNIST and Fashion-MNIST from their original IDX files: finding, checking, reading, splitting.

The IDX format is described on Yann LeCun's MNIST page (http://yann.lecun.com/exdb/mnist/): a
4-byte magic number (two zero bytes, a type code, the number of dimensions), one big-endian uint32
per dimension, then the data. MNIST and Fashion-MNIST store unsigned bytes (type code 0x08).

Where the files are looked for, in this order:
1. the ``data_dir`` argument (``--data-dir`` on the command line);
2. the ``DIGITREC_DATA`` environment variable;
3. ``~/.cache/digitrec/``.

Each holds one folder per dataset, named as in :data:`DATASETS` (``mnist/``, ``fashion-mnist/``),
with the four files under their standard names. Missing files are downloaded into the cache from
the datasets' public mirrors, their MD5 checked before they are put in place.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DatasetError(ValueError):
    """A dataset file is missing, damaged or not what it should be."""


@dataclass(frozen=True)
class DatasetInfo:
    """Where a dataset comes from and what its files must hash to."""

    name: str
    class_names: tuple[str, ...]
    md5: dict[str, str]
    mirrors: tuple[str, ...]
    citation: str


TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

DATASETS = {
    "mnist": DatasetInfo(
        name="mnist",
        class_names=tuple(str(digit) for digit in range(10)),
        # MD5s of the original files (as published with the torchvision and TensorFlow loaders).
        md5={
            TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
            TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
            TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
        },
        mirrors=(
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
        ),
        citation="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, 'Gradient-based learning applied to "
        "document recognition', Proc. IEEE 86(11), 1998.",
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        # MD5s from the Fashion-MNIST README (github.com/zalandoresearch/fashion-mnist).
        md5={
            TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
            TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
            TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
        },
        mirrors=(
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        citation="H. Xiao, K. Rasul, R. Vollgraf, 'Fashion-MNIST: a Novel Image Dataset for "
        "Benchmarking Machine Learning Algorithms', arXiv:1708.07747, 2017.",
    ),
}

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def cache_dir() -> Path:
    """The download cache, ``~/.cache/digitrec`` (``$XDG_CACHE_HOME/digitrec`` where that is
    set)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "digitrec"


def data_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for dataset files, in order: ``data_dir``, ``$DIGITREC_DATA``, cache."""
    folders = []
    if data_dir is not None:
        folders.append(Path(data_dir).expanduser())
    if os.environ.get("DIGITREC_DATA"):
        folders.append(Path(os.environ["DIGITREC_DATA"]).expanduser())
    folders.append(cache_dir())
    return folders


def file_md5(path: str | os.PathLike) -> str:
    """The MD5 of a file's bytes, as 32 lower-case hex digits."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file, gzipped (``.gz``) or not, into an array.

    Args:
        path: the file.

    Returns:
        An array with the shape and dtype the header declares: for MNIST images (N, 28, 28) uint8
        in 0..255, for labels (N,) uint8 in 0..9.

    Raises:
        DatasetError: the file is missing, not gzip where named ``.gz``, truncated, has a bad magic
            number or an unknown type code, or holds more or fewer bytes than its header declares.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: cannot be decompressed ({error}); the file is damaged or "
                           "truncated: delete it and download it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (its magic number does not start with two "
                           "zero bytes)")
    type_code, dimensions = data[2], data[3]
    if type_code not in _IDX_TYPES or not 1 <= dimensions <= 4:
        raise DatasetError(f"{path}: not an IDX file (type code 0x{type_code:02x}, "
                           f"{dimensions} dimensions)")
    header_size = 4 + 4 * dimensions
    if len(data) < header_size:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dimensions))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        raise DatasetError(f"{path}: header declares shape {shape} ({expected} bytes of data) but "
                           f"the file holds {actual}; it is truncated or damaged")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _download(info: DatasetInfo, filename: str, destination: Path) -> None:
    """Fetches one file from the first mirror that answers, checks its MD5, renames it in place."""
    from digitrec import run_folder

    errors = []
    for mirror in info.mirrors:
        try:
            with run_folder.replacing(destination) as temporary:
                with open(temporary, "wb") as file, \
                        urllib.request.urlopen(mirror + filename, timeout=30) as response:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        file.write(chunk)
                if file_md5(temporary) != info.md5[filename]:
                    raise DatasetError("checksum mismatch")
            return
        except Exception as error:  # noqa: BLE001 - any failure means: try the next mirror
            errors.append(f"{mirror}: {error}")
    raise DatasetError("; ".join(errors))


def find_files(name: str = "mnist", data_dir: str | os.PathLike | None = None,
               download: bool = True) -> dict[str, Path]:
    """Locates (and, where missing, downloads) a dataset's four IDX files and checks their MD5s.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        data_dir: a folder holding ``<name>/<file>``, searched before ``$DIGITREC_DATA`` and the
            cache.
        download: whether to fetch missing files into the cache.

    Returns:
        A mapping from each standard file name to its path.

    Raises:
        DatasetError: an unknown name; a file whose MD5 is wrong; files that are missing and could
            not be downloaded (the message names them and how to point ``DIGITREC_DATA`` at them).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    info = DATASETS[name]
    folders = data_dirs(data_dir)
    paths = {}
    for filename, md5 in info.md5.items():
        found = next((folder / name / filename for folder in folders
                      if (folder / name / filename).is_file()), None)
        if found is None and download:
            found = cache_dir() / name / filename
            try:
                _download(info, filename, found)
            except DatasetError as error:
                searched = ", ".join(str(folder / name) for folder in folders)
                raise DatasetError(
                    f"{name}: {filename} was not found in {searched} and could not be downloaded "
                    f"({error}). Put the four files {', '.join(info.md5)} in a folder "
                    f"DIR/{name}/ and set DIGITREC_DATA=DIR (or pass --data-dir DIR).") from None
        if found is None:
            raise DatasetError(f"{name}: {filename} not found in "
                               f"{', '.join(str(folder / name) for folder in folders)}")
        actual = file_md5(found)
        if actual != md5:
            raise DatasetError(f"{found}: MD5 is {actual}, expected {md5}; the file is damaged or "
                               "not the original: delete it and download it again")
        paths[filename] = found
    return paths


def load(name: str = "mnist", data_dir: str | os.PathLike | None = None, download: bool = True):
    """Loads a dataset as Keras' ``keras.datasets.mnist.load_data()`` does, from checked IDX files.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        data_dir: see :func:`find_files`.
        download: whether missing files may be downloaded into the cache.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images (N, 28, 28) uint8 in 0..255, ink white on
        black; labels (N,) uint8 in 0..9. N is 60,000 for training and 10,000 for test.

    Raises:
        DatasetError: see :func:`find_files` and :func:`read_idx`; also images and labels that
            disagree in number, or images that are not 28x28.
    """
    paths = find_files(name, data_dir, download)
    splits = []
    for images_file, labels_file in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, labels = read_idx(paths[images_file]), read_idx(paths[labels_file])
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
            raise DatasetError(f"{paths[images_file]}: expected (N, 28, 28) images and (N,) "
                               f"labels, got {images.shape} and {labels.shape}")
        if len(images) != len(labels):
            raise DatasetError(f"{paths[images_file]}: {len(images)} images but "
                               f"{len(labels)} labels")
        splits.append((images, labels))
    return splits[0], splits[1]


def checksum(name: str = "mnist") -> dict[str, str]:
    """The MD5 of each of a dataset's files (the values every loaded file was checked against)."""
    return dict(DATASETS[name].md5)


def train_validation_split(images: np.ndarray, labels: np.ndarray, validation_split: float,
                           seed: int = 0):
    """Splits a training set into training and validation parts, stratified by class.

    Args:
        images: (N, ...) array.
        labels: (N,) integer class labels.
        validation_split: the fraction of each class held out, in [0, 1).
        seed: seeds the shuffle; the same seed gives the same split.

    Returns:
        ``(x_train, y_train), (x_validation, y_validation)``, each part shuffled.

    Raises:
        ValueError: ``validation_split`` outside [0, 1).
    """
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    generator = np.random.default_rng(seed)
    train_index, validation_index = [], []
    for label in np.unique(labels):
        members = generator.permutation(np.flatnonzero(labels == label))
        held_out = int(round(len(members) * validation_split))
        validation_index.append(members[:held_out])
        train_index.append(members[held_out:])
    train_index = generator.permutation(np.concatenate(train_index))
    validation_index = generator.permutation(np.concatenate(validation_index))
    return ((images[train_index], labels[train_index]),
            (images[validation_index], labels[validation_index]))


def load_folder(folder: str | os.PathLike, part: str = "all"):
    """Loads a folder of real handwritten digits in MNIST's format, through digitrec's pipeline.

    The folder holds ``labels.csv`` (``filename,label``, one digit per image), or, for digit
    strings such as ORAND-CAR cheque amounts, ``digit_boxes.csv`` (``filename,position,digit,x,y,
    w,h``: one row per digit). Every image (or box) goes through
    :func:`digitrec.imaging.to_mnist`, as it would at recognition; those found blank are skipped.

    Args:
        folder: the folder.
        part: ``"fit"`` (the first half of its files, see :func:`folder_files`),
            ``"holdout"`` (the second half) or ``"all"``. Training uses ``"fit"`` and
            measurements ``"holdout"``, so that no image is both trained and measured on: a
            string's digit boxes are in the half its whole string is measured in.

    Returns:
        ``(images, labels)``: (N, 28, 28) uint8 in 0..255, white ink on black; (N,) uint8.

    Raises:
        DatasetError: no ``labels.csv`` or ``digit_boxes.csv``, or an unknown ``part``.
    """
    import csv

    from digitrec import imaging

    folder = Path(folder)
    chosen = set(folder_files(folder, part))
    boxes_file, labels_file = folder / "digit_boxes.csv", folder / "labels.csv"
    if boxes_file.is_file():
        rows = [(filename, digit, box) for filename, boxes in digit_boxes(folder).items()
                for _, digit, box in boxes]
    elif labels_file.is_file():
        with open(labels_file) as file:
            rows = [(row["filename"], int(row["label"]), None) for row in csv.DictReader(file)
                    if len(row["label"]) == 1]
    else:
        raise DatasetError(f"{folder}: holds neither labels.csv nor digit_boxes.csv")
    images, labels, opened = [], [], {}
    for filename, label, box in rows:
        if filename not in chosen:
            continue
        try:
            if filename not in opened:
                opened = {filename: imaging.open_image(folder / filename)}
            image = opened[filename]
            if box is not None:
                x, y, w, h = box
                image = image.crop((x, y, x + w, y + h))
            digit = imaging.to_mnist(image)
        except imaging.ImageError:
            continue
        images.append(np.round(digit * 255).astype(np.uint8))
        labels.append(label)
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    return np.stack(images), np.array(labels, dtype=np.uint8)


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Splits indices into ``folds`` disjoint parts with each class spread evenly across them.

    Args:
        labels: (N,) integer class labels.
        folds: the number of parts K, 2 <= K <= the smallest class's size.
        seed: seeds the shuffle within each class.

    Returns:
        K arrays of indices into ``labels``; together they hold every index exactly once.

    Raises:
        ValueError: K out of range.
    """
    counts = np.bincount(labels)
    if not 2 <= folds <= counts[counts > 0].min():
        raise ValueError(f"folds must be between 2 and {counts[counts > 0].min()}, got {folds}")
    generator = np.random.default_rng(seed)
    parts = [[] for _ in range(folds)]
    for label in np.unique(labels):
        members = generator.permutation(np.flatnonzero(labels == label))
        for fold, chunk in enumerate(np.array_split(members, folds)):
            parts[fold].append(chunk)
    return [np.sort(np.concatenate(part)) for part in parts]



def digit_boxes(folder: str | os.PathLike) -> dict[str, list[tuple[int, int, tuple]]]:
    """The digit boxes of a folder of digit strings (``digit_boxes.csv``:
    ``filename,position,digit,x,y,w,h``, one row per digit, such as ORAND-CAR-A's): for each
    file, in the order the file lists them, its ``(position, digit, (x, y, w, h))`` rows in that
    order; position 0 is the string's first digit, the box in the image's pixels.

    Raises:
        DatasetError: the folder has no ``digit_boxes.csv``.
    """
    import csv

    path = Path(folder) / "digit_boxes.csv"
    if not path.is_file():
        raise DatasetError(f"{folder}: no digit_boxes.csv (filename,position,digit,x,y,w,h)")
    boxes: dict[str, list[tuple[int, int, tuple]]] = {}
    with open(path) as file:
        for row in csv.DictReader(file):
            boxes.setdefault(row["filename"], []).append(
                (int(row["position"]), int(row["digit"]),
                 tuple(int(row[key]) for key in ("x", "y", "w", "h"))))
    return boxes


def folder_files(folder: str | os.PathLike, part: str = "all") -> list[str]:
    """The image files of a folder of real handwriting in ``part`` (see :func:`load_folder`),
    relative to the folder: in ``digit_boxes.csv``'s order where there is one (a folder of digit
    strings lists its strings' digits there, and the strings in ``labels.csv`` in another
    order), then those listed only in ``labels.csv``. Training takes its digits, and the
    benchmarks their strings, from these halves, so that no string is both trained and
    measured on (ORAND-CAR-A's labels.csv lists them in another order: its first half holds 166
    of the held-out amounts). A ``labels.csv`` with a ``register`` column (numbers cut from
    registers, each written by one clerk) is split by register, never by image: the first half
    of its registers, in the order they first appear, are "fit", the others "holdout".

    Raises:
        DatasetError: no ``labels.csv`` or ``digit_boxes.csv``, neither lists an image, or an
            unknown ``part``.
    """
    import csv

    if part not in ("fit", "holdout", "all"):
        raise DatasetError(f"part must be fit, holdout or all, got {part!r}")
    files, registers = [], {}
    found = [name for name in ("digit_boxes.csv", "labels.csv") if (Path(folder) / name).is_file()]
    for name in found:
        with open(Path(folder) / name) as file:
            for row in csv.DictReader(file):
                files.append(row["filename"])
                if row.get("register"):
                    registers[row["filename"]] = row["register"]
    if registers:
        order = list(dict.fromkeys(registers.values()))
        fit = set(order[:len(order) // 2])
        halves = {"fit": [name for name in registers if registers[name] in fit],
                  "holdout": [name for name in registers if registers[name] not in fit]}
        return halves.get(part, list(registers))
    if not files:
        raise DatasetError(f"{folder}: no image is listed in {' or '.join(found)}; add a "
                           "row filename,label for each" if found else
                           f"{folder}: holds neither labels.csv nor digit_boxes.csv")
    files = list(dict.fromkeys(files))
    half = len(files) // 2
    return {"fit": files[:half], "holdout": files[half:], "all": files}[part]


def folder_numbers(folder: str | os.PathLike, part: str = "all") -> list[tuple[Path, str]]:
    """The written numbers of a folder of real handwriting in ``part`` (see
    :func:`folder_files`): (image path, its label) for each row of its ``labels.csv``, in that
    file's order; the label is the number's digits.

    Raises:
        DatasetError: no ``labels.csv``, or an unknown ``part``.
    """
    import csv

    folder = Path(folder)
    if not (folder / "labels.csv").is_file():
        raise DatasetError(f"{folder}: no labels.csv (filename,label: each image's digits)")
    chosen = set(folder_files(folder, part))
    with open(folder / "labels.csv") as file:
        return [(folder / row["filename"], row["label"]) for row in csv.DictReader(file)
                if row["filename"] in chosen]


def folder_registers(folder: str | os.PathLike) -> dict[Path, str]:
    """The register of each number of a folder whose ``labels.csv`` has a ``register`` column
    (image path -> register name, in the file's order); empty for one without."""
    import csv

    folder = Path(folder)
    with open(folder / "labels.csv") as file:
        return {folder / row["filename"]: row["register"] for row in csv.DictReader(file)
                if row.get("register")}

