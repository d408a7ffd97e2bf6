"""The number reader's training strings in batches of like widths (docs/rules.md, rule 60).

Every training string is padded with paper to :data:`~digitrec.training.number_reader.
TRAIN_WIDTH` columns, but most are far narrower (a synthetic string's input is about 100
columns wide at the median): a batch of them, cut to its widest string's ink, costs the
reader's convolutions that much less. :class:`WidthBatches` sorts the strings by width within
runs of :data:`RUN` batches, so that a batch holds strings of like widths, and hands
``model.fit`` the batches in a random order. The strings, and how often each is seen, are
those of one shuffled epoch.
"""

from __future__ import annotations

import keras
import numpy as np

from digitrec.number_reader import STEP

RUN = 32  # batches whose strings are sorted by width together
WIDTH_MULTIPLE = 16  # a batch's width is a multiple of this (few shapes for TensorFlow to trace)


def inked_widths(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 1) uint8 strings padded with paper (0) on the right -> (N,) int64, the
    columns up to each one's last inked column (0 for a blank one)."""
    inked = (images[..., 0] > 0).any(axis=1)  # (N, W)
    last = images.shape[2] - np.argmax(inked[:, ::-1], axis=1)
    return np.where(inked.any(axis=1), last, 0)


class WidthBatches(keras.utils.PyDataset):
    """One epoch's strings as ``model.fit`` batches of like widths.

    The strings are shuffled, sorted by width within runs of :data:`RUN` batches, cut into
    batches of ``batch_size`` (the last of a run may be smaller), and the batches put in a
    random order; :meth:`on_epoch_end` draws a new order for a fit of several epochs. Each
    batch is cut to its widest string's ink, rounded up to :data:`WIDTH_MULTIPLE` columns
    and wide enough for CTC to align its longest label (two steps a digit and one: a blank
    between repeated digits), at most the strings' own width.

    Args:
        images: (N, H, W, 1) uint8 strings, 0 paper and 255 ink, padded with paper on the
            right (:func:`digitrec.training.number_reader.training_strings`).
        labels: (N, L) int32 digits, padded with ``pad``.
        batch_size: strings a batch, at least 1.
        rng: draws the order of the strings and of the batches.
        pad: the label padding value.

    Batches are (images, labels): (B, H, W', 1) float32 in [0, 1] and (B, L) int32.

    Raises:
        ValueError: ``images`` and ``labels`` of different lengths, or no string.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 rng: np.random.Generator, pad: int = -1):
        super().__init__()
        if len(images) != len(labels) or len(images) == 0:
            raise ValueError(f"{len(images)} images and {len(labels)} labels: give as many "
                             "of each, at least one")
        self.images, self.labels, self.batch_size, self.rng = images, labels, batch_size, rng
        lengths = (labels != pad).sum(axis=1)
        needed = STEP * (2 * lengths + 1)  # columns CTC needs to align each label
        self.widths = np.maximum(inked_widths(images), needed)
        self.batches = self._draw()

    def _draw(self) -> list[np.ndarray]:
        order = self.rng.permutation(len(self.labels))
        batches = []
        for start in range(0, len(order), RUN * self.batch_size):
            run = order[start:start + RUN * self.batch_size]
            run = run[np.argsort(self.widths[run], kind="stable")]
            batches += [run[index:index + self.batch_size]
                        for index in range(0, len(run), self.batch_size)]
        return [batches[index] for index in self.rng.permutation(len(batches))]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = self.batches[index]
        width = -(-int(self.widths[batch].max()) // WIDTH_MULTIPLE) * WIDTH_MULTIPLE
        width = min(width, self.images.shape[2])
        return self.images[batch, :, :width].astype(np.float32) / 255, self.labels[batch]

    def on_epoch_end(self) -> None:
        self.batches = self._draw()
