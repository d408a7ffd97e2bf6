"""A person's image of a digit -> MNIST's format: 28x28, white ink on black, float32 in [0, 1].

MNIST's own recipe (LeCun et al., http://yann.lecun.com/exdb/mnist/): "the images were size
normalized to fit in a 20x20 pixel box while preserving their aspect ratio ... anti-aliasing ...
centered in a 28x28 image by computing the center of mass of the pixels, and translating the image
so as to position this point at the center of the 28x28 field". :func:`to_mnist` follows it, after
the steps a photo or a drawing needs first:

1. orientation from EXIF, alpha composited onto a background that contrasts with the ink;
2. grey levels (ITU-R 601 luma), large images reduced to at most :data:`WORKING_SIZE` pixels;
3. polarity: the majority of pixels is the background; dark-on-light images are inverted;
4. uneven light: a local background (block minima, smoothed) is subtracted;
5. ink: an Otsu threshold separates ink from paper; too little contrast, or contrast no
   stronger than the paper's noise, means no digit;
6. the digit's ink components: the main one and those near it; a form's cell's box, specks,
   ruled lines and photo edges dropped;
7. slant normalised by the second-order moments (deskew);
8. crop to the ink's bounding box, thin strokes thickened;
9. scale to fit 20x20 keeping the aspect ratio, anti-aliased, and place by centre of mass.

Steps 6 and 7 can be switched off (``to_mnist(image, clean=False, deskew=False)``), which gives
the first version of this pipeline, kept for comparison in ``benchmarks/handwriting.py``.

The stages, one module each, in the order a pixel meets them (each imports only earlier ones):

- :mod:`~digitrec.imaging.errors`: the errors every stage raises;
- :mod:`~digitrec.imaging.reading`: image files found and decoded, upright (step 1);
- :mod:`~digitrec.imaging.ink`: grey levels, the paper and the ink over it, its strokes'
  components (steps 1 to 5);
- :mod:`~digitrec.imaging.lines`: ruled lines, photo edges and frames (step 6);
- :mod:`~digitrec.imaging.form_boxes`: a form's boxes, round one cut-out digit (step 6) or a
  row of them round a number's digits (before ``read`` finds its lines);
- :mod:`~digitrec.imaging.frames`: a ring or frame drawn round a number, erased with a form's
  boxes before ``read`` finds its lines;
- :mod:`~digitrec.imaging.digit`: the digit's components, deskew, crop and placement in 28x28
  (steps 6 to 9), and :func:`to_mnist`, :func:`load_digit`, :func:`save_digit` and
  :func:`save_image`;
- :mod:`~digitrec.imaging.signs`: a printed "$" before a number and a "%" after it, found by
  their shapes so that ``read`` can leave out the digits read from them;
- :mod:`~digitrec.imaging.pages`: a photographed page made even and level, a scanned strip
  made positive, at the line finding's scale and level, before its lines are found;
- :mod:`~digitrec.imaging.text_lines`: the lines of writing in a crop of a document, where a
  number is found before it is read;
- :mod:`~digitrec.imaging.cuts` and :mod:`~digitrec.imaging.segmentation`: a written number cut
  into its digits (``segmentation.segment``), touching ones split where the recognizer reads
  the pieces best (``cuts``), each placed as step 9 does.

The public names of the first eight, of pages and of text_lines are importable from here, as
``imaging.to_mnist`` and so on.
"""

# The stages in the order a pixel meets them.
from digitrec.imaging.errors import ImageError, ImageTooLargeError, NoDigitError
from digitrec.imaging.reading import (
    DRAFT_SCALE,
    HEIC_BRANDS,
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    ORIENTATION_TAG,
    WORKING_SIZE,
    decode_image,
    image_files,
    is_uri,
    open_image,
    upright,
)
from digitrec.imaging.ink import (
    MIN_CONTRAST,
    MIN_SIGNAL_TO_NOISE,
    PAGE_SIZE,
    STROKE_LEVEL,
    extract_ink,
    ink_components,
    is_bilevel,
    is_dithered,
    to_grey,
)
from digitrec.imaging.lines import is_line, outline_share, remove_ruled_lines
from digitrec.imaging.form_boxes import erase_cell_box, erase_form_boxes
from digitrec.imaging.frames import erase_boxes_and_frame, erase_frame
from digitrec.imaging.digit import (
    center_in_28x28,
    crop_to_ink,
    cut_box,
    deskew,
    load_digit,
    save_digit,
    save_image,
    select_digit,
    to_mnist,
)
from digitrec.imaging.signs import looks_like_dollar, percent_glyph
from digitrec.imaging.pages import even_page, level_page, page_to_read, unturned_box
from digitrec.imaging.text_lines import (find_lines, has_scanner_margin, is_photographed_page,
                                         scanner_margins)

__all__ = [
    # errors
    "ImageError", "ImageTooLargeError", "NoDigitError",
    # reading
    "DRAFT_SCALE", "HEIC_BRANDS", "IMAGE_SUFFIXES", "MAX_PIXELS", "ORIENTATION_TAG",
    "WORKING_SIZE", "decode_image", "image_files", "is_uri", "open_image", "upright",
    # ink
    "MIN_CONTRAST", "MIN_SIGNAL_TO_NOISE", "PAGE_SIZE", "STROKE_LEVEL", "extract_ink",
    "ink_components", "is_bilevel", "is_dithered", "to_grey",
    # lines
    "is_line", "outline_share", "remove_ruled_lines",
    # form_boxes, frames
    "erase_cell_box", "erase_form_boxes", "erase_boxes_and_frame", "erase_frame",
    # digit
    "center_in_28x28", "crop_to_ink", "cut_box", "deskew", "load_digit", "save_digit",
    "save_image", "select_digit", "to_mnist",
    # signs
    "looks_like_dollar", "percent_glyph",
    # pages
    "even_page", "level_page", "page_to_read", "unturned_box",
    # text_lines
    "find_lines", "has_scanner_margin", "is_photographed_page", "scanner_margins",
]
