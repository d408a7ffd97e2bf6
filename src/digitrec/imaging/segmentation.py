"""A written number -> its digits, left to right, each in MNIST's format.

The classic pipeline for handwritten digit strings (see e.g. M. Diem et al., "ICFHR 2014
Competition on Handwritten Digit String Recognition in Challenging Datasets", whose ORAND-CAR
cheque amounts this was measured on):

1. ink from paper, as for one digit (:func:`digitrec.imaging.extract_ink`);
2. ruled lines across the page erased (:func:`digitrec.imaging.remove_ruled_lines`, also
   where they cross a digit), other long horizontal lines (underlines) removed by a
   morphological opening, and the hairlines of a printed background by a vertical one;
3. connected components; the parts of a broken digit, one above the other, merged, and a
   short stroke beside a digit (a 1's loose flag) joined to it when they read better as one;
4. separators dropped: dots, commas, dashes, equals signs and specks, by their size, shape
   and position against the typical digit's (and, after step 5, a low last mark without a
   loop: the "=" or "-" after an amount);
5. touching digits split: candidate cuts at the minima of the columns' ink, and the path of
   cuts whose pieces the recognizer reads most confidently, found by dynamic programming
   (segmentation by recognition); loops side by side ("000" in one stroke) and the valleys of
   the upper and lower contours (digits touching over a long stroke) add candidates
   (:mod:`digitrec.imaging.cuts`);
6. each digit placed in 28x28 as MNIST's were (:func:`digitrec.imaging.center_in_28x28`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from digitrec.imaging.cuts import (
    EXTENT_SHARE,
    MIN_DIGIT_HEIGHT,
    SEGMENT_COST,
    SPLIT_ASPECT,
    best_split,
    hole_boxes,
    ink_extent,
    typical_ink,
)
from digitrec.imaging.digit import center_in_28x28, crop_to_ink
from digitrec.imaging.ink import STROKE_LEVEL, extract_ink, ink_components, to_grey
from digitrec.imaging.lines import remove_ruled_lines
from digitrec.imaging.reading import upright

# Sizes are relative to the typical digit's height (the median of the candidates'), and were
# chosen on the first half of ORAND-CAR-A (the half the shipped model trains on):
FRAME_SLANT = 0.15  # a frame line is upright: at most this wide for its height (a 1 leans)
TRAILING_MARK = 0.6  # a last mark lower than this times the other digits may be an "=" or "-"
SEPARATOR_DOUBT = 0.15  # a short mark read with less confidence than this is not a digit
HAIRLINE = 3  # pixels: thinner horizontal lines...
HAIRLINE_LENGTH = 0.5  # ...longer than this times the text height are printed background


@dataclass
class Segment:
    """One digit found in a string.

    Attributes:
        box: (x, y, w, h) in the pixels of the image given to :func:`segment`.
        image: (28, 28) float32 in [0, 1], the digit in MNIST's format.
    """

    box: tuple[int, int, int, int]
    image: np.ndarray = field(repr=False)


def _remove_lines(ink: np.ndarray, text_height: float) -> np.ndarray:
    """Removes horizontal strokes longer than 2.5 text heights and thinner than a quarter of one."""
    strokes = (ink > STROKE_LEVEL).astype(np.uint8)
    length = max(3, int(2.5 * text_height)) | 1  # odd: OpenCV's opening shifts with an even one
    lines = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    if not lines.any():
        return ink
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    thin = np.zeros(count, bool)
    thin[1:] = stats[1:, cv2.CC_STAT_HEIGHT] <= max(2, 0.25 * text_height)
    line_pixels = cv2.dilate(thin[labels].astype(np.uint8), np.ones((3, 1), np.uint8))
    return ink * (1 - line_pixels)


def _remove_hairlines(ink: np.ndarray, text_height: float) -> np.ndarray:
    """Removes long horizontal hairlines: the printed, broken-line background of a cheque or
    form, which the long-line opening misses (its dashes are shorter) and which joins every
    digit into one component.

    A vertical opening finds what is thinner than :data:`HAIRLINE` pixels; of that, runs
    longer than :data:`HAIRLINE_LENGTH` text heights are background, shorter ones (a thin
    pen's bar of a 7) are kept, as are the anti-aliased edges of everything kept.
    """
    strokes = (ink > STROKE_LEVEL).astype(np.uint8)
    thick = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((HAIRLINE, 1), np.uint8))
    thin = strokes - thick
    count, labels, stats, _ = cv2.connectedComponentsWithStats(thin, connectivity=8)
    long_thin = np.zeros(count, bool)
    long_thin[1:] = stats[1:, cv2.CC_STAT_WIDTH] > HAIRLINE_LENGTH * text_height
    kept = strokes * (1 - long_thin[labels].astype(np.uint8))
    return ink * cv2.dilate(kept, np.ones((3, 3), np.uint8))


def _text_height(ink: np.ndarray) -> float:
    """The height of the band of rows that holds the central 90% of the ink."""
    profile = ink.sum(axis=1)
    if profile.sum() == 0:
        return float(ink.shape[0])
    cumulative = np.cumsum(profile) / profile.sum()
    top = int(np.searchsorted(cumulative, 0.05))
    bottom = int(np.searchsorted(cumulative, 0.95))
    return float(max(bottom - top + 1, 4))


def _groups(ink: np.ndarray, text_height: float) -> list[tuple[np.ndarray, bool]]:
    """The candidate digits, left to right: components, broken parts merged, separators
    dropped. Each is ``(mask, short)``, ``short`` when it is under 3/4 of the typical digit's
    height (it could still be a separator, which recognition can tell)."""
    count, labels, stats, mass = ink_components(ink)
    members = _merge_overlapping(stats, _kept_components(stats, mass, count, ink.shape))
    masks = [np.isin(labels, group) for group in members]
    extents = [ink_extent(ink * mask) for mask in masks]  # (left, top, width, height)
    # Digits are the majority of what is written: the typical height is the median of the
    # groups that are not specks (a quarter of the tallest or more). Amounts often end in
    # smaller digits ("40.000"), so the tallest is no reference.
    tallest = max((extent[3] for extent in extents), default=0)
    heights = [extent[3] for extent in extents if extent[3] >= 0.25 * tallest]
    reference = float(np.median(heights)) if heights else float(text_height)
    band_bottom = max((top + h for _, top, _, h in extents if h >= 0.8 * reference),
                      default=ink.shape[0])
    group_mass = [sum(mass[label] for label in group) for group in members]
    typical_mass = float(np.median(group_mass)) if group_mass else 0.0
    groups = []
    for (_left, top, w, h), mask, ink_mass, labels_in_group in sorted(
            zip(extents, masks, group_mass, members), key=lambda item: item[0][0]):
        if h < MIN_DIGIT_HEIGHT * reference or (h < 0.6 * reference and w < 0.3 * reference):
            continue  # a dot, dash or speck
        stroke = ink_mass / max(w, 1)  # ink per column: about one stroke's thickness for a dash
        if w > 1.3 * h and h < 0.6 * reference and h < 2.5 * stroke:
            continue  # a dash: wider than tall, short, one stroke thick (a small "o" is not)
        if h < 0.75 * reference and top + h > band_bottom + 0.15 * reference:
            continue  # a comma: short, and hanging below the digits' baseline
        if ink_mass < 0.12 * typical_mass:
            continue  # too little ink for a digit: a colon, a faint mark
        if _row_coverage(ink * mask) < 0.6:
            continue  # marks stacked with a gap between them: an equals sign, a colon
        parts = [stats[label] for label in labels_in_group]
        if h < 0.8 * reference and all(_is_bar(part) for part in parts):
            continue  # only flat horizontal strokes: a dash, an equals sign
        groups.append((mask, h < 0.75 * reference))
    return groups


def _kept_components(stats: np.ndarray, mass: np.ndarray, count: int,
                     shape: tuple[int, int]) -> list[int]:
    """The labels of the components (:func:`digitrec.imaging.ink_components`) that may be
    digits or their parts: not the printed frame of a form or cheque, nor specks."""
    height, width = shape
    # The printed frame of a form or cheque: thin lines over most of the height, at (or within
    # 3% of) the left or right edge.
    frame = set()
    for label in range(1, count):
        x, y, w, h, area = (int(value) for value in stats[label, :5])
        near_edge = x <= 0.03 * width or x + w >= 0.97 * width
        if near_edge and h >= 0.75 * height and area / h <= 0.12 * h and w <= FRAME_SLANT * h:
            frame.add(label)
    # Specks (paper texture, noise) are dropped before anything is merged: under 3% of the ink
    # of the largest component.
    largest = mass[1:].max() if count > 1 else 0.0
    return [label for label in range(1, count)
            if label not in frame and mass[label] >= 0.03 * largest]


def _merge_overlapping(stats: np.ndarray, kept: list[int]) -> list[list[int]]:
    """The labels ``kept`` in groups, one a candidate digit: components that overlap
    horizontally by at least half of the narrower one (the parts of a broken digit, one above
    the other) are merged."""
    boxes = [[int(value) for value in stats[label, :4]] for label in kept]
    members = [[label] for label in kept]
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
    return members


def _is_bar(stats_row: np.ndarray) -> bool:
    """A flat horizontal stroke: at least 1.8 times as wide as high, and about one stroke
    thick (its height under 1.5 times its pixels per column; a flat "o" has two strokes)."""
    width, height, area = (int(stats_row[index]) for index in (
        cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    return width >= 1.8 * height and height < 1.5 * area / max(width, 1)


def _row_coverage(ink: np.ndarray) -> float:
    """The fraction of the rows between the first and last inked row that hold ink: about 1 for
    a digit, well under for marks stacked with a gap, such as "=" and ":"."""
    profile = ink.sum(axis=1)
    inked = profile >= EXTENT_SHARE * typical_ink(profile)
    rows = np.nonzero(inked)[0]
    return float(inked[rows[0]:rows[-1] + 1].mean()) if len(rows) else 0.0


def _clean_ink(image) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Steps 1 and 2: the image's ink without lines and hairlines, the text height in the ink's
    pixels, and the image's pixels per ink pixel (x, y)."""
    grey = to_grey(image)
    scale = (image.width / grey.shape[1], image.height / grey.shape[0])
    ink = remove_ruled_lines(extract_ink(grey), vertical=False)
    text_height = _text_height(ink)
    return _remove_hairlines(_remove_lines(ink, text_height), text_height), text_height, scale


def segment(image, score: Callable[[np.ndarray], np.ndarray] | None = None) -> list[Segment]:
    """Finds the digits of a written number, left to right.

    Args:
        image: a Pillow image of a number written on one line (any size, colour, polarity),
            turned upright first if it has an EXIF orientation tag
            (:func:`digitrec.imaging.upright`; the boxes are then in the turned image's pixels).
        score: maps (N, 28, 28) float32 digits to (N, 10) probabilities; used to decide how many
            digits a wide component holds. Without it, the width alone decides.

    Returns:
        The digits, left to right; empty when the ink holds no digit-sized component.

    Raises:
        digitrec.imaging.NoDigitError: the image is blank.
    """
    ink, text_height, (scale_x, scale_y) = _clean_ink(upright(image))
    groups = _groups(ink, text_height)
    if score is not None:
        groups = _merge_short_strokes(ink, groups, text_height, score)
    segments = []
    for mask, short in groups:
        rows, columns = np.nonzero(mask)
        top, bottom = rows.min(), rows.max() + 1
        left, right = columns.min(), columns.max() + 1
        piece = (ink * mask)[top:bottom, left:right]
        for start, stop in best_split(piece, text_height, score):
            part = piece[:, start:stop]
            part_rows = np.nonzero(part.sum(axis=1) > 0)[0]
            if len(part_rows) == 0:
                continue
            y0, y1 = part_rows.min(), part_rows.max() + 1
            digit = center_in_28x28(part[y0:y1])
            if short and score is not None and score(digit[np.newaxis]).max() < SEPARATOR_DOUBT:
                continue  # a short mark the recognizer finds unlike any digit: a separator
            box = (int(round((left + start) * scale_x)), int(round((top + y0) * scale_y)),
                   int(round((stop - start) * scale_x)), int(round((y1 - y0) * scale_y)))
            segments.append(Segment(box, digit))
    if len(segments) >= 3:
        # An amount ends in a digit: a last mark much lower than the others, with no loop and
        # not read as a 0 (small trailing zeros, "1.000", have a loop or read as one) is the "="
        # or "-" written after it.
        *others, last = segments
        typical = float(np.median([segment.box[3] for segment in others]))
        if (last.box[3] < TRAILING_MARK * typical and not hole_boxes(last.image, 28)
                and (score is None or score(last.image[np.newaxis])[0].argmax() != 0)):
            segments = others
    return segments


def _merge_short_strokes(ink: np.ndarray, groups: list[tuple[np.ndarray, bool]],
                         text_height: float, score) -> list[tuple[np.ndarray, bool]]:
    """Joins a short group to its nearer neighbour when the two read better as one digit than
    as two: the loose flag of a 1, written as a separate stroke beside its stem, or the loose
    bar of a 5. Only pairs close together and no wider than one digit are tried."""
    def extent(mask):
        columns = np.nonzero(mask.any(axis=0))[0]
        return columns[0], columns[-1] + 1

    def reading(mask):
        value = float(np.log(score(center_in_28x28(
            crop_to_ink(ink * mask))[np.newaxis])[0].max() + 1e-6))
        return value - SEGMENT_COST

    def joins(mask, other):
        (left, right), (other_left, other_right) = extent(mask), extent(other)
        gap = max(other_left - right, left - other_right, 0)
        width = max(right, other_right) - min(left, other_left)
        return (gap <= 0.1 * text_height and width <= SPLIT_ASPECT * text_height
                and reading(mask | other) > reading(mask) + reading(other))

    groups = list(groups)
    index = 0
    while index < len(groups):
        mask, short = groups[index]
        other = next((other for other in (index - 1, index + 1) if short
                      and 0 <= other < len(groups) and joins(mask, groups[other][0])), None)
        if other is None:
            index += 1
            continue
        first = min(index, other)
        groups[first] = (mask | groups[other][0], groups[other][1])
        del groups[max(index, other)]
        # Only the merged group and its neighbours have changed: look again from the left one.
        index = max(first - 1, 0)
    return groups
