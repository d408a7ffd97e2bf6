"""The number reader's input format and CTC decoding, on real cheque amounts (Keras-free)."""

import numpy as np
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from conftest import HANDWRITING
from digitrec import imaging, number_reader

CHEQUE = HANDWRITING / "orand_car_a" / "images" / "train_a_car_000160.jpg"  # 25.441


def test_a_cheque_becomes_white_ink_on_black_at_the_readers_height():
    image = imaging.open_image(CHEQUE)
    array = number_reader.to_reader_input(image)
    assert array.shape == (number_reader.HEIGHT, round(image.width * 32 / image.height), 1)
    assert array.dtype == np.float32 and 0 <= array.min() and array.max() <= 1
    assert np.median(array) < 0.1  # the paper
    assert (array > 0.8).mean() > 0.02  # the strokes
    # The polarity does not matter: the same amount written light on dark gives the same input.
    inverted = number_reader.to_reader_input(ImageOps.invert(image.convert("L")))
    assert np.abs(inverted - array).mean() < 0.02


def test_a_blank_image_stays_blank_and_a_long_one_is_squeezed():
    blank = number_reader.to_reader_input(Image.new("L", (200, 40), 230))
    assert blank.max() == 0
    strip = number_reader.to_reader_input(Image.new("L", (5000, 40), 230))
    assert strip.shape[1] == number_reader.MAX_WIDTH
    assert number_reader.to_reader_input(Image.new("L", (3, 40))).shape[1] == \
        number_reader.MIN_WIDTH


def test_greedy_decoding_merges_repeats_and_drops_blanks():
    blank = number_reader.BLANK
    # The best path 2 2 _ 5 _ _ 4 4 _ 4 1: a blank between two 4s keeps both.
    path = [2, 2, blank, 5, blank, blank, 4, 4, blank, 4, 1]
    logits = np.full((len(path), number_reader.NUM_CLASSES), -5.0, dtype=np.float32)
    logits[np.arange(len(path)), path] = 5.0
    logits[1, 2] = 3.0  # a less sure step of the first digit
    text, confidences, spans = number_reader.greedy_decode(logits)
    assert text == "25441"
    assert spans == [(0, 1), (3, 3), (6, 7), (9, 9), (10, 10)]
    assert confidences.shape == (5,) and np.all((confidences > 0.99) & (confidences <= 1))
    assert 0 < number_reader.sequence_confidence(logits) < confidences.min()
    assert number_reader.greedy_decode(np.zeros((0, number_reader.NUM_CLASSES)))[0] == ""


def test_fixed_length_decoding_finds_the_digit_the_greedy_path_leaves_out():
    blank = number_reader.BLANK
    # The best path reads 2 5 4 1: at step 5 the second 4 is a little less likely than a blank.
    path = [2, blank, 5, blank, 4, blank, 4, blank, 1]
    logits = np.full((len(path), number_reader.NUM_CLASSES), -5.0, dtype=np.float32)
    logits[np.arange(len(path)), path] = 5.0
    logits[6, blank] = 5.5
    assert number_reader.greedy_decode(logits)[0] == "2541"
    text, confidences, spans, probability = number_reader.fixed_length_decode(logits, 5)
    assert text == "25441" and spans == [(0, 0), (2, 2), (4, 4), (6, 6), (8, 8)]
    assert confidences.shape == (5,) and confidences[3] < confidences[2]
    assert 0 < probability < number_reader.sequence_confidence(logits)
    assert number_reader.fixed_length_decode(logits, 4)[0] == "2541"  # the greedy path
    assert len(number_reader.fixed_length_decode(logits, 2)[0]) == 2
    assert number_reader.fixed_length_decode(logits[:4], 5) is None  # four steps, five digits
    # Three steps sure of a 1: CTC merges repeats, so "11" needs a blank between the two.
    ones = np.full((3, number_reader.NUM_CLASSES), -5.0, dtype=np.float32)
    ones[:, 1], ones[:, blank] = 5.0, 0.0
    assert number_reader.greedy_decode(ones)[0] == "1"
    assert number_reader.fixed_length_decode(ones, 2)[:3:2] == ("11", [(0, 0), (2, 2)])
    three = number_reader.fixed_length_decode(ones, 3)[0]
    assert len(three) == 3 and three != "111"  # "111" would need five steps
    with pytest.raises(ValueError, match="at least 1"):
        number_reader.fixed_length_decode(logits, 0)


def test_a_texts_probability_is_the_sum_of_its_paths():
    """text_probability against every path of four steps, summed by the text it reads; and a
    digit whose probability each step shares with the blank: one path of it is unlikely, the
    digit itself likely."""
    import itertools

    blank, classes = number_reader.BLANK, number_reader.NUM_CLASSES
    logits = np.random.default_rng(0).normal(0, 2, (4, classes)).astype(np.float32)
    probabilities = number_reader.softmax(logits).astype(np.float64)
    sums = {}
    for path in itertools.product(range(classes), repeat=4):
        text = "".join(str(label) for index, label in enumerate(path)
                       if label != blank and (index == 0 or label != path[index - 1]))
        sums[text] = sums.get(text, 0.0) + probabilities[np.arange(4), path].prod()
    assert abs(sum(sums.values()) - 1) < 1e-6
    for text in ("", "3", "33", "303", "1234", "97"):
        assert number_reader.text_probability(logits, text) == pytest.approx(
            sums.get(text, 0.0), rel=1e-6, abs=1e-12)
    assert number_reader.text_probability(logits, "12345") == 0.0  # five digits, four steps
    # Each of three steps: a 7 or the blank, even odds. Of the 8 paths, 6 read "7", one "77"
    # (7 _ 7) and one nothing; the best path's probability is 1/8.
    shared = np.full((3, classes), -30.0, dtype=np.float32)
    shared[:, 7] = shared[:, blank] = 0.0
    assert number_reader.text_probability(shared, "7") == pytest.approx(0.75, rel=1e-5)
    assert number_reader.text_probability(shared, "77") == pytest.approx(0.125, rel=1e-5)
    assert number_reader.sequence_confidence(shared) == pytest.approx(0.125, rel=1e-5)


def test_fixed_length_decoding_on_held_out_cheques(recognizer):
    """On the 302 held-out cheque amounts the greedy path reads 12 with a wrong number of
    digits; told the number, it reads 4 of those right (the reader shipped before: 11 of 18; a
    margin for other CPUs' float kernels). Where the greedy path has the number asked for, it
    is the answer."""
    recovered = wrong_length = 0
    for path, label in held_out_amounts(302):
        array = number_reader.to_reader_input(imaging.open_image(path))
        logits = recognizer.reader_.logits(number_reader.pad_batch([array]))[0]
        logits = logits[:-(-array.shape[1] // number_reader.STEP)]
        greedy, _, spans = number_reader.greedy_decode(logits)
        if greedy:
            assert number_reader.fixed_length_decode(logits, len(greedy))[::2] == (greedy, spans)
        for length in (1, 4, 7):
            text, _, _, probability = number_reader.fixed_length_decode(logits, length)
            assert len(text) == length
            assert probability <= number_reader.sequence_confidence(logits) * (1 + 1e-5)
        if len(greedy) != len(label):
            wrong_length += 1
            recovered += number_reader.fixed_length_decode(logits, len(label))[0] == label
    assert wrong_length >= 8 and recovered >= 3, (wrong_length, recovered)


def test_batches_are_padded_with_paper_to_whole_steps():
    image = imaging.open_image(CHEQUE)
    inputs = [number_reader.to_reader_input(image),
              number_reader.to_reader_input(image.crop((0, 0, image.width // 2, image.height)))]
    batch = number_reader.pad_batch(inputs)
    assert batch.shape[2] % number_reader.STEP == 0 and batch.shape[2] >= inputs[0].shape[1]
    np.testing.assert_array_equal(batch[1, :, :inputs[1].shape[1]], inputs[1])
    assert batch[1, :, inputs[1].shape[1]:].max() == 0


def held_out_amounts(count: int) -> list[tuple]:
    from digitrec import datasets

    return datasets.folder_numbers(HANDWRITING / "orand_car_a", "holdout")[:count]


def exact_and_ok(read, amounts) -> tuple[int, list[bool]]:
    """How many of ``amounts`` ``read`` reads exactly, and whether each "ok" reading is right."""
    readings = [read(path) for path, _ in amounts]
    right = [reading["text"] == label for reading, (_, label) in zip(readings, amounts)]
    for reading in readings:
        assert len(reading["digits"]) == len(reading["text"])
        assert all(digit["status"] in ("ok", "unsure") for digit in reading["digits"])
    return sum(right), [is_right for reading, is_right in zip(readings, right)
                        if reading["status"] == "ok"]


def held_out_registers(count: int) -> list[tuple]:
    from digitrec import datasets

    return datasets.folder_numbers(HANDWRITING / "register_numbers", "holdout")[:count]


def test_the_shipped_number_reader_reads_held_out_cheques_and_register_crops(recognizer):
    """The number reader alone reads 51 of these 60 cheque amounts (segmentation 41) and 56 of
    these 60 register crops (segmentation 7), finding the number's line in each crop: a margin
    of four for other CPUs' float kernels, none for a reader no better than segmentation."""
    def read(path):
        return recognizer.reader_.answer(imaging.open_image(path))

    cheques, _ = exact_and_ok(read, held_out_amounts(60))
    registers, _ = exact_and_ok(read, held_out_registers(60))
    assert cheques >= 46 and registers >= 52, (cheques, registers)


def test_read_is_ok_where_the_two_readers_agree(recognizer):
    """read: "ok" where the digit model confirms the number reader (the test above) or where
    the number reader and segmentation read the same digits, the number reader is fairly sure
    and the digit model is sure enough of each digit (34 of 35 right on these 60 cheques); the
    same digits with one less sure are "unsure", that digit too (4 of these cheques and
    register crops). More amounts exact than segmentation alone. An "unsure" reading says what
    to check, and gives the number reader's reading as its alternative where segmentation's is
    answered instead (3 of these numbers). Each digit's confidence is the digit model's, also
    where the number reader's reading is answered over segmentation's (30 of these numbers): in
    the digit's box, not CTC's (near 1 for most digits, misread ones too). The number's own
    confidence is the number reader's probability of its text, at least TEXT_PROBABILITY where
    it is "ok"."""
    from digitrec.read_rules import (AGREEMENT_DIGIT_CONFIDENCE, TEXT_PROBABILITY,
                                     confirmations, fairly_sure)
    from digitrec.recognizer import SEGMENTATION, Recognizer

    amounts = held_out_amounts(60)
    numbers = amounts + held_out_registers(60)
    readings = {path: recognizer.read(path) for path, _ in numbers}
    exact, ok = exact_and_ok(readings.get, amounts)
    segmentation_exact, _ = exact_and_ok(Recognizer.load(reader=SEGMENTATION).read, amounts)
    assert exact >= segmentation_exact + 4, (exact, segmentation_exact)
    assert len(ok) >= 20 and sum(ok) >= 0.9 * len(ok), (sum(ok), len(ok))
    agreed_less_sure = other_named = reader_answered = 0
    for path, _ in numbers:
        reading = readings[path]
        confidences = [digit["confidence"] for digit in reading["digits"]]
        assert reading["confidence"] is None if not reading["text"] else \
            0 <= reading["confidence"] <= 1, reading
        if reading["status"] == "ok":
            assert min(confidences) >= AGREEMENT_DIGIT_CONFIDENCE and "reason" not in reading
            assert reading["confidence"] >= TEXT_PROBABILITY, reading
            continue
        if "upside down" in reading["reason"]:  # an "ok" reading held back (rule 80)
            assert reading["reason"].startswith("the image may be upside down: turned half a "
                                                f"turn it reads {reading['alternative']}")
            continue
        image = imaging.open_image(path)
        learned = recognizer.reader_.read(image)
        assert reading["reason"].startswith("check "), reading
        if reading["text"] != learned["text"] != "":
            other_named += 1
            assert reading["alternative"] == learned["text"], reading
            assert reading["reason"].endswith(f"; another reading: {learned['text']}"), reading
        if learned["text"] == reading["text"] != "" and "alternative" in reading:
            reader_answered += 1
            page = imaging.page_to_read(image)[0]  # a leaning strip is read levelled
            on_page = number_reader.read_number(page, recognizer.reader_.logits)
            np.testing.assert_allclose(
                confidences, confirmations(on_page, recognizer._box_probabilities(page, on_page)),
                rtol=1e-6)
        elif (learned["text"] == reading["text"] != ""
                and fairly_sure(learned) and min(confidences) < AGREEMENT_DIGIT_CONFIDENCE):
            agreed_less_sure += 1
            assert [digit["status"] == "ok" for digit in reading["digits"]] == \
                [value >= AGREEMENT_DIGIT_CONFIDENCE for value in confidences], reading
    assert agreed_less_sure >= 2 and other_named >= 2 and reader_answered >= 20, (
        agreed_less_sure, other_named, reader_answered)


def test_read_skips_segmentation_where_the_digit_model_confirms_the_number_reader(
        recognizer, monkeypatch):
    """read: where the number reader is fairly sure and the digit model reads each of its
    digits the same in the digit's box, the number reader's reading is the answer and
    segmentation is not run (9 of these 60 cheques and 31 of these 60 register crops, all
    right), "ok" where the number reader gives the text a probability of TEXT_PROBABILITY or
    more (summed over its paths, never less than the best path's), else "unsure", to check as a
    whole; every other reading runs segmentation."""
    from digitrec.read_rules import CONFIRMATION_CONFIDENCE, TEXT_PROBABILITY, fairly_sure

    segmented = []
    segment = recognizer._read_by_segmentation
    monkeypatch.setattr(recognizer, "_read_by_segmentation",
                        lambda *arguments: segmented.append(1) or segment(*arguments))
    confirmed = []
    for path, label in held_out_amounts(60) + held_out_registers(60):
        runs_before = len(segmented)
        reading = recognizer.read(path)
        if len(segmented) > runs_before:
            continue
        learned = recognizer.reader_.read(imaging.open_image(path))
        sure = learned["text_probability"] >= TEXT_PROBABILITY
        if "upside down" in reading.get("reason", ""):  # an "ok" reading held back (rule 80)
            sure = False
        assert reading["text"] == learned["text"], reading
        assert reading["confidence"] == pytest.approx(learned["text_probability"], rel=1e-6)
        assert reading["status"] == ("ok" if sure else "unsure"), reading
        assert sure or reading["reason"] == "check the whole number (the number reader is " \
            f"{learned['text_probability']:.0%} sure of it)" or "upside down" in \
            reading["reason"], reading
        assert fairly_sure(learned)
        assert learned["sequence_confidence"] <= learned["text_probability"] * (1 + 1e-5)
        assert learned["text_probability"] <= 1
        assert min(digit["confidence"] for digit in reading["digits"]) >= \
            CONFIRMATION_CONFIDENCE, reading
        assert [digit["box"] for digit in reading["digits"]] == [
            digit["box"] for digit in recognizer.reader_.answer(
                imaging.open_image(path), learned)["digits"]]
        confirmed.append(reading["text"] == label)
    assert len(segmented) >= 20, len(segmented)
    assert len(confirmed) >= 33 and sum(confirmed) >= 0.95 * len(confirmed), (
        sum(confirmed), len(confirmed))


def test_read_changes_a_digit_where_both_models_find_that_likelier(recognizer):
    """A held-out cheque, 212179, whose looped first 2 the number reader reads as a 9 (912179)
    and the digit model, in that digit's box, as a 2: read answers 212179, "unsure", the first
    digit to check, the others "ok" where both models read them alike, and the number reader's
    own text as the other reading (the eighteenth rule in docs/rules.md; both models' joint score
    is higher by 1.8, in log probability)."""

    path, label = held_out_amounts(60)[17]
    learned = recognizer.reader_.read(imaging.open_image(path))
    assert (label, learned["text"]) == ("212179", "912179")
    reading = recognizer.read(path)
    assert reading["text"] == label and reading["status"] == "unsure", reading
    assert reading["alternative"] == "912179", reading
    in_boxes = recognizer._box_probabilities(imaging.open_image(path), learned)
    read_alike = in_boxes.argmax(axis=1) == [int(digit) for digit in label]
    assert [digit["status"] for digit in reading["digits"]] == ["unsure"] + [
        "ok" if alike else "unsure" for alike in read_alike[1:]], reading
    assert read_alike[1:].sum() >= 2, in_boxes  # some digits both models read alike
    assert reading["digits"][0]["digit"] == 2 and reading["digits"][0]["confidence"] > 0.5
    assert reading["reason"].startswith("check digits 1, "), reading
    assert reading["reason"].endswith("; another reading: 912179"), reading
    assert reading["confidence"] == pytest.approx(
        number_reader.text_probability(learned["logits"], label), rel=1e-6)


def test_read_finds_the_number_in_held_out_register_crops(recognizer):
    """Register crops (tall strips with ruling lines, a scanner's black margin, other rows'
    writing): read gets 56 of these 60 exactly (segmentation of the whole crop: 7), and its 44
    "ok" readings are right; every digit's box lies inside the crop."""
    from PIL import Image

    registers = held_out_registers(60)
    exact, ok = exact_and_ok(recognizer.read, registers)
    assert exact >= 52 and len(ok) >= 36 and sum(ok) >= 0.9 * len(ok), (exact, sum(ok), len(ok))
    for path, _ in registers[:10]:
        width, height = Image.open(path).size
        for digit in recognizer.read(path)["digits"]:
            x, y, w, h = digit["box"]
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height


def test_a_documents_line_is_read_twice_and_a_wider_view_finds_a_left_out_digit(recognizer):
    """Register crops whose number's second digit the reader leaves out where it reads the
    line as it is (31 read "3", 21 read "2"): read again 15% wider, both views together find
    the whole number likelier, and it is read, each digit in its own box, left to right, in
    the line. A cheque (read whole) and a known number of digits are read as before."""
    logits = recognizer.reader_.logits
    registers = held_out_registers(111)
    for index in (35, 59, 110):
        path, label = registers[index]
        page = imaging.page_to_read(imaging.open_image(path))[0]
        as_it_is = number_reader.read_lines(page, logits)
        reading = number_reader.read_number(page, logits)
        assert as_it_is["text"] == label[0] and reading["text"] == label, (path, reading["text"])
        assert reading["line"] == as_it_is["line"] and reading["line"] != (0, 0, *page.size)
        (x0, y0, w0, h0), (x1, y1, w1, h1) = reading["boxes"]
        left, top, right, bottom = reading["line"]
        assert left <= x0 and x0 + w0 <= x1 + w1 / 2 and x1 + w1 <= right + 1
        assert top <= min(y0, y1) and max(y0 + h0, y1 + h1) <= bottom + 1
        assert reading["text_probability"] == pytest.approx(
            number_reader.text_probability(reading["logits"], label))
        assert recognizer.reader_.read(page)["text"] == label
    cheque = imaging.open_image(CHEQUE)
    assert number_reader.read_number(cheque, logits)["text"] == \
        number_reader.read_lines(cheque, logits)["text"] == "25441"
    page = imaging.page_to_read(imaging.open_image(registers[35][0]))[0]
    assert number_reader.read_number(page, logits, 1)["text"] == "3"


def test_a_sure_mark_at_the_top_gives_way_to_the_number_under_it(mnist):
    """read_lines: of two lines read surely, one at the crop's top edge (a tick or ditto mark
    above the number) gives way to the line just under it; a number at the top with the next
    row's number far below it stays the answer; a sliver at the top edge (the row above's
    writing, cut off) gives way to a number however far below it."""
    (_, _), (digits, _) = mnist

    def page(mark_top: int, number_top: int) -> Image.Image:
        pixels = np.full((220, 120), 235, np.uint8)
        for top, digit in ((mark_top, digits[1]), (number_top, digits[0])):
            ink = np.asarray(Image.fromarray(digit).resize((24, 24)))[max(0, -top):]
            top = max(0, top)  # above the crop: cut off by its top edge
            pixels[top:top + len(ink), 40:64] = 235 - (ink * 0.8).astype(np.uint8)
        return Image.fromarray(pixels)

    def sure_one(batch: np.ndarray) -> np.ndarray:
        logits = np.full((len(batch), batch.shape[2] // number_reader.STEP,
                          number_reader.NUM_CLASSES), -9.0, dtype=np.float32)
        logits[:, :, number_reader.BLANK] = 9.0
        logits[:, 1, :] = -9.0
        logits[:, 1, 1] = 9.0  # every line reads "1", surely
        return logits

    near = page(mark_top=10, number_top=50)
    lines = [reading["line"] for reading in number_reader.read_each_line(near, sure_one)]
    assert len(lines) == 2 and lines[0][1] <= number_reader.TOP_EDGE
    assert number_reader.read_lines(near, sure_one)["line"] == lines[1]
    far = page(mark_top=10, number_top=170)
    lines = [reading["line"] for reading in number_reader.read_each_line(far, sure_one)]
    assert len(lines) == 2 and number_reader.read_lines(far, sure_one)["line"] == lines[0]
    # The foot of the row above's digit, cut off by the crop's top edge, a sliver there: the
    # number far under it is the answer (rule 37).
    sliver = page(mark_top=-14, number_top=170)
    lines = [reading["line"] for reading in number_reader.read_each_line(sliver, sure_one)]
    assert len(lines) == 2 and lines[0][1] <= number_reader.TOP_EDGE
    assert lines[0][3] - lines[0][1] < number_reader.CUT_OFF_SHARE * (lines[1][3] - lines[1][1])
    assert number_reader.read_lines(sliver, sure_one)["line"] == lines[1]


def test_register_crops_with_the_row_aboves_writing_cut_off_at_the_top_are_read(recognizer):
    """Fit-half register crops whose top edge cuts through the row above's writing, leaving a
    sliver read surely as "1" and "10" far above the number: the number is read (rule 37)."""
    images = HANDWRITING / "register_numbers" / "images"
    for name, label in (("born_K2702_0007a-FM_row_id_2", "148"),
                        ("born_K2702_0131a-FM_row_id_3", "165")):
        assert recognizer.read(images / f"{name}.jpg")["text"] == label, name


def test_register_crops_with_a_tick_above_the_number_are_read(recognizer):
    """Fit-half register crops whose clerk put a tick above each row's number: the tick is
    read as a sure "1", the number under it is the answer (before: 0 of these 5)."""
    names = {"born_K2698_0180a-FK_row_id_0": "33", "born_K2698_0259a-FK_row_id_1": "29",
             "born_K2698_0264a-FK_row_id_3": "52", "born_K2699_0247a-FK_row_id_3": "89",
             "born_K2701_0168a-FK_row_id_2": "24"}
    images = HANDWRITING / "register_numbers" / "images"
    right = sum(recognizer.read(images / f"{name}.jpg")["text"] == label
                for name, label in names.items())
    assert right >= 4, right


def test_digit_boxes_lie_on_the_annotated_digits(recognizer):
    """Each digit's box, from where CTC read it and the ink there, holds the centre of the
    digit's box as ORAND's annotation draws it, for the amounts the number reader reads
    exactly."""
    import csv

    with open(HANDWRITING / "orand_car_a" / "digit_boxes.csv") as file:
        annotated = {}
        for row in csv.DictReader(file):
            annotated.setdefault(row["filename"], []).append(
                [int(row[key]) for key in ("x", "y", "w", "h")])
    checked = hits = 0
    for path, label in held_out_amounts(30):
        reading = recognizer.reader_.answer(imaging.open_image(path))
        boxes = annotated.get(f"images/{path.name}")
        if reading["text"] != label or not boxes or len(boxes) != len(label):
            continue
        for (x, y, w, h), (ax, ay, aw, ah) in zip(
                (digit["box"] for digit in reading["digits"]), boxes):
            checked += 1
            hits += x <= ax + aw / 2 <= x + w and y <= ay + ah / 2 <= y + h
    assert checked >= 40 and hits >= 0.9 * checked, (hits, checked)


def test_a_narrow_digits_box_stays_on_it(recognizer, mnist):
    """A tall, narrow image (one 1, 12x80 pixels: narrower than the reader's MIN_WIDTH at its
    height, so padded) gets a box inside the image, on the ink."""
    (_, _), (digits, labels) = mnist
    one = digits[list(labels).index(1)]
    columns = np.flatnonzero(one.max(axis=0) > 0)
    image = Image.fromarray(255 - one[:, columns[0]:columns[-1] + 1]).resize((12, 80))
    reading = recognizer.reader_.answer(image)
    assert reading["text"] == "1"
    x, y, w, h = reading["digits"][0]["box"]
    assert 0 <= x and x + w <= 12 and w >= 4 and 0 <= y and y + h <= 80 and h >= 20


def test_the_shipped_readers_threshold_is_calibrated():
    import json

    from digitrec.recognizer import DEFAULT_READER

    metrics = json.loads((DEFAULT_READER / "metrics.json").read_text())
    assert 0 < metrics["ok_threshold"] <= 1 and metrics["calibration_amounts"] == 222
    if metrics["calibration_coverage"] > 0:
        assert metrics["calibration_precision"] >= 0.98
    else:
        # On its 222 validation numbers no level of its own confidence reaches 98% right (its
        # surest readings include wrong ones; docs/reading.md): alone, the reader is never
        # "ok", and read's "ok" comes from the digit model's checks.
        assert metrics["ok_threshold"] == 1.0 and metrics["calibration_precision"] is None
    reader = number_reader.NumberReader(DEFAULT_READER)
    assert reader.threshold_ == metrics["ok_threshold"]
    image = imaging.open_image(CHEQUE)
    reading = reader.read(image)
    for confidence in (0.0, reader.threshold_ / 2, reader.threshold_, 1.0):
        answer = reader.answer(image, {**reading, "sequence_confidence": confidence})
        assert answer["status"] == ("ok" if reader.threshold_ <= confidence
                                    and reader.threshold_ < 1 else "unsure"), confidence


def test_segmentation_stays_available(recognizer):
    from digitrec.recognizer import SEGMENTATION, Recognizer

    segmenting = Recognizer.load(reader=SEGMENTATION)
    assert segmenting.reader_ is None and recognizer.reader_ is not None
    assert segmenting.read(CHEQUE)["text"] == "25441"
    assert segmenting.read(CHEQUE)["confidence"] is None  # no number reader to give one


def test_read_with_a_known_number_of_digits(recognizer):
    """read(digits=N): N digits or none, never another number; on these 60 held-out cheques
    told their number of digits, at least as many exact as without."""
    from digitrec.recognizer import MAX_DIGITS, SEGMENTATION, Recognizer

    amounts = held_out_amounts(60)
    told = [recognizer.read(path, digits=len(label)) for path, label in amounts]
    assert all(len(reading["text"]) in (0, len(label))
               and len(reading["digits"]) == len(reading["text"])
               for reading, (_, label) in zip(told, amounts))
    exact_told = sum(reading["text"] == label for reading, (_, label) in zip(told, amounts))
    exact, _ = exact_and_ok(recognizer.read, amounts)
    assert exact_told >= exact, (exact_told, exact)
    # Held to four digits, 2510, whose 1 the greedy path leaves out, reads whole.
    assert recognizer.read(HANDWRITING / "orand_car_a" / "images" / "train_a_car_000384.jpg",
                           digits=4)["text"] == "2510"
    for wrong in (0, MAX_DIGITS + 1, 2.5, "5", True):
        with pytest.raises(ValueError, match="digits must be a whole number"):
            recognizer.read(CHEQUE, digits=wrong)
    with pytest.raises(ValueError, match="needs the number reader"):
        Recognizer.load(reader=SEGMENTATION).read(CHEQUE, digits=5)


def _small_handwriting(folder: Path, per_register: int = 6) -> Path:
    """A handwriting folder for a quick training: ../shared's digit and cheque folders, and the
    first crops of four registers (so two fit registers: one trains, one validates)."""
    import csv

    folder.mkdir()
    for name in ("orand_car_a", "usps", "optdigits", "multi_digit"):
        (folder / name).symlink_to(HANDWRITING / name)
    registers = folder / "register_numbers"
    registers.mkdir()
    (registers / "images").symlink_to(HANDWRITING / "register_numbers" / "images")
    with open(HANDWRITING / "register_numbers" / "labels.csv") as file:
        rows = list(csv.DictReader(file))
    names = list(dict.fromkeys(row["register"] for row in rows))[:4]
    kept = [row for name in names
            for row in [row for row in rows if row["register"] == name][:per_register]]
    with open(registers / "labels.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, ["filename", "label", "register"])
        writer.writeheader()
        writer.writerows(kept)
    return folder


def test_training_a_reader_writes_a_run_that_reads_and_fine_tunes(tmp_path, capsys):
    """Both stages run (the register lines are found half-way), and a second run starts from
    the first one's weights, rebuilding its widths from its config.json."""
    import json

    from digitrec.recognizer import DEFAULT_MODEL
    from digitrec.training.number_reader import EARLIER_WIDTHS, WEIGHTS, _widths, train_reader

    handwriting = _small_handwriting(tmp_path / "handwriting")
    run = train_reader(tmp_path / "reader", handwriting, synthetic=256, real_copies=1,
                       register_copies=1, register_validation=3, epochs=2, bank_size=200,
                       recomposed=64, extra_data=[HANDWRITING / "multi_digit"],
                       filters=(8, 16, 16, 24), units=32)
    # The two canvas numbers hold one line each: they train from the first epoch.
    assert "2 of 2 of your numbers hold one line" in capsys.readouterr().out
    for name in ("model.onnx", WEIGHTS, "config.json", "history.json", "metrics.json"):
        assert (run / name).is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["synthetic"] == 256 and config["epochs"] == 2
    assert config["filters"] == [8, 16, 16, 24] and config["units"] == 32
    assert config["fresh_strings"] is True
    assert config["extra_data"] == [str(HANDWRITING / "multi_digit")]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation_numbers"] == 50 + 6  # ORAND's last 50, the second register's 6
    assert len(json.loads((run / "history.json").read_text())) == 2
    reader = number_reader.NumberReader(run)
    reading = reader.read(imaging.open_image(CHEQUE))
    assert set(reading["text"]) <= set("0123456789")
    assert 0 <= reading["sequence_confidence"] <= 1
    tuned = train_reader(tmp_path / "tuned", handwriting, synthetic=64, real_copies=1,
                         register_copies=1, register_validation=3, epochs=1, bank_size=200,
                         start_from=run)
    tuned_config = json.loads((tuned / "config.json").read_text())
    assert tuned_config["start_from"] == str(run) and tuned_config["units"] == 32
    with pytest.raises(ValueError, match="no model.weights.h5 to start from"):
        train_reader(tmp_path / "bad", handwriting, start_from=tmp_path)
    with pytest.raises(ValueError, match="no model.weights.h5 to start from"):
        train_reader(tmp_path / "bad", handwriting, start_from=DEFAULT_MODEL)  # a digit model
    with pytest.raises(ValueError, match="extra copies must be at least 1, got 0"):
        train_reader(tmp_path / "bad", handwriting, extra_copies=0)
    with pytest.raises(ValueError, match="validation must be at least 1 amount, got 0"):
        train_reader(tmp_path / "bad", handwriting, validation=0)
    for settings, message in ((dict(epochs=0), "epochs must be at least 1, got 0"),
                              (dict(synthetic=-5), "synthetic must be at least 0, got -5"),
                              (dict(recomposed=-1), "recomposed must be at least 0, got -1"),
                              (dict(learning_rate=0.0), "learning rate must be above 0")):
        with pytest.raises(ValueError, match=message):
            train_reader(tmp_path / "bad", handwriting, **settings)
    with pytest.raises(ValueError, match="fine-tuning keeps a run's widths"):
        train_reader(tmp_path / "bad", handwriting, start_from=run, units=64)
    earlier = tmp_path / "earlier"  # a run made before config.json recorded the widths
    earlier.mkdir()
    (earlier / "config.json").write_text(json.dumps({"seed": 0}))
    assert _widths(earlier, None, None) == (tuple(EARLIER_WIDTHS["filters"]),
                                            EARLIER_WIDTHS["units"])


def test_a_users_register_crops_train_as_the_lines_read_holds():
    """A user's numbers (`--extra-data`) train as what `read` gives the number reader: the line
    holding the number in a register's crop (a tall strip with rules, a margin and print),
    not the whole crop shrunk to the reader's height; a cheque is its own line."""
    from digitrec.recognizer import DEFAULT_READER
    from digitrec.training.number_reader import register_lines, single_lines

    reader = number_reader.NumberReader(DEFAULT_READER)
    crops = held_out_registers(12)
    opened = [(imaging.open_image(path), label) for path, label in crops + [(CHEQUE, "25441")]]
    lines = register_lines(reader.logits, opened)
    # (a number none of whose digits is read in any line would be left out: none is here)
    assert [digits for _, digits in lines] == [label for _, label in crops] + ["25441"]
    crop_heights = [image.height for image, _ in opened[:-1]]
    assert np.median([line.height for line, _ in lines[:-1]]) < 0.5 * np.median(crop_heights)
    cheque, digits = lines[-1]
    assert digits == "25441" and cheque.size == opened[-1][0].size
    # Before a model can choose among a crop's lines (training from scratch), the numbers in
    # which find_lines finds one line train as it: the cheque whole, a crop's one line.
    single = single_lines(opened)
    assert 0 < len(single) < len(opened) and single[-1][1] == "25441"
    assert single[-1][0].size == opened[-1][0].size
    for image, label in opened[:-1]:
        for line, text in single_lines([(image, label)]):
            assert text == label and line.height < image.height and line.width <= image.width


def test_each_epoch_trains_on_strings_of_its_own():
    """train_reader's fresh strings: an epoch's seed gives other synthetic numbers and other
    varied copies of the real ones, as many; without them, two fits (before and after the
    register lines join) on one set."""
    from digitrec.training import synthetic_strings
    from digitrec.training.number_reader import _fits, training_strings

    bank = synthetic_strings.load_bank(("mnist",), per_source=100)
    real = [(imaging.open_image(CHEQUE), "25441")]
    first, second = (training_strings(bank, 16, real, 2, seed, workers=1) for seed in (0, 1000))
    assert first[0].shape == second[0].shape and first[1].shape == second[1].shape
    assert not np.array_equal(first[0], second[0])
    again = training_strings(bank, 16, real, 2, 0, workers=1)
    np.testing.assert_array_equal(first[0], again[0])  # the same seed, the same strings
    assert _fits(4, 2, fresh_strings=True) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert _fits(4, 2, fresh_strings=False) == [(0, 2), (2, 4)]
    assert _fits(4, 4, fresh_strings=False) == [(0, 4)]  # no register lines to join


def test_the_command_line_fine_tunes_the_shipped_reader_on_a_users_numbers(tmp_path):
    """A bank with its own cheques and no handwriting folder: `digitrec train-reader --from
    shipped --extra-data FOLDER` writes a run that starts from the shipped reader's weights, is
    validated on the last fifth of the user's numbers, and that `digitrec read --reader RUN`
    reads with."""
    import csv
    import json
    import os
    import subprocess
    import sys

    from digitrec import datasets
    from test_cli import digitrec

    cheques = tmp_path / "our-cheques"
    cheques.mkdir()
    amounts = datasets.folder_numbers(HANDWRITING / "orand_car_a", "fit")[:30]
    with open(cheques / "labels.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["filename", "label"])
        for path, label in amounts:
            (cheques / path.name).symlink_to(path)
            writer.writerow([path.name, label])
    run = tmp_path / "bank-reader"
    environment = {key: value for key, value in os.environ.items()
                   if key != "DIGITREC_HANDWRITING"}
    result = subprocess.run(
        [sys.executable, "-m", "digitrec.cli", "train-reader", "--out", str(run), "--from",
         "shipped", "--extra-data", str(cheques), "--synthetic", "64", "--recomposed", "16",
         "--epochs", "1", "--extra-repeat", "2"],
        capture_output=True, text=True, timeout=900, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((run / "config.json").read_text())
    assert Path(config["start_from"]).name == "default_reader" and config["handwriting"] is None
    assert config["recomposed"] == 16  # none made: no handwriting folder, no digit boxes
    assert config["extra_copies"] == 2
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation_numbers"] == 6
    assert metrics["own_lines"] >= 20  # of the 24 that train, each found as a line at once
    reading = digitrec("read", "--json", "--reader", run, CHEQUE)
    assert reading.returncode == 0 and json.loads(reading.stdout)["text"].isdigit()
    alone = subprocess.run(
        [sys.executable, "-m", "digitrec.cli", "train-reader", "--out", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=300, env=environment)
    assert alone.returncode != 0 and "--extra-data" in alone.stderr
    assert "Traceback" not in alone.stderr
    (cheques / "broken.jpg").write_bytes(b"not a JPEG")  # named at once, before any string
    with open(cheques / "labels.csv", "a", newline="") as file:
        file.write("broken.jpg,123\n")
    broken = subprocess.run(
        [sys.executable, "-m", "digitrec.cli", "train-reader", "--out", str(tmp_path / "broken"),
         "--from", "shipped", "--extra-data", str(cheques)],
        capture_output=True, text=True, timeout=300, env=environment)
    assert broken.returncode != 0 and "broken.jpg" in broken.stderr
    assert "Traceback" not in broken.stderr and "training strings" not in broken.stdout


def test_a_users_labels_must_be_digits(tmp_path):
    from digitrec.training.number_reader import labelled_numbers

    assert labelled_numbers(HANDWRITING / "multi_digit")[0][1] == "2026"
    (tmp_path / "labels.csv").write_text("filename,label\na.png,12\nb.png,12.50\n")
    with pytest.raises(ValueError, match="line 3: the label must be 1 to 10 digits"):
        labelled_numbers(tmp_path)
    with pytest.raises(ValueError, match="no labels.csv"):
        labelled_numbers(tmp_path / "missing")
    (tmp_path / "labels.csv").write_text("filename,label\n")  # the header alone
    with pytest.raises(ValueError, match="no image is listed in labels.csv; add a row"):
        labelled_numbers(tmp_path)


def test_a_cheque_saved_with_few_colours_is_read_as_the_cheque_is(recognizer):
    """A cheque saved bilevel (dithered, as Pillow's "1" mode does) or with the web's 216
    colours (dithered): to_grey averages the dither out (a 3x3 mean) as reducing a larger
    image does. Before, read read 10 of these 20 amounts bilevel, and only 5 of them were "ok"
    with the web's colours (15 as the cheques are)."""
    from digitrec import datasets

    amounts = datasets.folder_numbers(HANDWRITING / "orand_car_a", "fit")[:20]
    bilevel = web_ok = 0
    for path, label in amounts:
        cheque = Image.open(path)
        bilevel += recognizer.read(cheque.convert("1"))["text"] == label
        web = cheque.convert("RGB").convert("P", palette=Image.Palette.WEB,
                                            dither=Image.Dither.FLOYDSTEINBERG)
        answer = recognizer.read(web)
        web_ok += answer["status"] == "ok" and answer["text"] == label
    assert bilevel >= 18 and web_ok >= 13, (bilevel, web_ok)


def test_a_lone_one_in_a_bilevel_strip_is_unsure(recognizer):
    """A register crop scanned in black and white (thresholded at mid-grey): the threshold
    breaks the column's rule and faint digits into pieces that read as a confident 1. Three
    held-out crops ("20", "10", "36") read "1" "ok" so before the twenty-fifth rule; now
    "unsure", saying why. The grey crops are read as before, and a crop of a real "1" keeps
    its "ok" in grey."""
    from digitrec.read_rules import LONE_ONE_REASON

    crops = held_out_registers(190)
    for index, label in ((9, "20"), (96, "10"), (189, "36")):
        path, crop_label = crops[index]
        assert crop_label == label
        with Image.open(path) as crop:
            scanned = crop.convert("L").point(lambda value: 255 if value > 128 else 0)
            answer = recognizer.read(scanned.convert("1", dither=Image.Dither.NONE))
        assert (answer["text"], answer["status"], answer["reason"]) == \
            ("1", "unsure", LONE_ONE_REASON), (index, answer)
        assert [digit["status"] for digit in answer["digits"]] == ["unsure"]
        assert recognizer.read(path)["text"] == label
    one, label = crops[85]
    assert label == "1"
    answer = recognizer.read(one)
    assert (answer["text"], answer["status"]) == ("1", "ok") and "reason" not in answer


def test_a_lone_one_in_a_strip_without_a_scanners_margin_is_unsure(recognizer, user_digits):
    """A tight photo of a 7 (taller than wide, no scanner's margin): find_lines takes its bar
    for a ruling line, and its stem read "1" "ok" before the thirty-ninth rule; now "unsure",
    saying why (predict reads it 7). A register crop of a real "1", with its scanner's
    margin, keeps its "ok"."""
    from digitrec.read_rules import LONE_ONE_UNFRAMED_REASON

    (seven,) = [row for row in user_digits if row["filename"] == "krisut01/7.png"]
    answer = recognizer.read(seven["path"])
    assert (answer["text"], answer["status"], answer["reason"]) == \
        ("1", "unsure", LONE_ONE_UNFRAMED_REASON), answer
    assert [digit["status"] for digit in answer["digits"]] == ["unsure"]
    assert recognizer.predict([seven["path"]])[0] == 7
    crop = HANDWRITING / "register_numbers" / "images" / "born_K2700_0109a-FM_row_id_0.jpg"
    assert not imaging.has_scanner_margin(imaging.to_grey(imaging.open_image(seven["path"])))
    assert imaging.has_scanner_margin(imaging.to_grey(imaging.open_image(crop)))
    answer = recognizer.read(crop)
    assert (answer["text"], answer["status"]) == ("1", "ok") and "reason" not in answer


def test_a_dithered_register_crop_is_smoothed_as_one_and_read(recognizer):
    """A register crop made black and white by Pillow's convert("1") (Floyd-Steinberg's dither)
    is told from one thresholded at mid-grey by its isolated dots, judged on the whole crop
    and carried to the crops read from it (the line, each digit's box), and smoothed by a
    Gaussian instead of a 3x3 mean: 18 of the first 20 held-out crops read (7 with the mean,
    before the thirtieth rule); a thresholded crop is judged not dithered, its page and boxes
    too."""
    from digitrec.imaging.ink import DITHERED

    right = 0
    for path, label in held_out_registers(20):
        with Image.open(path) as crop:
            dithered = crop.convert("1")
            thresholded = crop.convert("L").point(lambda value: 255 if value > 128 else 0)
            thresholded = thresholded.convert("1", dither=Image.Dither.NONE)
        assert imaging.is_dithered(dithered) and not imaging.is_dithered(thresholded), path
        right += recognizer.read(dithered)["text"] == label
    assert right >= 16, right
    page, _ = imaging.page_to_read(thresholded)
    assert page.info[DITHERED] is False and thresholded.info.get(DITHERED) is None
    box = imaging.cut_box(page, (10, 10, 20, 30))
    assert box.info[DITHERED] is False
    assert imaging.page_to_read(dithered)[0].info[DITHERED] is True
