"""Printed signs beside a handwritten number that neither of ``read``'s readers was taught,
found by their shapes so that the digits read from them can be left out: a "$" before a
number (read as a 5) and a "%" after one (read as two digits, "96" mostly). The rules that
use them are ``read_rules.dollar_sign`` and ``read_rules.percent_sign`` (docs/rules.md, rules
76, 77 and 81 to 83).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from digitrec.imaging.digit import crop_to_ink
from digitrec.imaging.errors import ImageError
from digitrec.imaging.ink import STROKE_LEVEL, extract_ink, to_grey

DOLLAR_TICK = 0.07  # of a first 5's height: a thin stroke at its middle this long above and
# below its body is a $'s bar (real 5s, cut from the validation numbers, at most 0.05: rule 76)
PERCENT_HOLE = 0.15  # of a loop's bounding box: a "%"'s circles enclose 28 to 41% (rule 83)


def looks_like_dollar(image: Image.Image, box) -> bool:
    """Whether the strokes touching ``box`` (x, y, width, height in ``image``'s pixels; looked
    for in it enlarged by 30% of its height above and below, since the reader's box may cut a
    bar's ends) have a thin stroke at their middle running above and below their body, each
    over :data:`DOLLAR_TICK` of their height: rows at most a quarter of their width across,
    centred within a sixth of it, an S's bar as "$" is printed (with the bar through the S
    or as ticks only). A handwritten 5's top is its flat bar, its bottom a round arc."""
    x, y, width, height = (round(value) for value in box)
    found = _strokes_around(image, (x, y, width, height))
    if found is None:
        return False
    strokes, left, top = found
    _, labels = cv2.connectedComponents(strokes.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[y - top:y - top + height, x - left:x - left + width])
    glyph = np.isin(labels, touching[touching > 0])
    if not glyph.any():
        return False
    glyph = crop_to_ink(glyph)
    inked = glyph.any(axis=1)
    first = np.where(inked, glyph.argmax(axis=1), 0)
    last = np.where(inked, glyph.shape[1] - 1 - glyph[:, ::-1].argmax(axis=1), 0)
    thin = inked & (last - first + 1 <= glyph.shape[1] / 4) & \
        (np.abs((first + last) / 2 - glyph.shape[1] / 2) <= glyph.shape[1] / 6)
    # The thin rows from the top and from the bottom (all of them where every row is thin).
    above, below = (int(np.argmin(np.append(rows, False))) for rows in (thin, thin[::-1]))
    return min(above, below) >= DOLLAR_TICK * len(thin)


def percent_glyph(image: Image.Image, boxes) -> tuple[int, int, int, int] | None:
    """The bounding box (left, top, right, bottom in ``image``'s pixels) of a "%" among the
    strokes touching ``boxes`` (x, y, width, height; looked for in their union enlarged by 30%
    of its height above and below, 15% of its width each side): a thin straight stroke whose
    top lies right of its bottom by at least a quarter of its height, at least 0.6 as high as
    the strokes, and two smaller loops (components enclosing paper, at most 0.7 as high as
    it) apart from it, one above and left of its middle, one below and right, as a "%" is
    printed or drawn; None where there is none."""
    x0, y0 = (round(min(box[axis] for box in boxes)) for axis in (0, 1))
    x1, y1 = (round(max(box[axis] + box[axis + 2] for box in boxes)) for axis in (0, 1))
    found = _strokes_around(image, (x0, y0, x1 - x0, y1 - y0))
    if found is None:
        return None
    strokes, left, top = found
    _, labels, stats, centres = cv2.connectedComponentsWithStats(
        strokes.astype(np.uint8), connectivity=8)
    touching = set(np.unique(labels[y0 - top:y1 - top, x0 - left:x1 - left]).tolist()) - {0}
    parts = [index for index in touching if stats[index, cv2.CC_STAT_AREA] >= 4]
    if len(parts) < 3:
        return None
    highest = max(stats[index, cv2.CC_STAT_HEIGHT] for index in parts)
    for slash in parts:
        if stats[slash, cv2.CC_STAT_HEIGHT] < 0.6 * highest or not _is_slash(labels == slash):
            continue
        middle_x, middle_y = centres[slash]
        small = [index for index in parts if index != slash
                 and stats[index, cv2.CC_STAT_HEIGHT] <= 0.7 * stats[slash, cv2.CC_STAT_HEIGHT]
                 and _has_hole(labels == index)]
        above = [index for index in small
                 if centres[index][0] < middle_x and centres[index][1] < middle_y]
        below = [index for index in small
                 if centres[index][0] > middle_x and centres[index][1] > middle_y]
        if above and below:
            chosen = [slash, above[0], below[0]]
            return (left + min(stats[index, cv2.CC_STAT_LEFT] for index in chosen),
                    top + min(stats[index, cv2.CC_STAT_TOP] for index in chosen),
                    left + max(stats[index, cv2.CC_STAT_LEFT] + stats[index, cv2.CC_STAT_WIDTH]
                               for index in chosen),
                    top + max(stats[index, cv2.CC_STAT_TOP] + stats[index, cv2.CC_STAT_HEIGHT]
                              for index in chosen))
    return None


def _strokes_around(image: Image.Image, box: tuple[int, int, int, int]
                    ) -> tuple[np.ndarray, int, int] | None:
    """The strokes of ``image`` (a boolean (H, W) mask, ink above ``STROKE_LEVEL``) in ``box``
    (x, y, width, height, whole pixels) enlarged by 30% of its height above and below and 15%
    of its width each side (a reader's box may cut a sign's ends), with the enlarged box's
    left and top in the image's pixels; None where it holds no ink."""
    x, y, width, height = box
    reach, side = round(0.3 * height), round(0.15 * width)
    left, top = max(0, x - side), max(0, y - reach)
    crop = image.crop((left, top, min(image.width, x + width + side),
                       min(image.height, y + height + reach)))
    try:
        return extract_ink(to_grey(crop)) > STROKE_LEVEL, left, top
    except ImageError:
        return None


def _has_hole(mask: np.ndarray) -> bool:
    """Whether a component (a boolean mask) is a loop as a "%"'s circles are: the paper it
    encloses, its largest hole, at least :data:`PERCENT_HOLE` of its bounding box's area
    (noise closes tiny holes in broken strokes)."""
    box = crop_to_ink(mask)
    paper = np.pad(~box, 1, constant_values=True).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    holes = stats[2:, cv2.CC_STAT_AREA]  # 0 is the ink, 1 the paper round it (the padding)
    return count > 2 and holes.max() >= PERCENT_HOLE * box.size


def _is_slash(mask: np.ndarray) -> bool:
    """Whether a component (a boolean mask) is a thin straight stroke whose top lies right of
    its bottom: each row's middle within a tenth of its height of one line whose slope moves
    it at least a quarter of its height across, each row at most 0.3 of its height wide."""
    rows = np.flatnonzero(mask.any(axis=1))
    height = len(rows)
    first = mask[rows].argmax(axis=1)
    last = mask.shape[1] - 1 - mask[rows][:, ::-1].argmax(axis=1)
    middles = (first + last) / 2
    slope, offset = np.polyfit(rows, middles, 1)
    straight = np.abs(middles - (slope * rows + offset)).mean() <= 0.1 * height
    return bool(slope <= -0.25 and straight and (last - first + 1).mean() <= 0.3 * height)
