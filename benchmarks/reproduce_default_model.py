"""Shows that `digitrec train` reproduces the shipped default model from its own config.json.

    DIGITREC_DATA=../shared/data python benchmarks/reproduce_default_model.py

Re-trains with `digitrec train --config src/digitrec/default_model/config.json` (the run's
recorded configuration; 25 to 60 minutes here), makes the int8 copy with `digitrec quantize`
when the config says ``"precision": "int8"`` (as the shipped model's does; with
``--full-range-weights`` if it records 8-bit weights), then compares the new model.onnx's
weights with the shipped one's and the test accuracies. With the same seed on the same kind of
machine the weights are bit-identical; on another CPU (oneDNN picks other kernels) they may
differ slightly, and the accuracies should then agree within about 0.1%.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper

from digitrec.recognizer import DEFAULT_MODEL


def weights(path: Path) -> list[bytes]:
    graph = onnx.load(path).graph
    return sorted(onnx.numpy_helper.to_array(tensor).tobytes() for tensor in graph.initializer)


def main() -> None:
    config = json.loads((DEFAULT_MODEL / "config.json").read_text())
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        print(f"$ digitrec train --config {DEFAULT_MODEL / 'config.json'}")
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run([sys.executable, "-m", "digitrec.cli", "train", "--config",
                        str(DEFAULT_MODEL / "config.json"), "--out", str(out)],
                       check=True, capture_output=True, env=environment)
        if config.get("precision") == "int8":
            trained, out = out, Path(folder) / "int8"
            options = ["--full-range-weights"] if config.get("weight_bits") == 8 else []
            print(f"$ digitrec quantize {trained.name} --out {out.name} {' '.join(options)}")
            subprocess.run([sys.executable, "-m", "digitrec.cli", "quantize", str(trained),
                            "--out", str(out), *options], check=True, capture_output=True,
                           env=environment)
        shipped = json.loads((DEFAULT_MODEL / "metrics.json").read_text())["test_accuracy"]
        again = json.loads((out / "metrics.json").read_text())["test_accuracy"]
        identical = weights(out / "model.onnx") == weights(DEFAULT_MODEL / "model.onnx")
    print(f"test accuracy: shipped {shipped:.4%}, re-trained {again:.4%}")
    print(f"weights bit-identical: {identical}")
    sys.exit(0 if identical or np.isclose(shipped, again, atol=0.001) else 1)


if __name__ == "__main__":
    main()
