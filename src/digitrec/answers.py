"""The answers digitrec gives, as typed dicts: what :class:`digitrec.recognizer.Recognizer`
returns, what ``digitrec predict --json`` and ``digitrec read --json`` print (with a ``path``
added), and what the server's /v1 endpoints send (with a ``name`` added in a batch).

One image of one digit gets a :class:`DigitAnswer` ("ok" or "unsure"), a :class:`NoDigitAnswer`
(no ink: a blank page) or an :class:`ErrorAnswer` (the file cannot be read); one image of a
written number gets a :class:`NumberAnswer` of :class:`DigitInNumber` items. The answers for
"no digit" and "error" are made here, by :func:`no_digit` and :func:`error`, and nowhere else.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

import numpy as np


class DigitAnswer(TypedDict):
    """The digit read in one image.

    Fields:
        digit: int in 0..9, the most probable digit.
        confidence: float in [0, 1], the probability of ``digit`` (unrounded).
        runner_up: int in 0..9, the second most probable digit.
        probabilities: 10 floats in [0, 1], summing to 1 (to rounding), the probability of each
            digit 0..9, rounded to 6 decimal places.
        status: "ok", or "unsure" when ``confidence`` is below the recognizer's threshold
            (:attr:`digitrec.recognizer.Recognizer.threshold_`, in [0, 1]).
        reason: ``None`` for "ok"; for "unsure", a sentence saying why.
        model_input: only when asked for (``recognize(..., explain=True)``): the image the
            model saw, a (28, 28) float32 array in [0, 1], white ink (1) on black (0), in
            MNIST's format. Not JSON: ``digitrec predict --explain`` saves it as a PNG and puts
            its path here, the server puts it here as a base64 PNG.
    """

    digit: int
    confidence: float
    runner_up: int
    probabilities: list[float]
    status: Literal["ok", "unsure"]
    reason: str | None
    model_input: NotRequired[np.ndarray]


class NoDigitAnswer(TypedDict):
    """An image that was read but holds no ink that could be a digit (a blank page).

    Fields:
        digit: always ``None``.
        confidence: always ``None``.
        status: always "no_digit".
        reason: why, as a sentence; it starts with the file's path when a path was given.
    """

    digit: None
    confidence: None
    status: Literal["no_digit"]
    reason: str


class ErrorAnswer(TypedDict):
    """An image that cannot be read: a missing, empty, damaged or too large file.

    Fields:
        digit: always ``None``.
        confidence: always ``None``.
        status: always "error".
        error: what is wrong, as a sentence; it starts with the file's path when a path was
            given.
    """

    digit: None
    confidence: None
    status: Literal["error"]
    error: str


Answer = DigitAnswer | NoDigitAnswer | ErrorAnswer
"""What :meth:`digitrec.recognizer.Recognizer.recognize` answers for each image; tell the kinds
apart by ``status``."""


class DigitInNumber(TypedDict):
    """One digit of a written number.

    Fields:
        digit: int in 0..9.
        confidence: float in [0, 1], the probability of ``digit``: in
            :meth:`digitrec.recognizer.Recognizer.read`'s answers the digit model's, the digit
            read as segmentation cut it or in the box the number reader's alignment gives it;
            in the number reader's own answers (``NumberReader.answer``), its best CTC step's.
        box: [x, y, w, h], ints: the digit's box in pixels of the image as given (of the file, for
            a JPEG decoded at a reduced scale), x and y of its top left corner from the image's
            top left, w and h its width and height.
        status: "ok", or "unsure" when ``confidence`` is below the recognizer's threshold,
            or, in a number whose two readers read it differently, when the other reading
            does not have this digit here (see :func:`digitrec.read_rules.disputed`).
    """

    digit: int
    confidence: float
    box: list[int]
    status: Literal["ok", "unsure"]


class NumberAnswer(TypedDict):
    """A number read in one image, as a string of digits (a date, an amount, a meter reading).

    Fields:
        text: the digits read, left to right (no separators); "" when none was found.
        status: "ok"; "unsure" when any digit is or the reading is not confirmed (see
            :meth:`digitrec.recognizer.Recognizer.read`); "no_digit" when no digit was found.
        confidence: float in [0, 1], the number reader's probability of ``text``, summed over
            every path of its steps that reads it (:func:`digitrec.number_reader.
            text_probability`); "ok" needs :data:`digitrec.read_rules.TEXT_PROBABILITY` and
            the digit model's checks, and a tool that must let fewer wrong numbers through can
            ask more of it (docs/reading.md gives "ok"'s precision and coverage at stricter
            levels). None for "no_digit" and where no number reader read the image
            (``reader="segmentation"``).
        digits: one :class:`DigitInNumber` per character of ``text``, left to right; [] for
            "no_digit".
        reason: for "unsure", what to check, as a sentence (:func:`unsure_reason`); for
            "no_digit" when the image holds no ink at all (a blank page), why, as a sentence
            starting with the file's path when a path was given. Absent for "ok", and for
            "no_digit" when there is ink but none of it is digit-sized.
        alternative: only for "unsure", where the number's two readers read different numbers:
            the digits of the one not answered, or the number reader's own where ``text`` is
            its reading with one digit changed to the digit model's, the text as read where a
            "$" or a "%" read as digits was left out, or the number reader's reading of the
            image upside down (a form or cheque tool can offer both; see
            :func:`digitrec.read_rules.disputed`, :func:`digitrec.read_rules.likeliest_reading`,
            :func:`digitrec.read_rules.dollar_sign`, :func:`digitrec.read_rules.percent_sign`
            and :func:`digitrec.read_rules.upside_down`).
    """

    text: str
    status: Literal["ok", "unsure", "no_digit"]
    confidence: float | None
    digits: list[DigitInNumber]
    reason: NotRequired[str]
    alternative: NotRequired[str]


def unsure_reason(digits: list[DigitInNumber], alternative: str | None = None,
                  confidence: float | None = None) -> str:
    """What to check in a number read "unsure", for :class:`NumberAnswer`'s ``reason``.

    Args:
        digits: the answer's digits, left to right.
        alternative: the answer's ``alternative``, where it has one.
        confidence: the answer's ``confidence`` (the number reader's probability of its text,
            in [0, 1]), where it has one.

    Returns:
        "check digit 2 (counted from the left)" or "check digits 1, 3 (counted from the left)"
        when some but not all digits are "unsure"; else "check the whole number", with
        " (the number reader is 68% sure of it)" after it when no digit is "unsure" (the doubt
        is the number's as a whole) and ``confidence`` is given; with "; another reading:
        1784" after it when ``alternative`` is another number.
    """
    unsure = [str(position) for position, digit in enumerate(digits, 1)
              if digit["status"] != "ok"]
    if 0 < len(unsure) < len(digits):
        reason = (f"check digit{'s' * (len(unsure) > 1)} {', '.join(unsure)} "
                  "(counted from the left)")
    else:
        reason = "check the whole number"
        if not unsure and confidence is not None:
            reason += f" (the number reader is {confidence:.0%} sure of it)"
    text = "".join(str(digit["digit"]) for digit in digits)
    if alternative and alternative != text:
        reason += f"; another reading: {alternative}"
    return reason


def explained(answer: NumberAnswer) -> NumberAnswer:
    """``answer`` with the ``reason`` of :func:`unsure_reason` when it is "unsure"; as it is
    otherwise."""
    if answer["status"] != "unsure":
        return answer
    return {**answer, "reason": unsure_reason(answer["digits"], answer.get("alternative"),
                                              answer.get("confidence"))}


def no_digit(reason: str) -> NoDigitAnswer:
    """The answer for an image of one digit that holds none."""
    return {"digit": None, "confidence": None, "status": "no_digit", "reason": reason}


def error(message: str) -> ErrorAnswer:
    """The answer for an image that cannot be read."""
    return {"digit": None, "confidence": None, "status": "error", "error": message}


def no_number(reason: str | None = None) -> NumberAnswer:
    """The answer for an image of a number that holds no digit; ``reason`` for a blank one."""
    answer: NumberAnswer = {"text": "", "status": "no_digit", "confidence": None, "digits": []}
    if reason is not None:
        answer["reason"] = reason
    return answer
