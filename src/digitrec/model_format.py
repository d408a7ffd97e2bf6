"""The models' format, shared by training and recognition without Keras.

Every digitrec model takes (N, 28, 28, 1) float32 images, white ink on black scaled to [0, 1]
(MNIST's 28x28 grey levels divided by 255), and outputs (N, 10) float32 logits, one per digit
0..9; probabilities are the softmax of the logits.
"""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 28  # pixels, both ways (MNIST's format)
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
NUM_CLASSES = 10


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 in 0..255 -> (N, 28, 28, 1) float32 in [0, 1], the models' input."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities, (N, 10) float32 summing to 1, from (N, 10) logits (computed stably)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)
