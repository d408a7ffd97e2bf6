"""A frame drawn round a number (circled, an oval or a ring on a form), which is not its
digits: erased before reading, its curves read as 0s and 1s otherwise (docs/rules.md, rules
65 to 67). :func:`erase_boxes_and_frame` is what :func:`digitrec.imaging.page_to_read` calls: a
form's boxes (:mod:`digitrec.imaging.form_boxes`), then a frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from digitrec.imaging.form_boxes import Field, field_strokes, form_box_lines, painted, stroke_width

FRAME_INSIDE_HEIGHT = 0.25  # of a frame's height: a component it closes off this high is writing
FRAME_OUTSIDE_SHARE = 0.2  # of the strokes a frame closes off: at most this much lies outside it


def erase_frame(image: Image.Image) -> Image.Image:
    """A number with a frame drawn round it with the frame painted as paper.

    Looked for where a form's boxes are (:func:`~digitrec.imaging.erase_form_boxes`). The
    stroke component with the largest bounding box is a frame where it closes off paper from
    the image's border that holds a component at least :data:`FRAME_INSIDE_HEIGHT` of the
    frame's height, and the strokes outside it are at most :data:`FRAME_OUTSIDE_SHARE` of
    those inside. Its pixels within its own stroke width (and 1.5 pixels) of its outer edge
    are painted, so that a digit touching it from inside keeps its strokes. A frame lies
    inside the image: strokes reaching one of its sides (a cheque's printed rules, joined by
    digits touching them) are not one (rule 67); nor is a frame with a gap in it.

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        A new "L" image of ``image``'s size (its ``info`` kept) without the frame, or
        ``image`` itself where there is none.
    """
    field = field_strokes(image)
    ring = frame_ring(field) if field is not None else None
    return image if ring is None else painted(image, field.grey, ring)


def erase_boxes_and_frame(image: Image.Image) -> Image.Image:
    """:func:`~digitrec.imaging.erase_form_boxes`, then :func:`erase_frame`: the same image,
    the strokes found once where there are no boxes to erase (most images).

    Args:
        image: a Pillow image, upright, of any mode and size.

    Returns:
        A new "L" image of ``image``'s size (its ``info`` kept) without the boxes and the
        frame, or ``image`` itself where there are neither.
    """
    field = field_strokes(image)
    if field is None:
        return image
    lines = form_box_lines(field)
    if lines is not None:
        image = painted(image, field.grey, lines)
        field = field_strokes(image)  # the boxes' page has strokes of its own
        if field is None:
            return image
    ring = frame_ring(field)
    return image if ring is None else painted(image, field.grey, ring)


def frame_ring(field: Field) -> np.ndarray | None:
    """The part of a frame in a field's strokes that :func:`erase_frame` paints: an (H, W)
    uint8 mask, 1 on it; or None where there is no frame."""
    strokes = field.strokes
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    if count < 3:
        return None
    frame = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]))
    left, top, width, height = stats[frame, :4]
    if min(left, top) == 0 or left + width == strokes.shape[1] or \
            top + height == strokes.shape[0]:
        return None  # rules running off the image's sides (a cheque's), not a frame
    ring = (labels == frame).astype(np.uint8)
    # The paper flooded from beyond the image's border: what it does not reach is the frame
    # and what the frame closes off.
    flooded = cv2.copyMakeBorder(ring, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(flooded, None, (0, 0), 2)
    outside = flooded[1:-1, 1:-1] == 2
    reached = np.bincount(labels[outside], minlength=count)
    writing = np.arange(count) != frame
    writing[0] = False
    enclosed, apart = writing & (reached == 0), writing & (reached > 0)
    heights, areas = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    if not (enclosed & (heights >= FRAME_INSIDE_HEIGHT * heights[frame])).any() or \
            areas[apart].sum() > FRAME_OUTSIDE_SHARE * areas[enclosed].sum():
        return None
    depth = cv2.distanceTransform((~outside).astype(np.uint8), cv2.DIST_L2, 3)
    return ring & (depth <= stroke_width(ring) + 1.5)
