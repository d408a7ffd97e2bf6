"""Lines of writing in a crop of a document: where a number is, before it is read.

A crop cut from a scanned register or form is a tall strip: the number sits somewhere inside,
among ruling lines, the scanner's black margin, underlines and pieces of neighbouring columns
and print. :func:`find_lines` trims the margin (and the shadow of the page's edge beside it),
erases ruling lines, and returns the bands of rows that hold writing, each as a box to read;
the number reader reads each and picks the number's
(:func:`digitrec.number_reader.read_lines`). An image that is itself one line of writing (a
cheque's amount, a drawn number) is returned whole. :func:`even_page` gives the number reader
a photographed page's ink on even paper (no table round it, no shadow over it), and
:func:`level_page` turns a page whose line of writing is turned level (:func:`unturned_box`
turns the digits' boxes back).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageOps

from digitrec.imaging.errors import NoDigitError
from digitrec.imaging.ink import (PAGE_SIZE, STROKE_LEVEL, _normalised_ink, _page_background,
                                 _surround, extract_ink, light_paper, to_grey)
from digitrec.imaging.lines import remove_ruled_lines
from digitrec.imaging.reading import DRAFT_SCALE

LINE_SHARE = 0.35  # an image whose main line of writing is at least this share of its height
# is one line. Measured on the fit halves: ORAND-CAR-A's amounts fill 59% of their image's
# height or more (5th percentile), the register crops' row numbers 30% or less (95th).
MIN_LINE_HEIGHT = 6  # pixels: lower bands are dots, dashes and the feet of long strokes
MARGIN_LEVEL = 0.5  # rows and columns at the edge whose median is under this share of the
# paper's level are the scanner's black margin
GAP = 2  # rows: bands of writing closer than this are one line
STRIP_WIDTH = 86  # pixels: the narrowest register crop of the handwriting folder; a narrower
# strip with a scanner's margin is read enlarged to it (even_page)
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
DARKEST_PAPER = 16.0  # grey levels: even_page divides the ink by the paper's level, at least this
UNEVEN_PAPER = 30  # grey levels: a page whose paper's level varies more than this (its 10th to
# 90th percentile) is in a shadow: a shadow over a third of a page or more darkens it by 80
# levels or more, where ruled and squared pages vary by none (benchmarks/ruled_paper.py) and
# people's photos of a digit (user_digits) by 0 to 32
LINE_LENGTH = 3  # a page's writing at least this many times as long as high is a line (three
# digits or more) whose angle level_page finds
LEVELLED = "digitrec_levelled"  # image.info key: the degrees level_page turned a page by
RULE_LENGTH = 8  # a stroke at least this many times as long as thick, and at least RULE_SHARE
RULE_SHARE = 0.4  # of a page's width across, is a rule (remove_ruled_lines' share), not writing
MIN_TILT = 2.0  # degrees: a page whose writing lies at a smaller angle is read as it is (the
# centres of a level number's digits lie within 0.7 degrees of level: docs/reading.md)
MIN_SKEW = 3.0  # degrees: a strip whose margin's edge leans this far or more is levelled (the
# handwriting folder's register crops lean up to 2.8; 2 degrees askew a crop's lines run
# together: docs/reading.md)
MAX_TILT = 15.0  # degrees: writing at a steeper angle is not taken for a turned line
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
        off, at every level tried for a strip, an image taller than wide that is not a photo
        of a page (:func:`is_photographed_page`): :func:`_faint_level`, then
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
    left, top, right, bottom = scanner_margins(grey)
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
    if not strip:
        ink = remove_ruled_lines(ink)
    strokes = ink > STROKE_LEVEL
    if image.info.get(LEVELLED):
        _, labels, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8),
                                                               connectivity=8)
        strokes &= ~_rules_left(labels, stats)[labels]
    sides = (left > 0, right < grey.shape[1])  # a scanner's margin there: the page's edge
    writing = _without_rules(strokes, sides)
    levels = STRIP_LEVELS[:1]
    if strip:  # each level once: the faint one may be STROKE_LEVEL
        levels = tuple(dict.fromkeys((_faint_level(ink, strokes & ~writing), *STRIP_LEVELS)))
    for level in levels:
        bands = _bands(writing if level == STROKE_LEVEL else _without_rules(ink > level, sides))
        # A band running off the strip's right side is print or writing of the next column (a
        # page's printed footer): it does not set the scale a faint number is measured by.
        inside = [band[4] for band in bands if band[0] + band[2] < right - left - 1]
        most = max(inside or [band[4] for band in bands], default=0)
        bands = [band for band in bands if band[4] >= MIN_BAND_SHARE * most]
        if bands and max(bands, key=lambda band: band[4])[3] < LINE_SHARE * (bottom - top):
            break
    else:
        return whole
    scale = image.width / grey.shape[1]
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


def even_page(image: Image.Image) -> Image.Image:
    """A photo of a page as dark ink on even white paper, for the number reader: the ink that
    :func:`digitrec.imaging.extract_ink` measures (a table round the sheet masked out, shadows
    and light falling off across the sheet taken out, either polarity), drawn back at the
    image's size as an "L" image, 255 for paper. Dark ink on a sheet with no table round it
    is measured as a share of its paper's level instead (flat-field correction: a shadow
    darkens the paper and the ink alike, and the ink over the paper shrinks with the light).
    The number reader's own input (:func:`digitrec.number_reader.to_reader_input`) takes the
    median grey level for the paper, which a table or a shadow over part of the page is not,
    nor the paper of a dim photo.

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        That page (a new image, its ``info`` kept) for a photographed page
        (:func:`is_photographed_page`) with
        a table round the sheet (dark edges on opposite sides, :func:`scanner_margins`, that
        :func:`digitrec.imaging.extract_ink` takes for one), or else without a scanner's
        margin and with paper whose level varies by more than :data:`UNEVEN_PAPER` between
        its 10th and 90th percentiles (a shadow) or whose paper the median grey level takes
        for ink (a dim photo, or chalk on a grey board: :func:`digitrec.imaging.ink.light_paper`).
        A strip (not a photographed page) scanned as a negative, made positive, or narrower
        than the registers it was measured on, enlarged (:func:`_scanned_strip`). Else
        ``image`` itself: a crop of a document (a register's column, its margin often scanned
        with it), a small image, a page of
        even paper, or one holding no ink.
    """
    if not is_photographed_page(image):
        return _scanned_strip(image)
    grey = to_grey(image)
    margin, framed = _dark_edges(grey)
    table = framed and _surround(grey) is not None
    if margin and not table:
        return image
    # Even paper is read as it is: the ink measured over it thins faint strokes, and the number
    # reader, trained on the paper as it is, reads fewer numbers on plain and ruled pages so.
    # Not one whose paper the reader's input, judging by the median grey level, takes for ink.
    dark_ink = light_paper(grey)
    median_misled = dark_ink != (float(np.median(grey)) > 127.5)
    paper = _page_background(255.0 - grey if dark_ink else grey)
    uneven = np.percentile(paper, 90) - np.percentile(paper, 10) > UNEVEN_PAPER
    if not (table or median_misled or uneven):
        return image
    try:
        if table or not dark_ink:
            ink = extract_ink(grey)
        else:  # the ink as a share of the light on the paper: a shadow dims ink and paper alike
            light = np.maximum(255.0 - paper, DARKEST_PAPER)
            ink = _normalised_ink(255.0 * (255.0 - grey - paper) / light, None)
    except NoDigitError:
        return image
    page = Image.fromarray((255 * (1 - ink)).astype(np.uint8))
    if page.size != image.size:
        page = page.resize(image.size, Image.Resampling.BILINEAR)
    page.info.update(image.info)  # a draft's scale (imaging.DRAFT_SCALE) stays with it
    return page


def level_page(image: Image.Image) -> tuple[Image.Image, float]:
    """A photographed page turned so that its writing is level, for reading a number on it:
    the number reader reads a line of writing as it lies.

    The angle is that of the line through the centres of the writing's components (the
    digits, mostly) on the page, its paper's rules erased (:func:`_writing_angle`).

    Args:
        image: a Pillow image, upright, of any mode and size.

    A strip cut from a scanned document (not a photographed page, at least
    :data:`MIN_STRIP_HEIGHT` high) with the scanner's black margin along a side is turned so
    that the margin's edge is upright (:func:`_margin_angle`), where it lies
    :data:`MIN_SKEW` degrees or more off: askew, its ruling lines join the rows of writing
    into one band.

    Returns:
        The image turned by that angle (counter-clockwise for a positive one, enlarged to hold
        it all, the new corners paper; a strip keeps its size, the edges' pixels carried into
        its corners; its ``info`` kept) and the angle in degrees, for a page
        (:func:`is_photographed_page`, no scanner's margin on one side) whose writing is
        a line lying at :data:`MIN_TILT` degrees or more and less than :data:`MAX_TILT`, or a
        strip as above; else ``(image, 0.0)``.
    """
    if not is_photographed_page(image):
        return _level_strip(image)
    grey = to_grey(image)
    margin, framed = _dark_edges(grey)
    if margin and not framed:
        return image, 0.0
    try:
        ink = remove_ruled_lines(extract_ink(grey))
    except NoDigitError:
        return image, 0.0
    tilt = _writing_angle(ink > STROKE_LEVEL)
    if tilt is None or not MIN_TILT <= abs(tilt) < MAX_TILT:
        return image, 0.0
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if image.mode in ("P", "PA") else "RGB")
    if "A" in image.mode:  # transparent corners, composited as the rest of the paper is
        fill = (0,) * len(image.mode)
    else:
        fill = tuple(int(value) for value in np.median(
            np.asarray(image).reshape(-1, len(image.mode)), axis=0))
    turned = image.rotate(tilt, resample=Image.Resampling.BICUBIC, expand=True,
                          fillcolor=fill[0] if image.mode == "L" else fill)
    turned.info.update(image.info)
    turned.info[LEVELLED] = tilt  # find_lines: its rules stop short of its sides
    return turned, tilt


def _level_strip(image: Image.Image) -> tuple[Image.Image, float]:
    """:func:`level_page` for a strip: turned by the angle that makes its scanner's margin's
    edge upright, its size kept."""
    if image.height < MIN_STRIP_HEIGHT or image.width < MIN_LINE_HEIGHT:
        return image, 0.0
    skew = _margin_angle(to_grey(image))
    if skew is None or not MIN_SKEW <= abs(skew) < MAX_TILT:
        return image, 0.0
    image = image.convert("L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB")
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
    turned = Image.fromarray(cv2.warpAffine(pixels, turn, (width, height),
                                            flags=cv2.INTER_CUBIC,
                                            borderMode=cv2.BORDER_REPLICATE))
    turned.info.update(image.info)
    turned.info[LEVELLED] = -skew
    return turned, -skew


def _margin_edges(grey: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The scanner's black margin along a strip's left or right side: for each side whose rows
    start dark (under :data:`MARGIN_LEVEL` of the paper's level, 80% of them or more, the
    margin at most 60% of the width in 60% of the rows or more), ``(sign, rows, edge)``: 1 for
    the left side and -1 for the right, and each such row's first paper column, counted from
    that side."""
    paper = float(np.percentile(grey, 90))
    dark = grey < MARGIN_LEVEL * paper
    height, width = dark.shape
    sides = []
    for sign, side in ((1, dark), (-1, dark[:, ::-1])):
        edge = np.argmin(side, axis=1).astype(np.float64)  # the first paper column
        rows = np.flatnonzero(side[:, 0] & (edge > 0) & (edge < 0.6 * width))
        if side[:, 0].mean() >= 0.8 and len(rows) >= 0.6 * height:
            sides.append((sign, rows, edge[rows]))
    return sides


def _margin_angle(grey: np.ndarray) -> float | None:
    """The angle in degrees (Image.rotate's sense) by which a strip's scanner's margin's edge
    leans off upright: a line fitted through its rows' first paper columns
    (:func:`_margin_edges`), the 20% of rows furthest from a first fit left out; the median of
    the two sides' where both have a margin. None where neither has one."""
    angles = []
    for sign, rows, edge in _margin_edges(grey):
        slope, intercept = np.polyfit(rows, edge, 1)
        distance = np.abs(edge - (slope * rows + intercept))
        near = distance <= max(2.0, float(np.percentile(distance, 80)))
        slope = np.polyfit(rows[near], edge[near], 1)[0]
        angles.append(sign * float(np.degrees(np.arctan(slope))))
    return float(np.median(angles)) if angles else None


def _scanned_strip(image: Image.Image) -> Image.Image:
    """:func:`even_page` for a strip cut from a scanned document (at least
    :data:`MIN_STRIP_HEIGHT` high, or so once enlarged): a negative (light ink on dark paper,
    as some microfilm is) made positive, and one narrower than :data:`STRIP_WIDTH` with a
    scanner's margin enlarged to that width (``info[DRAFT_SCALE]`` keeping the boxes in the
    file's pixels): the line finding's sizes in pixels were measured on such crops. A negative
    is told by its scanner's margin (:func:`_margin_edges`), light where a positive's is black:
    found in the strip's negative, with light paper past it there, and not found in the strip
    itself with light paper past it. Any other image is returned as it is."""
    if image.width < MIN_LINE_HEIGHT or image.height * max(1.0, STRIP_WIDTH / image.width) < \
            MIN_STRIP_HEIGHT:
        return image
    grey = to_grey(image)

    def page_beside(levels: np.ndarray) -> list[float]:  # the median level past each margin
        return [float(np.median((levels if sign > 0 else levels[:, ::-1])[
            :, int(np.median(edge)):])) for sign, _, edge in _margin_edges(levels)]

    beside = page_beside(grey)
    has_margin = bool(beside)
    if not any(level > 127.5 for level in beside) and \
            any(level > 127.5 for level in page_beside(255.0 - grey)):
        info = image.info
        image = ImageOps.invert(image.convert(
            "L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB"))
        image.info.update(info)
        has_margin = True  # the negative's, now black
    if has_margin and image.width < STRIP_WIDTH and image.height > image.width:
        zoom = STRIP_WIDTH / image.width
        info = image.info
        image = image.resize((STRIP_WIDTH, round(image.height * zoom)),
                             Image.Resampling.BICUBIC)
        image.info.update(info)
        image.info[DRAFT_SCALE] = info.get(DRAFT_SCALE, 1.0) / zoom
    return image


def _writing_angle(strokes: np.ndarray) -> float | None:
    """The angle in degrees (Image.rotate's: counter-clockwise on the screen) that levels a
    line of writing: the slope of the least-squares line through its components' centres
    (each counting as much as its area; specks under a tenth of the largest component's area
    and rules that remove_ruled_lines left, :func:`_rules_left`, left out). None where there
    is no line: fewer than three components, or
    components that, along that line, are not :data:`LINE_LENGTH` times as long as they are
    high across it (their pixels' 5th to 95th percentiles)."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(strokes.astype(np.uint8),
                                                                     connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    if count < 4:
        return None
    area[_rules_left(labels, stats)[1:]] = 0
    kept = (area > 0) & (area >= 0.1 * area.max())
    if kept.sum() < 3:
        return None
    slope = np.polyfit(centres[1:, 0][kept], centres[1:, 1][kept], 1, w=np.sqrt(area[kept]))[0]
    angle = float(np.arctan(slope))
    rows, columns = np.nonzero(np.isin(labels, 1 + np.flatnonzero(kept)))
    across = rows * np.cos(angle) - columns * np.sin(angle)
    along = rows * np.sin(angle) + columns * np.cos(angle)
    length, height = (float(np.subtract(*np.percentile(values, [95, 5])))
                      for values in (along, across))
    return float(np.degrees(angle)) if length >= LINE_LENGTH * height else None


def _rules_left(labels: np.ndarray, stats: np.ndarray) -> np.ndarray:
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


def unturned_box(box: list[int], tilt: float, turned_size: tuple[float, float],
                 size: tuple[float, float]) -> list[int]:
    """A box [x, y, width, height] found on a page :func:`level_page` turned by ``tilt``
    degrees (its size then ``turned_size``, before ``size``, both as (width, height) in the
    same pixels as the box) -> the box round it on the page as it was, in those pixels,
    clipped to the page."""
    x, y, width, height = box
    corners = np.array([[x, y], [x + width, y], [x, y + height], [x + width, y + height]],
                       dtype=np.float64) - np.array(turned_size) / 2
    angle = np.radians(tilt)
    # Image.rotate turns counter-clockwise on the screen, y pointing down: undone here.
    back = np.stack([corners[:, 0] * np.cos(angle) - corners[:, 1] * np.sin(angle),
                     corners[:, 0] * np.sin(angle) + corners[:, 1] * np.cos(angle)], axis=1)
    back += np.array(size) / 2
    left, top = np.clip(back.min(axis=0), 0, size)
    right, bottom = np.clip(back.max(axis=0), 0, size)
    return [round(left), round(top), round(right - left), round(bottom - top)]


def _dark_edges(grey: np.ndarray) -> tuple[bool, bool]:
    """Whether the image has dark edges (:func:`scanner_margins`), and whether they lie on
    opposite sides or leave no page at all, as a table round a photographed sheet can (one
    covering most of every row or column: a sheet turned on it): a scanner's margin lies along
    one side (so along every wide register crop of the handwriting folder)."""
    height, width = grey.shape
    left, top, right, bottom = scanner_margins(grey)
    framed = (left > 0 and right < width) or (top > 0 and bottom < height) or \
        right <= left or bottom <= top
    return (left, top, right, bottom) != (0, 0, width, height), framed


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

    def inside(medians: np.ndarray) -> tuple[int, int]:
        dark = medians < MARGIN_LEVEL * paper
        start = int(np.argmin(dark)) if not dark.all() else len(dark)
        end = len(dark) - int(np.argmin(dark[::-1])) if not dark.all() else len(dark)
        return start, max(start, end)

    left, right = inside(np.median(grey, axis=0))
    # Rows are judged inside the columns found: a margin wider than half the image would
    # otherwise make every row's median dark.
    top, bottom = inside(np.median(grey[:, left:right], axis=1)) if right > left else (0, 0)
    return left, top, right, bottom


def _faint_level(ink: np.ndarray, rules: np.ndarray) -> float:
    """A stroke level for faint writing: :data:`FAINT_SHARE` of the 99.5th percentile of the
    ink away from ``rules`` ((H, W) bool: the strokes at :data:`STROKE_LEVEL` that
    :func:`_without_rules` removes) and the pixels next to them, within
    [:data:`MIN_FAINT_LEVEL`, :data:`STROKE_LEVEL`]."""
    rules = cv2.dilate(rules.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    writing = ink[~rules]
    level = FAINT_SHARE * float(np.percentile(writing, 99.5)) if writing.size else STROKE_LEVEL
    return float(np.clip(level, MIN_FAINT_LEVEL, STROKE_LEVEL))


def _without_rules(strokes: np.ndarray, sides: tuple[bool, bool]) -> np.ndarray:
    """Strokes (H, W) bool less the ruling lines: straight vertical runs of a quarter of the
    height (in a strip taller than wide; else of :data:`LINE_SHARE` of it, longer than a line of
    writing there can be) and horizontal runs of half the width (found by morphological
    opening), and the
    pixels next to them, less specks (components under 6 pixels or 3 rows), and less the thin
    upright pieces (at most :data:`EDGE_STROKE_WIDTH` wide, three times as high) within
    :data:`EDGE_BAND` columns of the left or right edge where ``sides`` (left, right) says a
    scanner's margin was cut off there: the broken shadow of the page's edge, which otherwise
    joins a number to the marks below it in one band."""
    height, width = strokes.shape
    strokes = strokes.astype(np.uint8)
    # In an image wider than tall, a 1 can be a third of the height: a rule is longer than
    # any line of writing the image holds.
    run = height // 4 if height > width else round(LINE_SHARE * height)
    vertical = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((max(8, run), 1), np.uint8))
    horizontal = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, np.ones((1, max(8, width // 2)),
                                                                   np.uint8))
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
    keep[0] = False
    return keep[labels]


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
