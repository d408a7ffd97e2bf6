"""Digits on ruled or squared paper or in a form's box: the pipeline with and without the steps
that remove them.

    DIGITREC_DATA=../shared/data python benchmarks/ruled_paper.py [--digits 300]

Real MNIST test digits, written large (200 px) in dark ink on a 400x400 photo of ruled paper:
lines 2 px wide, 50 px apart, two or three of them through the digit, at several darknesses
(grey level 200 is a faint line, 140 a dark one, on paper at 235) and slants (a phone held a
little crooked), on squared paper (vertical lines as well), and in a box drawn round the digit
(a form's cell, 3 px, grey 120, 60 px in from the photo's edge). Prints the shipped model's
accuracy through ``imaging.to_mnist`` as it is and with the step left out
(:func:`digitrec.imaging.remove_ruled_lines`; for the box, ``imaging.PAGE_SIZE`` raised so that
no image is taken for a page), and on blank paper for reference.
"""

import argparse

import cv2
import numpy as np
from PIL import Image

from digitrec import datasets, imaging
from digitrec.recognizer import Recognizer

PAPER = 235


def on_ruled_paper(digit: np.ndarray, line_level: int | None, degrees: float = 3.0,
                   thickness: int = 2, squared: bool = False, box: bool = False) -> Image.Image:
    """A (28, 28) uint8 MNIST digit written 200 px tall on 400x400 ruled paper (``squared``:
    squared paper; ``box``: blank paper with a box round the digit), as a grey image;
    ``line_level`` None: blank paper."""
    page = np.full((400, 400), PAPER, np.float32)
    if box:
        cv2.rectangle(page, (60, 60), (339, 339), line_level, thickness)
    elif line_level is not None:
        rise = round(399 * np.tan(np.radians(degrees)))
        for offset in range(-100, 500, 50):
            cv2.line(page, (0, offset), (399, offset + rise), line_level, thickness)
            if squared:
                cv2.line(page, (offset + rise, 0), (offset, 399), line_level, thickness)
    ink = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC),
                     dtype=np.float32) * 0.85
    page[100:300, 100:300] = np.minimum(page[100:300, 100:300], PAPER - ink)
    return Image.fromarray(page.astype(np.uint8))


def accuracy(recognizer, digits, labels, **page) -> float:
    correct = 0
    for digit, label in zip(digits, labels):
        try:
            correct += recognizer.predict(imaging.to_mnist(on_ruled_paper(digit, **page)))[0] \
                == label
        except imaging.ImageError:
            pass
    return correct / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=300, help="MNIST test digits (the first N)")
    arguments = parser.parse_args()
    _, (x_test, y_test) = datasets.load("mnist")
    digits, labels = x_test[:arguments.digits], y_test[:arguments.digits]
    recognizer = Recognizer.load()
    cases = [dict(line_level=None)] + [
        dict(line_level=level, degrees=degrees, thickness=thickness)
        for level, degrees, thickness in ((200, 3, 2), (170, 3, 2), (140, 0, 2), (140, 3, 2),
                                          (140, 8, 2), (140, 3, 1), (140, 3, 4))] + [
        dict(line_level=level, squared=True) for level in (200, 170, 140)] + [
        dict(line_level=120, thickness=3, box=True)]
    print("| paper | removed (digitrec) | left in |")
    print("|---|---:|---:|")
    remove_ruled_lines, page_size = imaging.remove_ruled_lines, imaging.PAGE_SIZE
    for page in cases:
        erased = accuracy(recognizer, digits, labels, **page)
        if page.get("box"):
            imaging.PAGE_SIZE = 10_000
        else:
            imaging.remove_ruled_lines = lambda ink: ink
        left_in = accuracy(recognizer, digits, labels, **page)
        imaging.remove_ruled_lines, imaging.PAGE_SIZE = remove_ruled_lines, page_size
        if page["line_level"] is None:
            name = "blank"
        elif page.get("box"):
            name = "box round the digit, grey 120, 3 px"
        elif page.get("squared"):
            name = f"squared, lines at grey {page['line_level']}, 3 degrees, 2 px"
        else:
            name = (f"ruled, lines at grey {page['line_level']}, {page['degrees']} degrees, "
                    f"{page['thickness']} px")
        print(f"| {name} | {erased:.1%} | {left_in:.1%} |")
    print(f"\n{len(labels)} MNIST test digits, shipped model, paper at grey {PAPER}.")


if __name__ == "__main__":
    main()
