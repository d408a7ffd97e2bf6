"""``read`` on numbers laid out as people write and save them: real MNIST test digits (from
8,000 on, which neither the readers' choices nor the other benchmarks use) put side by side on
plain paper, 56 pixels high, 4 pixels apart, and then laid out otherwise one way at a time.

    DIGITREC_DATA=../shared/data python benchmarks/layouts.py [--numbers 20]

The ways: as they are; long numbers (12, 16 and 20 digits: a card number, an IBAN's digits);
touching (neighbours overlapping by 6 and 12 pixels); spread out (40 pixels apart); a
baseline that wanders (each digit up or down at random by up to 8, 14 and 20 pixels) or
runs up- or downhill (8 and 14 pixels a digit, the digits themselves upright); the first
digit half as high again; slanted (sheared by 0.35 of the height); faint (pencil: a third of
the ink's contrast); blue ballpoint (an RGB image); light ink on dark paper; drawn thick on a
transparent canvas, 200 pixels high (the page's drawing pad); and the whole image 28 and 16
pixels high. For each it prints the share read exactly and of the "ok" readings the share
right (precision) and the share of readings that are "ok" (coverage), with the number of
wrong "ok" readings.
"""

import argparse

import cv2
import numpy as np
from PIL import Image

from digitrec import datasets
from digitrec.recognizer import Recognizer

FIRST_DIGIT = 8000  # of MNIST's test set
PAPER = 235  # grey level of the paper
SIZE, GAP = 56, 4  # pixels: a digit's height and the paper between two


def number(digits: np.ndarray, size: int = SIZE, gap: int = GAP,
           offsets=None) -> np.ndarray:
    """(N, 28, 28) uint8 MNIST digits side by side on paper as (H, W) float32 grey levels,
    each ``size`` pixels high, ``gap`` apart (negative: overlapping), raised or lowered by
    ``offsets`` (N pixels, up negative)."""
    offsets = np.zeros(len(digits), int) if offsets is None else np.asarray(offsets)
    shift = int(-offsets.min()) if len(offsets) else 0
    height = size + 40 + shift + int(max(0, offsets.max()))
    page = np.full((height, len(digits) * (size + gap) + 40 - min(gap, 0)), PAPER, np.float32)
    for index, digit in enumerate(digits):
        ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC),
                         np.float32) * 0.85
        top, left = 20 + shift + int(offsets[index]), 20 + index * (size + gap)
        area = page[top:top + size, left:left + size]
        area[...] = np.minimum(area, PAPER - ink)
    return page


def grey(page: np.ndarray) -> Image.Image:
    return Image.fromarray(page.clip(0, 255).astype(np.uint8))


def wandering(amplitude: int):
    def make(digits, rng):
        return grey(number(digits, offsets=rng.integers(-amplitude, amplitude + 1, len(digits))))
    return make


def sloping(step: int):  # pixels a digit, downhill positive
    def make(digits, rng):
        return grey(number(digits, offsets=step * np.arange(len(digits))))
    return make


def first_bigger(digits, rng):
    first, rest = number(digits[:1], size=SIZE * 3 // 2), number(digits[1:])
    page = np.full((first.shape[0], first.shape[1] + rest.shape[1]), PAPER, np.float32)
    page[:, :first.shape[1]] = first
    top = first.shape[0] - rest.shape[0] - 6  # the rest on the first digit's baseline
    page[top:top + rest.shape[0], first.shape[1]:] = rest
    return grey(page)


def slanted(digits, rng):
    page = number(digits)
    height, width = page.shape
    shear = np.float32([[1, -0.35, 0.35 * height], [0, 1, 0]])
    return grey(cv2.warpAffine(page, shear, (width + int(0.35 * height), height),
                               borderValue=PAPER))


def pencil(digits, rng):
    return grey(PAPER - (PAPER - number(digits)) / 3)


def ballpoint(digits, rng):
    ink = (PAPER - number(digits)) / PAPER
    colour = np.stack([240 - ink * 200, 238 - ink * 170, 230 - ink * 60], axis=-1)
    return Image.fromarray(colour.clip(0, 255).astype(np.uint8))


def canvas(digits, rng):
    ink = (PAPER - number(digits, size=200, gap=10)) / PAPER * 255
    ink = cv2.dilate(ink, np.ones((9, 9), np.uint8))  # a thick pen
    drawing = np.zeros(ink.shape + (4,), np.uint8)
    drawing[..., 3] = ink.clip(0, 255).astype(np.uint8)
    return Image.fromarray(drawing, "RGBA")


def high(pixels: int):
    def make(digits, rng):
        image = grey(number(digits))
        return image.resize((max(1, image.width * pixels // image.height), pixels),
                            Image.Resampling.LANCZOS)
    return make


LAYOUTS = [  # (name, digits in a number, the image from the digits and a random generator)
    ("as they are", 5, lambda digits, rng: grey(number(digits))),
    ("12 digits", 12, lambda digits, rng: grey(number(digits))),
    ("16 digits", 16, lambda digits, rng: grey(number(digits))),
    ("20 digits", 20, lambda digits, rng: grey(number(digits))),
    ("touching, 6 px overlap", 5, lambda digits, rng: grey(number(digits, gap=-6))),
    ("touching, 12 px overlap", 5, lambda digits, rng: grey(number(digits, gap=-12))),
    ("spread out, 40 px apart", 5, lambda digits, rng: grey(number(digits, gap=40))),
    ("baseline wanders 8 px", 5, wandering(8)),
    ("baseline wanders 14 px", 5, wandering(14)),
    ("baseline wanders 20 px", 5, wandering(20)),
    ("uphill, 8 px a digit", 5, sloping(-8)),
    ("uphill, 14 px a digit", 5, sloping(-14)),
    ("downhill, 8 px a digit", 5, sloping(8)),
    ("downhill, 14 px a digit", 5, sloping(14)),
    ("first digit half as high again", 5, first_bigger),
    ("slanted (shear 0.35)", 5, slanted),
    ("pencil (a third of the contrast)", 5, pencil),
    ("blue ballpoint (RGB)", 5, ballpoint),
    ("light ink on dark paper", 5, lambda digits, rng: grey(255 - number(digits))),
    ("thick on a transparent canvas", 5, canvas),
    ("28 px high", 5, high(28)),
    ("16 px high", 5, high(16)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--numbers", type=int, default=50, help="numbers of each layout")
    parser.add_argument("--data-dir", default=None, help="folder of MNIST's IDX files")
    arguments = parser.parse_args()
    _, (digits, labels) = datasets.load("mnist", arguments.data_dir)
    recognizer = Recognizer.load()
    print("| layout | exact | ok precision, coverage | wrong ok |")
    print("|---|---:|---:|---:|")
    for name, length, make in LAYOUTS:
        rng = np.random.default_rng(0)
        exact = ok = wrong_ok = 0
        for index in range(arguments.numbers):
            start = FIRST_DIGIT + index * length
            text = "".join(str(label) for label in labels[start:start + length])
            answer = recognizer.read(make(digits[start:start + length], rng))
            exact += answer["text"] == text
            ok += answer["status"] == "ok"
            wrong_ok += answer["status"] == "ok" and answer["text"] != text
        precision = f"{(ok - wrong_ok) / ok:.1%}" if ok else "-"
        print(f"| {name} | {exact / arguments.numbers:.1%} | {precision}, "
              f"{ok / arguments.numbers:.1%} | {wrong_ok} |", flush=True)


if __name__ == "__main__":
    main()
