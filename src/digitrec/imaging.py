"""A person's image of a digit -> MNIST's format: 28x28, white ink on black, float32 in [0, 1].

MNIST's own recipe (LeCun et al., http://yann.lecun.com/exdb/mnist/): "the images were size
normalized to fit in a 20x20 pixel box while preserving their aspect ratio ... anti-aliasing ...
centered in a 28x28 image by computing the center of mass of the pixels, and translating the image
so as to position this point at the center of the 28x28 field". :func:`to_mnist` follows it, after
the steps a photo or a drawing needs first:

1. orientation from EXIF, alpha composited onto a background that contrasts with the ink;
2. grey levels (ITU-R 601 luma), large images reduced to at most :data:`WORKING_SIZE` pixels;
3. polarity: the majority of pixels is the background; dark-on-light images are inverted;
4. uneven light: a local background (block minima, smoothed) is subtracted;
5. ink: an Otsu threshold separates ink from paper; too little contrast, or contrast no
   stronger than the paper's noise, means no digit;
6. the digit's ink components: the main one and those near it; specks, ruled lines and photo
   edges dropped;
7. slant normalised by the second-order moments (deskew);
8. crop to the ink's bounding box, thin strokes thickened;
9. scale to fit 20x20 keeping the aspect ratio, anti-aliased, and place by centre of mass.

Steps 6 and 7 can be switched off (``to_mnist(image, clean=False, deskew=False)``), which gives
the first version of this pipeline, kept for comparison in ``benchmarks/handwriting.py``.
"""

from __future__ import annotations

import functools
import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 50_000_000  # decoded pixels; larger images are refused as possible decompression bombs
WORKING_SIZE = 512  # longest side, in pixels, that the pipeline works at
MIN_CONTRAST = 8.0  # grey levels (of 255) between ink and paper below which there is no digit
MIN_SIGNAL_TO_NOISE = 5.0  # ink-paper contrast over the paper's standard deviation, at least
# (measured here: real digits in ../shared/handwriting/user_digits reach 6.8 and more, blank
# paper with camera noise or a lighting gradient 3 to 4.5)
STROKE_LEVEL = 0.25  # normalised ink (paper 0, ink 1) above which a pixel is part of a stroke
PAGE_SIZE = 100  # pixels: images at least this large both ways may be a page, with ruled lines
# or a form's boxes on it; smaller ones are crops and bitmaps, taken as they are
ORIENTATION_TAG = 0x0112  # EXIF's Orientation: 1 upright, 2..8 mirrored and/or turned
DRAFT_SCALE = "digitrec_draft_scale"  # image.info key: file pixels per decoded pixel
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif",
                  ".heic", ".heif")
# ISO base media file brands of HEIF images with HEVC inside (the iPhone camera's HEIC photos);
# https://github.com/strukturag/libheif (heif_check_filetype) lists them.
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1",
               b"msf1")


class ImageError(ValueError):
    """An image that cannot be read, or holds no digit. The message says which and why."""


class ImageTooLargeError(ImageError):
    """The image would decode to more than :data:`MAX_PIXELS` pixels, or is larger than Pillow's
    own decompression-bomb limit (twice ``PIL.Image.MAX_IMAGE_PIXELS``)."""


class NoDigitError(ImageError):
    """The image was read but holds no ink that could be a digit (a blank page)."""


def image_files(paths) -> list[tuple[Path, ImageError | None]]:
    """Expands files and folders into image files, in the order given, folders sorted by name.

    Args:
        paths: file or folder paths.

    Returns:
        ``(path, error)`` pairs: ``error`` is ``None`` for a file to read, or an :class:`ImageError`
        for a path that does not exist or a folder that holds no image (so that a caller can report
        it and carry on with the others).
    """
    expanded = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(child for child in path.iterdir()
                           if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                expanded.append((path, ImageError(
                    f"{path}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")))
            expanded.extend((file, None) for file in files)
        elif not path.exists():
            expanded.append((path, ImageError(f"{path}: no such file or folder")))
        else:
            expanded.append((path, None))
    return expanded


def open_image(path: str | os.PathLike) -> Image.Image:
    """Opens and decodes an image file, upright (EXIF orientation applied).

    Args:
        path: a PNG, JPEG, BMP, GIF, TIFF, WebP or AVIF file (the first frame of an animation),
            or a HEIC photo with the ``heif`` extra installed (pillow-heif).

    Returns:
        The decoded Pillow image. Large JPEGs are decoded at a reduced scale (1/2 to 1/8, still at
        least :data:`WORKING_SIZE` pixels); ``image.info[DRAFT_SCALE]`` holds the factor from its
        pixels to the file's (1.0 for other files).

    Raises:
        ImageError: the file is missing, empty, not an image, truncated, 0x0, or larger than
            :data:`MAX_PIXELS` pixels. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    with open(path, "rb") as file:
        return decode_image(file.read(), name=str(path))


def decode_image(data: bytes, name: str = "image") -> Image.Image:
    """Decodes an image from its bytes (an upload, say), as :func:`open_image` does a file.

    A JPEG is decoded at a reduced scale (1/2 to 1/8, still at least :data:`WORKING_SIZE`
    pixels), so a phone's 108-megapixel photo is read as 1.7 megapixels; other formats are
    decoded whole, so they must hold at most :data:`MAX_PIXELS` pixels. Pillow's global
    ``PIL.Image.MAX_IMAGE_PIXELS`` is left as it is: Pillow refuses any image over twice it
    (179 megapixels by default) before digitrec looks at it.

    Args:
        data: the encoded image (any format :func:`open_image` reads).
        name: what to call it in error messages.

    Returns:
        The decoded Pillow image, upright; see :func:`open_image`.

    Raises:
        ImageError: empty, not an image, truncated or 0x0. ImageTooLargeError (an ImageError):
            more than :data:`MAX_PIXELS` pixels once decoded, or over Pillow's limit. The
            message starts with ``name``.
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    if data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS and not _heif_registered():
        raise ImageError(f"{name}: a HEIC photo (an iPhone camera's format) needs pillow-heif: "
                         "pip install 'digitrec[heif]', or save the photo as JPEG")
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS; the decoded size is checked below instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width == 0 or height == 0:
            raise ImageError(f"{name}: image is {width}x{height} pixels, it has no content")
        if image.format == "JPEG":
            image.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # decode at a reduced scale: faster
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLargeError(f"{name}: image is {width}x{height} pixels, more than the "
                                     f"{MAX_PIXELS // 1_000_000} megapixel limit; scale it down "
                                     "first")
        image.load()
        draft_scale = width / image.width
        image = upright(image)
        image.info[DRAFT_SCALE] = draft_scale
        return image
    except ImageError:
        raise
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000
        raise ImageTooLargeError(f"{name}: image is larger than Pillow's limit of {limit} "
                                 "megapixels for a possible decompression bomb; scale it down "
                                 "first") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = str(error) or type(error).__name__
        if "cannot identify image file" in reason:
            if _png_declares_no_pixels(data):
                raise ImageError(f"{name}: image is 0x0 pixels, it has no content") from None
            reason = "not an image file Pillow can read"
        raise ImageError(f"{name}: cannot read image ({reason})") from None


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation tag says, as a photo viewer shows it (phones
    store photos sideways and tag them); the image itself when it has no such tag.

    :func:`decode_image` (so :func:`open_image`) applies it to files and bytes, and
    :func:`to_mnist`, :func:`digitrec.segmentation.segment` and the Recognizer to the PIL images
    given to them, so an image opened with ``PIL.Image.open`` reads as its file does. The tag is
    dropped from the turned image, so applying it twice turns it once.
    """
    if image.getexif().get(ORIENTATION_TAG) not in range(2, 9):
        return image
    return ImageOps.exif_transpose(image)


@functools.cache
def _heif_registered() -> bool:
    """Registers pillow-heif's HEIC reader with Pillow (its documented way), the first time a HEIC
    photo comes; False when pillow-heif is not installed. Optional, as its wheels bundle the GPL
    x265 encoder; imported only here, as it costs 30 ms."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _png_declares_no_pixels(data: bytes) -> bool:
    """Whether the bytes are a PNG whose header declares a width or height of 0 (Pillow refuses
    to open it)."""
    return (data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
            and (data[16:20] == bytes(4) or data[20:24] == bytes(4)))


def to_grey(image: Image.Image) -> np.ndarray:
    """Grey levels of an image, its transparency composited onto a contrasting background.

    Transparent parts become white where the visible (opaque) pixels are dark, and black where
    they are light, so strokes drawn on a transparent canvas survive in either colour.

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
    # Reduced first, compositing after: with premultiplied alpha ("RGBa") the colours of
    # transparent pixels cannot bleed into the strokes when averaging.
    image = image.convert("RGBA").convert("RGBa") if has_alpha else image.convert("L")
    if max(image.size) > WORKING_SIZE:
        scale = WORKING_SIZE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
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


def _surround(grey: np.ndarray) -> np.ndarray | None:
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


def _ink_extent(mass: np.ndarray, trim: float) -> tuple[int, int]:
    """First and last index (inclusive) holding the central 1 - 2*trim of a 1-D ink profile."""
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, trim, side="right"))
    last = int(np.searchsorted(cumulative, 1.0 - trim, side="left"))
    return first, max(first, min(last, len(mass) - 1))


def _page_background(grey: np.ndarray) -> np.ndarray:
    """Estimates the level of the paper under the ink of a page (white-on-black image) at each
    pixel: a grey-level opening (erosion, then dilation) with a square a quarter of the shorter
    side across, over the image padded by repeating its edge; ``grey`` minus it is the white
    top-hat transform (R. C. Gonzalez and R. E. Woods, "Digital Image Processing", 4th ed.,
    section 9.6: correcting uneven illumination).

    An opening keeps every level that rises or falls steadily across the square, so the soft or
    hard edge of a shadow and light falling off across the sheet stay paper, while strokes
    narrower than the square are taken out. (:func:`_local_background`'s block minima lie below
    a shadow's slope by up to three blocks' worth of it, enough to make a shadow ink.)
    """
    size = (min(grey.shape) // 4) | 1
    half = size // 2
    padded = cv2.copyMakeBorder(grey, half, half, half, half, cv2.BORDER_REPLICATE)
    opened = cv2.morphologyEx(padded, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    return opened[half:-half, half:-half]


def extract_ink(grey: np.ndarray) -> np.ndarray:
    """Ink intensity of a grey image, white on black, with paper and uneven light removed.

    The paper is the majority of pixels (its polarity decides the ink's), unless the photo shows
    a light sheet on a darker table (:func:`_surround`): then the ink is dark and the table is
    masked out. The paper's level is estimated by :func:`_local_background`; on a page (at
    least :data:`PAGE_SIZE` pixels both ways) the ink is then measured again over
    :func:`_page_background`, which keeps a shadow across the sheet paper, and the no-digit
    rules must pass for both estimates.

    Args:
        grey: (H, W) float32 grey levels in [0, 255], either polarity.

    Returns:
        (H, W) float32 in [0, 1]: 0 is paper, 1 the stroke's core, anti-aliased edges between.

    Raises:
        NoDigitError: less than :data:`MIN_CONTRAST` grey levels between ink and paper, or a
            contrast under :data:`MIN_SIGNAL_TO_NOISE` times the paper's noise.
    """
    surround = _surround(grey)
    if surround is not None or float(np.median(grey)) > 127.5:
        # A light sheet photographed on a darker table, or a majority of light paper: dark ink.
        grey = 255.0 - grey
    ink = _normalised_ink(grey - _local_background(grey), surround)
    if min(grey.shape) >= PAGE_SIZE:
        ink = _normalised_ink(grey - _page_background(grey), surround)
    return ink


def _normalised_ink(difference: np.ndarray, surround: np.ndarray | None) -> np.ndarray:
    """Ink over the paper (``difference``, grey levels, white on black) scaled to [0, 1] by the
    strokes' level (Otsu's threshold splits strokes from paper), after the no-digit rules of
    :func:`extract_ink`; ``surround``: where a table is masked out, or None."""
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


def is_line(stats_row: np.ndarray, height: int, width: int, outline: float = 0.0) -> bool:
    """Whether a component is a ruled line, a photo's edge or a drawn frame rather than ink of a
    digit.

    Args:
        stats_row: OpenCV's (x, y, width, height, area) of the component, in pixels.
        height, width: the image's size in pixels.
        outline: the share, in [0, 1], of its bounding box's edge pixels that the component
            covers (see :func:`outline_share`): nearly all for a frame drawn round the digit,
            little for a digit, even one that fills the image.

    Returns:
        True for long, thin, near-horizontal lines (at most a quarter as tall as wide) across at
        least half the image; for thin, near-vertical lines along the left or right border over
        at least 60% of its height; and for frames: thin components spanning 80% of the image
        both ways that cover at least half of their bounding box's edge.
    """
    x, y, w, h, area = (int(value) for value in stats_row)
    thickness = area / max(w, h)
    thin = thickness * 8 <= max(w, h)
    horizontal = w >= 0.5 * width and thin and h * 4 <= w
    border = (x == 0 or x + w == width) and h >= 0.6 * height and thin and w * 4 <= h
    frame = w >= 0.8 * width and h >= 0.8 * height and thin and outline >= 0.5
    return horizontal or border or frame


def outline_share(labels: np.ndarray, label: int, stats_row: np.ndarray) -> float:
    """The share, in [0, 1], of a component's bounding-box edge pixels that belong to it.

    Args:
        labels: (H, W) int32 label image (:func:`ink_components`).
        label: the component.
        stats_row: its OpenCV (x, y, width, height, ...) stats row.
    """
    x, y, w, h = (int(value) for value in stats_row[:4])
    box = labels[y:y + h, x:x + w] == label
    edge = np.concatenate([box[0], box[-1], box[1:-1, 0], box[1:-1, -1]])
    return float(edge.mean())


def remove_ruled_lines(ink: np.ndarray, vertical: bool = True) -> np.ndarray:
    """Erases the lines of ruled or squared paper, also where they cross the digit.

    Lines clear of the digit are separate components that :func:`select_digit` drops; a line
    through the digit joins it into one component, which this step prevents. Strokes thinner
    (across the line) than 1.5% of the image's size are candidates; a straight line within 14
    degrees of horizontal (or of vertical) holding at least 40% of the image's width (height) in
    them, found by the Hough transform, and reaching both ends of the image (its first and last
    tenth), is a ruled line, and its thin pixels are erased. Where a stroke of the digit crosses
    it, the stroke is thicker than a line and stays. Vertical lines are erased only where there
    are two or more (squared paper), so that a 1 written from the top of the image to the
    bottom is not taken for one.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black (:func:`extract_ink`).
        vertical: also erase vertical lines (off for a written number: in a tight crop of one,
            its 1s run from the top to the bottom).

    Returns:
        The same image with the lines' pixels set to 0; unchanged for an image smaller than
        :data:`PAGE_SIZE` on a side.
    """
    if min(ink.shape) < PAGE_SIZE:
        return ink
    ink = _erase_horizontal_lines(ink, fewest=1)
    return _erase_horizontal_lines(ink.T, fewest=2).T if vertical else ink


def _erase_horizontal_lines(ink: np.ndarray, fewest: int) -> np.ndarray:
    """:func:`remove_ruled_lines` for near-horizontal lines, when at least ``fewest`` are found."""
    height, width = ink.shape
    strokes = ink > STROKE_LEVEL
    thickness = max(3, round(0.015 * height)) | 1  # odd: OpenCV's opening shifts with an even one
    thick = strokes & cv2.morphologyEx(strokes.astype(np.uint8), cv2.MORPH_OPEN,
                                       np.ones((thickness, 1), np.uint8)).astype(bool)
    thin = (strokes & ~thick).astype(np.uint8)
    lines = cv2.HoughLines(thin, 1, np.pi / 720, int(0.4 * width),
                           min_theta=np.pi / 2 - 0.25, max_theta=np.pi / 2 + 0.25)
    if lines is None:
        return ink
    ruled, heights = np.zeros_like(thin), []
    edge = max(1, width // 10)
    for rho, theta in lines.reshape(-1, 2):  # the line x cos(theta) + y sin(theta) = rho
        line = np.zeros_like(thin)
        left, slope = rho / np.sin(theta), -np.cos(theta) / np.sin(theta)
        cv2.line(line, (0, round(left)), (width - 1, round(left + slope * (width - 1))), 1,
                 thickness)
        on_line = thin & line
        if on_line[:, :edge].any() and on_line[:, -edge:].any():  # it runs across the page
            ruled |= line
            heights.append(left)
    # Hough finds each line a few times over, at neighbouring offsets: count them once.
    separate = np.diff(np.sort(heights)) > 2 * thickness
    if not heights or 1 + int(separate.sum()) < fewest:
        return ink
    # The line's anti-aliased edge goes with it; the digit's thick strokes stay.
    erase = cv2.dilate(thin & ruled, np.ones((3, 1), np.uint8)).astype(bool) & ~thick
    return ink * ~erase


def select_digit(ink: np.ndarray) -> np.ndarray:
    """Keeps the digit's ink: its main connected component and the parts near it.

    The main component is the one with the most ink that is not a line (see below). Others join
    it while they hold at least 3% of its ink and lie within 40% of the digit's size from its
    bounding box, so the separate strokes of a 4 or 5 stay, while specks, paper texture, ruled
    lines (long, thin, horizontal), the edges of the paper in a photo and a frame drawn round the
    digit go (:func:`is_line`), as does, in an image of a page (:data:`PAGE_SIZE`), a box drawn
    round the digit (a form's cell), told by spanning a quarter of the image both ways and
    hugging its bounding box (:func:`outline_share` at least 0.8) with another component,
    holding a tenth of its ink or more, inside it.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black.

    Returns:
        The same image with the other components' pixels set to 0.
    """
    count, labels, stats, mass = ink_components(ink)
    if count <= 2:
        return ink
    height, width = ink.shape
    outline = {label: outline_share(labels, label, stats[label]) for label in range(1, count)}
    candidates = [label for label in range(1, count)
                  if not is_line(stats[label, :5], height, width, outline[label])]
    # A box drawn round the digit (a form's cell) hugs its bounding box, and the digit lies
    # inside it: it goes, whether or not it holds more ink than the digit.
    page = min(height, width) >= PAGE_SIZE
    boxes = {box for box in candidates  # the cheap tests first: noise has thousands of specks
             if page and stats[box, 2] >= 0.25 * width and stats[box, 3] >= 0.25 * height
             and outline[box] >= 0.8 and any(
                 label != box and _encloses(stats[box], stats[label])
                 and mass[label] >= 0.1 * mass[box] for label in candidates)}
    candidates = [label for label in candidates if label not in boxes] or candidates
    main = max(candidates or range(1, count), key=lambda label: mass[label])
    keep = {main}
    left, top, w, h = (int(value) for value in stats[main, :4])
    right, bottom = left + w, top + h
    changed = True
    while changed:
        changed = False
        reach = 0.4 * max(right - left, bottom - top)
        for label in candidates:
            if label in keep or mass[label] < 0.03 * mass[main]:
                continue
            x, y, w, h = (int(value) for value in stats[label, :4])
            gap = max(left - (x + w), x - right, top - (y + h), y - bottom, 0)
            if gap <= reach:
                keep.add(label)
                left, top = min(left, x), min(top, y)
                right, bottom = max(right, x + w), max(bottom, y + h)
                changed = True
    kept = np.isin(labels, list(keep)).astype(np.uint8)
    # The anti-aliased fringe below the threshold belongs to the strokes it borders.
    fringe = cv2.dilate(kept, np.ones((3, 3), np.uint8), iterations=2)
    return ink * fringe


def _encloses(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether the bounding box of OpenCV stats row ``inner`` lies inside that of ``outer``."""
    x, y, w, h = (int(value) for value in outer[:4])
    u, v, s, t = (int(value) for value in inner[:4])
    return x < u and y < v and u + s < x + w and v + t < y + h


def deskew(crop: np.ndarray, limit: float = 0.7) -> np.ndarray:
    """Removes a digit's slant by shearing it so that its second-order moment mu11 becomes 0.

    The classic moment-based deskew (e.g. in LeCun et al. 1998's comparison, "deskewed"
    preprocessing): shear x by -mu11/mu02 about the centre of mass.

    Args:
        crop: (H, W) float32 ink image, white on black.
        limit: the largest shear applied, as |dx/dy| (0.7 is about 35 degrees).

    Returns:
        (H, W') float32, wide enough to hold the sheared digit.
    """
    moments = cv2.moments(crop)
    if moments["mu02"] < 1e-3 * max(moments["m00"], 1e-6):
        return crop
    skew = float(np.clip(moments["mu11"] / moments["mu02"], -limit, limit))
    height, width = crop.shape
    center_row = moments["m01"] / moments["m00"]
    pad = int(np.ceil(abs(skew) * height))
    shear = np.float32([[1, -skew, pad + skew * center_row], [0, 1, 0]])  # x - skew (y - cy)
    return cv2.warpAffine(crop, shear, (width + 2 * pad, height), flags=cv2.INTER_LINEAR,
                          borderValue=0.0)


def center_in_28x28(ink: np.ndarray) -> np.ndarray:
    """MNIST's placement: crop to the ink, fit a 20x20 box keeping aspect, centre of mass at 14,14.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black, any size.

    Returns:
        (28, 28) float32 in [0, 1].

    Raises:
        NoDigitError: no ink at all.
    """
    mass = ink * (ink > STROKE_LEVEL)
    if not mass.any():
        raise NoDigitError("no digit found (no ink)")
    top, bottom = _ink_extent(mass.sum(axis=1), 0.002)
    left, right = _ink_extent(mass.sum(axis=0), 0.002)
    crop = ink[top:bottom + 1, left:right + 1]
    height, width = crop.shape
    scale = 20.0 / max(height, width)
    # Thin pen on a large page would shrink to faint hairlines: thicken the strokes first so that
    # they come out about 2 pixels wide, like MNIST's. Stroke width ~ 2 * area / perimeter.
    strokes = crop > 0.5
    area = int(strokes.sum())
    edges = area - int((strokes[1:-1, 1:-1] & strokes[:-2, 1:-1] & strokes[2:, 1:-1]
                        & strokes[1:-1, :-2] & strokes[1:-1, 2:]).sum())
    stroke_width = 2.0 * area / max(edges, 1)
    wanted = 2.0 / scale
    if stroke_width < wanted and scale < 1:
        size = int(min(wanted - stroke_width, 0.15 * max(height, width))) | 1
        if size > 1:
            crop = cv2.dilate(crop, np.ones((size, size), np.uint8))  # grey-level dilation
            height, width = crop.shape
            scale = 20.0 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    filter_ = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    patch = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(size, filter_))
    patch = np.clip(patch / max(float(patch.max()), 1e-6), 0.0, 1.0)
    rows, columns = np.indices(patch.shape)
    total = patch.sum()
    center_row, center_column = (rows * patch).sum() / total, (columns * patch).sum() / total
    top = int(np.clip(round(14 - center_row), 0, 28 - patch.shape[0]))
    left = int(np.clip(round(14 - center_column), 0, 28 - patch.shape[1]))
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return digit


def to_mnist(image: Image.Image, clean: bool = True, deskew_slant: bool = True) -> np.ndarray:
    """The whole pipeline: a Pillow image of one digit -> MNIST's format.

    Args:
        image: any size, mode, polarity; transparency allowed; turned upright first if it has
            an EXIF orientation tag (:func:`upright`).
        clean: erase ruled lines (:func:`remove_ruled_lines`) and keep only the digit's
            components (:func:`select_digit`).
        deskew_slant: normalise the slant (:func:`deskew`).

    Returns:
        (28, 28) float32 in [0, 1], white ink on black, digit in a 20x20 box, centre of mass at
        the centre.

    Raises:
        NoDigitError: the image holds no digit (blank page, no contrast).
    """
    if image.width == 0 or image.height == 0:
        raise ImageError(f"image is {image.width}x{image.height} pixels, it has no content")
    ink = extract_ink(to_grey(upright(image)))
    if clean:
        ink = select_digit(remove_ruled_lines(ink))
    if deskew_slant:
        ink = deskew(crop_to_ink(ink))
    return center_in_28x28(ink)


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest box holding all the ink above 0 (the whole image if there is none)."""
    rows, columns = np.nonzero(ink > 0)
    if len(rows) == 0:
        return ink
    return ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]


def load_digit(path: str | os.PathLike, **options) -> np.ndarray:
    """Reads an image file and returns its digit in MNIST's format (see :func:`to_mnist`, which
    takes the keyword ``options``).

    Raises:
        ImageError: see :func:`open_image`; NoDigitError for a blank page. Messages name the file.
    """
    image = open_image(path)
    try:
        return to_mnist(image, **options)
    except ImageError as error:
        raise type(error)(f"{path}: {error}") from None


def save_digit(digit: np.ndarray, path: str | os.PathLike) -> Path:
    """Saves a (28, 28) float32 digit in [0, 1] as an 8-bit grey PNG, never overwriting a file.

    If ``path`` exists, ``-2``, ``-3``... is added before the suffixes. The image is written to a
    temporary file beside it and renamed into place, so no half-written file is left.

    Returns:
        The path written.
    """
    from digitrec import files

    path = Path(path)
    stem, suffix = path.name.split(".", 1) if "." in path.name else (path.name, "png")
    number = 1
    while True:
        candidate = path if number == 1 else path.with_name(f"{stem}-{number}.{suffix}")
        try:
            with files.replacing(candidate, overwrite=False) as temporary:
                Image.fromarray(np.round(np.clip(digit, 0, 1) * 255).astype(np.uint8)).save(
                    temporary, format="PNG")
            return candidate
        except FileExistsError:
            number += 1
