"""Shows that `make default-reader`'s command reproduces the shipped number reader.

    DIGITREC_DATA=../shared/data python benchmarks/reproduce_default_reader.py

Re-trains with `digitrec train-reader` and the settings of the shipped reader's config.json
(``src/digitrec/default_reader``; about 75 minutes here), then compares the new reader with
the shipped one: their Keras weights, their validation figures (metrics.json), their logits on
the first 100 held-out register crops and cheques, and their histories (the first epoch whose
loss or validation figure differs, where the two trainings parted). With the same seed on the
same kind of machine and the libraries of constraints.txt the weights are bit-identical; on
another CPU (oneDNN picks other kernels) they may differ slightly, and the validation figures
should then agree within a few readings.
``--run FOLDER`` compares a reader already trained that way instead of training one.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

from digitrec import datasets, imaging, run_folder
from digitrec.number_reader import NumberReader, pad_batch, to_reader_input
from digitrec.recognizer import DEFAULT_READER
from inference import HANDWRITING  # benchmarks/inference.py, beside this script


def weights(path: Path) -> list[bytes]:
    arrays = []
    with h5py.File(path) as file:
        file.visititems(lambda name, item: arrays.append(item[()].tobytes())
                        if isinstance(item, h5py.Dataset) else None)
    return sorted(arrays)


def largest_logit_difference(first: Path, second: Path) -> float:
    readers = [NumberReader(first), NumberReader(second)]
    images = [path for folder in ("register_numbers", "orand_car_a")
              for path, _ in datasets.folder_numbers(HANDWRITING / folder, "holdout")[:100]]
    largest = 0.0
    for path in images:
        batch = pad_batch([to_reader_input(imaging.open_image(path))])
        logits = [reader.logits(batch) for reader in readers]
        largest = max(largest, float(np.abs(logits[0] - logits[1]).max()))
    return largest


def _figure(value) -> str:
    """A metrics.json figure to 4 decimals; "none" for a reader whose threshold qualifies no
    reading (its calibration_precision is null)."""
    return "none" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="a reader run folder to compare (default: "
                        "train one now with the shipped reader's settings)")
    run = parser.parse_args().run
    config = run_folder.read_record(DEFAULT_READER, run_folder.CONFIG)
    with tempfile.TemporaryDirectory() as folder:
        out = run or Path(folder) / "reader"
        if run is None:
            arguments = ["train-reader", "--out", str(out), "--handwriting", str(HANDWRITING),
                         "--synthetic", str(config["synthetic"]),
                         "--epochs", str(config["epochs"]), "--seed", str(config["seed"])]
            print(f"$ digitrec {' '.join(arguments)}", flush=True)
            subprocess.run([sys.executable, "-m", "digitrec.cli", *arguments], check=True,
                           capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        shipped = run_folder.read_record(DEFAULT_READER, run_folder.METRICS)
        again = run_folder.read_record(out, run_folder.METRICS)
        histories = [run_folder.read_history(folder) for folder in (DEFAULT_READER, out)]
        identical = weights(out / "model.weights.h5") == weights(
            DEFAULT_READER / "model.weights.h5")
        difference = largest_logit_difference(out, DEFAULT_READER)
    for key in ("validation_exact", "ok_threshold", "calibration_coverage",
                "calibration_precision"):
        print(f"{key}: shipped {_figure(shipped[key])}, re-trained {_figure(again[key])}")
    print(f"weights bit-identical: {identical}; largest logit difference on 200 held-out "
          f"images: {difference:.2e}")
    # Where the two trainings parted: the first epoch whose loss or validation figure differs.
    epochs = [list(zip(history["epoch"], history["loss"], history["validation_exact"]))
              for history in histories]
    parted = [shipped_epoch[0] for shipped_epoch, epoch in zip(*epochs) if shipped_epoch != epoch]
    if parted:
        print(f"histories: the first epoch that differs is epoch {parted[0]}")
    elif len(epochs[0]) != len(epochs[1]):
        print(f"histories: {len(epochs[0])} epochs shipped, {len(epochs[1])} re-trained")
    else:
        print(f"histories: identical in every epoch's loss and validation figure "
              f"({len(epochs[0])} epochs)")
    close = abs(shipped["validation_exact"] - again["validation_exact"]) <= 0.02
    sys.exit(0 if identical or close else 1)


if __name__ == "__main__":
    main()
