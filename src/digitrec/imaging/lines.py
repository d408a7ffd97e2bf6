"""Lines that are not the digit: the third stage of the pipeline.

:func:`remove_ruled_lines` erases the lines of ruled or squared paper, also where they cross the
digit; :func:`is_line` tells a ruled line, a photo's edge or a frame drawn round the digit from
the digit's own strokes by a component's shape, and :func:`outline_share` how much of its
bounding box's edge a component covers (a frame's nearly all). A form's boxes:
:mod:`digitrec.imaging.form_boxes`.
"""

from __future__ import annotations

import cv2
import numpy as np

from digitrec.imaging.ink import PAGE_SIZE, STROKE_LEVEL


def is_line(stats_row: np.ndarray, height: int, width: int, outline: float = 0.0) -> bool:
    """Whether a component is a ruled line, a photo's edge or a drawn frame rather than ink of a
    digit.

    Args:
        stats_row: OpenCV's (x, y, width, height, area) of the component, in pixels.
        height, width: the image's size in pixels.
        outline: the share, in [0, 1], of its bounding box's edge pixels that the component
            covers (see :func:`outline_share`): nearly all for a frame drawn round the digit,
            little for a digit, even one that fills the image.

    Returns:
        True for long, thin, near-horizontal lines (at most a quarter as tall as wide) across at
        least half the image; for thin, near-vertical lines along the left or right border over
        at least 60% of its height; and for frames: thin components spanning 80% of the image
        both ways that cover at least half of their bounding box's edge.
    """
    x, y, w, h, area = (int(value) for value in stats_row)
    thickness = area / max(w, h)
    thin = thickness * 8 <= max(w, h)
    horizontal = w >= 0.5 * width and thin and h * 4 <= w
    border = (x == 0 or x + w == width) and h >= 0.6 * height and thin and w * 4 <= h
    frame = w >= 0.8 * width and h >= 0.8 * height and thin and outline >= 0.5
    return horizontal or border or frame


def outline_share(labels: np.ndarray, label: int, stats_row: np.ndarray) -> float:
    """The share, in [0, 1], of a component's bounding-box edge pixels that belong to it.

    Args:
        labels: (H, W) int32 label image (:func:`ink_components`).
        label: the component.
        stats_row: its OpenCV (x, y, width, height, ...) stats row.
    """
    x, y, w, h = (int(value) for value in stats_row[:4])
    box = labels[y:y + h, x:x + w] == label
    edge = np.concatenate([box[0], box[-1], box[1:-1, 0], box[1:-1, -1]])
    return float(edge.mean())


def remove_ruled_lines(ink: np.ndarray, vertical: bool = True) -> np.ndarray:
    """Erases the lines of ruled or squared paper, also where they cross the digit.

    Lines clear of the digit are separate components that :func:`select_digit` drops; a line
    through the digit joins it into one component, which this step prevents. Strokes thinner
    (across the line) than 1.5% of the image's size are candidates; a straight line within 14
    degrees of horizontal (or of vertical) holding at least 40% of the image's width (height) in
    them, found by the Hough transform, and reaching both ends of the image (its first and last
    tenth), is a ruled line, and its thin pixels are erased. Where a stroke of the digit crosses
    it, the stroke is thicker than a line and stays. Vertical lines are erased only where there
    are two or more (squared paper), so that a 1 written from the top of the image to the
    bottom is not taken for one.

    Args:
        ink: (H, W) float32 in [0, 1], white ink on black (:func:`extract_ink`).
        vertical: also erase vertical lines (off for a written number: in a tight crop of one,
            its 1s run from the top to the bottom).

    Returns:
        The same image with the lines' pixels set to 0; unchanged for an image smaller than
        :data:`PAGE_SIZE` on a side.
    """
    if min(ink.shape) < PAGE_SIZE:
        return ink
    ink = _erase_horizontal_lines(ink, fewest=1)
    return _erase_horizontal_lines(ink.T, fewest=2).T if vertical else ink


def _erase_horizontal_lines(ink: np.ndarray, fewest: int) -> np.ndarray:
    """:func:`remove_ruled_lines` for near-horizontal lines, when at least ``fewest`` are found."""
    height, width = ink.shape
    strokes = ink > STROKE_LEVEL
    thickness = max(3, round(0.015 * height)) | 1  # odd: OpenCV's opening shifts with an even one
    thick = strokes & cv2.morphologyEx(strokes.astype(np.uint8), cv2.MORPH_OPEN,
                                       np.ones((thickness, 1), np.uint8)).astype(bool)
    thin = (strokes & ~thick).astype(np.uint8)
    lines = cv2.HoughLines(thin, 1, np.pi / 720, int(0.4 * width),
                           min_theta=np.pi / 2 - 0.25, max_theta=np.pi / 2 + 0.25)
    if lines is None:
        return ink
    ruled, heights = np.zeros_like(thin), []
    edge = max(1, width // 10)
    for rho, theta in lines.reshape(-1, 2):  # the line x cos(theta) + y sin(theta) = rho
        line = np.zeros_like(thin)
        left, slope = rho / np.sin(theta), -np.cos(theta) / np.sin(theta)
        cv2.line(line, (0, round(left)), (width - 1, round(left + slope * (width - 1))), 1,
                 thickness)
        on_line = thin & line
        if on_line[:, :edge].any() and on_line[:, -edge:].any():  # it runs across the page
            ruled |= line
            heights.append(left)
    # Hough finds each line a few times over, at neighbouring offsets: count them once.
    separate = np.diff(np.sort(heights)) > 2 * thickness
    if not heights or 1 + int(separate.sum()) < fewest:
        return ink
    # The line's anti-aliased edge goes with it; the digit's thick strokes stay.
    erase = cv2.dilate(thin & ruled, np.ones((3, 1), np.uint8)).astype(bool) & ~thick
    return ink * ~erase
