"""A learned reader of written numbers: a line image in, its digits out, no segmentation.

The model is a CRNN (B. Shi, X. Bai and C. Yao, "An End-to-End Trainable Neural Network for
Image-based Sequence Recognition", TPAMI 39(11), 2017): convolutions over an image
:data:`HEIGHT` pixels high give one feature vector per :data:`STEP` columns, a sequence model
reads them in context, and each step's logits score the ten digits and a blank. Trained with
CTC (A. Graves et al., "Connectionist Temporal Classification", ICML 2006), it needs only the
string's text, never where each digit is. Decoding is greedy: the best class at each step,
repeats merged, blanks dropped (:func:`greedy_decode`).

This module is what recognition needs, in NumPy and ONNX Runtime: the model's input format
(:func:`to_reader_input`), the decoding, and :class:`NumberReader`, which runs a trained
reader's ``model.onnx``. ``digitrec.training.number_reader`` builds and trains it (Keras).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import answers, imaging, onnx_models, run_folder
from digitrec.answers import DigitInNumber, NumberAnswer
from digitrec.model_format import NUMBER_READER, READER_CLASSES, READER_HEIGHT, softmax

HEIGHT = READER_HEIGHT  # input height in pixels: an ORAND amount's digits are 20 to 40 high
STEP = 4  # input columns per output step (two 2x2 poolings)
MIN_WIDTH = 16  # narrower images are padded with paper to this width
MAX_WIDTH = 512  # wider images are squeezed to this width (about 20 digits at HEIGHT)
BLANK = 10  # CTC's blank class, after the digits 0..9
LINE_CONFIDENCE = 0.5  # the topmost line read at least this surely is the number (read_lines;
# chosen on the fit half of the register crops, see docs/reading.md)
TOP_EDGE = 8  # pixels: a line starting this near the top, with a sure line under it within
MARK_GAP = 32  # pixels, is a mark above the number (read_lines; the fit registers again)
CUT_OFF_SHARE = 0.5  # a line starting that near the top, lower than this share of the highest
# sure line, is the row above's writing cut off by the crop (read_lines; rule 37)
NUM_CLASSES = READER_CLASSES
WIDER = 1.15  # a document's line is read again this many times as wide (read_number)


def to_reader_input(image: Image.Image) -> np.ndarray:
    """An image of one written number -> the reader's input.

    Grey levels (transparency composited onto paper, :func:`digitrec.imaging.to_grey`), the
    paper (the median grey level) made 0 and the ink positive whichever its polarity, scaled so
    that the ink's 99.5th percentile is 1, then resized to :data:`HEIGHT` pixels high with the
    width in proportion (at most :data:`MAX_WIDTH`, at least :data:`MIN_WIDTH`).

    Args:
        image: a Pillow image of any mode and size, upright.

    Returns:
        (HEIGHT, W, 1) float32 in [0, 1], white ink on black.

    Raises:
        digitrec.imaging.ImageError: an image with no pixels.
    """
    if image.width == 0 or image.height == 0:
        raise imaging.ImageError(f"image is {image.width}x{image.height} pixels, it has no "
                                 "content")
    ink, level = imaging.ink.ink_over_median(imaging.to_grey(image))
    level = max(level, 16.0)  # a blank image stays near 0
    ink = np.clip(ink / level, 0, 1).astype(np.float32)
    width = int(np.clip(round(ink.shape[1] * HEIGHT / ink.shape[0]), 1, MAX_WIDTH))
    resized = Image.fromarray(ink, mode="F").resize((width, HEIGHT), Image.Resampling.BILINEAR,
                                                     reducing_gap=2.0)
    array = np.asarray(resized, dtype=np.float32)
    if width < MIN_WIDTH:
        array = np.pad(array, ((0, 0), (0, MIN_WIDTH - width)))
    return np.clip(array, 0, 1)[:, :, np.newaxis]


def pad_batch(inputs: list[np.ndarray], width: int | None = None) -> np.ndarray:
    """Reader inputs of several widths -> one (N, HEIGHT, W, 1) float32 batch, padded with paper
    (0) on the right to the widest (or to ``width``, a multiple of :data:`STEP`)."""
    width = width or -(-max(array.shape[1] for array in inputs) // STEP) * STEP
    batch = np.zeros((len(inputs), HEIGHT, width, 1), dtype=np.float32)
    for index, array in enumerate(inputs):
        batch[index, :, :min(width, array.shape[1])] = array[:, :width]
    return batch


def greedy_decode(logits: np.ndarray) -> tuple[str, np.ndarray, list[tuple[int, int]]]:
    """CTC's best-path decoding of one image's logits.

    Args:
        logits: (T, NUM_CLASSES) float, one row per output step, class :data:`BLANK` last.

    Returns:
        ``(text, confidences, spans)``: the digits read; (len(text),) float32 in [0, 1], each
        digit's highest probability over the steps it was read at; and each digit's steps as
        (first, last) indices, for its box (:data:`STEP` input columns per step).
    """
    probabilities = softmax(np.asarray(logits, dtype=np.float32))
    return _merge_path(probabilities.argmax(axis=1).tolist(), probabilities)


def fixed_length_decode(logits: np.ndarray, length: int
                        ) -> tuple[str, np.ndarray, list[tuple[int, int]], float] | None:
    """CTC's best path among those that decode to exactly ``length`` digits: for a field whose
    number of digits is known (a meter reading, a form's box), where the greedy path may leave
    out a thin 1 or read a stroke twice.

    Viterbi decoding over the steps, whose states are (digits read so far, the last class): a
    blank keeps the count, the same digit again extends it (CTC merges repeats), another digit
    adds one. Where the greedy path has ``length`` digits this is the greedy path.

    Args:
        logits: (T, NUM_CLASSES) float, one row per output step, class :data:`BLANK` last.
        length: the number of digits, at least 1.

    Returns:
        ``(text, confidences, spans, probability)`` as :func:`greedy_decode` gives the first
        three, and the path's probability in [0, 1] (the constrained counterpart of
        :func:`sequence_confidence`); None when no path of T steps holds ``length`` digits.

    Raises:
        ValueError: ``length`` under 1.
    """
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    probabilities = softmax(np.asarray(logits, dtype=np.float32))
    log_probabilities = np.log(probabilities.astype(np.float64) + 1e-30)
    counts, classes = np.arange(length + 1), np.arange(BLANK)
    score = np.full((length + 1, NUM_CLASSES), -np.inf)  # best log-probability of each state
    score[0, BLANK] = 0.0
    # For each step and state, the state it came from: (count, class).
    came_from = np.zeros((len(probabilities), length + 1, NUM_CLASSES, 2), dtype=np.int32)
    for step, row in enumerate(log_probabilities):
        ranked = np.argsort(-score, axis=1, kind="stable")
        best_class = ranked[:, 0]
        # A new digit d follows the best state of one count fewer whose class is not d.
        other = np.where(best_class[:, None] == classes, ranked[:, 1:2], best_class[:, None])
        entering = np.full((length + 1, BLANK), -np.inf)
        entering[1:] = np.take_along_axis(score, other, axis=1)[:-1]
        repeating = score[:, :BLANK] >= entering
        new = np.empty_like(score)
        new[:, BLANK] = score[counts, best_class] + row[BLANK]
        new[:, :BLANK] = np.where(repeating, score[:, :BLANK], entering) + row[:BLANK]
        came_from[step, :, BLANK] = np.stack([counts, best_class], axis=1)
        came_from[step, :, :BLANK, 0] = np.where(repeating, counts[:, None], counts[:, None] - 1)
        came_from[step, 1:, :BLANK, 1] = np.where(repeating[1:], classes, other[:-1])
        came_from[step, 0, :BLANK, 1] = classes
        score = new
    label = int(score[length].argmax())
    if not np.isfinite(score[length, label]):
        return None
    probability = float(np.exp(score[length, label]))
    path, count = [], length
    for step in range(len(probabilities) - 1, -1, -1):
        path.append(label)
        count, label = (int(value) for value in came_from[step, count, label])
    return (*_merge_path(path[::-1], probabilities), probability)


def _merge_path(path: list[int], probabilities: np.ndarray
                ) -> tuple[str, np.ndarray, list[tuple[int, int]]]:
    """A path (one class per step) -> ``(text, confidences, spans)`` as :func:`greedy_decode`
    returns them: repeats merged, blanks dropped."""
    text, confidences, spans = [], [], []
    previous = BLANK
    for step, label in enumerate(path):
        if label != BLANK and label == previous:
            spans[-1] = (spans[-1][0], step)
            confidences[-1] = max(confidences[-1], float(probabilities[step, label]))
        elif label != BLANK:
            text.append(str(label))
            confidences.append(float(probabilities[step, label]))
            spans.append((step, step))
        previous = label
    return "".join(text), np.array(confidences, dtype=np.float32), spans


def sequence_confidence(logits: np.ndarray) -> float:
    """The probability of the best path (the product over the steps of each step's highest
    probability), in [0, 1]: a lower bound on the probability of the text it decodes to."""
    probabilities = softmax(np.asarray(logits, dtype=np.float32))
    return float(np.exp(np.log(probabilities.max(axis=1)).sum()))


def text_probability(logits: np.ndarray, text: str) -> float:
    """The probability of ``text`` given the image: the sum over every path of the steps that
    decodes to it, by CTC's forward algorithm (A. Graves et al., "Connectionist Temporal
    Classification", ICML 2006, section 4.1, with its rescaling at each step).

    At least the :func:`sequence_confidence` of the best path reading ``text``; unlike that one
    path's probability it does not fall where the reader is sure of the digits but not of the
    steps they are read at (a digit's probability shared between two steps and the blank), so
    it tells right readings from wrong ones better (docs/reading.md, "Honest ok").

    Args:
        logits: (T, NUM_CLASSES) float, one row per output step, class :data:`BLANK` last.
        text: the digits, "0" to "9" only ("" for none).

    Returns:
        A float in [0, 1]; 0.0 where no path of T steps reads ``text``.
    """
    probabilities = softmax(np.asarray(logits, dtype=np.float32)).astype(np.float64)
    # The text with a blank before, between and after its digits: a path's states.
    states = np.full(2 * len(text) + 1, BLANK)
    states[1::2] = [int(character) for character in text]
    # A path may step over the blank between two digits, unless they are the same digit.
    skips = np.zeros(len(states), dtype=bool)
    skips[2:] = (states[2:] != BLANK) & (states[2:] != states[:-2])
    forward = np.zeros(len(states))
    forward[:2] = probabilities[0, states[:2]]
    log_scale = 0.0
    for row in probabilities[1:]:
        previous = forward
        forward = previous.copy()
        forward[1:] += previous[:-1]
        forward[2:] += np.where(skips[2:], previous[:-2], 0.0)
        forward *= row[states]
        total = forward.sum()
        if total == 0.0:
            return 0.0
        forward /= total
        log_scale += np.log(total)
    return float(min(1.0, np.exp(log_scale) * forward[-2:].sum()))


def reaches(confidence, threshold: float):
    """Whether a confidence (a float, or an array of them) reaches an "ok" threshold; none
    reaches 1.0, the threshold calibration gives a reader whose confidence is 98% right at no
    level (``digitrec.training.number_reader.calibrate``). A bool, or a bool array."""
    return (np.asarray(confidence) >= threshold) & (threshold < 1.0)


def digit_boxes(array: np.ndarray, spans: list[tuple[int, int]], size: tuple[int, int]
                ) -> list[list[int]]:
    """Each digit's bounding box in the image, from where CTC read it and the ink there.

    A digit is read at a step or two near its middle; its columns run from halfway to the
    previous digit's steps to halfway to the next one's (the image's edge for the first and the
    last), narrowed to the columns holding ink, and its rows are those holding ink in them.

    Args:
        array: the reader's input for the image, (HEIGHT, W, 1) float32 (:func:`to_reader_input`).
        spans: each digit's (first, last) step (:func:`greedy_decode`).
        size: the image's (width, height) in pixels.

    Returns:
        One [x, y, width, height] per digit, ints, in the image's pixels.
    """
    ink = array[:, :, 0] > 0.5
    # The image fills the input's first columns: a narrow one is padded to MIN_WIDTH.
    content_width = int(np.clip(round(size[0] * HEIGHT / size[1]), 1, MAX_WIDTH))
    scale_x, scale_y = size[0] / content_width, size[1] / array.shape[0]
    middles = [(first + last + 1) * STEP / 2 for first, last in spans]
    boxes = []
    for index, middle in enumerate(middles):
        left = 0 if index == 0 else int((middles[index - 1] + middle) / 2)
        right = array.shape[1] if index == len(middles) - 1 else int(
            np.ceil((middle + middles[index + 1]) / 2))
        columns = np.nonzero(ink[:, left:right].any(axis=0))[0]
        if len(columns):
            left, right = left + columns[0], left + columns[-1] + 1
        rows = np.nonzero(ink[:, left:right].any(axis=1))[0]
        top, bottom = (rows[0], rows[-1] + 1) if len(rows) else (0, array.shape[0])
        x, y = min(int(left * scale_x), size[0] - 1), int(top * scale_y)
        boxes.append([x, y, max(1, min(int(np.ceil(right * scale_x)), size[0]) - x),
                      max(1, int(np.ceil(bottom * scale_y)) - y)])
    return boxes


def edit_distance(first: str, second: str) -> int:
    """Levenshtein's distance: the fewest insertions, deletions and substitutions of characters
    that turn one string into the other."""
    row = list(range(len(second) + 1))
    for i, x in enumerate(first, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(second, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def read_each_line(image: Image.Image, logits_of, length: int | None = None) -> list[dict]:
    """Reads every line of writing that :func:`digitrec.imaging.find_lines` finds in an image
    (the whole image when it is one line), in one batch.

    Args:
        image: a Pillow image, upright.
        logits_of: the model, as a function from a (N, HEIGHT, W, 1) float32 batch to its
            (N, W / STEP, NUM_CLASSES) logits (ONNX Runtime's or Keras').
        length: read exactly this many digits in each line (:func:`fixed_length_decode`; a
            line too short for them reads as no digit); None: greedy decoding.

    Returns:
        One dict per line, top to bottom: ``text`` (the digits, "" for none), ``confidences``
        ((len(text),) float32, each digit's probability), ``boxes`` (each digit's [x, y,
        width, height] in the image's pixels), ``sequence_confidence`` (with ``length``, the
        probability of the path read), ``line``, the (left, top, right, bottom) box of the
        line, ``logits``, the line's (T, NUM_CLASSES) float32 logits (for the probability of a
        reading of it: :func:`text_probability`), and ``input``, the line's (HEIGHT, W, 1)
        float32 input (:func:`to_reader_input`).
    """
    lines = imaging.find_lines(image)
    crops = [image if line == (0, 0, *image.size) else image.crop(line) for line in lines]
    arrays = [to_reader_input(crop) for crop in crops]
    all_logits = np.asarray(logits_of(pad_batch(arrays)))
    readings = []
    for line, crop, array, logits in zip(lines, crops, arrays, all_logits):
        logits = logits[:-(-array.shape[1] // STEP)]  # the steps of its own width
        if length is None:
            text, confidences, spans = greedy_decode(logits)
            confidence = sequence_confidence(logits)
        else:
            decoded = fixed_length_decode(logits, length)
            text, confidences, spans, confidence = decoded or ("", np.zeros(0, np.float32), [],
                                                               0.0)
        boxes = [[x + line[0], y + line[1], width, height]
                 for x, y, width, height in digit_boxes(array, spans, crop.size)]
        readings.append({"text": text, "confidences": confidences, "boxes": boxes,
                         "sequence_confidence": confidence, "line": line, "logits": logits,
                         "input": array})
    return readings


def read_lines(image: Image.Image, logits_of, length: int | None = None) -> dict:
    """Reads the number in an image: of the readings of its lines (:func:`read_each_line`,
    ``length`` digits each when given),
    the topmost holding digits with a :func:`sequence_confidence` of at least
    :data:`LINE_CONFIDENCE`, or, when there is none, the surest holding digits. (A crop cut
    for one row of a register starts at that row: lines lower down are the next rows'
    writing.) A sure line whose box starts within :data:`TOP_EDGE` pixels of the image's top,
    with another sure line starting within :data:`MARK_GAP` pixels under it, is a mark above
    the number (a tick or a ditto mark, a heading, the foot of the row above's writing): the
    line under it is taken; so is a sure line there less than :data:`CUT_OFF_SHARE` as high
    as the highest sure line, whatever the gap (the row above's writing, cut off by the
    crop's top edge), when there is another.

    Returns:
        That line's reading, as :func:`read_each_line` gives it, ``text_probability``, the
        probability of its text summed over its paths (:func:`text_probability`: for that
        line alone, not every line read), ``lines``, the number of lines found in the image,
        and ``other_lines``, the other lines that hold digits, top to bottom, each a dict of
        its ``text`` and ``line`` box.
    """
    readings = read_each_line(image, logits_of, length)
    reading = _number_line(readings)
    other_lines = [{"text": other["text"], "line": other["line"]} for other in readings
                   if other is not reading and other["text"]]
    return {**reading, "text_probability": text_probability(reading["logits"], reading["text"]),
            "lines": len(readings), "other_lines": other_lines}


def _number_line(readings: list[dict]) -> dict:
    """:func:`read_lines`' choice among the readings of an image's lines."""
    confident = [reading for reading in readings
                 if reading["text"] and reading["sequence_confidence"] >= LINE_CONFIDENCE]
    # The crop's top edge cuts through the row above's writing: a sliver is left there.
    highest = max((reading["line"][3] - reading["line"][1] for reading in confident), default=0)
    below = [reading for reading in confident if not _cut_off_above(reading["line"], highest)]
    confident = below or confident
    if len(confident) > 1 and confident[0]["line"][1] <= TOP_EDGE \
            and confident[1]["line"][1] - confident[0]["line"][3] <= MARK_GAP:
        return confident[1]
    if confident:
        return confident[0]
    with_digits = [reading for reading in readings if reading["text"]] or readings[:1]
    return max(with_digits, key=lambda reading: reading["sequence_confidence"])


def _cut_off_above(line: tuple[int, int, int, int], highest: int) -> bool:
    """Whether a line (left, top, right, bottom) is writing of the row above that a crop's top
    edge cut off: it starts within :data:`TOP_EDGE` pixels of the top and is under
    :data:`CUT_OFF_SHARE` of the ``highest`` sure line's height (docs/rules.md, rule 37)."""
    return line[1] <= TOP_EDGE and line[3] - line[1] < CUT_OFF_SHARE * highest


def read_number(image: Image.Image, logits_of, length: int | None = None) -> dict:
    """:func:`read_lines`, reading a document's line twice: where the line read is one found
    inside the image (a register crop's, a band of a page; not a whole image, as a cheque's
    amount is) and no ``length`` is given, it is also read :data:`WIDER` times as wide, and of
    the two views' texts the one that both together give the highest mean log probability
    (:func:`text_probability`, each over its own view's paths) is read, with its view's
    ``logits``, ``confidences``, ``sequence_confidence`` and ``boxes``. Training validates on
    :func:`read_lines` alone. Why: docs/reading.md, "A document's line read twice"; the
    rule it was kept by: docs/rules.md, rule 22.

    Returns:
        :func:`read_lines`' dict, from the view whose text is read.
    """
    reading = read_lines(image, logits_of, length)
    line = reading["line"]
    if length is not None or line == (0, 0, *image.size):
        return reading
    crop_width, crop_height = line[2] - line[0], line[3] - line[1]
    array = reading["input"]
    width = min(MAX_WIDTH, round(array.shape[1] * WIDER))
    factor = width / array.shape[1]
    wide = np.clip(np.asarray(Image.fromarray(array[:, :, 0], mode="F").resize(
        (width, HEIGHT), Image.Resampling.BILINEAR), dtype=np.float32), 0, 1)[:, :, np.newaxis]
    logits = np.asarray(logits_of(pad_batch([wide])))[0][:-(-width // STEP)]
    text, confidences, spans = greedy_decode(logits)
    if text == reading["text"]:
        return reading
    # Each text's probability in the line as it is and in the wider view (the reading has its
    # own text's in the line as it is).
    own = [reading["text_probability"], text_probability(logits, reading["text"])]
    wider = [text_probability(reading["logits"], text), text_probability(logits, text)]
    if np.log(np.maximum(own, 1e-300)).mean() >= np.log(np.maximum(wider, 1e-300)).mean():
        return reading
    boxes = digit_boxes(wide, spans, (max(1, round(crop_width * factor)), crop_height))
    boxes = [[line[0] + round(x / factor), line[1] + y, max(1, round(box_width / factor)),
              height] for x, y, box_width, height in boxes]
    return {**reading, "text": text, "confidences": confidences, "boxes": boxes,
            "sequence_confidence": sequence_confidence(logits), "logits": logits,
            "text_probability": wider[1]}


class NumberReader:
    """Runs a trained reader (a run folder or its ``model.onnx``) on images of numbers.

    Args:
        model: a run folder of ``digitrec train-reader``, or its ``model.onnx``.

    Attributes:
        threshold_: a reading is "ok" when its :func:`sequence_confidence` is at least this,
            in [0, 1]: the run's calibrated ``ok_threshold`` (``metrics.json``), or 1.0 for a
            model without one; 1.0 makes every reading "unsure".

    Raises:
        ValueError: no model there, not a valid ONNX model, or a damaged ``metrics.json``.
    """

    def __init__(self, model: str | os.PathLike):
        path = Path(model)
        path = path / run_folder.MODEL if path.is_dir() else path
        if not path.is_file():
            raise ValueError(f"{path}: no number reader there; give a run folder made by "
                             "`digitrec train-reader` (holding model.onnx)")
        self.model_path_ = path
        self.session_ = onnx_models.session(path, kind=NUMBER_READER)
        self.input_name_ = self.session_.get_inputs()[0].name
        metrics = run_folder.read_record(path.parent, run_folder.METRICS, required=False)
        self.threshold_ = float(metrics.get("ok_threshold", 1.0))
        if not 0 <= self.threshold_ <= 1:
            raise ValueError(f"{path.parent / run_folder.METRICS}: ok_threshold must be in "
                             f"[0, 1], got {self.threshold_}")

    def read(self, image: Image.Image, length: int | None = None) -> dict:
        """Reads one image of a number, or of a crop of a document holding one (see
        :func:`read_lines` and :func:`read_number`), exactly ``length`` digits when given; a
        photographed page is first made even and level (:func:`digitrec.imaging.page_to_read`:
        no table round it, no shadow over it, its writing level; a narrow scanned strip
        enlarged), its boxes and line those round them on the image as it was, in its pixels."""
        page, on_image = imaging.page_to_read(image)
        reading = read_number(page, self.logits, length)
        if page is image:
            return reading

        def rounded_on_image(box):
            return [round(value) for value in on_image(box)]

        left, top, right, bottom = reading["line"]
        x, y, width, height = rounded_on_image([left, top, right - left, bottom - top])
        return {**reading, "line": (x, y, x + width, y + height),
                "boxes": [rounded_on_image(box) for box in reading["boxes"]]}

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, HEIGHT, W, 1) float32 reader inputs (:func:`pad_batch`) -> (N, W / STEP,
        NUM_CLASSES) float32 logits."""
        return self.session_.run(None, {self.input_name_: batch})[0]

    def answer(self, image: Image.Image, reading: dict | None = None,
               length: int | None = None) -> NumberAnswer:
        """The answer for one upright image of a number (see :meth:`read`; ``reading``: its
        :meth:`read` of the image, when made already; else it is read, ``length`` digits when
        given).

        Returns:
            A :class:`digitrec.answers.NumberAnswer`, boxes in the image's pixels, as the
            reading's (:meth:`digitrec.Recognizer.read` answers in the file's): "ok" when the
            reading's sequence confidence reaches :attr:`threshold_`, else "unsure"; a digit is
            "ok" when its own confidence does. "no_digit" when no digit is read.
        """
        reading = reading or self.read(image, length)
        if not reading["text"]:
            return answers.no_number()
        digits: list[DigitInNumber] = [
            {"digit": int(character), "confidence": float(confidence),
             "box": [round(value) for value in box],
             "status": "ok" if reaches(confidence, self.threshold_) else "unsure"}
            for character, confidence, box in zip(reading["text"], reading["confidences"],
                                                  reading["boxes"])]
        status = "ok" if reaches(reading["sequence_confidence"], self.threshold_) else "unsure"
        return {"text": reading["text"], "status": status,
                "confidence": float(reading["text_probability"]), "digits": digits}
