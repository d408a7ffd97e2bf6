"""Training recipes side by side: the tutorial's, and digitrec's cnn, fast and best, in one run.

    DIGITREC_DATA=../shared/data python benchmarks/recipes.py [--recipes tutorial,cnn,fast,best]
        [--keep DIR]

Each recipe trains in a fresh process, one after the other on this machine:

- tutorial: benchmarks/tutorial_cnn.py, F. Chollet's 93k-parameter convnet as the tutorial wrote
  it (plain Keras, rmsprop, batch 64, 5 epochs, all 60,000 training images);
- cnn, fast, best: ``digitrec train --model NAME`` with the recipe's defaults (54,000 training
  images; 6,000 held out for validation after every epoch, inside the timed epochs; the model
  kept is the best validation epoch).

For each it prints the MNIST test accuracy of the model it ends with, the wall time to 99.0%
test accuracy (from before reading the data to the end of the first epoch whose model scores
99.0% or more on the test set; the test evaluations after each epoch are measurement only, left
out of the time and never used to choose anything), the mean seconds per epoch, and ratios to
the tutorial. Then inference for each trained model: Keras ``model.predict`` on one image, the
Recognizer (ONNX Runtime) on one 28x28 image, and the Recognizer's throughput on the 10,000 test
images. The machine is shared and noisy: read the ratios, not the absolute seconds. ``best``
trains for about half an hour here. ``--keep DIR`` keeps digitrec's run folders in DIR
(they are the same as ``digitrec train --model NAME --seed 0`` makes).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inference import per_call  # benchmarks/inference.py, beside this script

HERE = Path(__file__).resolve().parent
TARGET = 0.99


def run_tutorial() -> dict:
    result = subprocess.run([sys.executable, str(HERE / "tutorial_cnn.py")], capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if result.returncode != 0:
        sys.exit(f"tutorial_cnn.py failed:\n{result.stderr[-3000:]}")
    record = json.loads(result.stdout.strip().splitlines()[-1])
    record["final_accuracy"] = record["test_accuracy"][-1]
    return record


def run_ours(name: str, folder: Path) -> dict:
    command = [sys.executable, __file__, "--one", name, "--out", str(folder / name)]
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def one(name: str, out: Path) -> None:
    """Trains one digitrec recipe and prints a JSON line (run in its own process)."""
    import keras
    import numpy as np

    from digitrec import datasets, model_format
    from digitrec.training.config import TrainConfig
    from digitrec.training.train import train
    from digitrec.recognizer import Recognizer

    _, (x_test, y_test) = datasets.load("mnist")
    test_images = model_format.to_model_input(x_test)

    class TestAccuracy(keras.callbacks.Callback):
        """Records, after each epoch, the wall seconds since ``started`` (its own test
        evaluations left out) and the test accuracy."""

        def __init__(self):
            super().__init__()
            self.elapsed, self.accuracy, self.evaluating = [], [], 0.0
            self.started = time.perf_counter()  # train() reads the training set after this

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.elapsed.append(now - self.started - self.evaluating)
            logits = self.model.predict(test_images, batch_size=1000, verbose=0)
            self.accuracy.append(float(np.mean(logits.argmax(axis=1) == y_test)))
            self.evaluating += time.perf_counter() - now

    timing = TestAccuracy()
    run = train(TrainConfig(model=name), out, verbose=0, callbacks=[timing])
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())

    keras_model = keras.saving.load_model(run / "model.keras")
    recognizer = Recognizer.load(run)
    one_image = test_images[:1]
    print(json.dumps({
        "epoch_seconds": history["seconds"], "elapsed": timing.elapsed,
        "test_accuracy": timing.accuracy,
        "final_accuracy": metrics["test_accuracy"], "parameters": metrics["parameters"],
        "epochs": metrics["epochs"],
        "predict_one_seconds": per_call(lambda: keras_model.predict(one_image, verbose=0), 20),
        "recognizer_one_seconds": per_call(lambda: recognizer.predict_proba(x_test[0]), 200),
        "throughput": len(x_test) / per_call(lambda: recognizer.predict_proba(x_test), 5)}))


def time_to_target(record: dict):
    """Seconds to the end of the first epoch at or above TARGET test accuracy, or None."""
    for seconds, accuracy in zip(record["elapsed"], record["test_accuracy"]):
        if accuracy >= TARGET:
            return seconds
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default="tutorial,cnn,fast,best",
                        help="comma-separated, from tutorial, cnn, fast, best")
    parser.add_argument("--keep", type=Path, help="keep digitrec's run folders in this folder")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.one:
        one(arguments.one, arguments.out)
        return

    records = {}
    with tempfile.TemporaryDirectory() as folder:
        runs = arguments.keep or Path(folder)
        runs.mkdir(parents=True, exist_ok=True)
        for name in arguments.recipes.split(","):
            print(f"training {name}...", file=sys.stderr, flush=True)
            records[name] = run_tutorial() if name == "tutorial" else run_ours(name, runs)
    reference = records.get("tutorial")
    reference_time = time_to_target(reference) if reference else None
    reference_epoch = seconds_per_epoch(reference) if reference else None

    print(f"{os.cpu_count()} cores; MNIST test accuracy; time to {TARGET:.1%} from before "
          "reading the data\n")
    print("| recipe | parameters | epochs | test accuracy | time to 99.0% | vs tutorial | "
          "s per epoch | vs tutorial |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, record in records.items():
        to_target = time_to_target(record)
        epoch = seconds_per_epoch(record)
        reached = "not reached" if to_target is None else f"{to_target:.1f} s"
        epochs = record.get("epochs", len(record["epoch_seconds"]))
        print(f"| {name} | {record['parameters']:,} | {epochs:g} "
              f"| {record['final_accuracy']:.2%} | {reached} "
              f"| {ratio(to_target, reference_time)} | {epoch:.1f} | "
              f"{ratio(epoch, reference_epoch)} |")

    print("\n| recipe | Keras model.predict, one image | Recognizer, one 28x28 image | "
          "Recognizer throughput, 10,000 images |")
    print("|---|---:|---:|---:|")
    for name, record in records.items():
        ours = record.get("recognizer_one_seconds")
        one_image = "" if ours is None else f"{ours * 1000:.2f} ms"
        throughput = "" if ours is None else f"{record['throughput']:,.0f} images/s"
        print(f"| {name} | {record['predict_one_seconds'] * 1000:.1f} ms | {one_image} | "
              f"{throughput} |")


def seconds_per_epoch(record: dict) -> float:
    """The mean seconds of a whole epoch after the first (which also traces the model): a
    fractional last epoch (1.5 epochs: the second is half of one) is scaled to a whole one."""
    seconds = list(record["epoch_seconds"])
    epochs = record.get("epochs", len(seconds))
    if epochs < len(seconds):
        seconds[-1] /= epochs - (len(seconds) - 1)
    return statistics.mean(seconds[1:] or seconds)


def ratio(value, reference) -> str:
    """``value / reference`` as ``0.20x``, or empty when either is missing."""
    if value is None or reference is None:
        return ""
    return f"{value / reference:.2f}x"


if __name__ == "__main__":
    main()
