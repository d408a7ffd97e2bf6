"""Test-time augmentation: does averaging over transformed copies of an image help, on validation?

    DIGITREC_DATA=../shared/data python benchmarks/test_time_augmentation.py RUN [RUN...]

For each run folder, rebuilds the run's own validation split (its ``config.json`` seed and
``validation_split``: the images its training never saw and its epoch was chosen on) and counts
the errors of the Recognizer's probabilities on the plain images against their mean over the
images and transformed copies:

- shifts: the image and its four 1-pixel shifts (left, right, up, down), zeros shifted in;
- rotations: the image and its rotations by +8 and -8 degrees about the centre;
- scalings: the image and its scalings by 0.9 and 1.1 about the centre;
- all: the image and all eight copies.

The test set is not read: this is the measure test-time augmentation is chosen by. Prints a
markdown table, one row per run and a total.
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from digitrec import datasets
from digitrec.recognizer import Recognizer

ROTATION_DEGREES = 8
SCALINGS = (0.9, 1.1)


def shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(N, 28, 28) images moved dx pixels right and dy down, zeros shifted in."""
    shifted = np.zeros_like(images)
    height, width = images.shape[1:]
    shifted[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        images[:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return shifted


def rotate_and_scale(images: np.ndarray, degrees: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """(N, 28, 28) uint8 images rotated anticlockwise and scaled about the centre, bilinearly."""
    matrix = cv2.getRotationMatrix2D((13.5, 13.5), degrees, scale)
    return np.stack([cv2.warpAffine(image, matrix, (28, 28), flags=cv2.INTER_LINEAR)
                     for image in images])


VIEWS = {
    "shifts": [lambda x, d=d: shift(x, *d) for d in ((-1, 0), (1, 0), (0, -1), (0, 1))],
    "rotations": [lambda x, d=d: rotate_and_scale(x, d)
                  for d in (ROTATION_DEGREES, -ROTATION_DEGREES)],
    "scalings": [lambda x, s=s: rotate_and_scale(x, 0.0, s) for s in SCALINGS],
}
VIEWS["all"] = VIEWS["shifts"] + VIEWS["rotations"] + VIEWS["scalings"]


def validation_errors(run: Path, x_train: np.ndarray, y_train: np.ndarray) -> dict[str, int]:
    """Errors on ``run``'s own validation split, plain and with each test-time augmentation."""
    config = json.loads((run / "config.json").read_text())
    _, (images, labels) = datasets.train_validation_split(
        x_train, y_train, config["validation_split"], config["seed"])
    recognizer = Recognizer.load(run)
    plain = recognizer.predict_proba(images)
    errors = {"plain": int((plain.argmax(axis=1) != labels).sum())}
    for name, views in VIEWS.items():
        mean = (plain + sum(recognizer.predict_proba(view(images)) for view in views)) / (
            1 + len(views))
        errors[name] = int((mean.argmax(axis=1) != labels).sum())
    errors["images"] = int(len(labels))
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders made by digitrec train")
    arguments = parser.parse_args()
    (x_train, y_train), _ = datasets.load("mnist")
    rows = {str(run): validation_errors(run, x_train, y_train) for run in arguments.runs}
    columns = ["plain", *VIEWS]
    print("| run | validation images | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for run, errors in rows.items():
        print(f"| {run} | {errors['images']:,} | "
              + " | ".join(str(errors[column]) for column in columns) + " |")
    total = {column: sum(errors[column] for errors in rows.values())
             for column in ["images", *columns]}
    print(f"| total | {total['images']:,} | "
          + " | ".join(str(total[column]) for column in columns) + " |")
    print("\nErrors on each run's own validation split (fewer is better).")


if __name__ == "__main__":
    main()
