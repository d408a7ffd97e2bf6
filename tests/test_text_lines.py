"""Finding the line of writing in a crop of a document (imaging.text_lines), on real register
crops and cheques, and on a page made of real MNIST digits."""

import numpy as np
from PIL import Image

from conftest import HANDWRITING
from digitrec import datasets, imaging

REGISTERS = HANDWRITING / "register_numbers"


def _document(mnist_digits: np.ndarray) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A register-like crop, 140x220: a black scanner margin 40 px wide on the left, a ruling
    line down the column and one across it, and the digits (each 24 px high) written at rows
    90 to 114. Returns the image and the digits' (left, top, right, bottom)."""
    page = np.full((220, 140), 235, np.uint8)
    page[:, :40] = 12
    page[:, 128:130] = 90  # a ruling line down the column
    page[30:32, 40:] = 90  # and one across it
    left = 60
    for digit in mnist_digits:
        ink = np.asarray(Image.fromarray(digit).resize((24, 24), Image.Resampling.BICUBIC))
        area = page[90:114, left:left + 24]
        area[...] = np.minimum(area, 235 - (ink * 0.8).astype(np.uint8))
        left += 18
    return Image.fromarray(page), (60, 90, left + 6, 114)


def test_the_line_of_digits_is_found_in_a_document_crop(mnist):
    (_, _), (digits, _) = mnist
    image, (left, top, right, bottom) = _document(digits[:3])
    lines = imaging.find_lines(image)
    assert len(lines) == 1  # the margin and the ruling lines are not writing
    line_left, line_top, line_right, line_bottom = lines[0]
    assert line_left >= 40  # right of the scanner's margin
    assert line_top <= top + 4 and line_bottom >= bottom - 4  # the digits' rows, MNIST's
    assert line_left <= left + 6 and line_right >= right - 10  # margins aside
    assert line_bottom - line_top < 0.35 * image.height


def test_the_scanner_margin_of_real_register_crops_is_cut_off():
    for path, _ in datasets.folder_numbers(REGISTERS, "holdout")[:40:4]:
        grey = imaging.to_grey(imaging.open_image(path))
        left, top, right, bottom = imaging.scanner_margins(grey)
        assert 0 < left < right and bottom - top > 0.8 * grey.shape[0]
        assert np.median(grey[:, :left]) < 60 < np.median(grey[:, left:right])


def test_register_crops_give_lines_and_cheques_stay_whole():
    """A register crop is a tall strip with the number in a band of it; a cheque's amount fills
    its image and is read whole, as is a blank image."""
    for path, _ in datasets.folder_numbers(REGISTERS, "holdout")[:40:4]:
        image = imaging.open_image(path)
        lines = imaging.find_lines(image)
        assert lines and all(bottom - top < 0.6 * image.height for _, top, _, bottom in lines)
    for path, _ in datasets.folder_numbers(HANDWRITING / "orand_car_a", "holdout")[:10]:
        image = imaging.open_image(path)
        assert imaging.find_lines(image) == [(0, 0, *image.size)]
    blank = Image.new("L", (120, 200), 230)
    assert imaging.find_lines(blank) == [(0, 0, 120, 200)]


def test_a_small_image_is_one_line_even_when_its_digit_is_broken():
    """A small drawing of one digit whose strokes do not touch (a 5's bar above its body) is
    read whole: only an image at least MIN_STRIP_HEIGHT high can hold several lines."""
    image = Image.new("L", (40, 60), 255)
    pixels = np.asarray(image).copy()
    pixels[8:12, 10:30] = 0  # the bar
    pixels[20:50, 12:16] = 0  # and, four rows below it, the body
    pixels[46:50, 12:28] = 0
    image = Image.fromarray(pixels)
    assert imaging.find_lines(image) == [(0, 0, 40, 60)]
    tall = Image.fromarray(np.pad(pixels, ((0, 120), (0, 0)), constant_values=255))
    lines = imaging.find_lines(tall)  # the same marks at the top of a tall strip: a line
    assert lines != [(0, 0, 40, 180)] and all(bottom <= 70 for _, _, _, bottom in lines)
