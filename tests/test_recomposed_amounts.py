"""Real amounts recomposed: cut between their digit boxes, the pieces hold their digits."""

import numpy as np
import pytest
from PIL import Image, ImageOps

from digitrec import datasets
from digitrec.training import recomposed_amounts

from conftest import HANDWRITING

ORAND = HANDWRITING / "orand_car_a"


@pytest.fixture(scope="module")
def fit_amounts():
    return datasets.folder_numbers(ORAND, "fit")[:60]


@pytest.fixture(scope="module")
def cut_amounts(fit_amounts):
    return recomposed_amounts.load_amounts(ORAND, [path for path, _ in fit_amounts])


def test_the_pieces_in_order_give_the_amount_back(fit_amounts, cut_amounts):
    assert len(cut_amounts) == len(fit_amounts)
    for (path, label), amount in zip(fit_amounts, cut_amounts):
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"))
        joined = np.concatenate([amount.left, *[piece for piece, _ in amount.pieces],
                                 amount.right], axis=1)
        assert np.array_equal(joined, grey)
        assert "".join(digits for _, digits in amount.pieces) == label


def test_a_piece_of_one_digit_shows_that_digit(cut_amounts, recognizer):
    crops, labels = [], []
    for amount in cut_amounts:
        for piece, digits in amount.pieces:
            if len(digits) == 1:
                crops.append(ImageOps.expand(Image.fromarray(piece), border=8,
                                             fill=int(np.median(piece))))
                labels.append(int(digits))
    read = recognizer.predict(crops)
    # The shipped digit model read 97% of the 199 one-digit pieces of these 60 amounts (cheque
    # backgrounds, a separator or a neighbour's stroke at a piece's edge); the labels shifted
    # by one piece, as boxes out of the label's order would be, match 16% of its readings.
    assert len(labels) > 150 and np.mean(read == np.array(labels)) >= 0.85


def test_a_recomposed_number_is_its_pieces_between_the_margins(cut_amounts):
    rng = np.random.default_rng(3)
    for amount in cut_amounts[:20]:
        image, digits = recomposed_amounts.recompose(amount, rng)
        assert 1 <= len(digits) <= 10 and image.shape[0] == amount.left.shape[0]
        assert np.array_equal(image[:, :amount.left.shape[1]], amount.left)
        assert np.array_equal(image[:, image.shape[1] - amount.right.shape[1]:], amount.right)
        pieces = {text: piece.shape[1] for piece, text in amount.pieces}
        assert set(digits) <= set("".join(pieces))


def test_only_the_files_asked_for_are_cut(fit_amounts):
    held_out = datasets.folder_numbers(ORAND, "holdout")[:5]
    amounts = recomposed_amounts.load_amounts(ORAND, [path for path, _ in held_out])
    assert ["".join(text for _, text in amount.pieces) for amount in amounts] == [
        label for _, label in held_out]


def test_boxes_that_do_not_fit_the_digits_are_refused():
    image = np.full((20, 40), 200, dtype=np.uint8)
    with pytest.raises(ValueError, match="2 boxes for 1 digits"):
        recomposed_amounts.amount_pieces(image, [(0, 0, 5, 5), (10, 0, 5, 5)], "1")
    with pytest.raises(ValueError, match="left to right"):
        recomposed_amounts.amount_pieces(image, [(10, 0, 5, 5), (0, 0, 5, 5)], "12")
    with pytest.raises(ValueError, match="left to right"):
        recomposed_amounts.amount_pieces(image, [(30, 0, 15, 5)], "1")
