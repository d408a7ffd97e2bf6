"""Real handwriting: accuracy of three image pipelines, reading numbers, rejection, speed.

    DIGITREC_DATA=../shared/data python benchmarks/handwriting.py [--model RUN]
        [--reference-kernels]

Prints one markdown table, measured with one model (default: the shipped one) on
``../shared/handwriting``:

- pipelines compared on single digits:
  - tutorial: the tutorials' own-image code, the whole image resized to 28x28 (and inverted for
    user_digits; USPS and optdigits are already white on black, so resized only);
  - foundation: digitrec's first pipeline (``to_mnist(clean=False, deskew_slant=False)``);
  - digitrec: the full pipeline (digit components, deskew);
- user_digits (never trained on, never tuned on) by group;
- USPS and optdigits: the *holdout* half of each training file (the shipped model trains on the
  other half; see ``digitrec.datasets.load_folder``);
- ORAND-CAR-A cheque amounts, holdout half: exact strings by ``Recognizer.read``, against naive
  "one connected component = one digit" segmentation, and per-digit accuracy on the annotated
  digit boxes;
- multi_digit canvas numbers: exact strings;
- MNIST test accuracy;
- rejection: MNIST test digits answered "unsure" or "no digit" (false rejections), and
  Fashion-MNIST test images answered so (correct rejections); both through the pipeline, as a
  user's file would be, and again drawn dark on white at 112x112, as a photo of each would be;
- speed: milliseconds per image, in process, for ``predict`` (one user_digits file at a time,
  decoding and preprocessing included) and ``read`` (one ORAND file at a time).

``--reference-kernels`` runs the model on ONNX Runtime's reference kernels (graph optimisation
off) instead of this CPU's fastest: for an int8 model, the figures of a CPU whose integer
products are exact (VNNI), whatever this CPU is. The two tables must agree (docs/speed.md).
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import datasets, imaging, onnx_models
from digitrec.recognizer import Recognizer

from inference import HANDWRITING  # benchmarks/inference.py, beside this script


def tutorial_pipeline(path: Path, invert: bool) -> np.ndarray:
    """The tutorials' code: Image.open(path).convert("L").resize((28, 28)), then / 255."""
    digit = np.asarray(Image.open(path).convert("L").resize((28, 28)), dtype=np.float32) / 255
    return 1 - digit if invert else digit


def pipeline_accuracies(recognizer, paths, labels, invert: bool) -> dict:
    """{pipeline: accuracy}; an image a pipeline finds blank counts as wrong."""
    results = {}
    results["tutorial"] = float(np.mean(recognizer.predict(
        np.stack([tutorial_pipeline(path, invert) for path in paths])) == labels))
    for name, options in (("foundation", dict(clean=False, deskew_slant=False)),
                          ("digitrec", {})):
        correct = 0
        for path, label in zip(paths, labels):
            try:
                correct += recognizer.predict(imaging.load_digit(path, **options))[0] == label
            except imaging.ImageError:
                pass
        results[name] = correct / len(labels)
    return results


def labelled_paths(folder: Path, part: str):
    """Rows of labels.csv (all, or the holdout half as load_folder splits it), paths, labels
    (labels as numbers: single digits, or the digits of a string)."""
    chosen = set(datasets.folder_files(folder, part))
    with open(folder / "labels.csv") as file:
        rows = [row for row in csv.DictReader(file) if row["filename"] in chosen]
    return (rows, [folder / row["filename"] for row in rows],
            np.array([int(row["label"]) for row in rows]))


def naive_read(recognizer, path: Path) -> str:
    """One connected component = one digit, left to right (the baseline segmentation)."""
    ink = imaging.extract_ink(imaging.to_grey(imaging.open_image(path)))
    count, labels, stats, mass = imaging.ink_components(ink)
    order = sorted((label for label in range(1, count) if mass[label] >= 0.02 * mass[1:].sum()),
                   key=lambda label: stats[label, 0])
    if not order:
        return ""
    digits = np.stack([imaging.center_in_28x28(ink * (labels == label)) for label in order])
    return "".join(map(str, recognizer.predict(digits)))


def orand(recognizer) -> dict:
    folder = HANDWRITING / "orand_car_a"
    rows, _, _ = labelled_paths(folder, "holdout")
    exact = naive = 0
    started = time.perf_counter()
    for row in rows:
        exact += recognizer.read(folder / row["filename"])["text"] == row["label"]
    read_ms = (time.perf_counter() - started) / len(rows) * 1000
    for row in rows:
        naive += naive_read(recognizer, folder / row["filename"]) == row["label"]
    digit_images, digit_labels = datasets.load_folder(folder, "holdout")
    per_digit = float(np.mean(recognizer.predict(digit_images) == digit_labels))
    return {"strings": len(rows), "exact": exact / len(rows), "naive": naive / len(rows),
            "per_digit": per_digit, "digits": len(digit_labels), "read_ms": read_ms}


def rejection(recognizer, images: np.ndarray, photo: bool = False) -> float:
    """Fraction of 28x28 images, put through the pipeline as files would be, not answered "ok";
    ``photo``: each drawn dark on white at 112x112 (bicubic), as a photo of the thing would be."""
    def picture(image: np.ndarray) -> Image.Image:
        if photo:
            return Image.fromarray(255 - image).resize((112, 112), Image.Resampling.BICUBIC)
        return Image.fromarray(image)

    answers = recognizer.recognize([picture(image) for image in images])
    return float(np.mean([answer["status"] != "ok" for answer in answers]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="run folder (default: the shipped model)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--reference-kernels", action="store_true",
                        help="run the model on ONNX Runtime's reference kernels")
    arguments = parser.parse_args()
    recognizer = Recognizer.load(arguments.model)
    kernels = "this CPU's fastest kernels"
    if arguments.reference_kernels:
        recognizer.session_ = onnx_models.session(recognizer.model_path_, optimized=False)
        kernels = "ONNX Runtime's reference kernels"
    print(f"model: {recognizer.model_path_.parent} "
          f"(confidence threshold {recognizer.threshold_:.3f}), {kernels}, "
          f"{onnx_models.cpu_name()}\n")

    rows = []
    user_rows, user_paths, user_labels = labelled_paths(HANDWRITING / "user_digits", "all")
    for group in ("photo", "drawing", "small_28x28"):
        chosen = [index for index, row in enumerate(user_rows) if row["group"] == group]
        result = pipeline_accuracies(recognizer, [user_paths[i] for i in chosen],
                                     user_labels[chosen], invert=True)
        rows.append((f"user_digits {group}", len(chosen), result))
    for name in ("usps", "optdigits"):
        _, paths, labels = labelled_paths(HANDWRITING / name, "holdout")
        rows.append((f"{name} (holdout half)", len(labels),
                     pipeline_accuracies(recognizer, paths, labels, invert=False)))

    print("| row | images | tutorial | foundation | digitrec |")
    print("|---|---:|---:|---:|---:|")
    for name, count, result in rows:
        print(f"| {name} | {count} | {result['tutorial']:.1%} | {result['foundation']:.1%} "
              f"| {result['digitrec']:.1%} |")

    cheques = orand(recognizer)
    print(f"| ORAND-CAR-A (holdout half), exact amounts | {cheques['strings']} "
          f"| naive segmentation {cheques['naive']:.1%} | | {cheques['exact']:.1%} |")
    print(f"| ORAND-CAR-A (holdout half), per digit (annotated boxes) | {cheques['digits']} "
          f"| | | {cheques['per_digit']:.1%} |")
    with open(HANDWRITING / "multi_digit" / "labels.csv") as file:
        numbers = list(csv.DictReader(file))
    read_right = sum(recognizer.read(HANDWRITING / "multi_digit" / row["filename"])["text"]
                     == row["label"] for row in numbers)
    print(f"| multi_digit, exact numbers | {len(numbers)} | | | {read_right}/{len(numbers)} |")

    _, (x_test, y_test) = datasets.load("mnist", arguments.data_dir)
    _, (fashion_test, _) = datasets.load("fashion-mnist", arguments.data_dir)
    print(f"| MNIST test accuracy | {len(y_test)} | | | "
          f"{np.mean(recognizer.predict(x_test) == y_test):.2%} |")
    print(f"| rejection: MNIST test answered unsure/no digit (lower is better) | {len(x_test)} "
          f"| | | {rejection(recognizer, x_test):.2%} |")
    print(f"| rejection: Fashion-MNIST test answered unsure/no digit (higher is better) "
          f"| {len(fashion_test)} | | | {rejection(recognizer, fashion_test):.2%} |")
    for name, images, better in (("MNIST", x_test, "lower"),
                                 ("Fashion-MNIST", fashion_test, "higher")):
        print(f"| rejection, as photos (dark on white, 112 px): {name} test ({better} is "
              f"better) | {len(images)} | | | {rejection(recognizer, images, photo=True):.2%} |")

    recognizer.recognize(user_paths[:5])  # warm up
    started = time.perf_counter()
    for path in user_paths:
        recognizer.recognize(path)
    predict_ms = (time.perf_counter() - started) / len(user_paths) * 1000
    print(f"| speed: predict, ms per user_digits file | {len(user_paths)} | | | "
          f"{predict_ms:.1f} |")
    print(f"| speed: read, ms per ORAND file | {cheques['strings']} | | | "
          f"{cheques['read_ms']:.1f} |")


if __name__ == "__main__":
    main()
