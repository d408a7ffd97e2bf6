"""A form's boxes, which are not the digits written in them: erased before reading.

:func:`erase_form_boxes` paints over a form's row of boxes (or a comb: a base line with ticks
between the digits) in an image of a number written one digit to a box, before ``read`` reads
it (:func:`digitrec.imaging.page_to_read`); :func:`erase_cell_box` erases the box of one cell
cut out with its digit, in the single-digit pipeline (:func:`digitrec.imaging.to_mnist`).
Their upright walls and ticks read as 1s otherwise (docs/rules.md, rules 46, 47, 49, 51,
52, 54, 56, 58, 61 and 64). :func:`field_strokes` and :func:`painted` serve
:mod:`digitrec.imaging.frames` too, which erases a ring drawn round a number.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from digitrec.imaging.ink import MIN_CONTRAST, STROKE_LEVEL, ink_over_median, to_grey
from digitrec.imaging.text_lines import is_photographed_page

FORM_LINE_SHARE = 0.4  # of the writing's width: a row of strokes this long is a box's top/bottom
MIN_BOX_HEIGHT = 10  # pixels between a box's top and bottom lines, at the working size
MIN_WALLS = 3  # upright lines from a box's top to its bottom: two boxes at least
FORM_TILT = 0.035  # tan(2 degrees): boxes this much askew are found as the image lies
FORM_TURN = (0.5, 5.0)  # degrees: boxes whose lines lie so far off are looked for turned level
FORM_STROKE_LEVEL = 0.15  # of the darkest ink: a form's boxes printed in a light colour
FORM_INK_SHARE = 0.8  # of the strokes off the boxes' lines: inside the row of boxes
BOX_WIDTH_SPREAD = 1.25  # a form's boxes are this much wider than each other at most
BOX_SHAPE = (0.4, 2.5)  # a box for one digit is this many times as wide as high
MIN_TICK = 4  # pixels: a comb's ticks rise at least this far above its base line
TICK_SPREAD = 0.25  # a comb's ticks are this much taller than each other at most
TICK_SHARE = 0.7  # of the writing's height above a comb's line: its ticks are shorter
FRAME_SPAN = 0.6  # of a digit's image: a straight line this long in its outer fifth is a box's side
MIN_CELL_SIZE = 40  # pixels: a smaller image (a bitmap, a 28x28 drawing) is not a form's cell
CORNER_GAP = 0.1  # of the image's size: a box's sides reach this near the sides across them
SIDE_THICKNESS = 0.75  # of the digit's strokes' width: a box's sides are thinner
TICK_HEIGHT = 0.5  # of a comb's cell's height: its ticks are at most this high
PRINT_HEIGHT = 0.5  # of a form's boxes' height: a label's printed letters are no taller
PRINT_GAP = 0.1  # of a form's boxes' height: paper between them and a label above or below them


class Field(NamedTuple):
    """The strokes of an image where a form's field may be (:func:`field_strokes`)."""

    grey: np.ndarray  # (H, W) float32 grey levels in [0, 255] (to_grey)
    strokes: np.ndarray  # (H, W) uint8, 1 for ink over FORM_STROKE_LEVEL of the darkest
    inked: np.ndarray  # (N,) int64, the indices of the columns holding strokes


def erase_cell_box(ink: np.ndarray) -> np.ndarray:
    """A digit's image without the box of a form's cell it was cut out with (docs/rules.md,
    rules 48, 49 and 52).

    A box's sides are straight lines: runs of strokes that survive a morphological opening
    :data:`FRAME_SPAN` of the image's width (or height) long, in its outer fifth. Where all
    four show, meet as a rectangle's (each reaching within :data:`CORNER_GAP` of the image's
    size of the sides across it) and are thinner than the digit's strokes
    (:data:`SIDE_THICKNESS`), they are erased with the strokes touching them in that fifth
    (their anti-aliased edges, the stubs of the next boxes' lines). A digit's strokes are not
    so (a 7's bar and stem make two sides at most, and as thick as the rest of it). A comb's
    cell shows one side, its base line in the bottom fifth, thinner than the strokes, with a
    tick of its own rising from each end (:func:`_comb_ticks`): erased the same way.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black (:func:`extract_ink`).

    Returns:
        The same image with the box's pixels set to 0, or ``ink`` itself where there is none.
    """
    height, width = ink.shape
    if min(height, width) < MIN_CELL_SIZE:
        return ink
    strokes = (ink > STROKE_LEVEL).astype(np.uint8)
    rows, columns = height // 5, width // 5
    across = np.ones((1, round(FRAME_SPAN * width)), np.uint8)
    upright = np.ones((round(FRAME_SPAN * height), 1), np.uint8)
    # The openings run along a band's length only, so each outer fifth is opened alone; a box
    # and a comb both have a bottom line, which most digits' images have not.
    sides = [np.zeros_like(strokes) for _ in range(4)]  # top, bottom, left, right
    sides[1][-rows:] = cv2.morphologyEx(strokes[-rows:], cv2.MORPH_OPEN, across)
    if not sides[1].any():
        return ink
    sides[0][:rows] = cv2.morphologyEx(strokes[:rows], cv2.MORPH_OPEN, across)
    sides[2][:, :columns] = cv2.morphologyEx(strokes[:, :columns], cv2.MORPH_OPEN, upright)
    sides[3][:, -columns:] = cv2.morphologyEx(strokes[:, -columns:], cv2.MORPH_OPEN, upright)
    if all(side.any() for side in sides) and _meet_at_corners(sides):
        box, lines = np.bitwise_or.reduce(sides), sides
    else:  # a comb's cell: its base line, a tick rising from each end (rule 52)
        ticks = _comb_ticks(strokes, sides[1])
        if ticks is None:
            return ink
        box, lines = sides[1] | ticks, [sides[1]]
    inside = strokes & (1 - cv2.dilate(box, np.ones((3, 3), np.uint8)))
    if not inside.any():
        return ink
    widest = SIDE_THICKNESS * stroke_width(inside)
    if any(_thickness(line) > widest for line in lines):
        return ink
    outer = np.ones_like(strokes)
    outer[rows:-rows, columns:-columns] = 0
    _, labels = cv2.connectedComponents(strokes & outer, connectivity=8)
    touching = np.unique(labels[box > 0])
    erase = np.isin(labels, touching[touching > 0]) | (box > 0)
    return ink * ~erase


def stroke_width(strokes: np.ndarray) -> float:
    """The width in pixels of (H, W) uint8 ``strokes`` (1 for ink, some present): four times
    the median distance of their pixels to the paper (a stroke's pixels lie between its edge
    and its middle, half its width in)."""
    distances = cv2.distanceTransform(strokes, cv2.DIST_L2, 3)
    return 4 * float(np.median(distances[strokes > 0]))


def _thickness(line: np.ndarray) -> float:
    """A straight line's thickness in pixels: its pixels over its length (the columns it
    covers, or the rows for an upright one)."""
    covers = line.any(axis=0).sum(), line.any(axis=1).sum()
    length = max(covers)
    return float(line.sum()) / max(1, length)


def _comb_ticks(strokes: np.ndarray, base: np.ndarray) -> np.ndarray | None:
    """The two ticks of a comb's cell (a mask), rising from each end of its ``base`` line (a
    mask of the line in the image's bottom fifth): straight upright strokes of their own
    standing on it within :data:`CORNER_GAP` of the image's width of its ends, at most
    :data:`TICK_HEIGHT` of the image high; or None."""
    if not base.any():
        return None
    height, width = strokes.shape
    line_rows = np.flatnonzero(base.any(axis=1))
    line_columns = np.flatnonzero(base.any(axis=0))
    above = line_rows[0]
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes[:above], connectivity=8)
    thin = round(_thickness(base)) + 2
    gap = max(2, round(CORNER_GAP * width))
    ticks = np.zeros_like(strokes)
    for end in (line_columns[0], line_columns[-1]):
        near = labels[above - 1, max(0, end - gap):end + gap + 1]
        pieces = [piece for piece in np.unique(near[near > 0])
                  if stats[piece, cv2.CC_STAT_WIDTH] <= thin
                  and MIN_TICK <= stats[piece, cv2.CC_STAT_HEIGHT] <= TICK_HEIGHT * height
                  and stats[piece, cv2.CC_STAT_TOP] + stats[piece, cv2.CC_STAT_HEIGHT] == above]
        if not pieces:
            return None
        ticks[:above] |= np.isin(labels, pieces).astype(np.uint8)
    return ticks


def _meet_at_corners(sides: list[np.ndarray]) -> bool:
    """Whether a box's top, bottom, left and right lines (masks) reach, each, to within
    :data:`CORNER_GAP` of the image's size of the two lines across it."""
    height, width = sides[0].shape
    gap = CORNER_GAP * max(height, width)
    rows = [np.flatnonzero(side.any(axis=1)) for side in sides]
    columns = [np.flatnonzero(side.any(axis=0)) for side in sides]
    top, bottom = np.median(rows[0]), np.median(rows[1])
    left, right = np.median(columns[2]), np.median(columns[3])
    across = all(columns[index][0] <= left + gap and columns[index][-1] >= right - gap
                 for index in (0, 1))
    upright = all(rows[index][0] <= top + gap and rows[index][-1] >= bottom - gap
                  for index in (2, 3))
    return across and upright


def erase_form_boxes(image: Image.Image) -> Image.Image:
    """A number written one digit to a box (a form's field) with the boxes painted as paper.

    The boxes' upright walls read as 1s otherwise. They are looked for in an image wider than
    tall, or in a portrait photo of a page (:func:`~digitrec.imaging.is_photographed_page`)
    whose strokes span more columns than rows (a register's strip is neither), across the
    writing's width: from the first column holding strokes to the last (a field cut loosely
    has paper either side). A row of boxes is two straight horizontal lines
    (rows of strokes at least :data:`FORM_LINE_SHARE` of that width long,
    :data:`MIN_BOX_HEIGHT` pixels apart or more) and at least :data:`MIN_WALLS` thin upright
    lines that each run from one to the other, evenly spaced
    (:func:`_evenly_spaced`), with at least :data:`FORM_INK_SHARE` of the other strokes
    between the two (print standing apart above or below the row, a label, left out:
    :func:`_print_apart`): squared paper, whose writing crosses several of its rows, and a cheque
    or a page with a rule or two are not. A comb is one such line with at least
    :data:`MIN_WALLS` ticks rising from it, each a stroke of its own above the line (not a
    digit's foot standing on it), of one height within :data:`TICK_SPREAD`, shorter than the
    writing above it (:data:`TICK_SHARE`), evenly spaced. Where the longest straight line
    lies :data:`FORM_TURN` degrees off (a row on a page photographed or scanned askew, which
    ``level_page`` left as it lies), they are looked for in the strokes turned level by its
    angle first. The lines are painted over by OpenCV's inpainting (A. Telea, J. Graphics
    Tools 2004), so that a digit's stroke crossing a wall stays whole, and so is print that
    reaches nowhere into the boxes (a label beside or above them, :func:`_with_print_beside`).

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        A new "L" image of ``image``'s size (its ``info`` kept) without the boxes, or
        ``image`` itself where there is no row of boxes or comb (docs/rules.md, rules 46,
        47, 51, 54, 56, 58, 61 and 64).
    """
    field = field_strokes(image)
    lines = form_box_lines(field) if field is not None else None
    return image if lines is None else painted(image, field.grey, lines)


def form_box_lines(field: Field) -> np.ndarray | None:
    """The lines of a form's row of boxes or comb in a field's strokes, as
    :func:`erase_form_boxes` finds them: an (H, W) uint8 mask, 1 on the lines; or None."""
    strokes, inked = field.strokes, field.inked
    # A field cut loosely has paper either side: its lines are measured against the width
    # of the writing and the form, from the first column holding strokes to the last.
    left, right = int(inked[0]), int(inked[-1]) + 1
    written = np.ascontiguousarray(strokes[:, left:right])
    across = _across(written)
    found = _turned_box_lines(written, across)
    if found is None:
        found = _box_lines(written, across)
    if found is None:
        return None
    lines = np.zeros_like(strokes)
    lines[:, left:right] = found
    return lines


def field_strokes(image: Image.Image) -> Field | None:
    """Where a form's field may be: an image wider than tall, or a portrait photo of a page
    (:func:`~digitrec.imaging.is_photographed_page`) whose strokes span more columns than rows
    (the phone held upright: docs/rules.md, rule 64); a register's strip is neither.

    Returns:
        The :class:`Field` of the image's strokes; None for other images or no strokes.
    """
    portrait = image.width <= image.height
    if (portrait and not is_photographed_page(image)) or image.height < MIN_BOX_HEIGHT:
        return None
    grey = to_grey(image)
    # The ink as the number reader measures it: the page is made even before (page_to_read),
    # and extract_ink would take a page's time again.
    ink, level = ink_over_median(grey)
    strokes = (ink > FORM_STROKE_LEVEL * max(level, MIN_CONTRAST)).astype(np.uint8)
    inked = np.flatnonzero(strokes.any(axis=0))
    if inked.size == 0:
        return None
    if portrait:
        rows = np.flatnonzero(strokes.any(axis=1))
        if inked[-1] - inked[0] <= rows[-1] - rows[0]:
            return None
    return Field(grey, strokes, inked)


def painted(image: Image.Image, grey: np.ndarray, mask: np.ndarray) -> Image.Image:
    """``image``'s grey levels with the (H, W) uint8 ``mask``'s pixels (and those next to
    them) painted over by OpenCV's inpainting (A. Telea, J. Graphics Tools 2004): a new "L"
    image of ``image``'s size, its ``info`` kept."""
    painted = cv2.inpaint(np.clip(grey, 0, 255).astype(np.uint8),
                          cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)), 3,
                          cv2.INPAINT_TELEA)
    page = Image.fromarray(painted)
    if page.size != image.size:
        page = page.resize(image.size, Image.Resampling.BILINEAR)
    # A palette's transparent index would make a grey level transparent in the grey page.
    page.info.update({key: value for key, value in image.info.items() if key != "transparency"})
    return page


def _turned_box_lines(strokes: np.ndarray, across: np.ndarray) -> np.ndarray | None:
    """:func:`_box_lines` in the strokes turned level by the angle of their longest straight
    horizontal line (the widest component of ``across``), where it lies :data:`FORM_TURN`
    degrees off (docs/rules.md, rule 54: a row's end walls lie beyond the rows where most of
    its lines lie), the mask turned back to the strokes' own pixels; None where the line lies
    otherwise or no boxes are found."""
    height, width = strokes.shape
    if np.count_nonzero(across) < FORM_LINE_SHARE * width:  # no line long enough
        return None
    _, labels, stats, _ = cv2.connectedComponentsWithStats(across, connectivity=8)
    longest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_WIDTH]))  # across holds some strokes
    if stats[longest, cv2.CC_STAT_WIDTH] < FORM_LINE_SHARE * width:
        return None
    rows, columns = np.nonzero(labels == longest)
    angle = float(np.degrees(np.arctan(np.polyfit(columns, rows, 1)[0])))
    if not FORM_TURN[0] <= abs(angle) <= FORM_TURN[1]:
        return None
    # Margins to keep the turned row's ends inside the image.
    margin = (int(np.ceil(np.tan(np.radians(abs(angle))) * width / 2)) + 2,
              int(np.ceil(np.tan(np.radians(abs(angle))) * height / 2)) + 2)
    padded = cv2.copyMakeBorder(strokes, margin[0], margin[0], margin[1], margin[1],
                                cv2.BORDER_CONSTANT, value=0)
    size = (padded.shape[1], padded.shape[0])
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), angle, 1.0)
    turned = cv2.warpAffine(padded, turn, size, flags=cv2.INTER_NEAREST)
    mask = _box_lines(turned, _across(turned))
    if mask is None:
        return None
    back = cv2.warpAffine(mask, turn, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    back = back[margin[0]:margin[0] + height, margin[1]:margin[1] + width]
    return cv2.dilate(back, np.ones((3, 3), np.uint8)) & strokes


def _across(strokes: np.ndarray) -> np.ndarray:
    """The strokes' horizontal runs at least a twentieth of the width long (9 pixels or
    more): a form's lines, a digit's bar."""
    run = max(9, strokes.shape[1] // 20)
    return cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))


def _box_lines(strokes: np.ndarray, across: np.ndarray) -> np.ndarray | None:
    """The pixels of a row of boxes' or a comb's lines in (H, W) uint8 strokes (1 for ink),
    with their horizontal runs ``across`` (:func:`_across`), as a uint8 mask, or None where
    :func:`erase_form_boxes` finds neither."""
    width = strokes.shape[1]
    # A line a degree or so askew runs through two or three rows across the image.
    rows_across = cv2.dilate(across, np.ones((3, 1), np.uint8)).sum(axis=1)
    long_rows = np.flatnonzero(rows_across >= FORM_LINE_SHARE * width)
    if long_rows.size == 0:
        return None
    groups = np.split(long_rows, np.flatnonzero(np.diff(long_rows) > 1) + 1)
    # Neighbouring lines, then any two with others between: large digits' tops can line up
    # into a long line between a box's top and bottom; such a pair must be drawn thinner than
    # the writing between them (docs/rules.md, rule 51).
    pairs = [(groups[first], groups[first + span], span > 1)
             for span in range(1, len(groups)) for first in range(len(groups) - span)]
    for top, bottom, apart in pairs:
        gap = bottom[0] - top[-1]
        if gap < MIN_BOX_HEIGHT:
            continue
        # A wall askew by up to FORM_TILT drifts sideways over the box's height.
        tilt = 1 + int(FORM_TILT * gap / 2)
        drifted = cv2.dilate(strokes[top[-1]:bottom[0] + 1], np.ones((1, 2 * tilt + 1), np.uint8))
        columns = np.flatnonzero(drifted.all(axis=0))
        thin = max(3, round(0.06 * gap)) + 2 + 2 * tilt  # a line's width, anti-aliased
        walls = _walls(columns, strokes[top[-1]:bottom[0] + 1], thin)
        if len(walls) < MIN_WALLS or not _evenly_spaced([wall.mean() for wall in walls], gap):
            continue
        # Asked last: its distance transform costs more than finding the walls.
        if apart and not _thinner_than_writing(strokes, across, (top, bottom)):
            continue
        mask = _form_mask(strokes, across, walls, (top, bottom), slice(top[0], bottom[-1] + 1))
        mask = _with_print_beside(strokes, mask, slice(top[-1], bottom[0] + 1),
                                  slice(walls[0][0], walls[-1][-1] + 1), gap,
                                  (top[0], bottom[-1]))
        if mask is not None:
            return mask
    for base in groups:
        mask = _comb_lines(strokes, across, base)
        if mask is not None:
            return mask
    return None


def _thinner_than_writing(strokes: np.ndarray, across: np.ndarray,
                          lines: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether both ``lines`` (the rows of a box's top and bottom) are thinner than the
    strokes between them: each line's runs in ``across`` (:func:`_thickness`) at most
    :data:`SIDE_THICKNESS` of the strokes' width (:func:`stroke_width`)."""
    top, bottom = lines
    between = strokes[top[-1] + 1:bottom[0]]
    if not between.any():
        return False
    width = stroke_width(between)
    return all(_thickness(across[line[0]:line[-1] + 1]) <= SIDE_THICKNESS * width
               for line in lines)


def _comb_lines(strokes: np.ndarray, across: np.ndarray, base: np.ndarray
                ) -> np.ndarray | None:
    """A comb's mask (:func:`_box_lines`): the base line at rows ``base`` and at least
    :data:`MIN_WALLS` ticks rising from it, of one height (within :data:`TICK_SPREAD`),
    shorter than the writing above the line, evenly spaced (:func:`_evenly_spaced`); or None."""
    written = np.flatnonzero(strokes[:base[0]].any(axis=1))
    if written.size == 0 or base[0] - written[0] < MIN_BOX_HEIGHT:
        return None
    height = base[0] - written[0]  # of the writing above the line
    tilt = 1 + int(FORM_TILT * height / 2)
    # Each column's run of strokes up from the line's middle row, less the line's own rows.
    middle = base[np.argmax(across[base].sum(axis=1))]
    drifted = cv2.dilate(strokes[:middle + 1], np.ones((1, 2 * tilt + 1), np.uint8))
    upward = np.vstack([drifted[::-1], np.zeros((1, strokes.shape[1]), np.uint8)])
    rises = np.argmin(upward, axis=0) - (middle - base[0] + 1)
    columns = np.flatnonzero(rises >= MIN_TICK)
    thin = max(3, round(0.06 * height)) + 2 + 2 * tilt
    candidates = _walls(columns, strokes[base[0] - MIN_TICK:base[0]], thin)
    if len(candidates) < MIN_WALLS:  # too few for a comb, whichever stand alone
        return None
    # A tick stands alone on the line: above the line, its piece of stroke is no wider than a
    # line and no taller than its rise (not the foot of a digit written down to the line).
    _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes[:base[0]], connectivity=8)
    candidates = [candidate for candidate in candidates
                  if _alone(labels, stats, candidate, rises[candidate].max(), thin)]
    if not candidates:
        return None
    tall = np.array([rises[candidate].max() for candidate in candidates])
    alike = [np.abs(tall - value) <= TICK_SPREAD * value for value in tall]
    most = max(range(len(tall)), key=lambda index: alike[index].sum())
    ticks = [candidate for candidate, like in zip(candidates, alike[most]) if like]
    tick_height = int(np.median(tall[alike[most]]))
    if (len(ticks) < MIN_WALLS or tick_height > TICK_SHARE * height
            or not _evenly_spaced([tick.mean() for tick in ticks], height)):
        return None
    rows = slice(max(0, base[0] - tick_height - 1), base[-1] + 1)
    mask = _form_mask(strokes, across, ticks, (base,), rows)
    return _with_print_beside(strokes, mask, slice(0, base[0]),
                              slice(ticks[0][0], ticks[-1][-1] + 1), height)


def _alone(labels: np.ndarray, stats: np.ndarray, tick: np.ndarray, rise: int,
           thin: int) -> bool:
    """Whether every piece of stroke just above the line in the columns ``tick`` is at most
    ``thin`` wide and ``rise`` (plus a pixel of anti-aliasing) high: a comb's tick, alone."""
    pieces = np.unique(labels[-1, tick[0]:tick[-1] + 1])
    pieces = pieces[pieces > 0]
    return pieces.size > 0 and all(stats[piece, cv2.CC_STAT_WIDTH] <= thin
                                   and stats[piece, cv2.CC_STAT_HEIGHT] <= rise + 2
                                   for piece in pieces)


def _form_mask(strokes: np.ndarray, across: np.ndarray, walls: list[np.ndarray],
               lines: tuple[np.ndarray, ...], wall_rows: slice) -> np.ndarray:
    """The mask of a form's lines: the ``walls``' columns over ``wall_rows``, and the runs of
    ``across`` in the rows of ``lines`` that meet a wall (not a 7's bar near a line), with the
    strokes next to them (their anti-aliased edges)."""
    columns = np.zeros(strokes.shape[1], bool)
    for wall in walls:
        columns[wall[0]:wall[-1] + 1] = True
    mask = np.zeros_like(strokes)
    mask[wall_rows, columns] = 1
    for line in lines:
        rows = slice(max(0, line[0] - 1), line[-1] + 2)
        _, labels = cv2.connectedComponents(across[rows], connectivity=8)
        meeting = np.unique(labels[:, columns])
        mask[rows] |= np.isin(labels, meeting[meeting > 0]).astype(np.uint8)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8)) & strokes | mask


def _with_print_beside(strokes: np.ndarray, mask: np.ndarray, rows: slice, columns: slice,
                       box_height: int, lines: tuple[int, int] | None = None
                       ) -> np.ndarray | None:
    """A form's lines (``mask``) and the print beside its field (``rows`` x ``columns``:
    between its lines, from its first wall to its last), where the field holds the writing:
    at least :data:`FORM_INK_SHARE` of the strokes off the lines lie in ``rows``; None where
    it does not (docs/rules.md, rule 46). For a row of boxes, ``lines`` gives the first row of
    its top line and the last of its bottom line: print standing apart from the row above or
    below them (:func:`_print_apart`, a label above the boxes) does not count (rule 58).

    The print added to the mask is the strokes' connected components that reach nowhere into
    the field and are at most :data:`PRINT_HEIGHT` of ``box_height`` high: a printed label
    beside the boxes, whose letters were read as digits (rule 56); a digit beyond a wall not
    found, taller, stays. Wholly beyond the ends of the row's lines, :data:`PRINT_GAP` of
    ``box_height`` of paper between, print up to ``box_height`` high is painted: a label in
    capitals as tall as the digits ("ID"; rule 70)."""
    others = strokes & (1 - cv2.dilate(mask, np.ones((3, 3), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(others, connectivity=8)
    apart = _print_apart(stats, lines, box_height) if lines is not None else np.zeros(count, bool)
    off_lines = int(stats[1:, cv2.CC_STAT_AREA][~apart[1:]].sum())
    if others[rows].sum() < FORM_INK_SHARE * max(1, off_lines):
        return None
    in_field = np.zeros(count, bool)
    in_field[labels[rows, columns]] = True
    # Beyond the ends of the row's lines, with paper between, a label's letters may be as tall
    # as the digits: a digit in a box whose end wall was not found lies over its lines.
    lined = np.flatnonzero(mask.any(axis=0))
    gap = max(2, round(PRINT_GAP * box_height))
    left, height = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_HEIGHT]
    beyond = (left + stats[:, cv2.CC_STAT_WIDTH] <= lined[0] - gap) | (left > lined[-1] + gap)
    beside = ~in_field & ((height <= PRINT_HEIGHT * box_height)
                          | (beyond & (height <= box_height)))
    beside[0] = False
    return mask | beside[labels].astype(np.uint8)


def _print_apart(stats: np.ndarray, lines: tuple[int, int], box_height: int) -> np.ndarray:
    """Which connected components (OpenCV's ``stats`` rows, the paper's first) are print
    standing apart from a row of boxes whose lines run from row ``lines[0]`` to ``lines[1]``:
    wholly above or below them with :data:`PRINT_GAP` of ``box_height`` of rows between (a
    digit's stroke poking over a line ends at it), at most :data:`PRINT_HEIGHT` of it high and
    narrower than it (letters, not a rule or a cheque's printed background; rule 58)."""
    gap = max(2, round(PRINT_GAP * box_height))
    top = stats[:, cv2.CC_STAT_TOP]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]  # the row below the component's last
    apart = ((bottom <= lines[0] - gap) | (top > lines[1] + gap)) \
        & (stats[:, cv2.CC_STAT_HEIGHT] <= PRINT_HEIGHT * box_height) \
        & (stats[:, cv2.CC_STAT_WIDTH] < box_height)
    apart[0] = False
    return apart


def _walls(columns: np.ndarray, box_rows: np.ndarray, thin: int) -> list[np.ndarray]:
    """Runs of adjacent ``columns`` (where strokes, drifting sideways, run through every row of
    ``box_rows``) at most ``thin`` wide, each a wall; a wider run is two boxes' walls a few
    pixels apart, run together by the drift, and is parted where under half of those rows
    are strokes."""
    walls = []
    for run in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1):
        if run.size > thin:
            cores = run[box_rows[:, run].mean(axis=0) >= 0.5]
            parts = np.split(cores, np.flatnonzero(np.diff(cores) > 1) + 1) if cores.size else []
            walls += [part for part in parts if 0 < part.size <= thin]
        elif run.size:
            walls.append(run)
    return walls


def _evenly_spaced(walls: list[float], height: int) -> bool:
    """Whether upright lines at these columns (pixels, left to right) are a form's boxes
    ``height`` pixels high: boxes of one width (within :data:`BOX_WIDTH_SPREAD`), each between
    :data:`BOX_SHAPE` times as wide as high, sharing their walls or with narrower gaps between
    them, as a form prints them; a digit's strokes are not spaced so."""
    spaces = np.diff(walls)
    boxes = spaces[spaces >= 0.5 * spaces.max()]
    gaps = spaces[spaces < 0.5 * spaces.max()]
    return (boxes.size >= 2 and boxes.max() <= BOX_WIDTH_SPREAD * boxes.min()
            and BOX_SHAPE[0] * height <= np.median(boxes) <= BOX_SHAPE[1] * height
            and gaps.size <= boxes.size)
