"""The models' format, shared by training and recognition without Keras.

Every digitrec digit model takes (N, 28, 28, 1) float32 images, white ink on black scaled to
[0, 1] (MNIST's 28x28 grey levels divided by 255), and outputs (N, 10) float32 logits, one per
digit 0..9; probabilities are the softmax of the logits. A number reader
(:mod:`digitrec.number_reader`) takes (N, 32, W, 1) float32 lines of writing and outputs
(N, W / 4, 11) logits, the digits and CTC's blank at each step; :func:`model_kind` tells the two
apart by their ONNX shapes.
"""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 28  # pixels, both ways (MNIST's format)
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_CLASSES = 10
READER_HEIGHT = 32  # a number reader's input height in pixels
READER_CLASSES = NUM_CLASSES + 1  # a number reader's classes: the digits and CTC's blank
DIGIT_MODEL, NUMBER_READER = "digit model", "number reader"


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 in 0..255 -> (N, 28, 28, 1) float32 in [0, 1], the models' input."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities, (N, 10) float32 summing to 1, from (N, 10) logits (computed stably)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def model_kind(input_shape: list, output_shape: list) -> str | None:
    """What an ONNX model is, by the shapes of its input and output (as ONNX Runtime lists
    them: an int for a fixed dimension, a name or None for a dynamic one).

    Returns:
        :data:`DIGIT_MODEL` for (N, 28, 28, 1) -> (N, 10), :data:`NUMBER_READER` for
        (N, 32, W, 1) -> (N, steps, 11), None for any other model. A dynamic dimension fits
        any size.
    """
    def fits(shape, wanted):
        return len(shape) == len(wanted) and all(
            size is None or not isinstance(found, int) or found == size
            for found, size in zip(shape, wanted))

    if fits(input_shape, (None, *INPUT_SHAPE)) and fits(output_shape, (None, NUM_CLASSES)):
        return DIGIT_MODEL
    if fits(input_shape, (None, READER_HEIGHT, None, 1)) and fits(output_shape,
                                                                  (None, None, READER_CLASSES)):
        return NUMBER_READER
    return None
