"""Grey levels -> ink: the second stage of the pipeline.

:func:`to_grey` makes grey levels of any image (transparency composited onto a contrasting
background, large images reduced to :data:`~digitrec.imaging.reading.WORKING_SIZE`);
:func:`extract_ink` finds the paper (its polarity, a table round a photographed sheet, the
uneven light over it) and measures the ink over it, scaled to [0, 1] from Otsu's threshold, or
says there is no digit (too little contrast, or no more than the paper's noise). Pixels over
:data:`STROKE_LEVEL` are strokes, and :func:`ink_components` their connected components, which
the later stages sort into lines, digits and separators.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageStat

from digitrec.imaging.errors import NoDigitError
from digitrec.imaging.reading import WORKING_SIZE

MIN_CONTRAST = 8.0  # grey levels (of 255) between ink and paper below which there is no digit
MIN_SIGNAL_TO_NOISE = 5.0  # ink-paper contrast over the paper's standard deviation, at least
# (measured here: real digits in ../shared/handwriting/user_digits reach 6.8 and more, blank
# paper with camera noise or a lighting gradient 3 to 4.5)
STROKE_LEVEL = 0.25  # normalised ink (paper 0, ink 1) above which a pixel is part of a stroke
PAGE_SIZE = 100  # pixels: images at least this large both ways may be a page, with ruled lines
# or a form's boxes on it; smaller ones are crops and bitmaps, taken as they are
UNSURE_MEDIAN = (64, 192)  # grey levels: a page whose median lies between is a dim photo, or
# one half in a shadow: its polarity is not the median's (light_paper). Outside, the median
# decides: a tight crop round a digit, its strokes much of it, can fool light_paper's test.
FEW_COLOURS = 32  # a palette image using at most this many colours shows shades by dithering
# (to_grey averages it out); one with more (a grey image saved as a GIF) is read as it is
DITHER_SHARE = 0.072  # this share of a bilevel image's edge pixels isolated: dithered (the
# twenty-eighth rule of docs/rules.md: development images 0.109 and up dithered, 0.048 at most
# thresholded)
DITHERED = "digitrec.dithered"  # info key: whether the image a crop was cut from is dithered
POLARITY_SIZE = 128  # pixels: light_paper compares a page with its surroundings at this size
COLOUR_LEVEL = 2.0  # grey levels: an image whose pixels' channels differ by this much on average
# has colour (has_colour; docs/rules.md, rule 42: the handwriting folder's register crops and
# cheques 0, people's photos of digits 3.4 and more)
MIN_POLARITY_SIZE = 40  # pixels: a smaller colour image whose median says dark paper but lies in
# UNSURE_MEDIAN (a small crop of a dim photo) is compared with its surroundings too from this
# size both ways; 28x28 and 32x32 bitmaps keep the median's polarity (docs/rules.md, rules 36, 44)


def has_colour(image: Image.Image) -> bool:
    """Whether ``image`` (any Pillow image) has colour: the mean over its pixels of the
    largest minus the smallest of its red, green and blue levels (0 to 255) is at least
    :data:`COLOUR_LEVEL`. A phone's photo has colour (the paper's tint, the ink's, the
    camera's noise); a document scanned or saved as grey has none, whatever its mode."""
    if image.mode in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"):
        return False
    # The largest minus the smallest channel is the largest of their three differences; Pillow
    # finds it in C, a tenth of numpy's time on a register crop (read asks it of every strip).
    red, green, blue = image.convert("RGB").split()
    spread = ImageChops.lighter(ImageChops.lighter(ImageChops.difference(red, green),
                                                   ImageChops.difference(green, blue)),
                                ImageChops.difference(red, blue))
    return ImageStat.Stat(spread).mean[0] >= COLOUR_LEVEL


def is_small_photo(image: Image.Image) -> bool:
    """Whether ``image`` is under :data:`PAGE_SIZE` pixels a side and has colour
    (:func:`has_colour`): ``photo`` for :func:`extract_ink` and :func:`light_paper` (larger
    images, pages, are judged whatever their colour)."""
    return min(image.size) < PAGE_SIZE and has_colour(image)


def to_grey(image: Image.Image) -> np.ndarray:
    """Grey levels of an image, its transparency composited onto a contrasting background.

    Transparent parts become white where the visible (opaque) pixels are dark, and black where
    they are light, so strokes drawn on a transparent canvas survive in either colour. A
    bilevel image, or one with a palette of at most :data:`FEW_COLOURS` colours, not reduced
    to the working size, is smoothed by a 3x3 mean (its dithering averaged out); a dithered
    bilevel image by a Gaussian of 1 pixel instead (:func:`is_dithered`, or the image's
    ``info[DITHERED]``, set on a page and the crops cut from it by
    :func:`digitrec.imaging.page_to_read`).

    Args:
        image: any Pillow image.

    Returns:
        (H, W) float32 in [0, 255], at most :data:`WORKING_SIZE` pixels on its longest side.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float32)
        peak = float(values.max()) if values.size else 0.0
        image = Image.fromarray(values * (255.0 / peak if peak > 255 else 1.0)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    colours = image.getcolors(FEW_COLOURS) if image.mode in ("P", "PA", "1") else None
    # Reduced first, compositing after: with premultiplied alpha ("RGBa") the colours of
    # transparent pixels cannot bleed into the strokes when averaging.
    image = image.convert("RGBA").convert("RGBa") if has_alpha else image.convert("L")
    if max(image.size) > WORKING_SIZE:
        scale = WORKING_SIZE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    elif colours is not None:
        # A bilevel image's, or a small palette's, shades are often dithered (neighbouring
        # pixels alternate between its few colours): a 3x3 mean averages them out, as reducing
        # a larger image does. A dithered bilevel image's dots need more; a thresholded one's
        # thin strokes would fade with it (the thirtieth rule of docs/rules.md). A crop is
        # smoothed as the whole image it was cut from was judged (its info[DITHERED]).
        dithered = image.info.get(DITHERED)
        if dithered is None:
            dithered = len(colours) <= 2 and is_dithered(image)
        image = image.filter(ImageFilter.GaussianBlur(1) if dithered else ImageFilter.BoxBlur(1))
    if has_alpha:
        premultiplied = np.asarray(image, dtype=np.float32)
        alpha = premultiplied[..., 3] / 255.0
        luma = premultiplied[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        visible = alpha > 0.5
        ink_is_dark = (not visible.any()
                       or float(np.median(luma[visible] / alpha[visible])) < 128)
        background = 255.0 if ink_is_dark else 0.0
        return luma + background * (1.0 - alpha)
    return np.asarray(image, dtype=np.float32)


def is_dithered(image: Image.Image) -> bool:
    """Whether a bilevel image shows shades by dithering (Floyd-Steinberg's, as Pillow's
    ``convert("1")`` does, or a halftone) rather than by a threshold: at least
    :data:`DITHER_SHARE` of its edge pixels (those unlike one of their four neighbours or more)
    are isolated dots (unlike all four). A threshold leaves strokes, whose edges are long runs,
    and a few specks. Judge a whole image: a small crop of a thresholded scan can pass for
    dithered.

    Args:
        image: a Pillow image of at most two colours (:func:`is_bilevel`), any mode.

    Returns:
        True for a dithered image; False for a thresholded one, or one with no edges.
    """
    levels = np.asarray(image.convert("L"))
    light = levels > levels.min()
    inner = light[1:-1, 1:-1]
    unlike = [inner != light[:-2, 1:-1], inner != light[2:, 1:-1],
              inner != light[1:-1, :-2], inner != light[1:-1, 2:]]
    edges = int((unlike[0] | unlike[1] | unlike[2] | unlike[3]).sum())
    isolated = int((unlike[0] & unlike[1] & unlike[2] & unlike[3]).sum())
    return edges > 0 and isolated >= DITHER_SHARE * edges


def is_bilevel(image: Image.Image) -> bool:
    """Whether an image, of any Pillow mode, has at most two colours (a scan in black and
    white, as a scanner's threshold or a fax makes it)."""
    if image.mode.startswith("I;16"):  # Pillow counts no colours of 16-bit images
        return len(np.unique(np.asarray(image))) <= 2
    return image.getcolors(2) is not None


def _local_background(ink: np.ndarray) -> np.ndarray:
    """Estimates the level of the paper under the ink (white-on-black image) at each pixel.

    Minima over blocks of an eighth of the shorter side, eroded once more so that a block full of
    thick stroke does not count as paper, then interpolated back to full size.
    """
    height, width = ink.shape
    block = max(4, min(height, width) // 8)
    rows, columns = -(-height // block), -(-width // block)
    padded = np.pad(ink, ((0, rows * block - height), (0, columns * block - width)), mode="edge")
    minima = padded.reshape(rows, block, columns, block).min(axis=(1, 3)).astype(np.float32)
    minima = cv2.erode(minima, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    background = Image.fromarray(minima.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR)
    return np.asarray(background, dtype=np.float32)


def table_mask(grey: np.ndarray) -> np.ndarray | None:
    """Where a photo shows the table round a light sheet of paper: a mask, or None.

    The table: the regions on the dark side of Otsu's threshold that touch the image's edge and
    are too thick to be strokes (they survive an opening a tenth of the image across). It is a
    table round a sheet when it covers 45% of the image's edge or more (two sides), the centre
    is mostly light, and the rest of the image (the sheet, with the writing on it) holds a
    quarter of it and is a convex polygon of 4 to 6 corners (a quadrilateral in perspective, cut
    by the image's corners): a digit drawn light on a dark canvas, however bold, is not (a bold
    0 is an ellipse, a 7 is not convex), and its edge is a step (a tenth of the contrast or more
    per pixel), not the ramp of light falling off across a page. The mask covers the table and,
    past it, the band where the local background blurs table into paper. Images smaller than
    :data:`PAGE_SIZE` are never taken for a page.

    Args:
        grey: (H, W) float32 grey levels in [0, 255], either polarity.

    Returns:
        An (H, W) bool mask, True on the table; None where there is no table round a sheet.
    """
    height, width = grey.shape
    if min(height, width) < PAGE_SIZE:
        return None
    dark = grey < _otsu_threshold(grey)
    centre = dark[height // 4:3 * height // 4, width // 4:3 * width // 4]
    if centre.mean() > 0.5:
        return None
    size = max(5, min(height, width) // 10) | 1
    thick = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    _, labels = cv2.connectedComponents(thick, connectivity=8)
    rim = max(1, min(height, width) // 50)
    edge = np.concatenate([labels[:rim].ravel(), labels[-rim:].ravel(),
                           labels[:, :rim].ravel(), labels[:, -rim:].ravel()])
    if np.mean(edge > 0) < 0.45:
        return None
    table = np.isin(labels, np.unique(edge[edge > 0]))
    contours, _ = cv2.findContours((~table).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(sheet)
    corners = cv2.approxPolyDP(sheet, 0.02 * cv2.arcLength(sheet, True), True)
    if (area < 0.25 * height * width or not 4 <= len(corners) <= 6
            or area < 0.9 * cv2.contourArea(cv2.convexHull(sheet))):
        return None
    # A sheet's edge is a step; light falling off across a page is a ramp. Sobel's 3x3 kernels
    # sum to 8 times the change per pixel.
    boundary = cv2.dilate(table.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~table
    change = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)) / 8
    step = float(np.median(grey[~table]) - np.median(grey[table]))
    if not boundary.any() or float(change[boundary].mean()) < 0.1 * step:
        return None
    band = max(4, min(height, width) // 8) | 1  # _local_background blurs over about a block
    return cv2.dilate(table.astype(np.uint8), np.ones((band, band), np.uint8)).astype(bool)


def _otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold (N. Otsu, IEEE Trans. SMC 9(1), 1979) of values in [0, 255], between
    grey levels: pixels above it are ink."""
    levels = np.clip(values, 0, 255).astype(np.uint8)
    threshold, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(threshold) + 0.5


def page_background(grey: np.ndarray) -> np.ndarray:
    """Estimates the level of the paper under the ink of a page (white-on-black image) at each
    pixel: a grey-level opening (erosion, then dilation) with a square a quarter of the shorter
    side across, over the image padded by repeating its edge; ``grey`` minus it is the white
    top-hat transform (R. C. Gonzalez and R. E. Woods, "Digital Image Processing", 4th ed.,
    section 9.6: correcting uneven illumination).

    An opening keeps every level that rises or falls steadily across the square, so the soft or
    hard edge of a shadow and light falling off across the sheet stay paper, while strokes
    narrower than the square are taken out. (:func:`_local_background`'s block minima lie below
    a shadow's slope by up to three blocks' worth of it, enough to make a shadow ink.)

    Args:
        grey: (H, W) float32 grey levels in [0, 255], white ink on black.

    Returns:
        (H, W) float32: the paper's level at each pixel, in the same grey levels.
    """
    size = max(3, (min(grey.shape) // 4) | 1)  # a square of 1 leaves no border to cut off
    half = size // 2
    padded = cv2.copyMakeBorder(grey, half, half, half, half, cv2.BORDER_REPLICATE)
    opened = cv2.morphologyEx(padded, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    return opened[half:-half, half:-half]


def extract_ink(grey: np.ndarray, photo: bool = False) -> np.ndarray:
    """Ink intensity of a grey image, white on black, with paper and uneven light removed.

    The paper is the majority of pixels (its polarity decides the ink's), unless the photo shows
    a light sheet on a darker table (:func:`table_mask`): then the ink is dark and the table is
    masked out. The paper's level is estimated by :func:`_local_background`; on a page (at
    least :data:`PAGE_SIZE` pixels both ways) the ink is then measured again over
    :func:`page_background`, which keeps a shadow across the sheet paper, and the no-digit
    rules must pass for both estimates.

    Args:
        grey: (H, W) float32 grey levels in [0, 255], either polarity.
        photo: the image has colour (:func:`has_colour`): a photo, whose polarity a small dim
            crop takes from its surroundings (:func:`light_paper`).

    Returns:
        (H, W) float32 in [0, 1]: 0 is paper, 1 the stroke's core, anti-aliased edges between.

    Raises:
        NoDigitError: less than :data:`MIN_CONTRAST` grey levels between ink and paper, or a
            contrast under :data:`MIN_SIGNAL_TO_NOISE` times the paper's noise.
    """
    surround = table_mask(grey)
    grey = _white_on_black(grey, surround is not None, photo)
    ink = normalised_ink(grey - _local_background(grey), surround)
    if min(grey.shape) >= PAGE_SIZE:
        ink = normalised_ink(grey - page_background(grey), surround)
    return ink


def _white_on_black(grey: np.ndarray, table: bool = False, photo: bool = False) -> np.ndarray:
    """Grey levels (H, W) turned so that the ink is light on dark paper: inverted where the
    image is a light sheet on a darker table (``table``) or dark ink on light paper
    (:func:`light_paper`)."""
    return 255.0 - grey if table or light_paper(grey, photo) else grey


def light_paper(grey: np.ndarray, photo: bool = False) -> bool:
    """Whether an image's ink is darker than its paper.

    The paper is the majority of the pixels: an image whose median grey level is over 127.5
    is light paper. On a page (at least :data:`PAGE_SIZE` pixels both ways) whose median lies
    in :data:`UNSURE_MEDIAN`, a dim photo or one the paper of which is half in a shadow, the
    ink is what differs from its surroundings instead: dark ink where the image lies further
    below than above a median filter a quarter of its shorter side across (at
    :data:`POLARITY_SIZE` pixels), which strokes narrower than half of it do not move. So is
    it on a smaller photo (``photo``) at least :data:`MIN_POLARITY_SIZE` pixels both ways
    whose median lies in :data:`UNSURE_MEDIAN` under 127.5 (a small crop of a dim photo; at
    its own size): grey paper the median would take for dark. A grey image that small keeps
    the median's polarity: the number reader's training reads grey images only, and its
    digits stay as the shipped reader's were cut (docs/rules.md, rule 44).

    Args:
        grey: (H, W) float32 grey levels in [0, 255].
        photo: the image has colour (:func:`has_colour`).

    Returns:
        True for dark ink on light paper, False for light ink on dark paper.
    """
    median = float(np.median(grey)) if grey.size else 255.0
    page = min(grey.shape) >= PAGE_SIZE
    dim_crop = photo and not page and min(grey.shape) >= MIN_POLARITY_SIZE and \
        UNSURE_MEDIAN[0] < median < 127.5
    if not dim_crop and (not page or not UNSURE_MEDIAN[0] < median < UNSURE_MEDIAN[1]):
        return median > 127.5
    scale = POLARITY_SIZE / max(grey.shape)
    small = grey if dim_crop and scale >= 1 else cv2.resize(
        grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
        interpolation=cv2.INTER_AREA)
    size = max(3, (min(small.shape) // 4) | 1)
    half = size // 2
    levels = cv2.copyMakeBorder(np.clip(small, 0, 255).astype(np.uint8), half, half, half, half,
                                cv2.BORDER_REPLICATE)
    surroundings = cv2.medianBlur(levels, size)[half:-half, half:-half].astype(np.float32)
    difference = small - surroundings
    return float(np.clip(-difference, 0, None).sum()) > float(np.clip(difference, 0, None).sum())


def ink_over_median(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """The ink over the paper as the number reader takes them: the paper the median grey
    level, the ink whatever differs from it towards the other polarity.

    Args:
        grey: (H, W) float32 grey levels in [0, 255].

    Returns:
        ``(ink, level)``: (H, W) float32, 0 for paper and up, in grey levels; and its 99.5th
        percentile (the ink's scale, for the caller to floor as it needs).
    """
    paper = float(np.median(grey))
    ink = np.clip(paper - grey if paper > 127.5 else grey - paper, 0, None)
    return ink, float(np.percentile(ink, 99.5))


def normalised_ink(difference: np.ndarray, surround: np.ndarray | None) -> np.ndarray:
    """Ink over the paper scaled to [0, 1] by the strokes' level (Otsu's threshold splits
    strokes from paper), after the no-digit rules of :func:`extract_ink`.

    Args:
        difference: (H, W) float32, the ink over the paper in grey levels, white on black
            (negative where the paper is lighter than its estimate).
        surround: an (H, W) bool mask of a table to leave out (:func:`table_mask`), or None.

    Returns:
        (H, W) float32 in [0, 1], 1 for the strokes' own level.

    Raises:
        NoDigitError: no strokes, or contrast or signal-to-noise under the no-digit rules'
            (:data:`MIN_CONTRAST`, :data:`MIN_SIGNAL_TO_NOISE`).
    """
    ink = np.clip(difference, 0, None)
    if surround is not None:
        ink[surround] = 0
    threshold = _otsu_threshold(ink)
    strokes = ink > threshold
    if not strokes.any():
        raise NoDigitError("no digit found (the image is blank)")
    ink_level = float(np.percentile(ink[strokes], 90))
    paper = ink[~strokes] if (~strokes).any() else np.zeros(1, dtype=np.float32)
    paper_level, noise = float(np.median(paper)), float(paper.std())
    contrast = ink_level - paper_level
    if contrast < MIN_CONTRAST:
        raise NoDigitError(f"no digit found (ink and paper differ by {contrast:.0f} grey levels, "
                           f"less than {MIN_CONTRAST:.0f})")
    if contrast < MIN_SIGNAL_TO_NOISE * noise:
        raise NoDigitError(f"no digit found (the marks are no stronger than the paper's noise: "
                           f"signal-to-noise {contrast / noise:.1f}, less than "
                           f"{MIN_SIGNAL_TO_NOISE:.0f})")
    floor = max(paper_level, 0.5 * threshold)
    return np.clip((ink - floor) / max(ink_level - floor, 1e-6), 0.0, 1.0)


def ink_components(ink: np.ndarray, threshold: float = STROKE_LEVEL):
    """Connected components (8-connected) of the pixels above ``threshold``.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black.
        threshold: the ink level, in [0, 1), above which a pixel is part of a stroke.

    Returns:
        ``(count, labels, stats, mass)``: the number of labels (background 0 included), an (H, W)
        int32 label image, OpenCV's (count, 5) stats (x, y, width, height, area in pixels), and
        the (count,) float64 sum of ink under each label.
    """
    strokes = (ink > threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count)
    return count, labels, stats, mass
