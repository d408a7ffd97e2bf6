"""A written number -> its digits, left to right, each in MNIST's format.

The classic pipeline for handwritten digit strings (see e.g. M. Diem et al., "ICFHR 2014
Competition on Handwritten Digit String Recognition in Challenging Datasets", whose ORAND-CAR
cheque amounts this was measured on):

1. ink from paper, as for one digit (:func:`digitrec.imaging.extract_ink`);
2. long horizontal lines (underlines, ruled lines) removed by a morphological opening;
3. connected components; the parts of a broken digit, one above the other, merged;
4. separators dropped: dots, commas, dashes and specks, which are much shorter than the digits;
5. touching digits split at the columns of least ink, the number of pieces chosen by how
   confidently the recognizer reads them (segmentation by recognition);
6. each digit placed in 28x28 as MNIST's were (:func:`digitrec.imaging.center_in_28x28`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from digitrec import imaging

# Relative to the text's height (the band holding the digits' ink):
MIN_DIGIT_HEIGHT = 0.5  # shorter components are separators or specks
SPLIT_ASPECT = 0.75  # components wider than this times their height may be touching digits
MAX_PIECES = 4  # a component is split into at most this many digits
SPLIT_MARGIN = 0.25  # how much more confident (mean log-probability) a split must be


@dataclass
class Segment:
    """One digit found in a string.

    Attributes:
        box: (x, y, w, h) in the original image's pixels.
        image: (28, 28) float32 in [0, 1], the digit in MNIST's format.
    """

    box: tuple[int, int, int, int]
    image: np.ndarray = field(repr=False)


def _remove_lines(ink: np.ndarray, text_height: float) -> np.ndarray:
    """Removes horizontal strokes longer than 2.5 text heights and thinner than a quarter of one."""
    strokes = (ink > 0.25).astype(np.uint8)
    length = max(3, int(2.5 * text_height))
    lines = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    if not lines.any():
        return ink
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    thin = np.zeros(count, bool)
    thin[1:] = stats[1:, cv2.CC_STAT_HEIGHT] <= max(2, 0.25 * text_height)
    line_pixels = cv2.dilate(thin[labels].astype(np.uint8), np.ones((3, 1), np.uint8))
    return ink * (1 - line_pixels)


def _text_height(ink: np.ndarray) -> float:
    """The height of the band of rows that holds the central 90% of the ink."""
    profile = ink.sum(axis=1)
    if profile.sum() == 0:
        return float(ink.shape[0])
    cumulative = np.cumsum(profile) / profile.sum()
    top = int(np.searchsorted(cumulative, 0.05))
    bottom = int(np.searchsorted(cumulative, 0.95))
    return float(max(bottom - top + 1, 4))


def _groups(ink: np.ndarray, text_height: float) -> list[np.ndarray]:
    """Masks of the candidate digits: components, broken parts merged, separators dropped."""
    count, labels, stats, mass = imaging.ink_components(ink)
    height, width = ink.shape
    # The printed frame of a form or cheque: tall thin lines along the left or right edge.
    frame = {label for label in range(1, count)
             if imaging.is_line(stats[label, :5], height, width)
             and stats[label, cv2.CC_STAT_WIDTH] < 0.3 * stats[label, cv2.CC_STAT_HEIGHT]}
    boxes = [[int(value) for value in stats[label, :4]] for label in range(1, count)
             if label not in frame]
    members = [[label] for label in range(1, count) if label not in frame]
    # Merge components that overlap horizontally by at least half of the narrower one.
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (x1, y1, w1, h1), (x2, y2, w2, h2) = boxes[i], boxes[j]
                overlap = min(x1 + w1, x2 + w2) - max(x1, x2)
                if overlap >= 0.5 * min(w1, w2):
                    x, y = min(x1, x2), min(y1, y2)
                    boxes[i] = [x, y, max(x1 + w1, x2 + w2) - x, max(y1 + h1, y2 + h2) - y]
                    members[i] += members.pop(j)
                    boxes.pop(j)
                    merged = True
                    break
            if merged:
                break
    tallest = max((box[3] for box in boxes), default=0)
    reference = max(text_height, 0.8 * tallest)
    band_bottom = max((y + h for x, y, w, h in boxes if h >= 0.8 * reference), default=height)
    groups = []
    for (x, y, w, h), labels_in_group in sorted(zip(boxes, members)):
        if h < MIN_DIGIT_HEIGHT * reference:
            continue  # a dot, dash or speck
        if h < 0.75 * reference and y + h > band_bottom + 0.15 * reference:
            continue  # a comma: short, and hanging below the digits' baseline
        if sum(mass[label] for label in labels_in_group) < 0.02 * mass[1:].sum():
            continue
        groups.append(np.isin(labels, labels_in_group))
    return groups


def _split_candidates(piece: np.ndarray, pieces: int) -> list[int]:
    """Columns at which to cut ``piece`` into ``pieces`` parts: the least-ink column near each
    equal division (within a quarter of a part's width)."""
    width = piece.shape[1]
    profile = piece.sum(axis=0)
    cuts = []
    for index in range(1, pieces):
        ideal = index * width / pieces
        low = max(1, int(ideal - width / (4 * pieces)))
        high = min(width - 1, int(ideal + width / (4 * pieces)) + 1)
        cuts.append(low + int(np.argmin(profile[low:high])))
    return cuts


def segment(image, score: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Segment]:
    """Finds the digits of a written number, left to right.

    Args:
        image: a Pillow image of a number written on one line (any size, colour, polarity).
        score: maps (N, 28, 28) float32 digits to (N, 10) probabilities; used to decide how many
            digits a wide component holds. Without it, the width alone decides.

    Returns:
        The digits, left to right; empty when the ink holds no digit-sized component.

    Raises:
        digitrec.imaging.NoDigitError: the image is blank.
    """
    grey = imaging.to_grey(image)
    scale_x, scale_y = image.width / grey.shape[1], image.height / grey.shape[0]
    ink = imaging.extract_ink(grey)
    text_height = _text_height(ink)
    ink = _remove_lines(ink, text_height)
    segments = []
    for mask in _groups(ink, text_height):
        rows, columns = np.nonzero(mask)
        top, bottom = rows.min(), rows.max() + 1
        left, right = columns.min(), columns.max() + 1
        piece = (ink * mask)[top:bottom, left:right]
        for start, stop in _best_split(piece, text_height, score):
            part = piece[:, start:stop]
            part_rows = np.nonzero(part.sum(axis=1) > 0)[0]
            if len(part_rows) == 0:
                continue
            y0, y1 = part_rows.min(), part_rows.max() + 1
            box = (int(round((left + start) * scale_x)), int(round((top + y0) * scale_y)),
                   int(round((stop - start) * scale_x)), int(round((y1 - y0) * scale_y)))
            segments.append(Segment(box, imaging.center_in_28x28(part[y0:y1])))
    return segments


def _best_split(piece: np.ndarray, text_height: float, score) -> list[tuple[int, int]]:
    """Column ranges of the digits in one component: unsplit, or split into 2..MAX_PIECES.

    Each split is scored by the recognizer's mean log-probability of its pieces; a split must
    beat reading the component whole by :data:`SPLIT_MARGIN`, and pieces narrower than 0.15 or
    wider than 1.1 times the text height count against it.
    """
    height, width = piece.shape
    whole = [(0, width)]
    reference = max(height, 0.8 * text_height)
    if width <= SPLIT_ASPECT * reference:
        return whole
    options = [whole]
    for pieces in range(2, MAX_PIECES + 1):
        if width / pieces < 0.2 * reference:
            break
        cuts = [0, *_split_candidates(piece, pieces), width]
        options.append(list(zip(cuts[:-1], cuts[1:])))
    if score is None:
        # By width alone: digits are about 0.6 times as wide as they are high.
        return min(options, key=lambda ranges: abs(len(ranges) - width / (0.6 * reference)))
    best, best_value = whole, -np.inf
    for ranges in options:
        parts = [piece[:, start:stop] for start, stop in ranges]
        if any(part.max() <= 0 for part in parts):
            continue
        digits = np.stack([imaging.center_in_28x28(imaging.crop_to_ink(part)) for part in parts])
        confidence = score(digits).max(axis=1)
        value = float(np.mean(np.log(confidence + 1e-6)))
        for start, stop in ranges:
            aspect = (stop - start) / reference
            value -= max(0.0, 0.15 - aspect) * 10 + max(0.0, aspect - 1.1) * 3
        if len(ranges) > 1:
            value -= SPLIT_MARGIN
        if value > best_value:
            best, best_value = ranges, value
    return best
