"""Real cheque amounts put together anew, to train the number reader on more real numbers.

ORAND-CAR-A's amounts (M. Diem et al., ICFHR 2014) come with a box per digit
(``digit_boxes.csv``). :func:`amount_pieces` cuts an amount's image upright between its digit
boxes: digits whose boxes overlap side by side (touching or slanted neighbours, a quarter of
them) stay together in one piece, and the cut falls halfway across the gap between pieces, so a
separator there stays in one piece or the other. :func:`recompose` lays some pieces of one
amount side by side in a new order, between the amount's own left and right margins (where a
trailing mark such as "-" stays): a new number in the same hand, on the same cheque's printed
background. The labels stay right because each piece holds its own boxes' digits whole.
Keras-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import datasets
from digitrec.training import synthetic_strings

MARGIN = 2  # pixels of paper kept before the first box and after the last in the outer pieces


@dataclass
class CutAmount:
    """An amount cut for recomposing: ``left`` and ``right`` are its margins, (H, w) uint8 grey
    arrays (w may be 0); ``pieces`` the (H, w) uint8 columns in between, each with its digits."""

    left: np.ndarray
    pieces: list[tuple[np.ndarray, str]]
    right: np.ndarray


def amount_pieces(image: np.ndarray, boxes: list[tuple[int, int, int, int]],
                  digits: str) -> CutAmount:
    """Cuts an amount's (H, W) uint8 grey image between its digit boxes.

    Args:
        image: the amount, (H, W) uint8.
        boxes: one (x, y, w, h) box per digit in pixels, in the order of ``digits``.
        digits: the amount's digits, left to right.

    Returns:
        The cut amount: concatenating ``left``, the pieces and ``right`` along the width gives
        ``image`` back, and the pieces' digits joined give ``digits``.

    Raises:
        ValueError: as many boxes as digits are needed, left to right, inside the image.
    """
    if len(boxes) != len(digits) or not boxes:
        raise ValueError(f"{len(boxes)} boxes for {len(digits)} digits ({digits!r})")
    starts = [x for x, _, _, _ in boxes]
    ends = [x + w for x, _, w, _ in boxes]
    if starts != sorted(starts) or min(starts) < 0 or max(ends) > image.shape[1]:
        raise ValueError(f"the boxes of {digits!r} are not left to right inside the image")
    units, reach = [[0]], ends[0]  # digits whose boxes overlap side by side stay together
    for index in range(1, len(boxes)):
        if starts[index] < reach:
            units[-1].append(index)
        else:
            units.append([index])
        reach = max(reach, ends[index])
    unit_ends = [max(ends[index] for index in unit) for unit in units]
    cuts = [max(0, starts[0] - MARGIN)]
    cuts += [(unit_ends[number] + starts[unit[0]]) // 2
             for number, unit in enumerate(units[1:])]
    cuts.append(min(image.shape[1], max(ends) + MARGIN))
    pieces = [(image[:, cuts[number]:cuts[number + 1]],
               "".join(digits[index] for index in unit)) for number, unit in enumerate(units)]
    return CutAmount(image[:, :cuts[0]], pieces, image[:, cuts[-1]:])


def recompose(amount: CutAmount, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A new number from an amount's pieces: 1 to two more than its piece count, drawn with
    replacement, at most :data:`synthetic_strings.MAX_DIGITS` digits, between its margins.

    Returns:
        The (H, W') uint8 grey image and its digits.
    """
    count = rng.integers(1, len(amount.pieces) + 3)
    chosen, digits = [], ""
    for index in rng.integers(0, len(amount.pieces), count):
        piece, text = amount.pieces[index]
        if len(digits) + len(text) <= synthetic_strings.MAX_DIGITS:
            chosen.append(piece)
            digits += text
    if not chosen:  # every drawn piece was too long: the amount's first piece alone
        chosen, digits = [amount.pieces[0][0]], amount.pieces[0][1]
    return np.concatenate([amount.left, *chosen, amount.right], axis=1), digits


def load_amounts(folder: str | Path, files: list[Path]) -> list[CutAmount]:
    """The cut amounts (:func:`amount_pieces`) of ``files``, in their order, in a folder
    holding a ``digit_boxes.csv`` (:func:`digitrec.datasets.digit_boxes`), such as
    ORAND-CAR-A's. Files without boxes, or whose boxes do not cut cleanly, are left out; none
    without the file."""
    folder = Path(folder)
    if not (folder / "digit_boxes.csv").is_file():
        return []
    boxes = {(folder / name).resolve(): sorted(rows)
             for name, rows in datasets.digit_boxes(folder).items()}
    amounts = []
    for path in files:
        rows = boxes.get(Path(path).resolve())
        if not rows:
            continue
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L"))
        try:
            amounts.append(amount_pieces(grey, [box for _, _, box in rows],
                                         "".join(str(digit) for _, digit, _ in rows)))
        except ValueError:
            continue
    return amounts
