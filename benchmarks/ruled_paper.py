"""Digits on ruled or squared paper, in a form's box, on a sheet photographed on a table or in a
shadow: the pipeline with and without the steps that remove what is not the digit.

    DIGITREC_DATA=../shared/data python benchmarks/ruled_paper.py [--digits 300]

Real MNIST test digits, written large (200 px) in dark ink on a 400x400 photo of ruled paper:
lines 2 px wide, 50 px apart, two or three of them through the digit, at several darknesses
(grey level 200 is a faint line, 140 a dark one, on paper at 235) and slants (a phone held a
little crooked), on squared paper (vertical lines as well), and in a box drawn round the digit
(a form's cell, 3 px, grey 120, 60 px in from the photo's edge), and on a sheet photographed on
a dark table (grey 90, 60 px of it showing round the sheet), and under shadows (:data:`SHADOWS`:
a soft one across a corner, the paper darkened by up to 110 grey levels over 150 px; a
hard-edged one over a third of the page; an L-shaped one along two edges; a dim photo, the
whole page at half the light, its paper at grey 117). Prints the shipped
model's accuracy through ``imaging.to_mnist`` as it is and with the step left out
(:func:`digitrec.imaging.remove_ruled_lines`; for the box, ``PAGE_SIZE`` raised so that no
image is taken for a page; for the table, no table looked for; for the shadows, the paper's
level estimated by block minima alone, without ``imaging.ink.page_background``; for the dim
photo, the ink's polarity by the median grey level alone, without
:func:`digitrec.imaging.ink.light_paper`'s look at the page), and on blank
paper for reference. Then five-digit numbers of the same digits (120 px tall on 700x300 paper)
read exactly by ``Recognizer.read``, with and without the lines erased; and on each kind of
page (and turned), read whole and by the number reader alone, with the page made even
(:func:`digitrec.imaging.even_page`: a table round the sheet or a shadow over it taken out)
and its writing levelled (:func:`digitrec.imaging.level_page`, in ``read``) and a form's
boxes and a frame round the number erased (:func:`digitrec.imaging.erase_boxes_and_frame`),
and as it is.
"""

import argparse
import contextlib
from unittest import mock

import cv2
import numpy as np
from PIL import Image, ImageOps

from digitrec import datasets, imaging
from digitrec.recognizer import Recognizer

PAPER = 235
# Shadows over a page, as the fraction of light kept at each (row, column), 1 outside them.
SHADOWS = {
    "soft": lambda rows, columns, height: 1 - np.clip(
        (rows + columns - 1.1 * height) / 150, 0, 1) * 110 / PAPER,
    "hard": lambda rows, columns, height: np.where(columns > 0.65 * columns.max(),
                                                   1 - 90 / PAPER, 1.0),
    "L-shaped": lambda rows, columns, height: 1 - np.clip(
        (np.maximum(rows / height, columns / (columns.max() + 1)) - 0.75) * 6, 0, 1) * 80 / PAPER,
    "dim": lambda rows, columns, height: np.full(rows.shape, 0.5),
}


def on_ruled_paper(digits: np.ndarray, line_level: int | None, degrees: float = 3.0,
                   thickness: int = 2, squared: bool = False, box: bool = False,
                   table: int | None = None, shadow: str | None = None,
                   turned: float = 0.0, chalk: bool = False,
                   portrait: bool = False, boxes: str | None = None) -> Image.Image:
    """(N, 28, 28) uint8 MNIST digits written side by side, one 200 px tall on 400x400 paper,
    several 120 px tall on 700x300, as a grey image. The paper is ruled (lines 50 px apart;
    ``squared``: squared), or blank with a box round the one digit (``box``), or blank
    (``line_level`` None); ``table``: the grey level of a table showing 60 px wide round it;
    ``shadow``: one of :data:`SHADOWS` over the photo; ``turned``: the photo turned by this many
    degrees (counter-clockwise), enlarged to hold it, its new corners table or paper;
    ``chalk``: light ink on a dark board, the photo's grey levels inverted; ``portrait``: the
    page 1280 px high and 960 px wide (a phone held upright, 3:4), the number in its middle;
    ``boxes``: a form's row of boxes, one round each digit of a number (110x130 px, lines
    ``thickness`` px at grey ``line_level``), ``"shared"`` walls or ``"separate"`` boxes 10 px
    apart, or a ``"comb"``: a base line with ticks a third of a box high between the digits."""
    size = 200 if len(digits) == 1 else 120
    height, width = (400, 400) if len(digits) == 1 else (300, 700)
    if portrait:
        height, width = 1280, 960
    page = np.full((height, width), PAPER, np.float32)
    if box:
        cv2.rectangle(page, (60, 60), (width - 61, height - 61), line_level, thickness)
    elif line_level is not None and not boxes:
        rise = round((width - 1) * np.tan(np.radians(degrees)))
        for offset in range(-100, max(height, width) + 100, 50):
            cv2.line(page, (0, offset), (width - 1, offset + rise), line_level, thickness)
            if squared:
                cv2.line(page, (offset + rise, 0), (offset, height - 1), line_level, thickness)
    if table is not None:
        sheet = page[60:height - 60, 60:width - 60].copy()
        page[...] = table
        page[60:height - 60, 60:width - 60] = sheet
    top, left = (height - size) // 2, (width - size * len(digits)) // 2
    for index in range(len(digits) if boxes else 0):
        box_left = left + index * (size - 10)
        if boxes == "shared":
            cv2.rectangle(page, (box_left + 5, top - 5), (box_left + size - 5, top + size + 5),
                          line_level, thickness)
        elif boxes == "comb":  # the base line, and ticks a third of the box high
            cv2.line(page, (box_left + 5, top + size + 5), (box_left + size - 5, top + size + 5),
                     line_level, thickness)
            for tick in (box_left + 5, box_left + size - 5):
                cv2.line(page, (tick, top + size + 5 - (size + 10) // 3), (tick, top + size + 5),
                         line_level, thickness)
        else:
            cv2.rectangle(page, (box_left + 10, top - 5), (box_left + size - 10, top + size + 5),
                          line_level, thickness)
    for digit in digits:
        ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC),
                         dtype=np.float32) * 0.85
        area = page[top:top + size, left:left + size]
        area[...] = np.minimum(area, PAPER - ink)
        left += size - 10  # MNIST's margins: the digits 10 px closer than their boxes
    photo = Image.fromarray(page.astype(np.uint8))
    if turned:
        photo = photo.rotate(turned, resample=Image.Resampling.BICUBIC, expand=True,
                             fillcolor=PAPER if table is None else table)
    if shadow is not None:  # cast over the whole photo, its corners too
        grey = np.asarray(photo, dtype=np.float32)
        rows, columns = np.indices(grey.shape)
        photo = Image.fromarray((grey * SHADOWS[shadow](rows, columns, grey.shape[0])).astype(
            np.uint8))
    return ImageOps.invert(photo) if chalk else photo


def accuracy(recognizer, digits, labels, **page) -> float:
    """Single digits (``to_mnist``) read right, a fraction."""
    correct = 0
    for digit, label in zip(digits, labels):
        try:
            correct += recognizer.predict(imaging.to_mnist(
                on_ruled_paper(digit[np.newaxis], **page)))[0] == label
        except imaging.ImageError:
            pass
    return correct / len(labels)


def reading_accuracy(recognizer, digits, labels, alone: bool = False, **page) -> float:
    """Five-digit numbers (``Recognizer.read``; ``alone``: its number reader alone) read
    exactly, a fraction; ``page``: :func:`on_ruled_paper`'s options."""
    numbers = len(labels) // 5
    read = recognizer.reader_.read if alone else recognizer.read
    correct = 0
    for start in range(0, numbers * 5, 5):
        text = "".join(str(label) for label in labels[start:start + 5])
        try:
            correct += read(on_ruled_paper(digits[start:start + 5], **page))["text"] == text
        except imaging.ImageError:
            pass
    return correct / numbers


def replaced(name: str, replacement, *stages: str) -> contextlib.ExitStack:
    """``name`` replaced by ``replacement`` in each of the ``stages`` (modules of
    ``digitrec.imaging``, each of which imports it or defines it), while in a ``with`` block."""
    stack = contextlib.ExitStack()
    for stage in stages:
        stack.enter_context(mock.patch(f"digitrec.imaging.{stage}.{name}", replacement))
    return stack


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=300, help="MNIST test digits (the first N)")
    arguments = parser.parse_args()
    _, (x_test, y_test) = datasets.load("mnist")
    digits, labels = x_test[:arguments.digits], y_test[:arguments.digits]
    recognizer = Recognizer.load()

    # Each step, left out: the "left in" column.
    def without_lines():
        return replaced("remove_ruled_lines", lambda ink, **options: ink, "digit", "segmentation",
                        "text_lines", "pages")

    def without_pages():  # no image is taken for a page: no box, table or line steps
        return replaced("PAGE_SIZE", 10_000, "ink", "lines", "digit")

    def without_table():
        return replaced("table_mask", lambda grey: None, "ink")

    def without_page_background():
        return replaced("page_background", imaging.ink._local_background, "ink")

    def without_polarity_look():  # the median grey level alone says which is the paper
        return replaced("light_paper", lambda grey, photo=False: float(np.median(grey)) > 127.5,
                        "ink", "pages")

    cases = [("blank", dict(line_level=None), without_lines)]
    cases += [(f"ruled, lines at grey {level}, {degrees} degrees, {thickness} px",
               dict(line_level=level, degrees=degrees, thickness=thickness), without_lines)
              for level, degrees, thickness in ((200, 3, 2), (170, 3, 2), (140, 0, 2),
                                                (140, 3, 2), (140, 8, 2), (140, 3, 1),
                                                (140, 3, 4))]
    cases += [(f"squared, lines at grey {level}, 3 degrees, 2 px",
               dict(line_level=level, squared=True), without_lines) for level in (200, 170, 140)]
    cases += [("box round the digit, grey 120, 3 px",
               dict(line_level=120, thickness=3, box=True), without_pages),
              ("a sheet on a table (grey 90)", dict(line_level=None, table=90), without_table)]
    cases += [(f"{name} shadow across the page", dict(line_level=None, shadow=name),
               without_polarity_look if name == "dim" else without_page_background)
              for name in SHADOWS]
    print("| paper | removed (digitrec) | left in |")
    print("|---|---:|---:|")
    for name, page, left_out in cases:
        erased = accuracy(recognizer, digits, labels, **page)
        with left_out():
            left_in = accuracy(recognizer, digits, labels, **page)
        print(f"| {name} | {erased:.1%} | {left_in:.1%} |")
    for name, page in (("blank", dict(line_level=None)),
                       ("ruled, lines at grey 140, 0 degrees, 2 px",
                        dict(line_level=140, degrees=0)),
                       ("ruled, lines at grey 140, 3 degrees, 2 px",
                        dict(line_level=140, degrees=3))):
        erased = reading_accuracy(recognizer, digits, labels, **page)
        with without_lines():
            left_in = reading_accuracy(recognizer, digits, labels, **page)
        print(f"| five-digit numbers read exactly, {name} | {erased:.1%} | {left_in:.1%} |")
    print(f"\n{len(labels)} MNIST test digits (and {len(labels) // 5} numbers of five of them), "
          f"shipped model, paper at grey {PAPER}.")

    # Numbers on photographed pages: read whole, and the number reader alone, with the page
    # made even (imaging.even_page: no table round the sheet, no shadow) and its writing
    # levelled (imaging.level_page, read only), and as it is.
    papers = [("blank", dict(line_level=None)),
              ("blank, turned 8 degrees", dict(line_level=None, turned=8)),
              ("ruled, grey 140, 3 degrees, turned 12 degrees",
               dict(line_level=140, degrees=3, turned=12)),
              ("ruled, grey 140, 3 degrees", dict(line_level=140, degrees=3)),
              ("squared, grey 140, 3 degrees", dict(line_level=140, degrees=3, squared=True)),
              ("box round the number", dict(line_level=120, thickness=3, box=True)),
              ("a form's boxes, one digit in each (grey 120, 2 px)",
               dict(line_level=120, boxes="shared")),
              ("a form's separate boxes (grey 120, 2 px)", dict(line_level=120, boxes="separate")),
              ("a form's comb (grey 120, 2 px)", dict(line_level=120, boxes="comb")),
              ("a sheet on a table (grey 90)", dict(line_level=None, table=90))]
    papers += [(f"{name} shadow, ruled", dict(line_level=140, shadow=name)) for name in SHADOWS]
    papers += [("chalk on a dim board", dict(line_level=None, shadow="dim", chalk=True)),
               ("portrait page (960x1280), ruled", dict(line_level=140, portrait=True)),
               ("portrait, ruled, turned 8 degrees", dict(line_level=140, portrait=True, turned=8)),
               ("portrait, hard shadow, ruled", dict(line_level=140, portrait=True, shadow="hard")),
               ("portrait, dim, ruled", dict(line_level=140, portrait=True, shadow="dim"))]
    print("\n| five-digit numbers on | read | read, page as it is | number reader alone "
          "| alone, page as it is |")
    print("|---|---:|---:|---:|---:|")
    for name, page in papers:
        cells = []
        for alone in (False, True):
            cells.append(reading_accuracy(recognizer, digits, labels, alone, **page))
            # In imaging.pages, where page_to_read looks them up (patching the package's names
            # left the page made even and level: the two columns read alike); a form's boxes
            # and a frame round the number left in too.
            with replaced("even_page", lambda image: image, "pages"), \
                    replaced("level_page", lambda image: (image, 0.0), "pages"), \
                    replaced("erase_boxes_and_frame", lambda image: image, "pages"):
                cells.append(reading_accuracy(recognizer, digits, labels, alone, **page))
        print(f"| {name} | " + " | ".join(f"{cell:.1%}" for cell in cells) + " |")


if __name__ == "__main__":
    main()
