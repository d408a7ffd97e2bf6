"""Where read's time goes: each part of ``Recognizer.read`` timed on the held-out cheques and
register crops, in milliseconds per image and as a share of read's whole time.

    python benchmarks/reading_time.py [--limit N]   (the first N of each set, default 300)

The parts (nested: segmentation holds its segmenting, the candidate cuts scored and the second
view; the digit model's runs happen inside several parts): opening the file; the number reader
(``number_reader.read_number``: finding the lines, the CRNN, decoding, a document's line read
again wider); making a photographed page even and level or a leaning strip level
(``imaging.page_to_read``); the box check (the digit model
on each digit's box, ``Recognizer._box_probabilities``); segmentation (``_read_by_segmentation``),
within it ``segmentation.segment`` and, within that, ``cuts.best_split`` (the runs between
candidate cuts, each read by the digit model), and the second view of each digit
(``_second_view``); and, across all of them, the digit model's ONNX runs (``predict_proba``).
Each part is timed by wrapping its function, so the figures hold a few microseconds of timing
per call. benchmarks/reading.py gives read's time beside RapidOCR's; this script says which
part to make faster (issue 20's goal: a fifth of RapidOCR's time).
"""

import argparse
import collections
import functools
import time

from digitrec import imaging, number_reader, recognizer
from digitrec.imaging import segmentation
from digitrec.recognizer import Recognizer
from reading import held_out  # benchmarks/reading.py, beside this script

PARTS = [  # (label, owner of the function, its name)
    ("open the file", recognizer, "_open"),
    ("number reader", number_reader, "read_number"),
    ("page made even and level", imaging, "page_to_read"),
    ("box check", Recognizer, "_box_probabilities"),
    ("segmentation", Recognizer, "_read_by_segmentation"),
    ("in segmentation: segment", segmentation, "segment"),
    ("in segment: best_split (cuts scored)", segmentation, "best_split"),
    ("in segmentation: second view", Recognizer, "_second_view"),
    ("digit model runs (in all parts)", Recognizer, "predict_proba"),
]


def timed(totals: collections.Counter, label: str, function):
    """``function``, adding the seconds each call takes to ``totals[label]``."""
    @functools.wraps(function)
    def wrapper(*arguments, **keywords):
        started = time.perf_counter()
        try:
            return function(*arguments, **keywords)
        finally:
            totals[label] += time.perf_counter() - started
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=300, help="images of each set")
    arguments = parser.parse_args()
    sets = {"cheques": held_out("orand_car_a", arguments.limit),
            "registers": held_out("register_numbers", arguments.limit)}
    reader = Recognizer.load()
    totals = collections.Counter()
    for label, owner, name in PARTS:
        setattr(owner, name, timed(totals, label, getattr(owner, name)))
    print("| part | " + " | ".join(f"{name}: ms per image, share" for name in sets) + " |")
    print("|---|" + "---:|" * len(sets))
    rows = {label: [] for label, _, _ in PARTS}
    whole = []
    for items in sets.values():
        for path, _ in items[:5]:  # warm-up: sessions, caches
            reader.read(path)
        totals.clear()
        started = time.perf_counter()
        for path, _ in items:
            reader.read(path)
        seconds = time.perf_counter() - started
        whole.append(f"{1000 * seconds / len(items):.1f}, 100%")
        for label in rows:
            rows[label].append(f"{1000 * totals[label] / len(items):.1f}, "
                               f"{totals[label] / seconds:.0%}")
    print("| read, whole | " + " | ".join(whole) + " |")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
