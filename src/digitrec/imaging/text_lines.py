"""Lines of writing in a crop of a document: where a number is, before it is read.

A crop cut from a scanned register or form is a tall strip: the number sits somewhere inside,
among ruling lines, the scanner's black margin, underlines and pieces of neighbouring columns
and print. :func:`find_lines` trims the margin (and the shadow of the page's edge beside it),
erases ruling lines, and returns the bands of rows that hold writing, each as a box to read;
the number reader reads each and picks the number's
(:func:`digitrec.number_reader.read_lines`). An image that is itself one line of writing (a
cheque's amount, a drawn number) is returned whole. A photographed page
(:func:`is_photographed_page`) is read as a page, not a strip; :mod:`digitrec.imaging.pages`
makes one even and level first.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from digitrec.imaging.errors import NoDigitError
from digitrec.imaging.ink import PAGE_SIZE, STROKE_LEVEL, extract_ink, is_bilevel, to_grey
from digitrec.imaging.lines import remove_ruled_lines

LINE_SHARE = 0.35  # an image whose main line of writing is at least this share of its height
# is one line. Measured on the fit halves: ORAND-CAR-A's amounts fill 59% of their image's
# height or more (5th percentile), the register crops' row numbers 30% or less (95th).
MIN_LINE_HEIGHT = 6  # pixels: lower bands are dots, dashes and the feet of long strokes
MARGIN_LEVEL = 0.5  # rows and columns at the edge whose median is under this share of the
# paper's level are the scanner's black margin
GAP = 2  # rows: bands of writing closer than this are one line
MIN_STRIP_HEIGHT = 96  # pixels: a crop holding several lines of writing is at least three of
# the number reader's lines high; a smaller image (a small drawing of one digit) is one line
STRIP_LEVELS = (STROKE_LEVEL, 0.5, 0.75)  # ink levels for strokes, tried in turn in a strip
FAINT_SHARE = 0.5  # in a strip, a level of this share of the writing's own ink level is tried
# first (at least MIN_FAINT_LEVEL): ruling lines and the margin's edge set the ink's scale, and
# faint writing can stay under STROKE_LEVEL
MIN_FAINT_LEVEL = 0.08
EDGE_BAND = 12  # columns: thin upright pieces this near a margin's side are the page's edge
EDGE_STROKE_WIDTH = 4  # pixels: and at most this wide (measured on the fit registers,
# docs/reading.md)
PORTRAIT_WIDTH = 300  # pixels: an image taller than wide is a photo of a page from this width
# (a phone's photo, even reduced for the web, is wider; the handwriting folder's register crops
# are at most 170 pixels wide)
LEVELLED = "digitrec_levelled"  # image.info key: the degrees level_page turned a page by
RULE_LENGTH = 8  # a stroke at least this many times as long as thick, and at least RULE_SHARE
RULE_SHARE = 0.4  # of a page's width across, is a rule (remove_ruled_lines' share), not writing
BROKEN_RULE_PIECES = 3  # in a bilevel strip, this many narrow pieces lined up in one column over
# half its height are a ruling line its threshold broke (docs/reading.md)
MIN_PAGE_SHARE = 1 / 3  # dark edges leaving less of the image than this between them are dark
# paper (light strokes drawn on black), not a scanner's margins: these leave 45% of a register
# crop's width or more, 97% of its height (the fit registers)
ACROSS = 0.8  # a straight run of ink over this share of an image's width or height is a rule
# across it: a page of ruled paper has one (and every register crop a scanner's margin)
MIN_BAND_SHARE = 0.2  # bands with less ink than this share of the inkiest band's are specks,
# corners of rules and the ends of strokes from the next row (measured on the fit registers,
# docs/reading.md)



def find_lines(image: Image.Image) -> list[tuple[int, int, int, int]]:
    """The lines of writing to read in an image of a number or a crop of a document.

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        Boxes ``(left, top, right, bottom)`` in the image's pixels, top to bottom: the whole
        image when it is under :data:`MIN_STRIP_HEIGHT` high or is one line of writing (its
        main band of writing, the one with the most
        ink, is at least :data:`LINE_SHARE` of its height once the scanner's margins are cut
        off (dark edges leaving less than :data:`MIN_PAGE_SHARE` of the image are its paper,
        not margins; long straight strokes are rules only in a document: a strip, an image
        with a margin, or one that :func:`has_rule_across`), at every level tried for a strip,
        an image taller than wide that is not a photo of a page
        (:func:`is_photographed_page`): :func:`_faint_level`, then
        :data:`STRIP_LEVELS`), or when it holds no writing at all; else each band of rows
        holding writing (ruling lines, on a page tilted ones too
        (:func:`digitrec.imaging.remove_ruled_lines`), the margin, bands lower than
        :data:`MIN_LINE_HEIGHT` and
        bands with less than :data:`MIN_BAND_SHARE` of the inkiest band's ink left out, of
        the bands that do not run off the strip's right side when there are such) with a
        margin of paper around its ink of 40% of its height.
    """
    whole = [(0, 0, image.width, image.height)]
    if image.height < MIN_STRIP_HEIGHT:
        return whole
    grey = to_grey(image)
    grey_height, grey_width = grey.shape
    left, top, right, bottom = scanner_margins(grey)
    if right - left < MIN_PAGE_SHARE * grey_width or bottom - top < MIN_PAGE_SHARE * grey_height:
        left, top, right, bottom = 0, 0, grey_width, grey_height  # dark paper, not a margin
    if right - left < MIN_LINE_HEIGHT or bottom - top < MIN_LINE_HEIGHT:
        return whole
    try:
        ink = extract_ink(grey[top:bottom, left:right])
    except NoDigitError:
        return whole
    # A strip taller than wide is a crop of a column, not a line (a portrait photo of a page
    # is not a strip: a higher level can part a large digit's thin stroke into two bands, and
    # read its top as a number of its own): its writing can be fainter
    # than its rules, or leave the paper's texture over the stroke level, so other levels are
    # tried. A page's rules can be tilted (a photo of ruled paper), and the straight runs
    # _without_rules finds miss them: they are erased along their own slope first. On a page
    # level_page turned, they stop short of its sides, where remove_ruled_lines looks for
    # them: what it leaves of them is dropped (else they joined every row into one band).
    portrait_photo = image.height > image.width and is_photographed_page(image)
    strip = bottom - top > right - left and not portrait_photo
    # A document (a strip cut from a scanned page, a page of ruled paper) is a strip or has a
    # scanner's margin or a rule across it. In another image (a drawing, a photo of plain
    # paper) a long straight stroke is writing, a large 1's stem or a 7's bar, not a rule.
    document = strip or (left, top, right, bottom) != (0, 0, grey_width, grey_height) or \
        has_rule_across(ink > STROKE_LEVEL)
    if not strip:
        ink = remove_ruled_lines(ink)
    strokes = ink > STROKE_LEVEL
    if image.info.get(LEVELLED):
        _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8),
                                                               connectivity=8)
        strokes &= ~rules_left(labels, stats)[labels]
    sides = (left > 0, right < grey_width)  # a scanner's margin there: the page's edge
    # A bilevel scan's threshold breaks a faint rule into pieces that each look like a 1.
    broken = strip and is_bilevel(image)
    writing = _without_rules(strokes, sides, broken, document)
    levels = STRIP_LEVELS[:1]
    if strip:  # each level once: the faint one may be STROKE_LEVEL
        levels = tuple(dict.fromkeys((_faint_level(ink, strokes & ~writing), *STRIP_LEVELS)))
    for level in levels:
        bands = _bands(writing if level == STROKE_LEVEL
                       else _without_rules(ink > level, sides, broken, document))
        # A band running off the strip's right side is print or writing of the next column (a
        # page's printed footer): it does not set the scale a faint number is measured by.
        inside = [band[4] for band in bands if band[0] + band[2] < right - left - 1]
        most = max(inside or [band[4] for band in bands], default=0)
        bands = [band for band in bands if band[4] >= MIN_BAND_SHARE * most]
        if bands and max(bands, key=lambda band: band[4])[3] < LINE_SHARE * (bottom - top):
            break
    else:
        return whole
    scale = image.width / grey_width
    boxes = []
    for x, y, width, height, _ in bands:
        if height < MIN_LINE_HEIGHT:
            continue
        pad = max(3, round(0.4 * height))
        box = (max(left, left + x - pad), max(top, top + y - pad),
               min(right, left + x + width + pad), min(bottom, top + y + height + pad))
        boxes.append(tuple(round(value * scale) for value in box))
    return boxes or whole


def is_photographed_page(image: Image.Image) -> bool:
    """Whether an image may be a photo of a page, which :func:`even_page` and
    :func:`level_page` look at: at least :data:`~digitrec.imaging.PAGE_SIZE` pixels both ways
    and at least as wide as tall, or a portrait photo (a phone held upright: at least
    :data:`PORTRAIT_WIDTH` pixels wide and at most twice as tall). A narrower image taller than
    wide is a strip cut from a document (a register's column), a small one a crop or a bitmap."""
    width, height = image.size
    return min(width, height) >= PAGE_SIZE and (
        width >= height or (width >= PORTRAIT_WIDTH and height <= 2 * width))


def rules_left(labels: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Which of a page's stroke components (``labels`` and ``stats``, as
    ``cv2.connectedComponentsWithStats`` gives them) are rules that
    :func:`digitrec.imaging.remove_ruled_lines` left, (count,) bool: strokes at least
    :data:`RULE_SHARE` of the page's width across and :data:`RULE_LENGTH` times as long as
    thick, filling at least half the rectangle round them (not a rule and the digits it
    crosses). (Rules that stop short of the page's sides, as on a photo turned with its page,
    are not taken for rules there.)"""
    rules = np.zeros(len(stats), dtype=bool)
    long = stats[:, cv2.CC_STAT_WIDTH] >= RULE_SHARE * labels.shape[1]
    for index in np.flatnonzero(long[1:]) + 1:  # 0 is the background
        left, top, width, height = stats[index, :4]
        pixels = np.nonzero(labels[top:top + height, left:left + width] == index)
        (_, _), sides, _ = cv2.minAreaRect(np.column_stack(pixels).astype(np.float32))
        length, thickness = max(sides), max(min(sides), 1.0)
        # A rule fills the rectangle round it; a rule and the digits it crosses do not.
        rules[index] = length >= RULE_LENGTH * thickness and \
            len(pixels[0]) >= 0.5 * length * thickness
    return rules


def scanner_margins(grey: np.ndarray) -> tuple[int, int, int, int]:
    """Where the page starts inside a scanner's black margins.

    Args:
        grey: (H, W) float32 grey levels in [0, 255], dark ink on light paper.

    Returns:
        ``(left, top, right, bottom)`` in pixels: the columns and rows at the image's edges
        whose median grey level is under :data:`MARGIN_LEVEL` of the paper's (its 90th
        percentile) are outside; the whole image for one without such margins.
    """
    paper = float(np.percentile(grey, 90))

    def inside(dark: np.ndarray) -> tuple[int, int]:
        start = int(np.argmin(dark)) if not dark.all() else len(dark)
        end = len(dark) - int(np.argmin(dark[::-1])) if not dark.all() else len(dark)
        return start, max(start, end)

    left, right = inside(_median_under(grey, MARGIN_LEVEL * paper, axis=0))
    # Rows are judged inside the columns found: a margin wider than half the image would
    # otherwise make every row's median dark.
    top, bottom = inside(_median_under(grey[:, left:right], MARGIN_LEVEL * paper, axis=1)) \
        if right > left else (0, 0)
    return left, top, right, bottom


def has_scanner_margin(grey: np.ndarray) -> bool:
    """Whether :func:`scanner_margins` finds a scanner's black margin at any edge of ``grey``
    ((H, W) float32 grey levels in [0, 255], dark ink on light paper): a document's scan or
    crop has one; a drawing or a tight photo of paper has none."""
    return scanner_margins(grey) != (0, 0, grey.shape[1], grey.shape[0])


def _median_under(grey: np.ndarray, level: float, axis: int) -> np.ndarray:
    """Whether the median of each column (``axis`` 0) or row (1) of ``grey`` (H, W) is under
    ``level``, as ``np.median(grey, axis) < level`` says, (W,) or (H,) bool: by counting the
    values under it (the median is under it when more than half are), without sorting;
    ``np.median`` itself only for a column or row of an even count whose two middle values
    lie either side of ``level``."""
    count = grey.shape[axis]
    under = (grey < level).sum(axis=axis)
    if count % 2:
        return 2 * under > count
    dark = under > count // 2
    tied = np.flatnonzero(under == count // 2)
    if len(tied):
        dark[tied] = np.median(np.take(grey, tied, axis=1 - axis), axis=axis) < level
    return dark


def _faint_level(ink: np.ndarray, rules: np.ndarray) -> float:
    """A stroke level for faint writing: :data:`FAINT_SHARE` of the 99.5th percentile of the
    ink away from ``rules`` ((H, W) bool: the strokes at :data:`STROKE_LEVEL` that
    :func:`_without_rules` removes) and the pixels next to them, within
    [:data:`MIN_FAINT_LEVEL`, :data:`STROKE_LEVEL`]."""
    rules = cv2.dilate(rules.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    writing = ink[~rules]
    level = FAINT_SHARE * float(np.percentile(writing, 99.5)) if writing.size else STROKE_LEVEL
    return float(np.clip(level, MIN_FAINT_LEVEL, STROKE_LEVEL))


def has_rule_across(strokes: np.ndarray) -> bool:
    """Whether strokes (H, W) bool hold a rule across the image: a straight upright run of
    :func:`_rule_runs` over :data:`ACROSS` of the height, or a level one over that share of the
    width."""
    height, width = strokes.shape
    vertical, horizontal = _rule_runs(strokes.astype(np.uint8))
    for runs, extent, length in ((vertical, cv2.CC_STAT_HEIGHT, height),
                                 (horizontal, cv2.CC_STAT_WIDTH, width)):
        count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
        if count > 1 and stats[1:, extent].max() >= ACROSS * length:
            return True
    return False


def _rule_runs(strokes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The straight runs of strokes (H, W) uint8 that may be rules, (H, W) uint8 each: upright
    runs of :func:`_upright_run` rows and level runs of half the width (found by morphological
    opening)."""
    height, width = strokes.shape
    run = _upright_run(height, width)
    vertical = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    horizontal = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((1, max(8, width // 2)),
                                                                   np.uint8))
    return vertical, horizontal


def _upright_run(height: int, width: int) -> int:
    """The rows an upright rule runs down at least: a quarter of the height in a strip taller
    than wide, else :data:`LINE_SHARE` of it (at least 8)."""
    # In an image wider than tall, a 1 can be a third of the height: a rule is longer than
    # any line of writing the image holds.
    return max(8, height // 4 if height > width else round(LINE_SHARE * height))


def _without_rules(strokes: np.ndarray, sides: tuple[bool, bool],
                   broken: bool = False, document: bool = True) -> np.ndarray:
    """Strokes (H, W) bool less the ruling lines of a ``document`` (:func:`_rule_runs`) and the
    pixels next to them, less specks (components under 6 pixels or 3 rows), and less the thin
    upright pieces (at most :data:`EDGE_STROKE_WIDTH` wide, three times as high) within
    :data:`EDGE_BAND` columns of the left or right edge where ``sides`` (left, right) says a
    scanner's margin was cut off there: the broken shadow of the page's edge, which otherwise
    joins a number to the marks below it in one band. With ``broken`` (a bilevel strip), less
    the pieces of upright rules its threshold broke too (:func:`_broken_rules`). Not a
    ``document`` (:func:`find_lines`: a drawing, a photo of plain paper): no rules erased."""
    height, width = strokes.shape
    strokes = strokes.astype(np.uint8)
    vertical, horizontal = _rule_runs(strokes) if document else (np.zeros_like(strokes),) * 2
    rules = cv2.dilate(vertical | horizontal, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes & (1 - rules),
                                                               connectivity=8)
    left, component_width = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_WIDTH]
    component_height = stats[:, cv2.CC_STAT_HEIGHT]
    at_edge = (sides[0] & (left <= EDGE_BAND)) | (
        sides[1] & (left + component_width >= width - EDGE_BAND))
    edge_shadow = at_edge & (component_width <= EDGE_STROKE_WIDTH) & (
        component_height >= 3 * component_width)
    keep = (stats[:, cv2.CC_STAT_AREA] >= 6) & (component_height >= 3) & ~edge_shadow
    if broken and document:
        keep &= ~_broken_rules(labels, stats, vertical.astype(bool), _upright_run(height, width))
    keep[0] = False
    return keep[labels]


def _broken_rules(labels: np.ndarray, stats: np.ndarray, vertical: np.ndarray,
                  run: int) -> np.ndarray:
    """Which components (``labels`` and ``stats``, as ``cv2.connectedComponentsWithStats``
    gives them) are pieces of an upright rule that a bilevel scan's threshold broke, (count,)
    bool: narrow pieces (at most :data:`EDGE_STROKE_WIDTH` wide) in a column that a rule runs
    down for ``run`` rows, whole (``vertical``, (H, W) bool) and in such pieces together, or
    that holds at least :data:`BROKEN_RULE_PIECES` of them from one end of half the height to
    the other. (A digit, even broken, is one line of writing high.)"""
    height, width = labels.shape
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    narrow = stats[:, cv2.CC_STAT_WIDTH] <= EDGE_STROKE_WIDTH
    narrow[0] = False  # the background
    columns = np.arange(width)
    # covers[piece, column]: the narrow piece lies in that column
    covers = (left[:, None] <= columns) & (columns < (left + stats[:, cv2.CC_STAT_WIDTH])[:, None])
    covers &= narrow[:, None]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    span = (np.where(covers, bottom[:, None], 0).max(axis=0)
            - np.where(covers, top[:, None], height).min(axis=0))
    rule_columns = ((vertical | narrow[labels]).sum(axis=0) >= run) | (
        (covers.sum(axis=0) >= BROKEN_RULE_PIECES) & (span >= height / 2))
    return (covers & rule_columns).any(axis=1)


def _bands(writing: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Bands of rows holding writing, (x, y, width, height, ink pixels) each, top to bottom;
    rows with writing less than :data:`GAP` rows apart are one band."""
    rows = np.flatnonzero(writing.any(axis=1))
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) > GAP)
    bands = []
    for first, last in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]]):
        band = writing[first:last + 1]
        columns = np.flatnonzero(band.any(axis=0))
        bands.append((int(columns[0]), int(first), int(columns[-1] + 1 - columns[0]),
                      int(last + 1 - first), int(band.sum())))
    return bands
