"""The errors of the image pipeline: an image that cannot be read, is too large, or holds no
digit. Every stage raises them; all are :class:`ImageError`, a ``ValueError``."""

from __future__ import annotations


class ImageError(ValueError):
    """An image that cannot be read, or holds no digit. The message says which and why."""


class ImageTooLargeError(ImageError):
    """The image would decode to more than :data:`MAX_PIXELS` pixels, or is larger than Pillow's
    own decompression-bomb limit (twice ``PIL.Image.MAX_IMAGE_PIXELS``)."""


class NoDigitError(ImageError):
    """The image was read but holds no ink that could be a digit (a blank page)."""
