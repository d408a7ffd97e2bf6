"""The digit's ink -> MNIST's format: the last stage of the pipeline, and the whole of it.

:func:`select_digit` keeps the digit's components, :func:`crop_to_ink` and :func:`deskew` crop
it and remove its slant, and :func:`center_in_28x28` places it as MNIST's makers did: fitted to
a 20x20 box, centre of mass at the centre of 28x28. :func:`to_mnist` runs every stage on a
Pillow image, :func:`load_digit` on a file; :func:`save_digit` writes a digit as a PNG
(:func:`save_image`, any image, never over a file);
:func:`cut_box` cuts a digit found in a larger image out of it, for :func:`to_mnist`.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from digitrec.imaging.errors import ImageError, NoDigitError
from digitrec.imaging.ink import (DITHERED, PAGE_SIZE, STROKE_LEVEL, extract_ink, ink_components,
                                  is_small_photo, to_grey)
from digitrec.imaging.form_boxes import erase_cell_box
from digitrec.imaging.lines import is_line, outline_share, remove_ruled_lines
from digitrec.imaging.reading import open_image, upright


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


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest box holding all the ink above 0 (the whole image if there is none)."""
    rows, columns = np.nonzero(ink > 0)
    if len(rows) == 0:
        return ink
    return ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]


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
    top = min(max(round(14 - center_row), 0), 28 - patch.shape[0])
    left = min(max(round(14 - center_column), 0), 28 - patch.shape[1])
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return digit


def _ink_extent(mass: np.ndarray, trim: float) -> tuple[int, int]:
    """First and last index (inclusive) holding the central 1 - 2*trim of a 1-D ink profile."""
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, trim, side="right"))
    last = int(np.searchsorted(cumulative, 1.0 - trim, side="left"))
    return first, max(first, min(last, len(mass) - 1))


def to_mnist(image: Image.Image, clean: bool = True, deskew_slant: bool = True) -> np.ndarray:
    """The whole pipeline: a Pillow image of one digit -> MNIST's format.

    Args:
        image: any size, mode, polarity; transparency allowed; turned upright first if it has
            an EXIF orientation tag (:func:`upright`).
        clean: erase a form's cell's box (:func:`erase_cell_box`) and ruled lines
            (:func:`remove_ruled_lines`) and keep only the digit's
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
    image = upright(image)
    ink = extract_ink(to_grey(image), photo=is_small_photo(image))
    if clean:
        ink = select_digit(remove_ruled_lines(erase_cell_box(ink)))
    if deskew_slant:
        ink = deskew(crop_to_ink(ink))
    return center_in_28x28(ink)


def cut_box(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """A digit's bounding box cut from an image and framed by the paper round it.

    The frame is an eighth of the box's longer side wide (as MNIST frames a 20-pixel digit in
    28), filled with the median colour of a band that wide just outside the box (mostly paper,
    even beside other digits). A tight box alone is no image of a digit to :func:`to_mnist`: a 1
    fills it, so its ink looks like the paper, and a stroke along its edge looks like a shadow.
    A box of :data:`PAGE_SIZE` pixels or more is framed to a square: the paper of such an image
    is estimated over squares a quarter of its shorter side across, which in a narrow strip
    round a 1 are narrower than a bold stroke.

    Args:
        image: the whole image, any mode.
        box: (x, y, width, height) in the image's pixels, floats allowed.

    Returns:
        A Pillow image in ``image``'s mode (a palette image's in RGB, or RGBA where it has
        transparency), the box's pixels in the middle.
    """
    left, top = int(box[0]), int(box[1])
    right, bottom = int(np.ceil(box[0] + box[2])), int(np.ceil(box[1] + box[3]))
    width, height = right - left, bottom - top
    band = max(1, max(width, height) // 8)
    around = image.crop((left - band, top - band, right + band, bottom + band))
    if around.mode in ("P", "PA"):  # a median of palette indices is no colour of the paper
        around = around.convert("RGBA" if around.mode == "PA" or "transparency" in around.info
                                else "RGB")
    surround = np.asarray(around)
    inside = np.zeros(surround.shape[:2], dtype=bool)
    inside[band:-band, band:-band] = True
    # Pixels past the image's edge come back from crop as zeros: only those in it count.
    within = np.zeros_like(inside)
    within[max(0, band - top):band + image.height - top,
           max(0, band - left):band + image.width - left] = True
    ring = surround[within & ~inside]
    colour = np.median(ring, axis=0) if len(ring) else np.median(surround[inside], axis=0)
    fill = tuple(int(round(value)) for value in np.atleast_1d(colour))
    size = (width + 2 * band, height + 2 * band)
    if max(width, height) >= PAGE_SIZE:
        size = (max(size), max(size))
    framed = Image.new(around.mode, size, fill[0] if len(fill) == 1 else fill)
    framed.paste(around.crop((band, band, band + width, band + height)),
                 ((size[0] - width) // 2, (size[1] - height) // 2))
    if DITHERED in image.info:  # smoothed as the image it was cut from (to_grey)
        framed.info[DITHERED] = image.info[DITHERED]
    return framed


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
    """Saves a (28, 28) float32 digit in [0, 1] as an 8-bit grey PNG (:func:`save_image`).

    Returns:
        The path written.
    """
    return save_image(Image.fromarray(np.round(np.clip(digit, 0, 1) * 255).astype(np.uint8)),
                      path)


def save_image(image: Image.Image, path: str | os.PathLike) -> Path:
    """Saves a Pillow image as a PNG, never overwriting a file.

    If ``path`` exists, ``-2``, ``-3``... is added before the suffixes. The image is written to a
    temporary file beside it and renamed into place, so no half-written file is left.

    Returns:
        The path written.
    """
    from digitrec import run_folder

    path = Path(path)
    stem, suffix = path.name.split(".", 1) if "." in path.name else (path.name, "png")
    number = 1
    while True:
        candidate = path if number == 1 else path.with_name(f"{stem}-{number}.{suffix}")
        try:
            with run_folder.replacing(candidate, overwrite=False) as temporary:
                image.save(temporary, format="PNG")
            return candidate
        except FileExistsError:
            number += 1
