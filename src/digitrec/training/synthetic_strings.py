"""Synthetic handwritten digit strings made from real isolated digits, to train a string reader.

A reader of whole numbers (cheque amounts, row numbers in registers, numbers on paper) learns
from labelled strings, and real ones are few (ORAND-CAR-A holds 604 amounts). :func:`load_bank`
gathers real handwritten digits; :func:`render_string` sets some side by side with pen-drawn
separators, as numbers are written, on paper as a scan or photo shows it, and gives the text,
the digits to read and each character's box; :func:`generate` makes a reproducible list.
No held-out digit is drawn: MNIST's test images are not read, and the folders give only the
fit halves of :func:`digitrec.datasets.folder_files`, where no benchmark string is measured.
The separators follow the cheque amounts of ORAND-CAR (M. Diem et al., "ICFHR 2014 Competition
on Handwritten Digit String Recognition in Challenging Datasets", ICFHR 2014): thousands groups
("25.441"), a decimal comma, a mark after the amount ("7.795.-", "4720-"). Keras-free.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from digitrec import datasets, imaging
from digitrec.training import paper

SOURCES = ("mnist", "usps", "optdigits", "orand")  # orand: ORAND-CAR-A's digit boxes
FOLDERS = {"usps": "usps", "optdigits": "optdigits", "orand": "orand_car_a"}
SEPARATORS = ".,-=/"  # every character of a text that is not a digit
TRAILING_MARKS = ("-", ".-", "=", ".")  # written after a cheque's amount
MAX_DIGITS = 10
# Weights of 1..10 digits: mostly 3 to 6, as the cheque amounts (and row numbers of 1 to 3).
LENGTH_WEIGHTS = np.array([4, 7, 14, 16, 16, 13, 10, 8, 6, 6], dtype=float)
HEIGHT_RANGE = (20, 48)  # a string's digit height in pixels, when not given
HEIGHT_JITTER = 0.15  # each digit's height: the string's times 1 +- this
BASELINE_JITTER = 0.06  # each digit's bottom moved up or down by up to this times the height
MAX_SLANT = 0.3  # shear (horizontal pixels per vertical pixel), the string's slant
MAX_OVERLAP = 0.2  # touching neighbours overlap by up to this times the narrower one's width
PAGE_HEIGHT = (1.3, 2.5)  # the image's height, times the digit height


@dataclass
class DigitBank:
    """Real handwritten digits, each cropped to its ink (not to be changed once drawn from).

    Attributes:
        images: N 2-D float32 arrays in [0, 1], ink 1.0 on paper 0.0, each cropped to its ink's
            bounding box at its source's size and aspect (about 20 px high for MNIST, 16 USPS,
            32 optdigits, 20 to 30 ORAND).
        labels: (N,) uint8, the digits 0..9.
        sources: (N,) str, each digit's source, one of :data:`SOURCES`.
        origins: (N,) str, what it was cut from: ``"train[12345]"`` for MNIST's training image
            at that index, else the file relative to its folder (``"#position"`` added for an
            ORAND digit box).
    """

    images: list[np.ndarray]
    labels: np.ndarray
    sources: np.ndarray
    origins: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @functools.cached_property
    def groups(self) -> dict[tuple[str, int], np.ndarray]:
        """The indices of each (source, digit)'s images, (n,) int64."""
        groups = {}
        for index, key in enumerate(zip(self.sources.tolist(), self.labels.tolist())):
            groups.setdefault(key, []).append(index)
        return {key: np.array(indices) for key, indices in groups.items()}


@dataclass
class SyntheticString:
    """One written number.

    Attributes:
        image: (H, W) uint8 grey, dark ink on lighter paper.
        text: the characters drawn, left to right, separators included ("25.441", "7.795.-").
        digits: ``text`` without its separators: what a reader must output.
        boxes: (len(text), 4) int32, each character's ink box (x, y, width, height) in pixels.
    """

    image: np.ndarray
    text: str
    digits: str
    boxes: np.ndarray


def load_bank(sources=SOURCES, per_source: int | None = None, data_dir=None, handwriting=None,
              seed: int = 0) -> DigitBank:
    """A bank of real digits from MNIST's training images and the fit halves of folders.

    Args:
        sources: any of :data:`SOURCES`: ``"mnist"`` (the 60,000 training images, never the
            test ones), ``"usps"`` and ``"optdigits"`` (their bitmaps), ``"orand"`` (the digit
            boxes of ORAND-CAR-A's cheques, see :func:`_own_ink`).
        per_source: at most this many digits from each source, drawn at random; None: all.
        data_dir: where MNIST's IDX files are (see :func:`digitrec.datasets.load`).
        handwriting: a folder laid out as ``../shared/handwriting``; default
            ``$DIGITREC_HANDWRITING``. Needed for every source but MNIST.
        seed: seeds the random choice of ``per_source`` digits.

    Raises:
        ValueError: an unknown source, none, ``per_source`` under 1, or no handwriting folder.
        digitrec.datasets.DatasetError: MNIST's files missing and not downloadable.
    """
    if not sources or set(sources) - set(SOURCES):
        raise ValueError(f"sources must be some of {SOURCES}, got {tuple(sources)}")
    if per_source is not None and per_source < 1:
        raise ValueError(f"per_source must be at least 1 (or None for all), got {per_source}")
    handwriting = handwriting or os.environ.get("DIGITREC_HANDWRITING")
    if handwriting is None and set(sources) - {"mnist"}:
        raise ValueError("the usps, optdigits and orand sources need the handwriting folder: "
                         "pass handwriting= or set DIGITREC_HANDWRITING")
    random, found = np.random.default_rng(seed), []
    for source in sources:
        digits = (_mnist_digits(data_dir, per_source, random) if source == "mnist" else
                  _folder_digits(Path(handwriting) / FOLDERS[source], per_source, random))
        found += [(image, label, source, origin) for image, label, origin in digits]
    images, labels, names, origins = zip(*found) if found else ((),) * 4
    return DigitBank(list(images), np.array(labels, dtype=np.uint8), np.array(names, dtype=str),
                     np.array(origins, dtype=str))


def _mnist_digits(data_dir, count, random):
    """(ink, label, origin) for ``count`` random MNIST training digits (all when None)."""
    (x_train, y_train), _ = datasets.load("mnist", data_dir)
    chosen = np.arange(len(x_train)) if count is None else np.sort(
        random.choice(len(x_train), size=min(count, len(x_train)), replace=False))
    return [(_cropped(x_train[index] / np.float32(255)), int(y_train[index]), f"train[{index}]")
            for index in chosen]


def _folder_digits(folder: Path, count, random):
    """(ink, label, origin) for ``count`` random digits of a folder's fit half (all when None):
    the boxes of ``digit_boxes.csv`` (:func:`_own_ink`), or else the white-on-black bitmaps of
    ``labels.csv``."""
    fit = set(datasets.folder_files(folder, "fit"))
    boxed = (folder / "digit_boxes.csv").is_file()
    boxes = {}  # each file's digit boxes, (x, y, w, h)
    if boxed:
        rows = []  # (filename, digit, position, box)
        for name, file_boxes in datasets.digit_boxes(folder).items():
            if name in fit:
                boxes[name] = [box for _, _, box in file_boxes]
                rows += [(name, digit, position, box) for position, digit, box in file_boxes]
    else:
        with open(folder / "labels.csv") as file:
            rows = [(row["filename"], int(row["label"]), None, None)
                    for row in csv.DictReader(file)
                    if row["filename"] in fit and len(row["label"]) == 1]
    if count is not None and count < len(rows):
        rows = [rows[index] for index in np.sort(random.choice(len(rows), count, replace=False))]
    digits, page_name, page = [], None, None
    for name, digit, position, box in rows:
        if not boxed:
            with Image.open(folder / name) as image:
                ink = np.asarray(image.convert("L"), dtype=np.float32) / 255
        else:
            if name != page_name:  # the rows of a file follow each other
                page_name, page = name, _page_ink(folder / name)
            ink = None if page is None else _own_ink(page, box, boxes[name])
        ink = None if ink is None else _cropped(ink)
        if ink is not None and ink.max() >= 0.5:  # not a faint remnant
            digits.append((ink, digit, name + (f"#{position}" if boxed else "")))
    return digits


def _page_ink(path: Path) -> np.ndarray | None:
    """A whole page's ink (``imaging.extract_ink``), at the file's size; None if it has none."""
    with Image.open(path) as image:
        try:
            ink = imaging.extract_ink(imaging.to_grey(image))
        except imaging.ImageError:
            return None
        return ink if ink.shape == image.size[::-1] else cv2.resize(ink, image.size)


def _own_ink(page: np.ndarray, box: tuple, boxes: list[tuple]) -> np.ndarray:
    """A digit box's ink, cut from the ink of its whole cheque (``imaging.extract_ink``: a tight
    crop is mostly ink, which would be taken for paper). Of the ink's connected strokes, those
    kept lie mostly in this box, or at least 30% in it (touching digits), and are at least 15%
    of its largest (35% in the box's lowest 40%): the pieces of the neighbours (a quarter of
    neighbouring boxes overlap, by 15% of a width at the median), the separators' dots and the
    cheque's faint printed pattern (under 0.2 on the ink's 0..1 scale) are dropped."""
    ink = np.clip((page - 0.2) / 0.8, 0, 1)
    count, components, stats, _ = cv2.connectedComponentsWithStats((ink > 0.4).astype(np.uint8))
    shares = np.stack([np.bincount(components[y:y + h, x:x + w].ravel(), minlength=count)
                       for x, y, w, h in boxes])
    own = shares[boxes.index(box)]
    keep = (own > 0) & ((own >= shares.max(axis=0)) | (own >= 0.3 * np.bincount(
        components.ravel(), minlength=count)))
    keep[0] = False
    x, y, w, h = box
    low = stats[:, cv2.CC_STAT_TOP] >= y + 0.6 * h
    keep &= own >= np.where(low, 0.35, 0.15) * own[keep].max(initial=0)  # no dots nor specks
    if own[keep].sum() < 0.5 * own[1:].sum():  # strokes joined to others: the whole box
        return ink[y:y + h, x:x + w]
    kept = cv2.dilate(keep[components].astype(np.uint8), np.ones((3, 3), np.uint8))
    return (ink * kept)[y:y + h, x:x + w]


def _cropped(ink: np.ndarray, level: float = 0.1) -> np.ndarray | None:
    """float32 ink cut to the bounding box of its pixels over ``level``; None if there are none."""
    rows, columns = np.nonzero(ink > level)
    if len(rows) == 0:
        return None
    return np.ascontiguousarray(ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1],
                                dtype=np.float32)


def render_string(bank: DigitBank, rng: np.random.Generator, length: int | None = None,
                  digit_height: int | None = None, separators: bool = True,
                  touching: bool = True, page_effects: bool = True) -> SyntheticString:
    """One synthetic handwritten number: real digits of one source, pen-drawn separators, paper.

    What varies, drawn from ``rng``:

    - length: 1 to 10 digits, weighted by :data:`LENGTH_WEIGHTS` (mostly 3 to 6); a first 0
      is mostly replaced (numbers rarely start with one);
    - separators (:func:`_text`): none; thousands groups ("25.441", "1,234,567"); two decimals
      ("12,50", "1.234,56"); a dash or slash inside ("12-34", "3/4"); and, in 3 strings of 10,
      a trailing mark of :data:`TRAILING_MARKS` ("7.795.-"); drawn by :func:`_separator`
      with a pen 0.07 to 0.12 heights wide;
    - the writer (:func:`_glyphs`): one of the bank's sources, drawn evenly, gives the digits
      (another source a digit it lacks); each digit's
      height the string's times 1 +- :data:`HEIGHT_JITTER`, its bottom moved by up to
      :data:`BASELINE_JITTER` heights; a shear of +-:data:`MAX_SLANT` (+-0.05 per digit);
      strokes as written, thicker (grey dilation, 3x3) or thinner (grey erosion, 2x2);
    - spacing (:func:`_lay_out`): gaps of 0.015 to 0.6 heights; with ``touching``, up to 60%
      of the neighbours touch or overlap by up to :data:`MAX_OVERLAP` of the narrower width;
      margins of 0.1 to 0.8 heights; the image :data:`PAGE_HEIGHT` heights high (or more if
      the characters need it);
    - the page: see :func:`digitrec.training.paper.on_paper`.

    Args:
        bank: the real digits (:func:`load_bank`); the digits drawn are those it holds.
        rng: the random generator; the same generator state gives the same string.
        length: the number of digits, 1 to :data:`MAX_DIGITS`; None: drawn.
        digit_height: the digits' height in pixels, at least 8; None: drawn in
            :data:`HEIGHT_RANGE`.
        separators: False: digits only, no separators nor trailing marks.
        touching: False: every character's box stands apart from its neighbours'.
        page_effects: False: black ink (0) on white paper (255), nothing else on the page.

    Raises:
        ValueError: an empty bank, a length outside 1..10 or a digit height under 8.
    """
    if len(bank) == 0:
        raise ValueError("the digit bank is empty: load_bank found no digits")
    if length is not None and not 1 <= length <= MAX_DIGITS:
        raise ValueError(f"length must be 1 to {MAX_DIGITS} digits, got {length}")
    if digit_height is not None and digit_height < 8:
        raise ValueError(f"digit_height must be at least 8 pixels, got {digit_height}")
    if length is None:
        length = int(rng.choice(MAX_DIGITS, p=LENGTH_WEIGHTS / LENGTH_WEIGHTS.sum())) + 1
    height = digit_height or int(rng.integers(HEIGHT_RANGE[0], HEIGHT_RANGE[1] + 1))
    text = _text(rng, sorted({digit for _, digit in bank.groups}), length, separators)
    ink, boxes, baseline = _lay_out(_glyphs(bank, rng, text, height), rng, height, touching)
    if page_effects:
        image = paper.on_paper(ink, rng, height, boxes, baseline)
    else:
        image = np.round(255 * (1 - ink)).astype(np.uint8)
    digits = "".join(character for character in text if character.isdigit())
    return SyntheticString(image, text, digits, boxes)


def generate(bank: DigitBank, count: int, seed: int = 0, **options) -> list[SyntheticString]:
    """``count`` strings of :func:`render_string` (``options`` are its keyword arguments).

    Deterministic: the same bank, seed and options give the same images, texts and boxes.

    Raises:
        ValueError: ``count`` under 0, and as :func:`render_string`.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    rng = np.random.default_rng(seed)
    return [render_string(bank, rng, **options) for _ in range(count)]


def _text(rng, available: list[int], length: int, separators: bool) -> str:
    """The characters to write: ``length`` digits of ``available``, separators as numbers have."""
    digits = [str(digit) for digit in rng.choice(available, size=length)]
    if length > 1 and digits[0] == "0" and available[-1] > 0 and rng.random() < 0.9:
        digits[0] = str(rng.choice(available[1:]))
    if not separators:
        return "".join(digits)
    style = rng.choice(("plain", "thousands", "decimal", "split"), p=(0.35, 0.35, 0.15, 0.15))
    point = str(rng.choice([".", ","]))
    if style == "thousands":
        text = _grouped(digits, point)
    elif style == "decimal" and length >= 3:
        groups = ("," if point == "." else ".") if rng.random() < 0.5 else ""
        text = _grouped(digits[:-2], groups) + point + "".join(digits[-2:])
    elif style == "split" and length >= 2:
        cut = int(rng.integers(1, length))
        text = "".join(digits[:cut]) + str(rng.choice(["-", "/"])) + "".join(digits[cut:])
    else:
        text = "".join(digits)
    return text + (str(rng.choice(TRAILING_MARKS)) if rng.random() < 0.3 else "")


def _grouped(digits: list[str], mark: str) -> str:
    """The digits in groups of three from the right, ``mark`` between (none: not grouped)."""
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[start:start + 3] for start in range(head, len(digits), 3)]
    return mark.join("".join(group) for group in groups)


def _glyphs(bank: DigitBank, rng, text: str, height: int) -> list[tuple[np.ndarray, int]]:
    """Each character's ink and its top, in pixels below the top of the digits' line."""
    source = rng.choice(sorted({name for name, _ in bank.groups}))
    slant = rng.uniform(-MAX_SLANT, MAX_SLANT)
    stroke = rng.choice(("as written", "thicker", "thinner"), p=(0.5, 0.3, 0.2))
    pen = height * rng.uniform(0.07, 0.12)
    glyphs = []
    for character in text:
        if character in SEPARATORS:
            glyphs.append(_separator(character, rng, height, pen))
            continue
        candidates = bank.groups.get((source, int(character)))
        if candidates is None:  # not in this source: any other's
            candidates = np.concatenate([indices for (_, digit), indices in bank.groups.items()
                                         if digit == int(character)])
        size = max(4, round(height * rng.uniform(1 - HEIGHT_JITTER, 1 + HEIGHT_JITTER)))
        ink = _digit_ink(bank.images[int(rng.choice(candidates))], size, stroke,
                         slant + rng.uniform(-0.05, 0.05))
        bottom = height + round(rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * height)
        glyphs.append((ink, bottom - ink.shape[0]))
    return glyphs


def _digit_ink(image: np.ndarray, height: int, stroke: str, slant: float) -> np.ndarray:
    """A bank digit ``height`` pixels high, its aspect kept (enlarged pixels' steps smoothed:
    optdigits' are binary), its strokes thicker (grey dilation, 3x3) or thinner (grey erosion,
    2x2, if 40% of them stay), leaning by ``slant`` (x += slant * height above its bottom)."""
    factor = height / image.shape[0]
    size = (max(1, round(image.shape[1] * factor)), height)
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    ink = np.clip(cv2.resize(image, size, interpolation=interpolation), 0, 1)
    if factor > 1.5:  # blurred, and the edges sharpened again
        ink = np.clip((cv2.GaussianBlur(ink, (0, 0), 0.4 * factor) - 0.25) / 0.5, 0, 1)
    ink = cv2.copyMakeBorder(ink, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    if stroke == "thicker":
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    elif stroke == "thinner":
        thinner = cv2.erode(ink, np.ones((2, 2), np.uint8))
        stays = (thinner > 0.5).sum()
        ink = thinner if stays and stays >= 0.4 * (ink > 0.5).sum() else ink
    rows, columns = ink.shape
    matrix = np.float32([[1, -slant, max(slant, 0) * (rows - 1)], [0, 1, 0]])
    size = (columns + int(np.ceil(abs(slant) * rows)), rows)
    return _cropped(cv2.warpAffine(ink, matrix, size, flags=cv2.INTER_LINEAR))


def _separator(character: str, rng, height: int, pen: float) -> tuple[np.ndarray, int]:
    """A separator's pen strokes (drawn 4x larger, anti-aliased, reduced) and its top.

    In digit heights below the line's top: "." a dot on the baseline; "," the dot and a tail
    0.15 to 0.25 under it; "-" a dash 0.25 to 0.55 long at 0.45 to 0.7; "=" two dashes 0.2
    to 0.3 apart; "/" a stroke 0.8 to 1.15 high, 0.3 to 0.5 wide. Points jitter by 0.015.
    """
    scale, above = 4, 0.2  # the canvas reaches 0.2 heights above the line's top, 1.5 below
    canvas = np.zeros((round(1.7 * height) * scale, height * scale), np.uint8)
    thickness = max(1, round(pen * scale * rng.uniform(0.8, 1.2)))

    def point(x, y):  # in heights from the line's left and top
        return [round((x + rng.normal(0, 0.015)) * height * scale),
                round((y + above + rng.normal(0, 0.015)) * height * scale)]

    lines = []
    if character in ".,":
        radius = pen / height * rng.uniform(0.4, 0.7)
        centre = point(0.1, 1 - radius)
        axes = [round(radius * height * scale * factor) for factor in (rng.uniform(0.8, 1.4), 1)]
        cv2.ellipse(canvas, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)
        if character == ",":
            lines.append([centre, point(0.1 - rng.uniform(0, 0.08), 1 + rng.uniform(0.15, 0.25))])
    elif character in "-=":
        level, length = rng.uniform(0.45, 0.7), rng.uniform(0.25, 0.55)
        gap, tilt = rng.uniform(0.2, 0.3), rng.uniform(-0.08, 0.08)
        for y in ([level - gap / 2, level + gap / 2] if character == "=" else [level]):
            lines.append([point(0.05, y), point(0.05 + length / 2, y + tilt / 2),
                          point(0.05 + length, y + tilt)])
    else:
        width = rng.uniform(0.3, 0.5)
        lines.append([point(0.05 + width, rng.uniform(-0.1, 0.1)),
                      point(0.05, rng.uniform(0.9, 1.05))])
    cv2.polylines(canvas, [np.array(line, np.int32) for line in lines], False, 255, thickness,
                  cv2.LINE_AA)
    ink = cv2.resize(canvas, (height, canvas.shape[0] // scale), interpolation=cv2.INTER_AREA)
    ink = ink.astype(np.float32) / 255
    top = int(np.flatnonzero((ink > 0.1).any(axis=1))[0]) - round(above * height)
    return _cropped(ink), top


def _lay_out(glyphs, rng, height: int, touching: bool):
    """The characters side by side on a page: its ink, (N, 4) int32 boxes, the baseline's row."""
    touch_rate = rng.uniform(0, 0.6) if touching else 0.0
    spacing = rng.uniform(0.03, 0.4) * height
    lefts, right = [], 0
    for index, (ink, _) in enumerate(glyphs):
        left = right
        if index and rng.random() < touch_rate:
            narrower = min(ink.shape[1], glyphs[index - 1][0].shape[1])
            left -= round(rng.uniform(0, MAX_OVERLAP) * narrower)
        elif index:
            left += max(1, round(spacing * rng.uniform(0.5, 1.5)))
        lefts.append(left)
        right = left + ink.shape[1]
    top = min(glyph_top for _, glyph_top in glyphs)
    content = max(glyph_top + ink.shape[0] for ink, glyph_top in glyphs) - top
    rows = max(content + 4, round(height * rng.uniform(*PAGE_HEIGHT)))
    upper = int(rng.integers(2, rows - content - 1))
    margins = [round(height * rng.uniform(0.1, 0.8)) for _ in range(2)]
    page = np.zeros((rows, margins[0] + right + margins[1]), np.float32)
    boxes = []
    for (ink, glyph_top), left in zip(glyphs, lefts):
        x, y = margins[0] + left, upper + glyph_top - top
        region = page[y:y + ink.shape[0], x:x + ink.shape[1]]
        np.maximum(region, ink, out=region)
        boxes.append((x, y, ink.shape[1], ink.shape[0]))
    return page, np.array(boxes, np.int32).reshape(-1, 4), upper + height - top
