"""Recognition speed: digitrec's Recognizer (ONNX Runtime) against Keras' model.predict.

    DIGITREC_DATA=../shared/data python benchmarks/inference.py [--model RUN]

Prints, for the same model on this machine, in one run:

- one 28x28 image, in process: Keras ``model.predict`` (as the tutorials call it) against the
  Recognizer, on an array (model only) and on a PNG file (decoding and preprocessing included);
- one phone photo (user_digits, about 2000x2000 JPEG), preprocessing included;
- throughput on the 10,000 MNIST test images, batched, for the model and, side by side, the
  float model it was quantised from (``--float-model``, default ``runs/default-model``, which
  ``make default-model`` leaves), with the CPU's name and whether it has VNNI;
- ``digitrec predict one.png`` as a whole process (median of 5, process start included).

Goals set for digitrec here: under 2 ms for one image in process, at least 20,000 images/s,
under 1 s for the whole command.
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

from PIL import Image

from digitrec import datasets, onnx_models
from digitrec.recognizer import DEFAULT_MODEL, Recognizer

# ../shared/handwriting beside this checkout, or DIGITREC_SHARED/handwriting
HANDWRITING = Path(os.environ.get("DIGITREC_SHARED",
                                  Path(__file__).resolve().parents[1].parent / "shared"),
                   "handwriting")


def per_call(function, repeats: int) -> float:
    """Median seconds per call over ``repeats`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--float-model", type=Path, default=Path("runs/default-model"),
                        help="the float model to compare throughput with (skipped if absent)")
    arguments = parser.parse_args()
    _, (x_test, _) = datasets.load("mnist")
    recognizer = Recognizer.load(arguments.model)
    rows = []

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from digitrec.model_format import to_model_input

    if (arguments.model / "model.keras").is_file():
        keras_model = keras.saving.load_model(arguments.model / "model.keras")
    else:  # an int8 or ensemble run has no Keras file: time the same network, untrained
        from digitrec.training import architectures
        from digitrec.training.config import TrainConfig

        config = TrainConfig(model=json.loads((arguments.model / "config.json").read_text())
                             ["model"]).resolved()
        keras_model = architectures.build(config.architecture, **config.architecture_options())
    one = to_model_input(x_test[:1])
    keras_seconds = per_call(lambda: keras_model.predict(one, verbose=0), 50)
    rows.append(("one 28x28 array: Keras model.predict", keras_seconds))
    rows.append(("one 28x28 array: Recognizer.predict_proba",
                 per_call(lambda: recognizer.predict_proba(x_test[0]), 200)))
    with tempfile.TemporaryDirectory() as folder:
        png = Path(folder) / "one.png"
        Image.fromarray(x_test[0]).save(png)
        rows.append(("one 28x28 PNG file: Recognizer.recognize (decode, pipeline, model)",
                     per_call(lambda: recognizer.recognize(png), 200)))
        photo = HANDWRITING / "user_digits" / "aaronpan" / "3.jpg"
        if photo.is_file():
            rows.append(("one phone photo (1891x1891 JPEG): Recognizer.recognize",
                         per_call(lambda: recognizer.recognize(photo), 30)))
        batch_seconds = per_call(lambda: recognizer.predict_proba(x_test), 5)
        float_seconds = None
        if (arguments.float_model / "model.onnx").is_file():
            float_recognizer = Recognizer.load(arguments.float_model)
            float_seconds = per_call(lambda: float_recognizer.predict_proba(x_test), 5)
        command = [sys.executable, "-m", "digitrec.cli", "predict", "--model",
                   str(arguments.model), str(png)]
        process_seconds = per_call(lambda: subprocess.run(command, check=True,
                                                          capture_output=True), 5)

    precision = recognizer.metrics_.get("precision", "float32")
    print(f"model: {arguments.model} ({recognizer.metrics_.get('parameters', '?'):,} "
          f"parameters, {precision}), {os.cpu_count()} cores of {onnx_models.cpu_name()}\n")
    print("| what | time | Keras model.predict / this |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.2f} ms | {keras_seconds / seconds:.0f}x |")
    print(f"| 10,000 MNIST test images, batched ({precision}) | {batch_seconds:.3f} s = "
          f"{len(x_test) / batch_seconds:,.0f} images/s | |")
    if float_seconds is not None:
        print(f"| 10,000 MNIST test images, batched (float32, {arguments.float_model}) | "
              f"{float_seconds:.3f} s = {len(x_test) / float_seconds:,.0f} images/s | |")
        print(f"| {precision} throughput / float32 throughput | "
              f"{float_seconds / batch_seconds:.2f}x | |")
    print(f"| `digitrec predict one.png`, whole process | {process_seconds:.2f} s | |")


if __name__ == "__main__":
    main()
