"""How read's "ok" rule is chosen: on the validation numbers, the share of "ok" readings that are
exact, and their coverage, for each level of the digit model's confidence that "ok" asks of
every digit (recognizer.AGREEMENT_DIGIT_CONFIDENCE), with the other rules as shipped.

    DIGITREC_DATA=../shared/data python benchmarks/read_rules.py

The validation numbers are the ones the shipped reader's training held back (ORAND-CAR-A's last
50 fit amounts, the crops of the last fit registers: ``training.number_reader``) and 60
five-digit numbers of MNIST test digits 5,000 to 5,299 on ruled paper (the benchmark's own,
benchmarks/reading.py, are digits 0 to 299). No held-out number is read. The level kept is the
lowest multiple of 0.05 at which at least 98% of all the validation numbers' "ok" readings are
exact (issue 20's goal).
"""

import argparse
import os

import numpy as np

from digitrec import datasets, imaging
from digitrec.recognizer import AGREEMENT_CONFIDENCE, Recognizer
from digitrec.training.number_reader import ORAND, register_split
from inference import HANDWRITING  # benchmarks/inference.py, beside this script
from reading import ruled_numbers  # benchmarks/reading.py, beside this script


def readings(recognizer, items) -> list[tuple[str, str, float, list[float]]]:
    """(label, text both readers agree on or "", the number reader's sequence confidence,
    segmentation's digit confidences) for each item."""
    rows = []
    for item, label in items:
        image = item if not isinstance(item, (str, os.PathLike)) else imaging.open_image(item)
        reading = recognizer.reader_.read(image)
        try:
            segmented = recognizer._read_by_segmentation(image, reading["line"])
        except imaging.ImageError:
            segmented = {"text": "", "digits": []}
        agreed = reading["text"] if reading["text"] == segmented["text"] else ""
        rows.append((label, agreed, float(reading["sequence_confidence"]),
                     [digit["confidence"] for digit in segmented["digits"]]))
    return rows


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
    print("| digit confidence | " + " | ".join(f"{name}: ok exact, coverage" for name in sets)
          + " |")
    print("|---:|" + "---:|" * len(sets))
    kept = None
    for level in np.arange(0.40, 0.951, 0.05):
        cells = []
        for name, rows in sets.items():
            ok = [label == text for label, text, sure, confidences in rows
                  if text and sure >= AGREEMENT_CONFIDENCE and min(confidences) >= level]
            precision = np.mean(ok) if ok else float("nan")
            cells.append(f"{precision:.1%} ({len(ok) - sum(ok)} wrong), {len(ok) / len(rows):.1%}")
            if name == "all" and kept is None and ok and precision >= 0.98:
                kept = level
        print(f"| {level:.2f} | " + " | ".join(cells) + " |")
    print(f"lowest level with 98% of all ok readings exact: {kept:.2f}" if kept is not None
          else "no level reaches 98%")


if __name__ == "__main__":
    main()
