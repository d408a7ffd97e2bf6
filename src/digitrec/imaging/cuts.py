"""Touching digits cut apart: step 5 of :mod:`digitrec.imaging.segmentation`.

A component wider than a digit may hold several, touching. :func:`best_split` cuts it at
candidate columns (:func:`_cut_candidates`: the minima of the columns' ink, the gaps between
loops side by side, the valleys of the upper and lower contours) and chooses, by dynamic
programming, the cuts whose pieces the recognizer reads most confidently (segmentation by
recognition). The measures it takes of ink, :func:`ink_extent`, :func:`typical_ink` and
:func:`hole_boxes`, serve the rest of the segmentation too.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitrec.imaging.digit import center_in_28x28, crop_to_ink
from digitrec.imaging.ink import STROKE_LEVEL

# Sizes are relative to the typical digit's height (the median of the candidates'), and were
# chosen on the first half of ORAND-CAR-A (the half the shipped model trains on):
MIN_DIGIT_HEIGHT = 0.45  # shorter than this times the typical digit: a separator or speck
SPLIT_ASPECT = 0.75  # components wider than this times their height may be touching digits
SEGMENT_COST = 0.75  # log-probability a reading pays for each digit it splits off
MIN_WIDTH, MAX_WIDTH = 0.12, 1.5  # the narrowest and widest digit, relative to the height
EXTENT_SHARE = 0.3  # rows (columns) with less ink than this times a typical one are texture
MARK_COST = 0.5  # what a split pays for dropping a run too low for a digit (a joined dot)


def typical_ink(profile: np.ndarray) -> float:
    """The median of a row or column ink profile's non-zero values: about one stroke's worth
    (a long bar's rows, however heavy, are few)."""
    values = profile[profile > 0]
    return float(np.median(values)) if len(values) else 0.0


def ink_extent(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the columns and rows holding at least EXTENT_SHARE of the
    typical inked one's ink (:func:`typical_ink`): the strokes themselves, not faint texture caught
    in the bounding box, and the whole height of a 7 whose bar outweighs its stem."""
    left, width = _inked_span(ink.sum(axis=0))
    top, height = _inked_span(ink.sum(axis=1))
    return left, top, width, height


def _inked_span(profile: np.ndarray) -> tuple[int, int]:
    """(first, length) of the span of a row or column ink profile that :func:`ink_extent`
    keeps; (0, 0) for no ink."""
    if profile.max() <= 0:
        return 0, 0
    inked = np.nonzero(profile >= EXTENT_SHARE * typical_ink(profile))[0]
    return (int(inked[0]), int(inked[-1] - inked[0] + 1)) if len(inked) else (0, 0)


def _cut_candidates(piece: np.ndarray, reference: float) -> list[int]:
    """Columns where a cut may fall: 0, the local minima of the (smoothed) column ink, the
    columns between loops side by side (:func:`_loop_gaps`) and at the contours' valleys
    (:func:`_contour_valleys`), the width.

    Minima closer than a tenth of the height keep the one with less ink.
    """
    width = piece.shape[1]
    profile = np.convolve(piece.sum(axis=0), np.ones(3) / 3, mode="same")
    minima = [column for column in range(2, width - 1)
              if profile[column] <= profile[column - 1] and profile[column] <= profile[column + 1]]
    kept: list[int] = []
    for column in minima:
        if kept and column - kept[-1] < 0.1 * reference:
            if profile[column] < profile[kept[-1]]:
                kept[-1] = column
        else:
            kept.append(column)
    extra = _loop_gaps(piece, reference) + _contour_valleys(piece, reference)
    for column in sorted(extra):
        if all(abs(column - other) >= 0.1 * reference for other in kept):
            kept.append(column)
    return [0, *sorted(kept), width]


def _contour_valleys(piece: np.ndarray, reference: float) -> list[int]:
    """Columns where the upper contour dips deepest, or the lower one rises highest, between
    two stretches of ink: where two touching digits meet, when their column ink has no clear
    minimum there (they touch over a long stroke)."""
    strokes = piece > STROKE_LEVEL
    height, width = strokes.shape
    inked = strokes.any(axis=0)
    top = np.where(inked, strokes.argmax(axis=0), height).astype(float)
    bottom = np.where(inked, strokes[::-1].argmax(axis=0), height).astype(float)
    reach = int(0.2 * reference)  # columns either side a valley must be deepest over
    valleys = []
    for depth in (top, bottom):
        smooth = np.convolve(depth, np.ones(3) / 3, mode="same")
        for column in range(2, width - 2):
            window = smooth[max(0, column - reach):column + reach + 1]
            if (smooth[column] == window.max() and smooth[column] >= 0.3 * height
                    and window.min() <= smooth[column] - 0.2 * height):
                valleys.append(column)
    return valleys


def hole_boxes(ink: np.ndarray, reference: float) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the ink's holes (loops) at least a twentieth of
    ``reference`` across, left to right."""
    strokes = (ink > STROKE_LEVEL).astype(np.uint8)
    contours, hierarchy = cv2.findContours(strokes, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    return sorted(cv2.boundingRect(contour) for contour, link in zip(contours, hierarchy[0])
                  if link[3] >= 0 and cv2.contourArea(contour) >= (0.05 * reference) ** 2)


def _loop_gaps(piece: np.ndarray, reference: float) -> list[int]:
    """The columns midway between loops that lie side by side, such as the zeros of "000"
    written in one stroke: joined digits whose column ink has no clear minimum between them.

    Loops are the holes of the ink (contours inside contours) at least a twentieth of the
    height across; two loops are side by side when their columns do not overlap.
    """
    holes = hole_boxes(piece, reference)
    gaps = []
    for (x1, _, w1, _), (x2, _, _, _) in zip(holes, holes[1:]):
        if x2 >= x1 + w1:
            gaps.append((x1 + w1 + x2) // 2)
    return gaps


def best_split(piece: np.ndarray, text_height: float, score) -> list[tuple[int, int]]:
    """Column ranges of the digits in one component, left to right.

    Narrow components are one digit. Wider ones are cut at candidate columns
    (:func:`_cut_candidates`); every run between two candidates that is a plausible digit width
    is read by ``score``, and dynamic programming finds the path of runs that maximises the sum
    of their log-probabilities, less :data:`SEGMENT_COST` per digit and a penalty for runs too
    narrow for anything but a 1. A run whose ink is lower than :data:`MIN_DIGIT_HEIGHT` times
    the height (a dot or dash joined to a digit) is not read: the path may drop it for
    :data:`MARK_COST`. Without ``score``, the width alone decides (digits about 0.62 times as
    wide as high).
    """
    height, width = piece.shape
    reference = max(height, 0.8 * text_height)
    if width <= SPLIT_ASPECT * reference:
        return [(0, width)]
    cuts = _cut_candidates(piece, reference)
    runs = [(i, j) for i in range(len(cuts)) for j in range(i + 1, len(cuts))
            if MIN_WIDTH * reference <= cuts[j] - cuts[i] <= MAX_WIDTH * reference
            and piece[:, cuts[i]:cuts[j]].max() > 0]
    if score is None or not runs:
        return _even_split(width, reference)
    # A run whose ink is too low for a digit is a dot or a dash joined to one: not read.
    mark = {(i, j) for i, j in runs if _inked_span(piece[:, cuts[i]:cuts[j]].sum(axis=1))[1]
            < MIN_DIGIT_HEIGHT * reference}
    value = {run: -MARK_COST for run in mark}
    read = [run for run in runs if run not in mark]
    digits = [center_in_28x28(crop_to_ink(piece[:, cuts[i]:cuts[j]])) for i, j in read]
    for (i, j), row in zip(read, score(np.stack(digits)) if digits else []):
        aspect = (cuts[j] - cuts[i]) / reference
        value[i, j] = (float(np.log(row.max() + 1e-6)) - SEGMENT_COST
                       - (1.0 if aspect < 0.3 and row.argmax() != 1 else 0.0)
                       - max(0.0, aspect - 1.0) * 5)
    path = _best_path(cuts, value, mark)
    return _even_split(width, reference) if path is None else path


def _even_split(width: int, reference: float) -> list[tuple[int, int]]:
    """Column ranges of as many digits of equal width as fit ``width``, each about 0.62 times
    as wide as ``reference`` is high: :func:`best_split` without a recognizer to ask."""
    count = max(1, round(width / (0.62 * reference)))
    edges = np.linspace(0, width, count + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def _best_path(cuts: list[int], value: dict, mark: set) -> list[tuple[int, int]] | None:
    """The column ranges along the path of runs from the first cut to the last whose ``value``
    (per pair of candidate indices) sums highest, found by dynamic programming, leaving out the
    runs in ``mark``; None when no path of runs reaches the last cut."""
    best = {0: (0.0, None)}  # candidate index -> (best total value, previous index)
    for j in range(1, len(cuts)):
        options = [(best[i][0] + value[i, j], i) for i in range(j)
                   if (i, j) in value and i in best]
        if options:
            best[j] = max(options)
    end = len(cuts) - 1
    if end not in best:
        return None
    ranges = []
    while end:
        previous = best[end][1]
        if (previous, end) not in mark:
            ranges.append((cuts[previous], cuts[end]))
        end = previous
    return ranges[::-1]
