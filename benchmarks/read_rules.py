"""How read's rules are chosen, on the validation numbers: for each level of the digit model's
confidence, (1) the share of "ok" readings that are exact, and their coverage, when "ok" asks
that level of every digit (recognizer.AGREEMENT_DIGIT_CONFIDENCE), and (2) the numbers read
exactly when, where the two readers disagree on a whole image, segmentation's reading is kept
if it reaches that level in every digit (recognizer.SEGMENTATION_PREFERRED), else the number
reader's.

    DIGITREC_DATA=../shared/data python benchmarks/read_rules.py

The validation numbers are the ones the shipped reader's training held back (ORAND-CAR-A's last
50 fit amounts, the crops of the last fit registers: ``training.number_reader``) and 60
five-digit numbers of MNIST test digits 5,000 to 5,299 on ruled paper (the benchmark's own,
benchmarks/reading.py, are digits 0 to 299). No held-out number is read. The "ok" level kept is
the lowest multiple of 0.05 at which at least 98% of all the validation numbers' "ok" readings
are exact (issue 20's goal); the text level kept is the highest that reads the most validation
numbers exactly (of levels that tie, the one that keeps the number reader's reading most).
"""

import argparse
import os

import numpy as np

from digitrec import datasets, imaging
from digitrec.recognizer import AGREEMENT_CONFIDENCE, Recognizer
from digitrec.training.number_reader import ORAND, register_split
from inference import HANDWRITING  # benchmarks/inference.py, beside this script
from reading import ruled_numbers  # benchmarks/reading.py, beside this script


def readings(recognizer, items) -> list[dict]:
    """For each item: its label, the number reader's text and sequence confidence, whether its
    line is a part of the image (a document's crop), and segmentation's text, status and digit
    confidences on that line."""
    rows = []
    for item, label in items:
        image = item if not isinstance(item, (str, os.PathLike)) else imaging.open_image(item)
        reading = recognizer.reader_.read(image)
        try:
            segmented = recognizer._read_by_segmentation(image, reading["line"])
        except imaging.ImageError:
            segmented = {"text": "", "status": "no_digit", "digits": []}
        rows.append({"label": label, "learned": reading["text"],
                     "sure": float(reading["sequence_confidence"]),
                     "in_document": reading["line"] != (0, 0, *image.size),
                     "segmented": segmented["text"], "status": segmented["status"],
                     "confidences": [digit["confidence"] for digit in segmented["digits"]]})
    return rows


def ok_cell(rows, level) -> tuple[str, float, int]:
    """The "ok" readings' share exact and coverage at this level of every digit's confidence."""
    ok = [row["label"] == row["learned"] for row in rows
          if row["learned"] and row["learned"] == row["segmented"]
          and row["sure"] >= AGREEMENT_CONFIDENCE and min(row["confidences"]) >= level]
    precision = np.mean(ok) if ok else float("nan")
    return (f"{precision:.1%} ({len(ok) - sum(ok)} wrong), {len(ok) / len(rows):.1%}",
            precision, len(ok))


def text(row, level) -> str:
    """read's text when segmentation's reading is preferred at this level (recognizer.read)."""
    if row["learned"] == row["segmented"] or not row["learned"] or (
            row["status"] == "ok" and not row["in_document"]
            and min(row["confidences"]) >= level):
        return row["segmented"]
    return row["learned"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("DIGITREC_DATA"))
    arguments = parser.parse_args()
    amounts = datasets.folder_numbers(HANDWRITING / ORAND, "fit")
    _, registers = register_split(HANDWRITING, 150)  # as train_reader's defaults hold them back
    ruled = ruled_numbers(arguments.data_dir, 1060)[1000:]  # digits 5,000 to 5,299
    recognizer = Recognizer.load()
    sets = {"cheques": readings(recognizer, amounts[-50:]),
            "registers": readings(recognizer, registers),
            "ruled paper": readings(recognizer, ruled)}
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
    print("| segmentation preferred at | " + " | ".join(f"{name}: exact" for name in sets) + " |")
    print("|---:|" + "---:|" * len(sets))
    exact = {}
    for level in levels:
        counts = [sum(text(row, level) == row["label"] for row in rows) for rows in sets.values()]
        exact[level] = counts[-1]
        print(f"| {level:.2f} | " + " | ".join(
            f"{count} of {len(rows)}" for count, rows in zip(counts, sets.values())) + " |")
    best = max(exact.values())
    print(f"highest level reading the most ({best}) exactly: "
          f"{max(level for level in levels if exact[level] == best):.2f}")


if __name__ == "__main__":
    main()
