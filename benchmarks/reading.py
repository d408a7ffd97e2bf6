"""Reading whole numbers, side by side in one run: digitrec's read (its number reader checked
by the digit model in each digit's box, or against segmentation), the number reader and
segmentation each alone, and RapidOCR's recogniser as the peer.

    DIGITREC_DATA=../shared/data python benchmarks/reading.py [--reader RUN] [--limit N]

Sets (all real handwriting, none trained on): ORAND-CAR-A's held-out half of cheque amounts,
the held-out registers of ``register_numbers`` (split by register, see
``datasets.folder_files``), ``multi_digit`` (canvas drawings), and five-digit numbers of MNIST
test digits on ruled paper (``benchmarks/ruled_paper.py``'s pages, lines at grey 140, 3 degrees).
``read`` is also measured told each number's count of digits (``read(digits=N)``, as for a
meter reading or a form's boxes). For each reader and set it prints: exact readings, readings
whose text or ``alternative`` (read's other reader's number, where the two disagree) is exact,
per-digit accuracy (1 - the edit distance between reading and label over the label's length,
summed over the set), the share of "ok" readings that are exact (precision) and the share of
readings that are "ok" (coverage), and milliseconds per image in process (decoding included);
then, for read, the precision and coverage of its "ok" answers whose ``confidence`` (the number
reader's probability of the text) also reaches a stricter level, as a tool may ask.
RapidOCR 3.10 (PaddleOCR's PP-OCR recogniser on ONNX Runtime, recognition only, no detection:
``pip install 'digitrec[bench]'``) reads each image whole; its digits are its text's digits,
and its "ok" is a score of 0.9 or more. The machine is shared: read the time ratios, not the
absolute milliseconds.
"""

import argparse
import os
import time

import numpy as np

from digitrec import datasets, evaluation, imaging
from digitrec.recognizer import SEGMENTATION, Recognizer
from inference import HANDWRITING  # benchmarks/inference.py, beside this script
from ruled_paper import on_ruled_paper  # benchmarks/ruled_paper.py, beside this script


def ruled_numbers(data_dir, count: int):
    """``count`` five-digit numbers of MNIST test digits on ruled paper, as PIL images."""
    _, (digits, labels) = datasets.load("mnist", data_dir)
    return [(on_ruled_paper(digits[start:start + 5], line_level=140, degrees=3),
             "".join(str(label) for label in labels[start:start + 5]))
            for start in range(0, count * 5, 5)]


def held_out(folder: str, limit: int | None = None) -> list[tuple]:
    """The held-out numbers of a folder of ../shared/handwriting (the first ``limit``)."""
    return datasets.folder_numbers(HANDWRITING / folder, "holdout")[:limit]


def digitrec_reader(recognizer, told: bool = False):
    """read; ``told``: held to the label's number of digits (``read(digits=N)``), as a user
    who knows the field's length (a meter reading) asks."""
    def read(item, digits):
        reading = recognizer.read(item, digits if told else None)
        return (reading["text"], reading["status"] == "ok", reading.get("alternative"),
                reading["confidence"])
    return read


def number_reader_alone(recognizer):
    from PIL import Image

    def read(item, digits):
        image = item if isinstance(item, Image.Image) else imaging.open_image(item)
        reading = recognizer.reader_.answer(image)
        return reading["text"], reading["status"] == "ok", None, None
    return read


def rapidocr_reader():
    from PIL import Image
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})

    def read(item, digits):
        image = item if isinstance(item, Image.Image) else imaging.open_image(item)
        result = engine(np.asarray(image.convert("RGB")), use_det=False, use_cls=False,
                        use_rec=True)
        text = "".join(result.txts or ())
        score = min(result.scores) if result.scores else 0.0
        digits_read = "".join(character for character in text if character.isdigit())
        return digits_read, score >= 0.9, None, None
    return read


STRICTER = (0.9, 0.99, 0.999)  # levels of an answer's confidence a tool may ask beside "ok"


def measure(read, items) -> dict:
    """One reader on one set: :func:`digitrec.evaluation.reading_figures`, the stricter
    levels' precision and coverage, and milliseconds per image."""
    labels, texts, statuses, alternatives, confidences = [], [], [], [], []
    started = time.perf_counter()
    for item, label in items:
        text, is_ok, alternative, confidence = read(item, len(label))
        labels.append(label)
        texts.append(text)
        statuses.append("ok" if is_ok else "unsure")
        alternatives.append(alternative)
        confidences.append(confidence)
    seconds = time.perf_counter() - started
    figures = evaluation.reading_figures(labels, texts, statuses, alternatives)
    stricter = {}
    for level in STRICTER:
        chosen = [text == label for text, label, status, confidence
                  in zip(texts, labels, statuses, confidences)
                  if status == "ok" and confidence is not None and confidence >= level]
        stricter[level] = (sum(chosen) / len(chosen) if chosen else float("nan"),
                           len(chosen) / len(items))
    precision = figures["ok_precision"]
    return {"exact": figures["exact"], "either": figures["text_or_alternative"],
            "per_digit": figures["per_digit"],
            "precision": float("nan") if precision is None else precision,
            "coverage": figures["ok_coverage"], "stricter": stricter,
            "ms": seconds / len(items) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reader", help="a number reader's run folder (default: the shipped)")
    parser.add_argument("--limit", type=int, help="at most this many images of each set")
    parser.add_argument("--data-dir", default=os.environ.get("DIGITREC_DATA"))
    parser.add_argument("--no-peer", action="store_true", help="leave RapidOCR out")
    arguments = parser.parse_args()
    sets = {"ORAND-CAR-A, held-out half": held_out("orand_car_a", arguments.limit),
            "registers, held-out registers": held_out("register_numbers", arguments.limit),
            "multi_digit (canvas)": datasets.folder_numbers(
                HANDWRITING / "multi_digit")[:arguments.limit],
            "ruled paper, five digits": ruled_numbers(arguments.data_dir,
                                                      min(arguments.limit or 60, 60))}
    recognizer = Recognizer.load(reader=arguments.reader)
    readers = {"digitrec read": digitrec_reader(recognizer),
               "digitrec read, told the number of digits": digitrec_reader(recognizer, True),
               "digitrec number reader alone": number_reader_alone(recognizer),
               "digitrec segmentation alone": digitrec_reader(
                   Recognizer.load(reader=SEGMENTATION))}
    if not arguments.no_peer:
        readers["RapidOCR 3.10 recogniser"] = rapidocr_reader()
    print("| set | images | reader | exact | text or alternative | per digit | ok precision | "
          "ok coverage | ms/image |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    stricter = {}
    for set_name, items in sets.items():
        for reader_name, read in readers.items():
            result = measure(read, items)
            print(f"| {set_name} | {len(items)} | {reader_name} | {result['exact']:.1%} | "
                  f"{result['either']:.1%} | {result['per_digit']:.1%} | "
                  f"{result['precision']:.1%} | {result['coverage']:.1%} | "
                  f"{result['ms']:.1f} |", flush=True)
            if reader_name == "digitrec read":
                stricter[set_name] = result["stricter"]
    print("\nread's \"ok\" answers whose confidence also reaches a stricter level: precision, "
          "coverage")
    print("| set | " + " | ".join(f"confidence >= {level}" for level in STRICTER) + " |")
    print("|---|" + "---:|" * len(STRICTER))
    for set_name, cells in stricter.items():
        print(f"| {set_name} | " + " | ".join(
            f"{precision:.1%}, {coverage:.1%}" for precision, coverage in cells.values()) + " |")


if __name__ == "__main__":
    main()
