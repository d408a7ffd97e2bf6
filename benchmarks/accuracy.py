"""Accuracy of a model on MNIST's test set and on real handwriting, next to the tutorials' pipeline.

    DIGITREC_DATA=../shared/data python benchmarks/accuracy.py [--model RUN] [--handwriting DIR]

Prints one table: MNIST test accuracy, and accuracy on each group of
``../shared/handwriting/user_digits`` (photo, drawing, small_28x28) for two pipelines:

- tutorial: what the Keras tutorials do with "your own image": ``Image.open(path).convert("L")``,
  resize the whole image to 28x28, invert (255 - x), divide by 255;
- digitrec: :func:`digitrec.imaging.load_digit` (MNIST's own normalisation, see that module).

An image that digitrec finds blank counts as wrong.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import datasets, imaging
from digitrec.recognizer import Recognizer

HANDWRITING = Path(__file__).resolve().parents[1].parent / "shared" / "handwriting"


def tutorial_pipeline(path: Path) -> np.ndarray:
    """The tutorials' own-image code: whole image to 28x28 grey, inverted, in [0, 1]."""
    image = Image.open(path).convert("L").resize((28, 28))
    return (255 - np.asarray(image, dtype=np.float32)) / 255.0


def user_digits_accuracy(recognizer: Recognizer, folder: Path) -> dict[str, dict[str, float]]:
    """{group: {pipeline: accuracy}} over ``folder/labels.csv``."""
    rows = list(csv.DictReader(open(folder / "labels.csv")))
    correct = defaultdict(lambda: defaultdict(int))
    counts = defaultdict(int)
    for row in rows:
        path, label, group = folder / row["filename"], int(row["label"]), row["group"]
        counts[group] += 1
        correct[group]["tutorial"] += int(recognizer.predict(tutorial_pipeline(path))[0] == label)
        try:
            digit = imaging.load_digit(path)
        except imaging.ImageError:
            continue
        correct[group]["digitrec"] += int(recognizer.predict(digit)[0] == label)
    return {group: {pipeline: correct[group][pipeline] / counts[group]
                    for pipeline in ("tutorial", "digitrec")} | {"images": counts[group]}
            for group in sorted(counts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="run folder (default: the shipped model)")
    parser.add_argument("--handwriting", type=Path, default=HANDWRITING)
    parser.add_argument("--data-dir", default=None)
    arguments = parser.parse_args()

    recognizer = Recognizer.load(arguments.model)
    _, (x_test, y_test) = datasets.load("mnist", arguments.data_dir)
    started = time.perf_counter()
    mnist_accuracy = float((recognizer.predict(x_test) == y_test).mean())
    print(f"model: {recognizer.model_path_}")
    print(f"MNIST test accuracy: {mnist_accuracy:.2%} "
          f"({len(x_test)} images in {time.perf_counter() - started:.2f} s)\n")
    results = user_digits_accuracy(recognizer, arguments.handwriting / "user_digits")
    print("| user_digits group | images | tutorial pipeline | digitrec pipeline |")
    print("|---|---:|---:|---:|")
    for group, result in results.items():
        print(f"| {group} | {result['images']} | {result['tutorial']:.1%} "
              f"| {result['digitrec']:.1%} |")


if __name__ == "__main__":
    main()
