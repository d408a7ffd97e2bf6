"""A photographed page, or a strip cut from a scanned document, made ready to read: the third
stage before the lines of writing are found (:mod:`digitrec.imaging.text_lines`).

:func:`even_page` gives the number reader a photographed page's ink on even white paper (no
table round it, no shadow over it, not dim), and a strip scanned as a negative or at a low
resolution as a positive at the line finding's scale; :func:`level_page` turns a page whose
line of writing is turned, or a strip cut from a page scanned askew, level
(:func:`unturned_box` turns the digits' boxes back). :func:`page_to_read` does both, and
erases a form's boxes and a ring drawn round the number, for ``Recognizer.read`` and
``NumberReader.read``; the number reader's training, which reads crops as they are, calls
none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps

from digitrec.imaging.errors import NoDigitError
from digitrec.imaging.ink import (DITHERED, MIN_POLARITY_SIZE, STROKE_LEVEL, extract_ink,
                                  has_colour, is_bilevel, is_dithered, is_small_photo,
                                  light_paper, normalised_ink, page_background, table_mask,
                                  to_grey)
from digitrec.imaging.frames import erase_boxes_and_frame
from digitrec.imaging.lines import remove_ruled_lines
from digitrec.imaging.reading import DRAFT_SCALE
from digitrec.imaging.text_lines import (LEVELLED, MARGIN_LEVEL, MIN_LINE_HEIGHT,
                                         MIN_STRIP_HEIGHT, is_photographed_page, rules_left,
                                         scanner_margins)

STRIP_WIDTH = 86  # pixels: the narrowest register crop of the handwriting folder; a narrower
# strip with a scanner's margin is read enlarged to it (even_page)
DARKEST_PAPER = 16.0  # grey levels: even_page divides the ink by the paper's level, at least this
UNEVEN_PAPER = 30  # grey levels: a page whose paper's level varies more than this (its 10th to
# 90th percentile) is in a shadow: a shadow over a third of a page or more darkens it by 80
# levels or more, where ruled and squared pages vary by none (benchmarks/ruled_paper.py) and
# people's photos of a digit (user_digits) by 0 to 32
LINE_LENGTH = 3  # a page's writing at least this many times as long as high is a line (three
# digits or more) whose angle level_page finds
MIN_TILT = 2.0  # degrees: a page whose writing lies at a smaller angle is read as it is (the
# centres of a level number's digits lie within 0.7 degrees of level: docs/reading.md)
MIN_SKEW = 0.5  # degrees: a strip whose margin's edge leans this far or more is levelled
# (askew, a crop's rules cross its rows and its lines run together: docs/reading.md, rule 20)
MAX_TILT = 15.0  # degrees: writing at a steeper angle is not taken for a turned line


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
        than the registers it was measured on, enlarged (:func:`_scanned_strip`). A small
        photo (not a photographed page, at least :data:`MIN_POLARITY_SIZE` pixels both ways,
        with colour: :func:`~digitrec.imaging.ink.has_colour`) as a photographed page is.
        Else ``image`` itself: a crop of a document (a register's column, its margin often
        scanned with it, grey), a small grey image or bitmap, a page of even paper, or one
        holding no ink.
    """
    if not is_photographed_page(image):
        strip = _scanned_strip(image)
        # A small photo can lie in a shadow too; a document's crop, grey, is read as it is
        # (at low contrast its scanner's margin is not found: docs/rules.md, rules 38 and 42).
        if strip is not image or min(image.size) < MIN_POLARITY_SIZE or not has_colour(image):
            return strip
    grey = to_grey(image)
    margin, framed = _dark_edges(grey)
    table = framed and table_mask(grey) is not None
    if margin and not table:
        return image
    photo = is_small_photo(image)
    # Even paper is read as it is: the ink measured over it thins faint strokes, and the number
    # reader, trained on the paper as it is, reads fewer numbers on plain and ruled pages so.
    # Not one whose paper the reader's input, judging by the median grey level, takes for ink.
    dark_ink = light_paper(grey, photo)
    median_misled = dark_ink != (float(np.median(grey)) > 127.5)
    paper = page_background(255.0 - grey if dark_ink else grey)
    uneven = np.percentile(paper, 90) - np.percentile(paper, 10) > UNEVEN_PAPER
    if not (table or median_misled or uneven):
        return image
    try:
        if table or not dark_ink:
            ink = extract_ink(grey, photo)
        else:  # the ink as a share of the light on the paper: a shadow dims ink and paper alike
            light = np.maximum(255.0 - paper, DARKEST_PAPER)
            ink = normalised_ink(255.0 * (255.0 - grey - paper) / light, None)
    except NoDigitError:
        return image
    page = Image.fromarray((255 * (1 - ink)).astype(np.uint8))
    if page.size != image.size:
        page = page.resize(image.size, Image.Resampling.BILINEAR)
    page.info.update(image.info)  # a draft's scale (imaging.DRAFT_SCALE) stays with it
    return page


def page_to_read(image: Image.Image
                 ) -> tuple[Image.Image, Callable[[Sequence[float]], list[float]]]:
    """The page ``read`` reads: the image made even (:func:`even_page`) and level
    (:func:`level_page`), a form's boxes and a ring drawn round the number erased
    (:func:`~digitrec.imaging.frames.erase_boxes_and_frame`), and the way back from it.

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        ``(page, on_image)``: the page (``image`` itself where neither changes it), and a
        function taking a box [x, y, width, height] in the page's pixels to the box round it on
        ``image``, in ``image``'s pixels (floats, clipped to it): turned back where the page was
        levelled (:func:`unturned_box`), shrunk back where a narrow strip was enlarged (the
        two images' ``info[DRAFT_SCALE]``). A bilevel image's page carries in
        ``info[DITHERED]`` whether the image is dithered (:func:`~digitrec.imaging.ink.
        is_dithered`, judged on it whole), and so do the crops cut from the page.
    """
    page = even_page(image)
    level, tilt = level_page(page)
    level = erase_boxes_and_frame(level)
    factor = page.info.get(DRAFT_SCALE, 1.0) / image.info.get(DRAFT_SCALE, 1.0)
    if is_bilevel(image):  # judged on the whole image, for every crop read from the page
        level = level.copy() if level is image else level
        level.info[DITHERED] = is_dithered(image)

    def on_image(box: Sequence[float]) -> list[float]:
        if tilt:
            box = unturned_box(list(box), tilt, level.size, page.size)
        return [value * factor for value in box]

    return level, on_image


def level_page(image: Image.Image) -> tuple[Image.Image, float]:
    """A photographed page turned so that its writing is level, for reading a number on it:
    the number reader reads a line of writing as it lies.

    The angle is that of the line through the centres of the writing's components (the
    digits, mostly) on the page, its paper's rules erased (:func:`_writing_angle`). A strip cut
    from a scanned document (not a photographed page, at least :data:`MIN_STRIP_HEIGHT` high)
    with the scanner's black margin along a side is turned so that the margin's edge is
    upright (:func:`_margin_angle`), where it lies :data:`MIN_SKEW` degrees or more off:
    askew, its ruling lines join the rows of writing into one band.

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        The image turned by that angle (counter-clockwise for a positive one, enlarged to hold
        it all, the new corners paper; a strip keeps its size, the edges' pixels carried into
        its corners, and a bilevel or palette strip its mode, each pixel taken from the
        nearest; its ``info`` kept) and the angle in degrees, for a page
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
    # A bilevel or palette image is turned pixel for pixel: interpolated, it would no longer be
    # one (find_lines looks for a bilevel scan's broken rules, to_grey averages dithering).
    mode, nearest = image.mode, image.mode == "P" or is_bilevel(image)
    if mode != "P":
        image = _grey_or_colour(image)
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -skew, 1.0)
    turned = Image.fromarray(cv2.warpAffine(
        pixels, turn, (width, height), flags=cv2.INTER_NEAREST if nearest else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE))
    if mode == "P":
        turned.putpalette(image.getpalette())  # its colours' indices were turned
    elif mode == "1":
        turned = turned.convert("1", dither=Image.Dither.NONE)
    turned.info.update(image.info)
    turned.info[LEVELLED] = -skew
    return turned, -skew


def _grey_or_colour(image: Image.Image) -> Image.Image:
    """The image as "L" (a bilevel, grey or 16-bit one) or "RGB", which OpenCV turns and
    ImageOps inverts; its ``info`` kept."""
    converted = image.convert("L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB")
    converted.info.update(image.info)
    return converted


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
    scanner's margin enlarged to that width (``info[DRAFT_SCALE]`` divided by the zoom, which
    :func:`page_to_read` undoes): the line finding's sizes in pixels were measured on such
    crops. A negative is told by its scanner's margin (:func:`_margin_edges`), light where a
    positive's is black: found in the strip's negative, with light paper past it there, and not
    found in the strip itself with light paper past it. Any other image is returned as it is."""
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
        image = ImageOps.invert(_grey_or_colour(image))
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
    and rules that remove_ruled_lines left, :func:`rules_left`, left out). None where there
    is no line: fewer than three components, or
    components that, along that line, are not :data:`LINE_LENGTH` times as long as they are
    high across it (their pixels' 5th to 95th percentiles)."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(strokes.astype(np.uint8),
                                                                     connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    if count < 4:
        return None
    area[rules_left(labels, stats)[1:]] = 0
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


def unturned_box(box: list[float], tilt: float, turned_size: tuple[float, float],
                 size: tuple[float, float]) -> list[float]:
    """A box [x, y, width, height] found on a page :func:`level_page` turned by ``tilt``
    degrees (its size then ``turned_size``, before ``size``, both as (width, height) in the
    same pixels as the box) -> the box round it on the page as it was, in those pixels
    (floats, not rounded), clipped to the page."""
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
    return [float(left), float(top), float(right - left), float(bottom - top)]


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
