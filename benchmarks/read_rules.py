"""How read's rules are chosen, on the validation numbers: for each level of the digit model's
confidence, (1) the share of "ok" readings that are exact, and their coverage, when "ok" asks
segmentation to agree and that level of every digit (read_rules.AGREEMENT_DIGIT_CONFIDENCE), (2)
the numbers read exactly when, where the two readers disagree on a whole image, the text is
always the number reader's, always segmentation's, or the likelier of the two to both models
together (read_rules.reading_score), without or with (read) the number reader's text with one
digit changed to the digit model's where that is likelier still (read_rules.likeliest_reading),
(3) with the level of (1), read's "ok" readings, their share exact and the numbers read exactly
when the number reader's reading is also "ok", without segmentation, where the digit model reads
each of its digits the same in the digit's box with that level, and the share of numbers that
skips segmentation so (read confirms at read_rules.CONFIRMATION_CONFIDENCE), and (4) with those
levels, read's "ok" readings when "ok" also needs the number reader's probability of the text,
summed over its paths, to reach each level (read_rules.TEXT_PROBABILITY). Tables (1) and (3)
leave that out, as they did when their levels were chosen.

    DIGITREC_DATA=../shared/data python benchmarks/read_rules.py [--reader RUN] [--ruled N]

The validation numbers are the ones the reader's training held back (ORAND-CAR-A's last fit
amounts and the crops of the last fit registers, as many as its config.json's ``validation``
and ``register_validation`` say: ``training.number_reader``) and 60 (``--ruled``: up to 1,000)
five-digit numbers of MNIST test digits 5,000 to 5,299 (to 9,999) on ruled paper (the
benchmark's own, benchmarks/reading.py, are digits 0 to 299). No held-out number is read.
The "ok" level kept (1) is the lowest multiple of 0.05 at which at least 98% of all the
validation numbers' "ok" readings are exact (issue 20's goal); the text probability's level
kept (4) is the lowest at which fewer of all the validation "ok" readings are wrong than
without it.
"""

import argparse
import os

import numpy as np

from digitrec import answers, imaging, run_folder
from digitrec.read_rules import (CONFIRMATION_CONFIDENCE, agreement, confirmations,
                                 confirmed_in_boxes, likeliest_reading, prefers_segmentation,
                                 segmentation_line, sure_of_text)
from digitrec.recognizer import DEFAULT_READER, Recognizer
from digitrec.training.number_reader import amount_split, register_split
from inference import HANDWRITING  # benchmarks/inference.py, beside this script
from reading import ruled_numbers  # benchmarks/reading.py, beside this script


def readings(recognizer, items) -> list[dict]:
    """For each item: its label, the number reader's reading, the digit model's probabilities
    in each of its digits' boxes and its confidence in each digit read there (None for none,
    0 for a box with too little ink),
    segmentation's answer on the part of the image it reads (read_rules.segmentation_line),
    and whether that is a line of a document's crop: what read's rules look at."""
    rows = []
    for item, label in items:
        image = item if not isinstance(item, (str, os.PathLike)) else imaging.open_image(item)
        reading = recognizer.reader_.read(image)
        line = segmentation_line(image, reading)
        try:
            segmented = recognizer._read_by_segmentation(image, line)
        except imaging.ImageError:
            segmented = answers.no_number()
        in_boxes = recognizer._box_probabilities(image, reading)
        rows.append({"label": label, "reading": reading, "segmented": segmented,
                     "box_probabilities": in_boxes,
                     "confirmations": confirmations(reading, in_boxes),
                     "in_document": line != (0, 0, *image.size)})
    return rows


def ok_cell(rows, level) -> tuple[str, float, int]:
    """The "ok" readings' share exact and coverage at this level of every digit's confidence."""
    ok = [row["label"] == row["reading"]["text"] for row in rows if agreed(row, level)]
    precision = np.mean(ok) if ok else float("nan")
    return (f"{precision:.1%} ({len(ok) - sum(ok)} wrong), {len(ok) / len(rows):.1%}",
            precision, len(ok))


def agreed(row, level, text_level: float = 0.0) -> bool:
    """Whether read's two readers agree, "ok", with this level of the digit model's confidence
    in each digit and ``text_level`` of the number reader's text probability
    (read_rules.agreement; 0: any)."""
    answer = agreement(row["reading"], row["segmented"], level, text_level)
    return answer is not None and answer["status"] == "ok"


def confirmed(row, level) -> bool:
    """Whether read answers with the number reader's reading, "ok", without segmentation, with
    this level of confirmation (read_rules.confirmed_in_boxes)."""
    return confirmed_in_boxes(row["reading"], row["confirmations"], level)


def text(row, choice: str = "likelier") -> str:
    """read's text where its two readers disagree on a whole image: the ``"likelier"`` reading
    (read_rules.prefers_segmentation, and the number reader's with a digit changed where that
    is likelier, read_rules.likeliest_reading: read), the likelier reading with ``"no digit
    changed"``, always ``"segmentation"``'s, or always the ``"number reader"``'s
    (segmentation's only where the number reader read no digit)."""
    reading, segmented = row["reading"], row["segmented"]
    same_or_none = reading["text"] == segmented["text"] or not reading["text"]
    if choice in ("likelier", "no digit changed"):
        segmentation = prefers_segmentation(reading, segmented, row["in_document"],
                                            row["confirmations"])
        if not segmentation and not row["in_document"] and choice == "likelier":
            return likeliest_reading(reading, row["box_probabilities"])["text"]
    elif choice == "segmentation":
        segmentation = same_or_none or (not row["in_document"] and bool(segmented["text"]))
    else:
        segmentation = same_or_none
    return segmented["text"] if segmentation else reading["text"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("DIGITREC_DATA"))
    parser.add_argument("--reader", help="a number reader's run folder (default: the shipped)")
    parser.add_argument("--ruled", type=int, default=60,
                        help="validation ruled-paper numbers, 1 to 1,000 (60 chose the shipped "
                             "levels; 300 tell readers apart better: docs/reading.md)")
    arguments = parser.parse_args()
    if not 1 <= arguments.ruled <= 1000:
        parser.error(f"--ruled must be 1 to 1000, got {arguments.ruled}")
    # The numbers the reader's training held back (its config.json says how many).
    config = run_folder.read_record(arguments.reader or DEFAULT_READER, run_folder.CONFIG)
    _, amounts = amount_split(HANDWRITING, config["validation"])  # none when all trained
    _, registers = register_split(HANDWRITING, config["register_validation"])
    ruled = ruled_numbers(arguments.data_dir, 1000 + arguments.ruled)[1000:]  # from digit 5,000
    recognizer = Recognizer.load(reader=arguments.reader)
    sets = {"cheques": readings(recognizer, amounts),
            "registers": readings(recognizer, registers),
            "ruled paper": readings(recognizer, ruled)}
    sets = {name: rows for name, rows in sets.items() if rows}  # a column for each set read
    sets["all"] = [row for rows in sets.values() for row in rows]
    levels = [round(level, 2) for level in np.arange(0.40, 0.951, 0.05)]
    print("| digit confidence | " + " | ".join(f"{name}: ok exact, coverage" for name in sets)
          + " |")
    print("|---:|" + "---:|" * len(sets))
    ok_level = None
    for level in levels:
        cells = [ok_cell(rows, level) for rows in sets.values()]
        if ok_level is None and cells[-1][2] and cells[-1][1] >= 0.98:
            ok_level = level
        print(f"| {level:.2f} | " + " | ".join(cell for cell, _, _ in cells) + " |")
    print(f"lowest level with 98% of all ok readings exact: {ok_level:.2f}\n"
          if ok_level is not None else "no level reaches 98%\n")
    print("| where they disagree on a whole image, the text of | "
          + " | ".join(f"{name}: exact" for name in sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for choice in ("number reader", "segmentation", "no digit changed", "likelier"):
        counts = [sum(text(row, choice) == row["label"] for row in rows) for rows in sets.values()]
        print(f"| {choice}{' (read)' if choice == 'likelier' else ''} | " + " | ".join(
            f"{count} of {len(rows)}" for count, rows in zip(counts, sets.values())) + " |")
    ok_level = ok_level if ok_level is not None else 1.0
    print_confirmation(sets, levels, ok_level)
    print_text_probability(sets, ok_level, CONFIRMATION_CONFIDENCE)


def print_confirmation(sets, levels, ok_level) -> None:
    """Table (3): read's "ok" and exact readings when the digit model's confirmation in the
    number reader's boxes at each level also makes "ok", without segmentation."""
    print(f"\nWith segmentation's level {ok_level:.2f}; confirmed in the number reader's boxes "
          f"at (read: {CONFIRMATION_CONFIDENCE:.2f}):")
    print("| confirmed at | " + " | ".join(
        f"{name}: ok exact, coverage; exact; no segmentation" for name in sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for level in [None] + levels:
        cells = []
        for rows in sets.values():
            is_confirmed = [level is not None and confirmed(row, level) for row in rows]
            ok = [row["label"] == row["reading"]["text"]
                  for row, sure in zip(rows, is_confirmed) if sure or agreed(row, ok_level)]
            exact = sum((row["reading"]["text"] if sure else text(row)) == row["label"]
                        for row, sure in zip(rows, is_confirmed))
            precision = np.mean(ok) if ok else float("nan")
            cells.append(f"{precision:.1%} ({len(ok) - sum(ok)} wrong), {len(ok) / len(rows):.1%}"
                         f"; {exact} of {len(rows)}; {np.mean(is_confirmed):.0%}")
        print(f"| {'never' if level is None else f'{level:.2f}'} | " + " | ".join(cells) + " |")


def print_text_probability(sets, ok_level, confirmation_level) -> None:
    """Table (4): read's "ok" readings (confirmed in the number reader's boxes at
    ``confirmation_level``, or agreed at ``ok_level``) when "ok" also needs the number reader's
    probability of the text to reach each level (read_rules.sure_of_text), and the level kept:
    the lowest at which fewer of all the validation "ok" readings are wrong than without it."""
    print(f"\nWith those levels ({ok_level:.2f}, {confirmation_level:.2f}), \"ok\" also "
          "needing the number reader's probability of the text at:")
    print("| text probability | " + " | ".join(f"{name}: ok exact, coverage" for name in sets)
          + " |")
    print("|---:|" + "---:|" * len(sets))
    wrong_without, kept = None, None
    for level in [0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999]:
        cells = []
        for rows in sets.values():
            ok = [row["label"] == row["reading"]["text"] for row in rows
                  if (confirmed(row, confirmation_level) and sure_of_text(row["reading"], level))
                  or agreed(row, ok_level, level)]
            precision = np.mean(ok) if ok else float("nan")
            cells.append(f"{precision:.1%} ({len(ok) - sum(ok)} wrong), {len(ok) / len(rows):.1%}")
        wrong = len(ok) - sum(ok)  # the last set: all
        wrong_without = wrong if wrong_without is None else wrong_without
        if kept is None and wrong < wrong_without:
            kept = level
        print(f"| {'any' if level == 0 else f'{level:.3g}'} | " + " | ".join(cells) + " |")
    print(f"lowest level with fewer wrong ok readings: {kept}" if kept is not None
          else "no level has fewer wrong ok readings")


if __name__ == "__main__":
    main()
