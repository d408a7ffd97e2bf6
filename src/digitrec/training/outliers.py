"""Non-digit images for outlier exposure: what the model learns to answer "unsure" to."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from digitrec import datasets, imaging

OUTLIERS = 12_000  # non-digit images added with outlier exposure, at most 20% of the digits


def scribbles(count: int, seed: int = 0) -> np.ndarray:
    """Random scribbles: tangles of 10 to 16 random pen strokes, and random filled shapes.

    Returns:
        (count, 28, 28) uint8, white on black, placed in MNIST's format by
        :func:`digitrec.imaging.center_in_28x28`.
    """
    generator = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        canvas = np.zeros((112, 112), np.float32)
        points = generator.uniform(8, 104, (generator.integers(10, 17), 2)).astype(np.int32)
        if index % 3 == 2:
            cv2.fillPoly(canvas, [points[:generator.integers(3, 7)]], 1.0)
        else:
            cv2.polylines(canvas, [points], False, 1.0, int(generator.integers(3, 12)),
                          cv2.LINE_AA)
        images[index] = np.round(imaging.center_in_28x28(canvas) * 255)
    return images


def touching_pairs(digits: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Two digits side by side, touching or overlapping by up to 4 pixels, in MNIST's format.

    Not one digit: trained as outliers, they teach the model to doubt a piece of a written number
    that holds two digits, which is what lets :mod:`digitrec.imaging.segmentation` choose its
    cuts by recognition.

    Args:
        digits: (N, 28, 28) uint8 MNIST-format digits to pair up.

    Returns:
        (count, 28, 28) uint8.
    """
    generator = np.random.default_rng(seed)
    pairs = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        left, right = digits[generator.choice(len(digits), 2, replace=False)]
        left, right = imaging.crop_to_ink(left / 255.0), imaging.crop_to_ink(right / 255.0)
        overlap = min(int(generator.integers(0, 5)), left.shape[1] - 1, right.shape[1] - 1)
        height = max(len(left), len(right))
        canvas = np.zeros((height, left.shape[1] + right.shape[1] - overlap), np.float32)
        canvas[height - len(left):, :left.shape[1]] = left
        joined = canvas[height - len(right):, left.shape[1] - overlap:]
        np.maximum(joined, right, out=joined)
        pairs[index] = np.round(imaging.center_in_28x28(canvas) * 255)
    return pairs


def outlier_images(count: int, seed: int = 0, data_dir: str | None = None,
                   digits: np.ndarray | None = None) -> np.ndarray:
    """Non-digits for outlier exposure (D. Hendrycks, M. Mazeika, T. Dietterich, "Deep Anomaly
    Detection with Outlier Exposure", ICLR 2019): Fashion-MNIST *training* images and
    :func:`scribbles`, put through digitrec's image pipeline as a user's photo would be, and,
    given ``digits``, :func:`touching_pairs` of them; in equal parts. Fashion-MNIST's *test*
    images are never used, so they stay a fair measurement.

    Returns:
        (count, 28, 28) uint8, white on black.
    """
    parts = 3 if digits is not None else 2
    (fashion, _), _ = datasets.load("fashion-mnist", data_dir)
    chosen = np.random.default_rng(seed).choice(len(fashion), count // parts, replace=False)
    clothes = []
    for image in fashion[chosen]:
        try:
            clothes.append(np.round(imaging.to_mnist(Image.fromarray(image)) * 255))
        except imaging.ImageError:
            continue
    outliers = [np.array(clothes, np.uint8).reshape(-1, 28, 28)]
    if digits is not None:
        outliers.append(touching_pairs(digits, count // parts, seed))
    outliers.append(scribbles(count - sum(map(len, outliers)), seed))
    return np.concatenate(outliers)
