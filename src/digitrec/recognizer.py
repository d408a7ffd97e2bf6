"""Recognition with ONNX Runtime: images in, digit probabilities out. Never imports Keras.

>>> from digitrec import Recognizer
>>> recognizer = Recognizer.load()            # the shipped model
>>> recognizer.predict(["photo_of_a_7.jpg"])
array([7])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from digitrec import answers, imaging, number_reader, onnx_models, read_rules, run_folder
from digitrec.answers import Answer, DigitAnswer, DigitInNumber, NumberAnswer
from digitrec.imaging import segmentation
from digitrec.model_format import IMAGE_SIZE, NUM_CLASSES, softmax, to_model_input

DEFAULT_MODEL = Path(__file__).parent / "default_model"
DEFAULT_READER = Path(__file__).parent / "default_reader"
SEGMENTATION = "segmentation"  # reader=: cut the number into digits, read each with the model
IMAGES_AT_ONCE = 64  # recognize's inputs decoded and held at once: enough to batch the model
MAX_DIGITS = 20  # read(digits=) at most: about as many as the number reader's widest line holds


def to_batch(images) -> np.ndarray:
    """Any accepted input -> the model's input, (N, 28, 28, 1) float32 in [0, 1].

    Args:
        images: one or a list of: file paths (str or Path), encoded image files as bytes or
            binary file objects (an upload), and PIL images, which go through
            :func:`digitrec.imaging.to_mnist`; or arrays already in MNIST's format (white ink on
            black, 28x28), shaped (28, 28), (N, 28, 28) or (N, 28, 28, 1), uint8 (or another
            integer type) in 0..255, bool (ink True), or float in [0, 1].

    Raises:
        ValueError: an array of another shape, integers outside 0..255, floats outside [0, 1]
            or not finite, or values that are not numbers; an input of another type.
        digitrec.imaging.ImageError: a file or image that cannot be read or holds no digit.
    """
    if isinstance(images, np.ndarray):
        return _array_batch(images)
    if _is_image(images):
        images = [images]
    if not isinstance(images, (list, tuple)):
        raise ValueError(f"cannot recognise a {type(images).__name__}; pass {INPUTS}, or a list "
                         "of them")
    digits = [_array_batch(image)[..., 0] if isinstance(image, np.ndarray)
              else _opened_digit(image)[1] for image in images]
    if not digits:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.float32)
    return np.concatenate([digit.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
                           for digit in digits])[..., np.newaxis]


INPUTS = "file paths, image bytes, binary files, PIL images or 28x28 arrays"


def _is_image(image) -> bool:
    """Whether ``image`` is one image other than an array (a path, bytes, a file, a PIL image)."""
    return (isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image))
            or hasattr(image, "read"))


def check_digits(digits, segmentation_only: bool) -> None:
    """Raises ValueError unless ``digits`` (:meth:`Recognizer.read`'s) is None or a whole number
    from 1 to :data:`MAX_DIGITS`, for a recognizer with a number reader (``segmentation_only``
    False)."""
    if digits is None:
        return
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or not (
            1 <= digits <= MAX_DIGITS):
        raise ValueError(f"digits must be a whole number from 1 to {MAX_DIGITS}, got {digits!r}")
    if segmentation_only:
        raise ValueError("digits needs the number reader; a recognizer with "
                         "reader='segmentation' cannot be held to a number of digits")


def _open(image) -> Image.Image:
    """A path, encoded bytes, a binary file object or a PIL image -> an upright PIL image.

    Raises:
        ValueError: any other type (an array too: only predict takes arrays, as MNIST digits,
            and it does before calling this). digitrec.imaging.ImageError: unreadable bytes or
            file.
    """
    if isinstance(image, (str, os.PathLike)):
        return imaging.open_image(image)
    if isinstance(image, Image.Image):
        return imaging.upright(image)
    if hasattr(image, "read"):
        image = image.read()
    if isinstance(image, (bytes, bytearray, memoryview)):
        return imaging.decode_image(bytes(image))
    if isinstance(image, np.ndarray):  # predict takes arrays as MNIST digits before this
        raise ValueError("read takes a whole image, not an array: pass "
                         "PIL.Image.fromarray(array) (an OpenCV image's channels are BGR: "
                         "cv2.cvtColor(array, cv2.COLOR_BGR2RGB) first)")
    raise ValueError(f"cannot recognise a {type(image).__name__}; pass {INPUTS}")


def _opened_digit(image) -> tuple[Image.Image, np.ndarray]:
    """A path, encoded bytes, a binary file object or a PIL image -> (the upright PIL image,
    its digit in MNIST's format: (28, 28) float32 in [0, 1], :func:`digitrec.imaging.to_mnist`).

    Raises:
        digitrec.imaging.ImageError: see :func:`_open`; NoDigitError for a blank image. The
            messages name the file, for a path.
        ValueError: see :func:`_open`.
    """
    opened = _open(image)  # open_image names the file in its own errors
    try:
        return opened, imaging.to_mnist(opened)
    except imaging.ImageError as error:
        if isinstance(image, (str, os.PathLike)):
            raise type(error)(f"{image}: {error}") from None
        raise


def _number_hint(image: Image.Image) -> str:
    """For an opened image whose digit is unsure: a clause pointing to :meth:`Recognizer.read`
    when segmentation finds several digits in it side by side, in a row wider than tall (a
    whole number; the broken strokes of one faint digit lie on top of each other), else ""."""
    try:
        boxes = np.array([segment.box for segment in segmentation.segment(image)])
    except (imaging.ImageError, ValueError):
        return ""
    if len(boxes) < 2:
        return ""
    width = (boxes[:, 0] + boxes[:, 2]).max() - boxes[:, 0].min()
    height = (boxes[:, 1] + boxes[:, 3]).max() - boxes[:, 1].min()
    return ("; it looks like a number of several digits: to read one, use `digitrec read` "
            "(POST /v1/read, Recognizer.read)" if width > 1.2 * height else "")


def _array_batch(array: np.ndarray) -> np.ndarray:
    """An array in MNIST's format (see :func:`to_batch`) -> the model's input, checked."""
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"arrays must be shaped (28, 28), (N, 28, 28) or (N, 28, 28, 1), got "
                         f"{array.shape}; pass other images as PIL images or file paths")
    if array.dtype == np.bool_:
        return array.astype(np.float32)[..., np.newaxis]  # ink True: 1
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (int(array.min()) < 0 or int(array.max()) > 255):
            raise ValueError(f"integer arrays must hold grey levels in 0..255, got "
                             f"{int(array.min())}..{int(array.max())}")
        return to_model_input(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"arrays must hold numbers (uint8 in 0..255 or floats in [0, 1]), got "
                         f"dtype {array.dtype}")
    array = array.astype(np.float32)
    if array.size and not np.isfinite(array).all():
        raise ValueError("the array holds NaN or infinite values; pixels must be floats in "
                         "[0, 1] or uint8 in 0..255")
    if array.size and (float(array.min()) < 0 or float(array.max()) > 1):
        raise ValueError("float arrays must hold values in [0, 1] (divide 0..255 images by 255, "
                         "or pass them as uint8)")
    return array[..., np.newaxis]


class Recognizer:
    """Recognises handwritten digits with a trained model, through ONNX Runtime.

    Follows scikit-learn's conventions: the constructor only stores its parameters; :meth:`load`
    (or :meth:`fit`, which takes no data: the model is trained by ``digitrec train``) creates the
    inference session once, and ``predict_proba``/``predict`` reuse it.

    Args:
        model: a run folder (holding ``model.onnx``) or an ``.onnx`` file; ``None`` for the model
            shipped with the package.
        batch_size: images per ONNX Runtime call, >= 1.
        confidence_threshold: answers less confident than this, in [0, 1], get the status
            "unsure"; ``None`` takes the run's calibrated threshold (``rejection.json``, written by
            training with outlier exposure), or 0 where the run has none.
        reader: what :meth:`read` reads numbers with: a number reader's run folder (``digitrec
            train-reader``, see :mod:`digitrec.number_reader`); ``None`` for the one shipped
            with the package; ``"segmentation"`` to cut the number into digits and read each
            with the digit model instead.

    Attributes (after loading):
        session_: the ``onnxruntime.InferenceSession``.
        classes_: (10,) int64, the digits 0..9.
        metrics_: the run's ``metrics.json`` as a dict (empty for a bare ``.onnx`` file).
        model_path_: the ``.onnx`` file loaded.
        threshold_: the confidence threshold in use.
        reader_: the :class:`digitrec.number_reader.NumberReader` of :meth:`read`, or None for
            segmentation.
    """

    def __init__(self, model: str | os.PathLike | None = None, batch_size: int = 1024,
                 confidence_threshold: float | None = None,
                 reader: str | os.PathLike | None = None):
        self.model = model
        self.batch_size = batch_size
        self.confidence_threshold = confidence_threshold
        self.reader = reader

    @classmethod
    def load(cls, model: str | os.PathLike | None = None, batch_size: int = 1024,
             confidence_threshold: float | None = None,
             reader: str | os.PathLike | None = None) -> Recognizer:
        """A ready recognizer for ``model`` and ``reader`` (see the class's arguments).

        Raises:
            ValueError: the model path does not exist or holds no ``model.onnx``, or is not a
                valid ONNX model; the folder's ``metrics.json`` or ``rejection.json`` is damaged
                (not a JSON object, or a threshold outside [0, 1]).
        """
        return cls(model, batch_size, confidence_threshold, reader).fit()

    def fit(self, images=None, labels=None) -> Recognizer:
        """Loads the model into an ONNX Runtime session. Returns self. Arguments are ignored."""
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        path = Path(self.model) if self.model is not None else DEFAULT_MODEL
        onnx_path = path / run_folder.MODEL if path.is_dir() else path
        if not onnx_path.is_file():
            raise ValueError(f"{path}: no model found; give a run folder made by `digitrec train` "
                             "(holding model.onnx) or an .onnx file")
        self.session_ = onnx_models.session(onnx_path)
        self.input_name_ = self.session_.get_inputs()[0].name
        self.metrics_ = run_folder.read_record(onnx_path.parent, run_folder.METRICS, required=False)
        self.model_path_ = onnx_path
        self.classes_ = np.arange(NUM_CLASSES)
        if self.confidence_threshold is not None:
            if not 0 <= self.confidence_threshold <= 1:
                raise ValueError("confidence_threshold must be in [0, 1], got "
                                 f"{self.confidence_threshold}")
            self.threshold_ = float(self.confidence_threshold)
        else:
            rejection = run_folder.read_record(onnx_path.parent, run_folder.REJECTION,
                                               required=False)
            try:
                threshold = float(rejection.get("threshold", 0.0))
            except (TypeError, ValueError):
                threshold = float("nan")
            if not 0 <= threshold <= 1:
                raise ValueError(f"{onnx_path.parent / 'rejection.json'}: the threshold must "
                                 f"be a number in [0, 1], got {rejection['threshold']!r}")
            self.threshold_ = threshold
        self.reader_ = None if self.reader == SEGMENTATION else number_reader.NumberReader(
            DEFAULT_READER if self.reader is None else self.reader)
        return self

    def _check_loaded(self):
        if not hasattr(self, "session_"):
            raise ValueError("this Recognizer is not loaded; use Recognizer.load(...) or .fit()")

    def logits(self, images) -> np.ndarray:
        """The model's logits, (N, 10) float32, for the images (see :func:`to_batch`)."""
        self._check_loaded()
        return self._run(to_batch(images))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """The model's logits, (N, 10) float32, for a batch already in its input format."""
        if len(batch) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return np.concatenate([
            self.session_.run(None, {self.input_name_: batch[start:start + self.batch_size]})[0]
            for start in range(0, len(batch), self.batch_size)
        ])

    def predict_proba(self, images) -> np.ndarray:
        """Probabilities of the digits 0..9, (N, 10) float32, each row summing to 1.

        Args:
            images: file paths, PIL images, or arrays in MNIST's format (see :func:`to_batch`).

        Raises:
            ValueError: bad arrays; digitrec.imaging.ImageError for unreadable or blank images.
        """
        return softmax(self.logits(images))

    def answer(self, probabilities: np.ndarray) -> DigitAnswer:
        """The answer for one image, from its (10,) probabilities.

        Returns:
            A :class:`digitrec.answers.DigitAnswer`: ``status`` is ``"ok"``, or ``"unsure"``
            when the confidence is below :attr:`threshold_` (``reason`` then says so; it is
            ``None`` for "ok").
        """
        ranked = np.argsort(probabilities)[::-1]
        digit, runner_up = int(ranked[0]), int(ranked[1])
        confidence = float(probabilities[digit])
        status, reason = "ok", None
        if confidence < self.threshold_:
            status = "unsure"
            reason = (f"confidence {confidence:.2f} is below {self.threshold_:.2f}: this may "
                      "not be a digit, or it is written unlike any digit the model knows")
        return {"digit": digit, "confidence": confidence, "runner_up": runner_up,
                "probabilities": [round(float(value), 6) for value in probabilities],
                "status": status, "reason": reason}

    def recognize(self, images, explain: bool = False) -> list[Answer]:
        """Answers with a status for each image: a digit, "unsure", "no digit" or "error".

        This is digitrec's one path from an image to an answer: the command line, the server
        and the pictures all come here.

        Args:
            images: as for :meth:`predict_proba`.
            explain: also give each digit's answer the image the model saw, as
                ``"model_input"``: (28, 28) float32 in [0, 1], white ink on black.

        Returns:
            One :class:`digitrec.answers.Answer` per image, in order (an (N, 28, 28) array is N
            images): a :class:`~digitrec.answers.DigitAnswer` (see :meth:`answer`); for an image
            with no ink (a blank page) a :class:`~digitrec.answers.NoDigitAnswer`; for a file
            that cannot be read (missing, damaged, not an image) an
            :class:`~digitrec.answers.ErrorAnswer`, the message naming the file (as ``digitrec
            predict --json`` and the server's batch answer it): one bad file does not stop the
            others.

        Raises:
            ValueError: an input of a type :func:`to_batch` does not take, or an array of the
                wrong shape or range.
        """
        self._check_loaded()
        if _is_image(images) or isinstance(images, np.ndarray):
            images = [images]
        # Each image is decoded once and held until the model has read it (an unsure digit's
        # hint segments it): a few at a time, so that a long list of photos is never all in memory.
        try:
            images = list(images)
        except TypeError:  # None, a number: nothing to recognise
            raise ValueError(f"cannot recognise a {type(images).__name__}; pass {INPUTS}, or a "
                             "list of them") from None
        return [answer for start in range(0, len(images), IMAGES_AT_ONCE)
                for answer in self._recognize_some(images[start:start + IMAGES_AT_ONCE], explain)]

    def _recognize_some(self, images: list, explain: bool) -> list[Answer]:
        """:meth:`recognize` of a list of at most :data:`IMAGES_AT_ONCE` inputs: each through the
        pipeline, then the model once on all those with a digit."""
        results: list[Answer | None] = []
        batches, opened = [], []  # opened: (index, PIL image), for the hint of an unsure digit
        for image in images:
            try:
                if isinstance(image, np.ndarray):
                    batch = to_batch([image])
                else:  # decoded once, for the digit model and the hint
                    opened_image, digit = _opened_digit(image)
                    opened.append((len(results), opened_image))
                    batch = digit[np.newaxis, ..., np.newaxis]
            except imaging.NoDigitError as error:
                results.append(answers.no_digit(str(error)))
            except imaging.ImageError as error:
                results.append(answers.error(str(error)))
            else:
                batches.append(batch)
                results.extend([None] * len(batch))
        if batches:
            batch = np.concatenate(batches)
            rows = iter(zip(softmax(self._run(batch)), batch[..., 0]))
            for index, result in enumerate(results):
                if result is None:
                    probabilities, model_input = next(rows)
                    results[index] = self.answer(probabilities)
                    if explain:
                        results[index]["model_input"] = model_input.copy()
        for index, image in opened:
            if results[index]["status"] == "unsure":
                results[index]["reason"] += _number_hint(image)
        return results

    def read(self, image, digits: int | None = None) -> NumberAnswer:
        """Reads a number written as a string of digits (a date, an amount, a meter reading).

        Two readers read the image: the number reader (:attr:`reader_`, a CRNN that reads a whole
        line, see :mod:`digitrec.number_reader`), which also finds the line holding the number in a
        crop of a document (a register's column: :func:`digitrec.imaging.find_lines`, each line
        read, the surest reading kept), and the digit model. When the number reader is fairly sure
        (:func:`~read_rules.fairly_sure`) and the digit model reads each of its digits the
        same in the digit's box (from CTC's alignment) with a confidence of at least
        :data:`~read_rules.CONFIRMATION_CONFIDENCE`, that is the answer, "ok". Otherwise the line
        (in a document's crop; else the whole image: :func:`~read_rules.segmentation_line`) is also
        segmented (the digits found by :func:`digitrec.imaging.segmentation.segment`, each read by
        the digit model in two views, as cut from the string's ink and as its box cut from the
        image, the two probability vectors averaged). When both read the same digits, the number
        reader is fairly sure and the digit model is sure enough of each digit
        (:data:`~read_rules.AGREEMENT_DIGIT_CONFIDENCE`), that is the answer, "ok" (the same digits
        less sure are "unsure", digit by digit). Either "ok" also needs the number reader to give
        the text a probability, summed over its paths, of at least
        :data:`~read_rules.TEXT_PROBABILITY` (:func:`~read_rules.sure_of_text`); else the answer
        is "unsure", to check the whole number. Otherwise the answer is "unsure": where
        segmentation read the whole image, the reading the two models together find likelier
        (the number reader's probability of its text and the digit model's of each of its
        digits: :func:`~read_rules.reading_score`), else the number reader's; on a whole image,
        the number reader's text "unsure" has a digit changed to the one the digit model reads
        in its box where both models find that likelier still
        (:func:`~read_rules.likeliest_reading`). In a strip scanned in black and white, or one
        without a scanner's margin, a lone "1" is never "ok"
        (:func:`~read_rules.lone_one_in_strip`); a first 5 that looks like a printed "$", and
        last digits read from a "%", are left out, the answer "unsure"
        (:func:`~read_rules.dollar_sign`, :func:`~read_rules.percent_sign`). An image read as a
        page that holds another number, a line of digits above or below the one read, is
        "unsure", the reason naming it (:func:`~read_rules.other_lines`), and one read "ok"
        that the number reader reads as another number turned half a turn is "unsure" too
        (:func:`~read_rules.upside_down`). A strip, or a
        portrait photo of a page, whose lines are the digits of a number lying on its side
        (:func:`~read_rules.on_its_side`) is read turned a quarter each way,
        the view read "ok" or with the higher text probability answering
        (:func:`~read_rules.upright_reading`), its boxes turned back. A photographed
        page is first made even paper where a table or a shadow is on it
        (:func:`digitrec.imaging.even_page`) and turned so that its writing is level
        (:func:`digitrec.imaging.level_page`); the boxes are those on the image as it was.
        docs/reading.md gives the figures on held-out cheques, register crops and ruled paper. With
        ``reader="segmentation"``, segmentation alone answers, on the whole image.

        With ``digits`` (a field whose number of digits is known: a meter reading, a form's
        boxes), the number reader reads the best path of exactly that many digits
        (:func:`digitrec.number_reader.fixed_length_decode`), and segmentation's reading counts
        only when it has as many: the text has ``digits`` digits, or none ("no_digit").

        Args:
            image: a file path, encoded image bytes, a binary file object or a PIL image of one
                line of digits; separators (dots, commas, dashes) and underlines are dropped.
            digits: the number of digits, 1 to :data:`MAX_DIGITS`; None (the default) when
                it is not known.

        Returns:
            A :class:`digitrec.answers.NumberAnswer`: ``text``, ``status``, ``confidence`` (the
            number reader's probability of the text, summed over its paths; None with
            ``reader="segmentation"`` or no digit) and ``digits``, left to right, with their
            boxes in the image's pixels. A digit's confidence is the
            digit model's probability of it, in [0, 1] (read as segmentation cut it, or in the
            box the number reader's alignment gives it); its status is "ok" or "unsure". The
            whole reading's is "unsure" if any digit's is, the two readers disagree, or the
            image holds another number, with a
            ``reason`` saying what to check
            (:func:`digitrec.answers.unsure_reason`: the unsure digits, or the whole number)
            and the other reader's reading as ``alternative`` where it read another number
            (:func:`~read_rules.disputed`; the number reader's own where a digit of it was
            changed), and "no_digit" with
            an empty ``text`` when no digit is found: with a ``reason`` when the image is blank,
            without one when it has ink but no digit is read in it.

        Raises:
            digitrec.imaging.ImageError: a file or image that cannot be read.
            ValueError: an input of another type (a NumPy array too: wrap it with
                ``PIL.Image.fromarray``); ``digits`` not a whole number from 1 to
                :data:`MAX_DIGITS`, or given to a recognizer with ``reader="segmentation"``.
        """
        self._check_loaded()
        check_digits(digits, self.reader_ is None)
        path = image if isinstance(image, (str, os.PathLike)) else None
        # A photographed page in a shadow, or on a table, is read, checked and segmented as
        # even paper, and turned so that its writing is level; the boxes are turned back.
        opened = _open(image)
        page, on_image = imaging.page_to_read(opened)
        answer = self._read_page(page, digits, path)
        # The boxes, in the page's pixels, to the opened image's, then to the file's (a large
        # JPEG is decoded at a reduced scale: imaging.open_image)
        file_scale = opened.info.get(imaging.DRAFT_SCALE, 1.0)
        answer["digits"] = [
            {**digit, "box": [round(value * file_scale) for value in on_image(digit["box"])]}
            for digit in answer["digits"]]
        return answer

    def _read_page(self, image: Image.Image, digits: int | None, path) -> NumberAnswer:
        """:meth:`read` of an opened image, its boxes in the image's pixels (``path``: its
        file, named in errors)."""
        reading = number_reader.read_number(image, self.reader_.logits, digits) \
            if self.reader_ is not None else None
        answer = self._combined_answer(image, reading, digits, path)
        confidence = answer["confidence"]  # set where the text is the number reader's reading
        if confidence is None:
            confidence = read_rules.text_confidence(reading, answer["text"])
        # Explained once the confidence is known: an answer held back as a whole names it.
        answer = answers.explained({**answer, "confidence": confidence})
        answer = read_rules.lone_one_in_strip(image, answer)
        answer = read_rules.dollar_sign(image, answer, reading, digits)
        answer = read_rules.percent_sign(image, answer, reading, digits)
        on_its_side = read_rules.on_its_side(image, reading)
        if on_its_side:
            turned = [self._read_turned(image, angle, digits, path) for angle in (90, 270)]
            if any(each["text"] for each in turned):
                return read_rules.upright_reading(turned)
        answer = read_rules.other_lines(image, reading, answer, on_its_side)
        return read_rules.upside_down(image, answer, lambda: number_reader.read_number(
            image.transpose(Image.Transpose.ROTATE_180), self.reader_.logits, digits))

    def _read_turned(self, image: Image.Image, angle: int, digits: int | None, path
                     ) -> NumberAnswer:
        """:meth:`_read_page` of ``image`` turned ``angle`` degrees (90 or 270, counter-clockwise)
        and made a page again (:func:`digitrec.imaging.page_to_read`), its boxes turned back
        onto ``image``'s pixels."""
        turn = Image.Transpose.ROTATE_90 if angle == 90 else Image.Transpose.ROTATE_270
        page, on_turned = imaging.page_to_read(image.transpose(turn))
        answer = self._read_page(page, digits, path)
        width, height = image.size
        for digit in answer["digits"]:
            x, y, box_width, box_height = on_turned(digit["box"])
            digit["box"] = [width - y - box_height, x, box_height, box_width] if angle == 90 \
                else [y, height - x - box_width, box_height, box_width]
        return answer

    def _combined_answer(self, image: Image.Image, reading: dict | None, digits: int | None,
                         path) -> NumberAnswer:
        """:meth:`read`'s answer from the number reader's ``reading`` (None for segmentation
        alone) and, where they are needed, the digit model's checks and segmentation."""
        # The box check is spared where the number reader is not sure enough to be "ok".
        probabilities = self._box_probabilities(image, reading) if reading is not None and \
            read_rules.fairly_sure(reading) else None
        if reading is not None and read_rules.confirmed_in_boxes(
                reading, read_rules.confirmations(reading, probabilities)):
            return self._checked_answer(image, reading, probabilities)
        line = read_rules.segmentation_line(image, reading)
        try:
            segmented = self._read_by_segmentation(image, line)
        except imaging.NoDigitError as error:
            if reading is not None and reading["text"]:
                segmented = answers.no_number()  # too faint for segmentation, not blank
            else:
                return answers.no_number(f"{path}: {error}" if path else str(error))
        except imaging.ImageError as error:
            raise type(error)(f"{path}: {error}" if path else str(error)) from None
        if reading is None:
            return segmented
        if probabilities is None:  # the box check was spared
            probabilities = self._box_probabilities(image, reading)
        in_document = line != (0, 0, *image.size)
        answer = self._two_readers_answer(image, reading, segmented, probabilities, in_document,
                                          digits)
        if in_document or answer["status"] != "unsure" or answer["text"] != reading["text"]:
            return answer
        # On a whole image, the number reader's text "unsure" may have a digit changed to the one
        # the digit model reads in its box.
        likeliest = read_rules.likeliest_reading(reading, probabilities)
        if likeliest is reading:
            return answer
        return read_rules.digit_changed(self._checked_answer(image, likeliest, probabilities),
                                        reading["text"], probabilities)

    def _two_readers_answer(self, image: Image.Image, reading: dict, segmented: NumberAnswer,
                            probabilities: np.ndarray | None, in_document: bool,
                            digits: int | None) -> NumberAnswer:
        """:meth:`read`'s answer from both readers' readings (the number reader's ``reading``
        and its box check's ``probabilities``, and ``segmented``): theirs where they agree
        (:func:`~read_rules.agreement`), else the one
        :func:`~read_rules.prefers_segmentation` picks, "unsure" (:func:`~read_rules.disputed`)."""
        agreed = read_rules.agreement(reading, segmented)
        if agreed is not None:
            return agreed
        if read_rules.prefers_segmentation(reading, segmented, in_document,
                                           read_rules.confirmations(reading, probabilities),
                                           digits):
            chosen, other = segmented, reading["text"]
        else:
            chosen, other = self._checked_answer(image, reading, probabilities), segmented["text"]
        return read_rules.disputed(chosen, other) if chosen["text"] else chosen

    def _checked_answer(self, image: Image.Image, reading: dict,
                        box_probabilities: np.ndarray | None) -> NumberAnswer:
        """The number reader's ``reading`` of the image as :meth:`read` answers with it: each
        digit's ``confidence`` is the digit model's in the digit's box (from
        ``box_probabilities``, :meth:`_box_probabilities`), as every digit's in read's answers
        is the digit model's (CTC's own, its best step's probability, is near 1 for most
        digits, misread ones included), and a digit is "ok" where it reaches
        :data:`~read_rules.CONFIRMATION_CONFIDENCE`, the reading "ok" where every digit is
        and the number reader is sure of the text (:func:`~read_rules.sure_of_text`), else
        "unsure" ("no_digit" for none)."""
        answer = self.reader_.answer(image, reading)
        if not reading["text"]:
            return answer  # "no_digit"
        confidences = read_rules.confirmations(reading, box_probabilities).tolist()
        level = read_rules.CONFIRMATION_CONFIDENCE
        for digit, confidence in zip(answer["digits"], confidences):
            digit.update(confidence=confidence, status="ok" if confidence >= level else "unsure")
        sure = min(confidences) >= level and read_rules.sure_of_text(reading)
        return {**answer, "status": "ok" if sure else "unsure"}

    def _box_probabilities(self, image: Image.Image, reading: dict) -> np.ndarray | None:
        """The digit model's probabilities in each digit's box of the number reader's
        ``reading``, cut from the image: (len(text), 10) float32 in [0, 1], a row of zeros for
        a box holding too little ink to read on its own; None for a reading without digits
        (:func:`~read_rules.confirmations` takes from it the confidence in each digit read)."""
        if not reading["text"]:
            return None
        rows, probabilities = self._read_boxes_alone(image, reading["boxes"])
        in_boxes = np.zeros((len(reading["text"]), NUM_CLASSES), dtype=np.float32)
        in_boxes[rows] = probabilities
        return in_boxes

    def _read_boxes_alone(self, image: Image.Image, boxes
                          ) -> tuple[list[int], np.ndarray]:
        """The digit model's reading of each box (x, y, width, height in the image's pixels)
        cut from the image on its own (:func:`digitrec.imaging.cut_box`,
        :func:`digitrec.imaging.to_mnist`): the indices of the boxes holding ink enough for a
        digit, and their (len(indices), 10) float32 probabilities."""
        crops, rows = [], []
        for index, box in enumerate(boxes):
            try:
                crops.append(imaging.to_mnist(imaging.cut_box(image, tuple(box))))
            except imaging.ImageError:
                continue
            rows.append(index)
        if not crops:
            return rows, np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return rows, self.predict_proba(np.stack(crops))

    def _read_by_segmentation(self, image: Image.Image, line: tuple[int, int, int, int]
                              ) -> NumberAnswer:
        """:meth:`read` by segmentation alone, of the ``line`` (left, top, right, bottom) of
        the image. Raises ImageError (NoDigitError: blank)."""
        if line != (0, 0, *image.size):
            image = image.crop(line)
        segments = segmentation.segment(image, score=self.predict_proba)
        if not segments:
            return answers.no_number()
        probabilities = self.predict_proba(np.stack([segment.image for segment in segments]))
        probabilities = self._second_view(image, segments, probabilities)
        offset = [line[0], line[1], 0, 0]  # the line's boxes to the image's pixels
        digits: list[DigitInNumber] = []
        for segment, row in zip(segments, probabilities):
            answer = self.answer(row)
            digits.append({"digit": answer["digit"], "confidence": answer["confidence"],
                           "box": [value + shift for value, shift in zip(segment.box, offset)],
                           "status": answer["status"]})
        status = "unsure" if any(digit["status"] != "ok" for digit in digits) else "ok"
        return {"text": "".join(str(digit["digit"]) for digit in digits), "status": status,
                "confidence": None, "digits": digits}  # read sets the number reader's

    def _second_view(self, image, segments, probabilities: np.ndarray) -> np.ndarray:
        """Averages each digit's probabilities, as cut from the string's ink, with those of its
        box cut from the image and put through the single-digit pipeline
        (:func:`digitrec.imaging.to_mnist`): two views of one digit whose errors differ."""
        # A box too faint on its own is left out: the string's cut alone decides.
        rows, alone = self._read_boxes_alone(image, [segment.box for segment in segments])
        if rows:
            probabilities = probabilities.copy()
            probabilities[rows] = (probabilities[rows] + alone) / 2
        return probabilities

    def predict(self, images) -> np.ndarray:
        """The most probable digit for each image, (N,) int64 in 0..9."""
        probabilities = self.predict_proba(images)
        return self.classes_[probabilities.argmax(axis=1)]
