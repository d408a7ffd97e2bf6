"""Synthetic digit strings: reproducible, labelled as drawn, from the fit halves only."""

import numpy as np
import pytest
from PIL import Image, ImageOps

from digitrec import datasets
from digitrec.training import synthetic_strings

from conftest import HANDWRITING


@pytest.fixture(scope="module")
def mnist_bank(data_dir):
    return synthetic_strings.load_bank(["mnist"], per_source=400, data_dir=data_dir)


@pytest.fixture(scope="module")
def mixed_bank(data_dir):
    return synthetic_strings.load_bank(per_source=80, data_dir=data_dir, handwriting=HANDWRITING)


def test_the_same_seed_gives_the_same_strings(mixed_bank):
    first, again = (synthetic_strings.generate(mixed_bank, 6, seed=3) for _ in range(2))
    other = synthetic_strings.generate(mixed_bank, 6, seed=4)
    for one, two in zip(first, again):
        assert np.array_equal(one.image, two.image)
        assert one.text == two.text and np.array_equal(one.boxes, two.boxes)
    assert [one.text for one in first] != [one.text for one in other]
    assert any(one.image.shape != two.image.shape or not np.array_equal(one.image, two.image)
               for one, two in zip(first, other))


@pytest.mark.parametrize("options", [{}, {"page_effects": False, "touching": False},
                                     {"separators": False, "digit_height": 30}])
def test_labels_boxes_and_images(mixed_bank, options):
    strings = synthetic_strings.generate(mixed_bank, 40, seed=1, **options)
    for string in strings:
        assert string.digits == "".join(c for c in string.text if c.isdigit())
        assert set(string.text) <= set("0123456789" + synthetic_strings.SEPARATORS)
        assert 1 <= len(string.digits) <= synthetic_strings.MAX_DIGITS
        assert string.image.dtype == np.uint8 and string.image.ndim == 2
        assert string.boxes.shape == (len(string.text), 4) and string.boxes.dtype == np.int32
        x, y, width, height = string.boxes.T
        rows, columns = string.image.shape
        assert (x >= 0).all() and (y >= 0).all() and (width > 0).all() and (height > 0).all()
        assert (x + width <= columns).all() and (y + height <= rows).all()
    if options.get("separators") is False:
        assert all(string.text == string.digits for string in strings)
        assert all(string.image.shape[0] >= 1.3 * 30 - 1 for string in strings)
    else:
        assert any(string.text != string.digits for string in strings)
    if options.get("page_effects") is False:  # black ink on white paper, nothing else
        assert all(string.image[0, 0] == 255 and string.image.min() < 60 for string in strings)


def test_a_length_can_be_asked_for(mnist_bank):
    strings = synthetic_strings.generate(mnist_bank, 10, seed=0, length=7)
    assert {len(string.digits) for string in strings} == {7}


def test_the_label_is_what_is_drawn(mnist_bank, recognizer):
    strings = synthetic_strings.generate(mnist_bank, 30, seed=5, page_effects=False,
                                         touching=False)
    crops, labels = [], []
    for string in strings:
        for character, (x, y, width, height) in zip(string.text, string.boxes):
            if character.isdigit():
                crop = Image.fromarray(string.image[y:y + height, x:x + width])
                crops.append(ImageOps.expand(crop, border=height // 3, fill=255))
                labels.append(int(character))
    read = recognizer.predict(crops)
    # The shipped model reads MNIST's test digits at 99.5%. It read these 125 digits (MNIST
    # training digits resized, slanted by up to 0.35, strokes thickened or thinned, cut back out
    # by their boxes) all right, and 99.5% of 3,086 in 600 such strings (seeds 0 to 5): the
    # floor allows about six misreadings here.
    assert len(labels) > 100 and np.mean(read == np.array(labels)) >= 0.95


def test_each_source_gives_only_its_fit_half(data_dir):
    bank = synthetic_strings.load_bank(["usps", "optdigits", "orand"], per_source=150,
                                       data_dir=data_dir, handwriting=HANDWRITING, seed=2)
    assert {str(source) for source in bank.sources} == {"usps", "optdigits", "orand"}
    for source, folder in synthetic_strings.FOLDERS.items():
        chosen = bank.sources == source
        files = {str(origin).split("#")[0] for origin in bank.origins[chosen]}
        assert files <= set(datasets.folder_files(HANDWRITING / folder, "fit"))
        assert not files & set(datasets.folder_files(HANDWRITING / folder, "holdout"))
        assert chosen.sum() >= 140  # a few ORAND boxes may hold no ink
    for image, label in zip(bank.images, bank.labels):
        assert image.dtype == np.float32 and image.ndim == 2 and label <= 9
        assert 0 <= image.min() and image.max() <= 1 and image.max() > 0.5


def test_mnist_digits_come_from_its_training_images(mnist_bank, mnist):
    (x_train, y_train), _ = mnist
    indices = [int(origin[len("train["):-1]) for origin in mnist_bank.origins]
    assert max(indices) < len(x_train) and set(mnist_bank.sources) == {"mnist"}
    assert np.array_equal(mnist_bank.labels, y_train[indices])


def _overlaps(string) -> bool:
    x, _, width, _ = string.boxes.T
    return bool((x[1:] < x[:-1] + width[:-1]).any())


def test_touching_can_be_turned_off(mixed_bank):
    touching = synthetic_strings.generate(mixed_bank, 40, seed=6, page_effects=False)
    apart = synthetic_strings.generate(mixed_bank, 40, seed=6, page_effects=False,
                                       touching=False)
    assert sum(_overlaps(string) for string in touching) >= 5
    assert not any(_overlaps(string) for string in apart)


def test_bad_arguments_say_what_was_wrong(mnist_bank, data_dir, monkeypatch):
    rng = np.random.default_rng(0)
    for length in (0, 11):
        with pytest.raises(ValueError, match="length must be 1 to 10"):
            synthetic_strings.render_string(mnist_bank, rng, length=length)
    with pytest.raises(ValueError, match="digit_height must be at least 8"):
        synthetic_strings.render_string(mnist_bank, rng, digit_height=5)
    empty = synthetic_strings.DigitBank([], np.zeros(0, np.uint8), np.zeros(0, str),
                                        np.zeros(0, str))
    with pytest.raises(ValueError, match="bank is empty"):
        synthetic_strings.generate(empty, 1)
    with pytest.raises(ValueError, match="count must be 0 or more"):
        synthetic_strings.generate(mnist_bank, -1)
    with pytest.raises(ValueError, match="sources must be some of"):
        synthetic_strings.load_bank(["mnist", "emnist"], data_dir=data_dir)
    with pytest.raises(ValueError, match="per_source must be at least 1"):
        synthetic_strings.load_bank(["mnist"], per_source=0, data_dir=data_dir)
    monkeypatch.delenv("DIGITREC_HANDWRITING", raising=False)
    with pytest.raises(ValueError, match="need the handwriting folder"):
        synthetic_strings.load_bank(["usps"])
