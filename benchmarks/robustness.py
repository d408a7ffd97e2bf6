"""Reading whole numbers from images saved, scanned or photographed otherwise than the sets are:
``read`` on held-out cheque amounts and register crops, each also made worse in one way.

    DIGITREC_HANDWRITING=../shared/handwriting python benchmarks/robustness.py [--limit 100]
        [--reader RUN]

The first ``limit`` held-out cheques of ORAND-CAR-A and crops of the held-out registers
(``datasets.folder_files``: none trained on), as they are and: saved as a JPEG of quality 15;
scanned at half and at one and a half times the resolution (bilinear, bicubic); blurred
(Gaussian, radius 1.2 pixels); with camera noise (Gaussian, 12 grey levels); at low contrast
(its grey levels squeezed into 110 to 186); saved bilevel (Pillow's "1", dithered, and
thresholded at mid-grey as a scanner set for black and white does) and with the
web's 216 colours (dithered); as a negative (a microfilm's: light ink on dark paper); cut from
a page scanned 2 degrees askew (either way) and 4 degrees. For each it prints the share read
exactly, and the share of "ok" readings that are exact (precision) and of readings that are
"ok" (coverage).
"""

import argparse
import io

import cv2
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from digitrec import datasets
from digitrec.recognizer import Recognizer
from inference import HANDWRITING  # benchmarks/inference.py, beside this script


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _scaled(image: Image.Image, factor: float, resample) -> Image.Image:
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                        resample)


def _noisy(image: Image.Image, level: float, seed: int = 0) -> Image.Image:
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    grey += np.random.default_rng(seed).normal(0, level, grey.shape)
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _turned(image: Image.Image, degrees: float) -> Image.Image:
    """Cut from a page scanned askew: turned about its centre, its size kept, what comes in at
    the corners its edges' pixels (as the page around a crop would show there)."""
    pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return Image.fromarray(cv2.warpAffine(pixels, turn, (width, height), flags=cv2.INTER_CUBIC,
                                          borderMode=cv2.BORDER_REPLICATE))


CHANGES = {
    "as it is": lambda image: image,
    "JPEG, quality 15": lambda image: _jpeg(image, 15),
    "half the resolution": lambda image: _scaled(image, 0.5, Image.Resampling.BILINEAR),
    "1.5 times the resolution": lambda image: _scaled(image, 1.5, Image.Resampling.BICUBIC),
    "blurred (1.2 px)": lambda image: image.filter(ImageFilter.GaussianBlur(1.2)),
    "noise (12 grey levels)": lambda image: _noisy(image, 12),
    "low contrast (110 to 186)": lambda image: Image.eval(image.convert("L"),
                                                          lambda value: 110 + value * 0.3),
    "bilevel, dithered": lambda image: image.convert("1"),
    "bilevel, thresholded": lambda image: image.convert("L").point(
        lambda value: 255 if value > 128 else 0).convert("1", dither=Image.Dither.NONE),
    "web's 216 colours, dithered": lambda image: image.convert("RGB").convert(
        "P", palette=Image.Palette.WEB, dither=Image.Dither.FLOYDSTEINBERG),
    "negative": lambda image: ImageOps.invert(image.convert("RGB")),
    "scanned 2 degrees askew": lambda image: _turned(image, 2),
    "scanned 2 degrees askew, the other way": lambda image: _turned(image, -2),
    "scanned 4 degrees askew": lambda image: _turned(image, 4),
}


def scores(recognizer, numbers, change) -> tuple[float, float, float]:
    """Exact share, "ok" precision and "ok" coverage of ``read`` on ``numbers`` (path, label)
    changed by ``change``."""
    exact = ok = ok_exact = 0
    for path, label in numbers:
        with Image.open(path) as image:
            answer = recognizer.read(change(image))
        right = answer["text"] == label
        exact += right
        ok += answer["status"] == "ok"
        ok_exact += answer["status"] == "ok" and right
    count = max(len(numbers), 1)
    return exact / count, ok_exact / max(ok, 1), ok / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="numbers of each set")
    parser.add_argument("--reader", help="a number reader's run folder (default: the shipped)")
    arguments = parser.parse_args()
    recognizer = Recognizer.load(reader=arguments.reader)
    sets = {folder: datasets.folder_numbers(HANDWRITING / folder, "holdout")[:arguments.limit]
            for folder in ("orand_car_a", "register_numbers")}
    print("| image | cheques: exact | ok precision, coverage | register crops: exact "
          "| ok precision, coverage |")
    print("|---|---:|---:|---:|---:|")
    for name, change in CHANGES.items():
        cells = []
        for numbers in sets.values():
            exact, precision, coverage = scores(recognizer, numbers, change)
            cells += [f"{exact:.1%}", f"{precision:.1%}, {coverage:.1%}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    readers = f"the number reader {arguments.reader}" if arguments.reader else "the shipped readers"
    print(f"\nThe first {arguments.limit} held-out numbers of each set, {readers}.")


if __name__ == "__main__":
    main()
