"""How :meth:`digitrec.recognizer.Recognizer.read` combines its two readers, the number reader
(:mod:`digitrec.number_reader`) and segmentation with the digit model
(:mod:`digitrec.imaging.segmentation`): when the number reader's reading is "ok" on the digit
model's check of its boxes alone, what segmentation reads, when the two agree, which reading is
the answer where they do not, and what an "unsure" answer marks to check. The levels were
chosen on validation numbers by ``benchmarks/read_rules.py``, which calls these rules at other
levels (docs/reading.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from digitrec import imaging
from digitrec.answers import DigitInNumber, NumberAnswer, unsure_reason
from digitrec.number_reader import text_probability

# read's rules for its two readers (chosen on validation numbers by benchmarks/read_rules.py,
# see docs/reading.md): "ok" needs the number reader to be fairly_sure (its best path's
# probability at least AGREEMENT_CONFIDENCE, or a long text's own) and either segmentation to
# read the same digits with a confidence of AGREEMENT_DIGIT_CONFIDENCE each, or the digit model
# to read each of its digits the same in the digit's box with CONFIRMATION_CONFIDENCE
# (segmentation is then not run); where they disagree on a whole image, the reading that both
# models together find likelier is kept (reading_score), and the number reader's with one
# digit changed to the digit model's where that is likelier still (likeliest_reading).
AGREEMENT_CONFIDENCE = 0.5
CHOSEN_DIGITS = 7  # the levels were chosen on real numbers of 1 to 7 digits (ORAND-CAR-A's
# amounts 2 to 7, the register crops' 1 to 3); a longer text is fairly_sure by its own probability
AGREEMENT_DIGIT_CONFIDENCE = 0.4
# One view of each digit confirms the number reader where the digit model is as sure as it had
# to be to overrule it before the readings were scored (lower levels let wrong cheque amounts
# through: docs/reading.md).
CONFIRMATION_CONFIDENCE = 0.7
# A digit the digit model cannot read in its box, or gives less than this, counts as this in a
# reading's score: one such digit costs a reading as much as a text 10,000 times less likely.
DIGIT_CONFIDENCE_FLOOR = 1e-4
# "ok" also needs the number reader to give the answer's text a probability of at least
# TEXT_PROBABILITY (number_reader.text_probability: summed over the paths that read it), which
# ranks right readings above wrong ones better than the best path's (docs/reading.md).
TEXT_PROBABILITY = 0.8
# A lone "1" in a bilevel strip (the twenty-fifth rule of docs/rules.md), or in a strip without
# a scanner's margin (the thirty-ninth), is never "ok":
LONE_ONE_REASON = ("check the whole number (in a black-and-white scan a lone 1 may be a piece of "
                   "a ruling line, or of a digit, that the scan's threshold broke)")
LONE_ONE_UNFRAMED_REASON = ("check the whole number (in a tight crop a lone 1 may be the stem of "
                            "a 4 or a 7 whose bar was taken for a ruling line, or a piece of a "
                            "faint rule)")
ANOTHER_NUMBER_HEIGHT = 0.5  # a page's other line of digits at least this share of the number's
# line's height is another number, said in the answer (the sixty-third rule of docs/rules.md)
DOLLAR_NOTE = ("the first digit, a 5 with a bar through it, may be a $ sign: crop it out")
DOLLAR_LEFT_OUT = ("a $ sign before the number, read as a 5 with a bar through it, was left out")
PERCENT_NOTE = "the last digits may be a % sign: crop it out"
ON_SIDE_DIGITS = 2  # a photographed page's lines each read at most this many digits: a
# number lying on its side, a digit to a line (docs/rules.md, rule 73)
PAGE_LINE_SHARE = 2 / 3  # a page's one line this share of its width or more is segmented whole:
# a number's line on ruled paper spans 77% of the page or more, a register crop's at most 51%
# (docs/reading.md)


def confirmed_in_boxes(reading: dict, confirmations: np.ndarray | None,
                       level: float = CONFIRMATION_CONFIDENCE) -> bool:
    """Whether ``read`` answers with the number reader's ``reading``, segmentation not run
    ("ok" where it is also :func:`sure_of_text`): the number reader is fairly sure
    (:func:`fairly_sure`) and the digit model's confidence in each of its digits,
    read alone in the digit's box (``confirmations``, (len(text),) float32 in [0, 1], 0 where
    a box holds too little ink; None where there is no digit), reaches ``level`` (read:
    :data:`CONFIRMATION_CONFIDENCE`)."""
    return (confirmations is not None and len(confirmations) > 0 and fairly_sure(reading)
            and bool(confirmations.min() >= level))


def fairly_sure(reading: dict) -> bool:
    """Whether the number reader is sure enough of its ``reading`` for the digit model's checks
    of its digits (in their boxes, or by segmentation's agreement) to make it "ok": its best
    path's probability (``reading["sequence_confidence"]``) at least
    :data:`AGREEMENT_CONFIDENCE`, or, for a text longer than :data:`CHOSEN_DIGITS`, its
    text's probability (``reading["text_probability"]``, summed over every path that reads
    it). The best path's probability falls with the text's length where the text's does not:
    numbers of 12 to 20 digits, right, seldom reached it (the seventy-eighth and
    seventy-ninth rules of docs/rules.md)."""
    confidence = reading["text_probability"] if len(reading["text"]) > CHOSEN_DIGITS \
        else reading["sequence_confidence"]
    return confidence >= AGREEMENT_CONFIDENCE


def sure_of_text(reading: dict, level: float = TEXT_PROBABILITY) -> bool:
    """Whether the number reader gives its ``reading``'s text a probability
    (``reading["text_probability"]``, :func:`digitrec.number_reader.text_probability`) of at
    least ``level`` (read: :data:`TEXT_PROBABILITY`): without it no answer of ``read`` is "ok",
    however surely the digit model reads each digit."""
    return reading["text_probability"] >= level


def text_confidence(reading: dict | None, text: str) -> float | None:
    """An answer's ``confidence``: the number reader's probability of its ``text``, summed over
    every path that reads it (the reading's ``text_probability`` where the text is the
    reading's, else :func:`digitrec.number_reader.text_probability` of the reading's
    ``logits``), in [0, 1]; None without a number reader's ``reading`` or without digits."""
    if reading is None or not text:
        return None
    if text == reading["text"]:
        return float(reading["text_probability"])
    return text_probability(reading["logits"], text)


def agreement(reading: dict, segmented: NumberAnswer,
              level: float = AGREEMENT_DIGIT_CONFIDENCE,
              text_level: float = TEXT_PROBABILITY) -> NumberAnswer | None:
    """``read``'s answer where its two readers agree: when segmentation's
    reading (``segmented``) has the number reader's digits (``reading``) and the number reader
    is :func:`fairly_sure` of them, segmentation's answer with each digit "ok"
    where the digit model's confidence in it reaches ``level`` (read:
    :data:`AGREEMENT_DIGIT_CONFIDENCE`), else "unsure", and the whole "ok" where every digit is
    and the number reader is :func:`sure_of_text` at ``text_level`` ("no_digit" for no digits);
    None otherwise."""
    if reading["text"] != segmented["text"] or not fairly_sure(reading):
        return None
    digits: list[DigitInNumber] = [
        {**digit, "status": "ok" if digit["confidence"] >= level else "unsure"}
        for digit in segmented["digits"]]
    sure = all(digit["status"] == "ok" for digit in digits) and sure_of_text(reading, text_level)
    return {**segmented, "digits": digits,
            "status": ("ok" if sure else "unsure") if digits else "no_digit"}


def reading_score(probability: float, digit_confidences) -> float:
    """How likely both models find a reading: the log of the number reader's probability of its
    text (``probability``) plus the log of the digit model's confidence in each of its digits
    (``digit_confidences``, each taken as at least :data:`DIGIT_CONFIDENCE_FLOOR`), the two
    models taken as independent experts (a product of experts, G. Hinton, Neural Computation
    14(8), 2002). A float, at most 0."""
    confidences = np.maximum(np.asarray(digit_confidences, dtype=np.float64),
                             DIGIT_CONFIDENCE_FLOOR)
    return float(np.log(max(probability, 1e-300)) + np.log(confidences).sum())


def confirmations(reading: dict, box_probabilities: np.ndarray | None) -> np.ndarray | None:
    """The digit model's confidence in each digit of the number reader's ``reading``, read in
    the digit's box: (len(text),) float32 in [0, 1], 0 where a box holds too little ink, from
    ``box_probabilities`` ((len(text), 10) float32, the digit model's probabilities in each
    box, a row of zeros for such a box); None where that is None (no digits)."""
    if box_probabilities is None:
        return None
    digits = [int(digit) for digit in reading["text"]]
    return box_probabilities[np.arange(len(digits)), digits]


def likeliest_reading(reading: dict, box_probabilities: np.ndarray | None) -> dict:
    """The number reader's ``reading`` with one digit changed where both models find that
    likelier (the eighteenth rule of docs/rules.md): of its text and each text made from it
    by changing one digit to the digit the digit model finds most probable in that digit's
    box (``box_probabilities``, as :func:`confirmations` takes them), the one with the highest
    :func:`reading_score`, its probability to the number reader from the reading's
    ``logits``. ``read`` asks it where it answers the number reader's text "unsure" on a whole
    image.

    Returns:
        ``reading`` itself where its own text scores highest (ties included), else a copy with
        the likelier ``text`` and its ``text_probability``.
    """
    if box_probabilities is None:
        return reading
    text = reading["text"]
    best_score = reading_score(reading["text_probability"],
                               confirmations(reading, box_probabilities))
    best = reading
    for index, probabilities in enumerate(box_probabilities):
        digit = str(int(probabilities.argmax()))
        if not probabilities.any() or digit == text[index]:
            continue
        candidate = {**reading, "text": text[:index] + digit + text[index + 1:]}
        candidate["text_probability"] = text_probability(reading["logits"], candidate["text"])
        score = reading_score(candidate["text_probability"],
                              confirmations(candidate, box_probabilities))
        if score > best_score:
            best, best_score = candidate, score
    return best


def prefers_segmentation(reading: dict, segmented: NumberAnswer, in_document: bool,
                         confirmations: np.ndarray | None, digits: int | None = None) -> bool:
    """Where ``read``'s two readers do not agree "ok": whether its text is
    segmentation's (``segmented``) rather than the number reader's (``reading``). It is when
    both read the same digits, when the number reader read none, or, where segmentation read
    the whole image (``in_document`` False, :func:`segmentation_line`: segmentation reads few
    lines found in a document's crop), when segmentation's reading has the higher
    :func:`reading_score`: its text's probability to the number reader (from the reading's
    ``logits``) with its digits' confidences, against the number reader's text's with the
    digit model's ``confirmations`` of its digits in their boxes ((len(text),) float32, as
    :func:`confirmed_in_boxes` takes them). With ``digits``, segmentation's reading counts only
    when it has that many."""
    counted = digits is None or len(segmented["text"]) == digits
    if reading["text"] == segmented["text"] or (not reading["text"] and counted):
        return True
    if in_document or not counted or not segmented["text"]:
        return False
    segmentation_score = reading_score(
        text_probability(reading["logits"], segmented["text"]),
        [digit["confidence"] for digit in segmented["digits"]])
    reader_score = reading_score(
        reading["text_probability"],
        confirmations if confirmations is not None else np.zeros(len(reading["text"])))
    return segmentation_score > reader_score


def segmentation_line(image: Image.Image, reading: dict | None) -> tuple[int, int, int, int]:
    """The part of the image (left, top, right, bottom) that ``read``'s
    segmentation reads: the number reader's line (``reading["line"]``, :func:`digitrec.
    number_reader.read_number`, and ``reading["lines"]``, how many were found), or the whole
    image where the number reader read it whole or found one line of writing across a page (an
    image at least as wide as tall, the line at least :data:`PAGE_LINE_SHARE` of its width, as a
    number on ruled paper): the line's crop would be nearly the page, and cut the paper's rules
    at its corners, where segmentation's own page cleaning erases them on the whole page.
    Segmentation's reading is preferred only where it read the whole image
    (:func:`prefers_segmentation`); a line in a crop of a document (a register's column) is
    not."""
    whole = (0, 0, *image.size)
    if reading is None or reading["line"] == whole:
        return whole
    left, _, right, _ = reading["line"]
    across_a_page = image.width >= image.height and reading["lines"] == 1 and \
        right - left >= PAGE_LINE_SHARE * image.width
    return whole if across_a_page else reading["line"]


def digit_changed(chosen: NumberAnswer, reading_text: str,
                  box_probabilities: np.ndarray) -> NumberAnswer:
    """``read``'s answer where :func:`likeliest_reading` changed a digit of the number reader's
    text (``reading_text``) to the digit model's (``chosen``, answered as the number reader's
    are; ``box_probabilities`` as :func:`confirmations` takes them): "unsure" (``read`` adds
    the ``reason``, :func:`digitrec.answers.explained`), each digit "ok" where both models
    read it, the number reader in its own text and the digit model as the most probable digit
    in its box (as :func:`disputed` marks the digits two readers read alike), "unsure"
    otherwise (the digit changed among them), and the number reader's own text as the
    ``alternative``."""
    digits: list[DigitInNumber] = [
        {**digit, "status": "ok" if str(digit["digit"]) == reading_text[index]
         and probabilities.any() and int(probabilities.argmax()) == digit["digit"]
         else "unsure"}
        for index, (digit, probabilities) in enumerate(zip(chosen["digits"], box_probabilities))]
    return {**chosen, "status": "unsure", "digits": digits, "alternative": reading_text}


def disputed(chosen: NumberAnswer, other_reading: str) -> NumberAnswer:
    """``read``'s answer where its two readers do not agree "ok": ``chosen``
    (:func:`prefers_segmentation`'s pick), "unsure" (``read`` adds the ``reason``,
    :func:`digitrec.answers.explained`). Where ``other_reading``, the other reader's
    text, is another number, it is the answer's ``alternative``, and each digit is "ok" where
    the two have as many digits and read the same digit there, "unsure" otherwise; where it is
    the same text, or none, each digit keeps its own status."""
    answer: NumberAnswer = {**chosen, "status": "unsure"}
    text = chosen["text"]
    if other_reading and other_reading != text:
        same_length = len(other_reading) == len(text)
        answer["digits"] = [
            {**digit, "status": "ok" if same_length and text[index] == other_reading[index]
             else "unsure"} for index, digit in enumerate(chosen["digits"])]
        answer["alternative"] = other_reading
    return answer


def lone_one_in_strip(image: Image.Image, answer: NumberAnswer) -> NumberAnswer:
    """``read``'s ``answer`` for ``image`` where that is a strip (taller than wide) scanned in
    black and white (at most two colours, :func:`digitrec.imaging.is_bilevel`) or, not a
    photographed page (:func:`digitrec.imaging.is_photographed_page`), without a scanner's
    margin (:func:`digitrec.imaging.has_scanner_margin`): the single digit "1" read "ok" is
    "unsure", its digit too, with :data:`LONE_ONE_REASON` or
    :data:`LONE_ONE_UNFRAMED_REASON` as the ``reason``; any other answer as it is.

    A black-and-white scan's threshold breaks a column's faint ruling line, and faint digits,
    into pieces that each read as a confident 1 (the twenty-fifth rule of docs/rules.md). A
    strip without a margin is a tight photo of a digit, or a register's crop at low contrast:
    the stem of a 7 or a 4 whose bar was taken for a rule, or a faint rule's piece, reads as a
    confident 1 (the thirty-ninth rule: such lone 1s were right about 13 times in 16)."""
    if answer["status"] != "ok" or answer["text"] != "1" or image.height <= image.width:
        return answer
    if imaging.is_bilevel(image):
        reason = LONE_ONE_REASON
    elif not imaging.is_photographed_page(image) and \
            not imaging.has_scanner_margin(imaging.to_grey(image)):
        reason = LONE_ONE_UNFRAMED_REASON
    else:
        return answer
    digits: list[DigitInNumber] = [{**digit, "status": "unsure"} for digit in answer["digits"]]
    return {**answer, "status": "unsure", "digits": digits, "reason": reason}


def dollar_sign(image: Image.Image, answer: NumberAnswer, reading: dict | None,
                digits: int | None = None) -> NumberAnswer:
    """``read``'s ``answer`` for ``image`` where its first digit of two or more is a 5 that looks
    like a printed "$" (:func:`digitrec.imaging.looks_like_dollar`): that digit left out of the text
    and the digits, the answer "unsure" with :data:`DOLLAR_LEFT_OUT` (and what else to check) as its
    reason, its ``alternative`` the text as read, its ``confidence`` the number reader's probability
    of the text left (:func:`text_confidence` of its ``reading``; None without one). With ``digits``
    asked the text keeps its count: the 5 stays, "unsure", with :data:`DOLLAR_NOTE` in the reason.
    Any other answer as it is. Neither reader was taught currency signs, and both read a "$" before
    an amount as a 5, most often "ok" (the seventy-sixth and seventy-seventh rules of
    docs/rules.md)."""
    read = answer["digits"]
    if len(read) < 2 or read[0]["digit"] != 5 or \
            not imaging.looks_like_dollar(image, read[0]["box"]):
        return answer
    if digits is not None:
        return _held_back(answer, DOLLAR_NOTE, digits=[{**read[0], "status": "unsure"}, *read[1:]])
    return _left_out(answer, reading, slice(1, None), DOLLAR_LEFT_OUT)


def percent_sign(image: Image.Image, answer: NumberAnswer, reading: dict | None,
                 digits: int | None = None) -> NumberAnswer:
    """``read``'s ``answer`` for ``image`` where its last digits were read from a printed or drawn
    "%" (:func:`digitrec.imaging.percent_glyph`, looked for in the last two digits' boxes): those
    digits (whose boxes' centres lie in the glyph) left out of the text and the digits, as
    :func:`dollar_sign` leaves out a "$": "unsure", the reason saying so (and what else to check),
    the text as read its ``alternative``, its ``confidence`` the number reader's probability of the
    text left. With ``digits`` asked the text keeps its count, "unsure", with :data:`PERCENT_NOTE`
    in the reason. At least one digit is left; any other answer as it is. Neither reader was taught
    a "%", and both read it as two digits, "96" or "00", most often "ok" (the eighty-first to
    eighty-third rules of docs/rules.md)."""
    read = answer["digits"]
    glyph = imaging.percent_glyph(image, [digit["box"] for digit in read[-2:]]) if len(read) >= 3 \
        else None
    if glyph is None:
        return answer
    left, top, right, bottom = glyph
    inside = [left <= x + width / 2 <= right and top <= y + height / 2 <= bottom
              for x, y, width, height in (digit["box"] for digit in read)]
    count = 0  # the digits read from the glyph, at the text's end
    while count < len(inside) and inside[-1 - count]:
        count += 1
    if not 0 < count < len(read):
        return answer
    if digits is not None:
        return _held_back(answer, PERCENT_NOTE,
                          digits=[*read[:-count], *({**digit, "status": "unsure"}
                                                    for digit in read[-count:])])
    note = f"a % sign after the number, read as {answer['text'][-count:]}, was left out"
    return _left_out(answer, reading, slice(None, -count), note)


def _left_out(answer: NumberAnswer, reading: dict | None, kept: slice, note: str
              ) -> NumberAnswer:
    """``answer`` with only its digits in ``kept`` (a sign read as digits left out): "unsure",
    ``note`` its reason (after what else to check), the text as read its ``alternative``, its
    ``confidence`` the number reader's probability of the text left."""
    digits, text = answer["digits"][kept], answer["text"][kept]
    reason = f"{note}; another reading: {answer['text']}"
    if any(digit["status"] != "ok" for digit in digits):
        reason = f"{unsure_reason(digits)}; {reason}"
    return {"text": text, "status": "unsure", "confidence": text_confidence(reading, text),
            "digits": digits, "reason": reason, "alternative": answer["text"]}


def other_lines(image: Image.Image, reading: dict | None, answer: NumberAnswer,
                on_side: bool) -> NumberAnswer:
    """``read``'s ``answer`` for ``image`` where the number reader found other lines holding
    digits (``reading["other_lines"]``, :func:`digitrec.number_reader.read_lines`) at least
    :data:`ANOTHER_NUMBER_HEIGHT` as high as the number's line: "unsure", the reason saying
    what to do (added to an "unsure" answer's reason), the text and the digits as they were.

    - On a page (at least as wide as tall, or :func:`digitrec.imaging.is_photographed_page`),
      one such line is another number: the reason names it and where it is (the sixty-third
      rule of docs/rules.md).
    - In a strip (a register's crop, whose lower lines are the next rows' writing), where
      ``on_side`` (:func:`on_its_side`, which ``read`` has asked already) finds a number
      written, or photographed, running top to bottom, each of its digits a line: the reason
      says to turn the image (the sixty-eighth; ``read`` answers so only where neither
      quarter turn holds a digit, else :func:`upright_reading`).

    Any other answer as it is."""
    if reading is None or not answer["text"]:
        return answer
    others = _lines_as_high(reading)
    if not others:
        return answer
    if _is_page(image):
        _, top, _, bottom = reading["line"]
        middle = (others[0]["line"][1] + others[0]["line"][3]) / 2
        where = "below" if middle > bottom else "above" if middle < top else "beside"
        note = (f"another number is written {where} it ({others[0]['text']}): crop the image "
                "to one number")
    elif on_side:
        note = (f"the image holds {len(others) + 1} lines of writing one above another: if the "
                "number runs top to bottom, turn the image upright")
    else:
        return answer
    return _held_back(answer, note)


def _is_page(image: Image.Image) -> bool:
    """Whether ``image`` is read as a page: at least as wide as tall, or
    :func:`digitrec.imaging.is_photographed_page`; else it is a strip (a document's column, a
    tight crop taller than wide)."""
    return image.width >= image.height or imaging.is_photographed_page(image)


def upside_down(image: Image.Image, answer: NumberAnswer,
                read_turned: Callable[[], dict]) -> NumberAnswer:
    """``read``'s ``answer`` for ``image`` where the number reader, reading the image turned half
    a turn (``read_turned()``, called only for an "ok" answer on a page, :func:`_is_page`: a
    strip is upright by how it was cut), reads another text there with a probability
    (``text_probability``) at least the answer's ``confidence``: "unsure", the reason saying
    the image may be upside down, the turned text its ``alternative``; the text as it was.
    Any other answer as it is. Upside down, numbers are read as other digits, "ok" now and
    then (the eightieth rule of docs/rules.md)."""
    if answer["status"] != "ok" or answer["confidence"] is None or not _is_page(image):
        return answer
    turned = read_turned()
    if not turned["text"] or turned["text"] == answer["text"] or \
            turned["text_probability"] < answer["confidence"]:
        return answer
    note = f"the image may be upside down: turned half a turn it reads {turned['text']}"
    return _held_back(answer, note, alternative=turned["text"])


def on_its_side(image: Image.Image, reading: dict | None) -> bool:
    """Whether ``image`` holds a number lying on its side (photographed or scanned turned a
    quarter): a strip (taller than wide, not :func:`digitrec.imaging.is_photographed_page`)
    without a scanner's margin, where the number reader's ``reading`` found two or more other
    lines holding digits at least :data:`ANOTHER_NUMBER_HEIGHT` as high as the number's line,
    each a digit on its side (the sixty-eighth rule of docs/rules.md; every register crop of
    the fit half has a margin); or a photographed page taller than wide (a landscape page
    photographed with the phone held upright) with two or more such lines, where every one of
    them and the number's line reads at most :data:`ON_SIDE_DIGITS` digits (the
    seventy-third: a page of several numbers one under another reads longer lines)."""
    if reading is None or image.width >= image.height:
        return False
    others = _lines_as_high(reading)
    if imaging.is_photographed_page(image):  # a page's lines a digit or two each
        return len(others) >= 2 and all(len(line["text"]) <= ON_SIDE_DIGITS
                                        for line in (reading, *others))
    return len(others) >= 2 and not imaging.has_scanner_margin(imaging.to_grey(image))


def _lines_as_high(reading: dict) -> list[dict]:
    """The other lines of ``reading`` holding digits (``reading["other_lines"]``) at least
    :data:`ANOTHER_NUMBER_HEIGHT` as high as the number's line."""
    _, top, _, bottom = reading["line"]
    return [other for other in reading["other_lines"]
            if other["line"][3] - other["line"][1] >= ANOTHER_NUMBER_HEIGHT * (bottom - top)]


def upright_reading(turned: list[NumberAnswer]) -> NumberAnswer:
    """``read``'s answer for a number lying on its side from its readings turned a quarter
    each way (``turned``, two answers): the one read "ok", or where both or neither are, the
    one with the higher ``confidence`` (the number reader's text probability); "unsure" with
    the other as its ``alternative`` where that reads another number "ok" too (upside down,
    56086 reads 98095), the reason saying so (the sixty-ninth rule of docs/rules.md)."""
    chosen, other = sorted(turned, key=lambda answer: (answer["status"] == "ok",
                                                       answer["confidence"] or 0.0),
                           reverse=True)
    if other["status"] != "ok" or other["text"] == chosen["text"]:
        return chosen
    note = (f"the number lies on its side; turned the other way up it reads {other['text']}, "
            "also sure")
    return _held_back(chosen, note, alternative=other["text"])


def _held_back(answer: NumberAnswer, note: str, **changes) -> NumberAnswer:
    """``answer`` made "unsure" with ``note`` as its reason (added to an "unsure" answer's
    own), and ``changes`` (its digits, its alternative) made."""
    reason = f"{answer['reason']}; {note}" if answer["status"] == "unsure" else note
    return {**answer, **changes, "status": "unsure", "reason": reason}
