"""The paper a synthetic number is written on (:mod:`digitrec.training.synthetic_strings`), as
a scan or photo shows it: an underline, a cheque's printed security background, a form's or
register's ruled lines, paper texture and tint, ink strength, blur, noise and JPEG artefacts.
Keras-free.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def on_paper(ink: np.ndarray, rng, height: int, boxes: np.ndarray, baseline: int) -> np.ndarray:
    """The ink on paper, as a scan or photo shows it: (H, W) uint8.

    Each drawn at random: a pen underline 0.08 to 0.3 heights under the baseline (1 in 5); a
    printed security background (9 in 20, :func:`security_pattern`); ruled lines (1 in 5,
    :func:`ruled_lines`); paper of grey 150 to 250, its brightness varying by up to 12% over
    2 to 8 waves (texture); ink of grey 0 to 110, at least 60 darker than the paper, at 75 to
    100% strength; a Gaussian blur of sigma 0.3 to 1.2 px (1 in 2); Gaussian noise of sigma
    0 to 8 grey levels; JPEG compression at quality 20 to 90 (1 in 2, Pillow).
    """
    rows, columns = ink.shape
    if rng.random() < 0.2:
        start, end = boxes[0, 0], boxes[-1, 0] + boxes[-1, 2]
        xs = np.linspace(start, end, 4) + rng.uniform(-0.3, 0.3, 4) * height * [1, 0, 0, 1]
        ys = baseline + rng.uniform(0.08, 0.3) * height + rng.normal(0, 0.03 * height, 4)
        points = np.stack([xs, np.clip(ys, 0, rows - 2)], axis=1).round().astype(np.int32)
        ink = ink.copy()
        cv2.polylines(ink, [points], False, 1.0, max(1, round(height * rng.uniform(0.05, 0.1))),
                      cv2.LINE_AA)
    printed = np.zeros_like(ink)
    if rng.random() < 0.45:
        printed = np.maximum(printed, security_pattern(rng, ink.shape))
    if rng.random() < 0.2:
        printed = np.maximum(printed, ruled_lines(rng, ink.shape, height, baseline))
    paper_level = rng.uniform(150, 250)
    coarse = rng.normal(0, 1, (int(rng.integers(2, 5)), int(rng.integers(3, 9))))
    texture = cv2.resize(coarse.astype(np.float32), (columns, rows), interpolation=cv2.INTER_CUBIC)
    grey = paper_level * (1 + rng.uniform(0, 0.12) * texture / np.abs(texture).max())
    grey *= 1 - printed
    grey += (rng.uniform(0, min(110, 0.88 * paper_level - 60)) - grey) * ink * rng.uniform(0.75, 1)
    if rng.random() < 0.5:
        grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.3, 1.2))
    grey += rng.normal(0, rng.uniform(0, 8), grey.shape)
    image = np.clip(np.round(grey), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=int(rng.integers(20, 91)))
        image = np.array(Image.open(buffer).convert("L"))
    return image


def security_pattern(rng, shape) -> np.ndarray:
    """One or two families of printed lines 3 to 8 px apart, 5 to 30% dark: straight hairlines
    at any angle, waves, or arcs of circles centred off the page (a guilloche, as cheques
    have). (H, W) float32 darkness in [0, 0.3]."""
    rows, columns = shape
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    darkness = np.zeros(shape, np.float32)
    for _ in range(int(rng.integers(1, 3))):
        kind = rng.choice(("hairlines", "waves", "arcs"))
        if kind == "hairlines":
            angle = rng.uniform(0, np.pi)
            phase = x * np.cos(angle) + y * np.sin(angle)
        elif kind == "waves":
            wave = 2 * np.pi * x / rng.uniform(20, 80) + rng.uniform(0, 2 * np.pi)
            phase = y + rng.uniform(1, 6) * np.sin(wave)
        else:
            centre_y = rows / 2 + rng.choice([-1, 1]) * rng.uniform(1, 4) * rows
            phase = np.hypot(x - rng.uniform(-0.5, 1.5) * columns, y - centre_y)
        lines = np.clip(2 * np.cos(2 * np.pi * phase / rng.uniform(3, 8)) - 1, 0, 1)
        darkness = np.maximum(darkness, rng.uniform(0.05, 0.3) * lines)
    return darkness


def ruled_lines(rng, shape, height: int, baseline: int) -> np.ndarray:
    """Printed rules 1 or 2 px thick, 20 to 60% dark: horizontal ones 1.2 to 2 heights apart,
    one 0.05 to 0.3 heights under the baseline, and (1 in 2) a column's rule near the left or
    right edge, as in registers and forms. (H, W) float32 darkness."""
    rows, columns = shape
    layer = np.zeros(shape, np.float32)
    darkness, thickness = rng.uniform(0.2, 0.6), int(rng.integers(1, 3))
    spacing = max(4, round(rng.uniform(1.2, 2.0) * height))
    for row in range((baseline + round(rng.uniform(0.05, 0.3) * height)) % spacing, rows, spacing):
        end = (columns - 1, row + int(rng.integers(-1, 2)))
        cv2.line(layer, (0, row), end, darkness, thickness)
    if rng.random() < 0.5:
        column = int(rng.integers(0, 4))
        column = column if rng.random() < 0.5 else columns - 1 - column
        cv2.line(layer, (column, 0), (column, rows - 1), darkness, thickness)
    return layer
