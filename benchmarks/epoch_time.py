"""Training speed of digitrec's `cnn` against the tutorial's plain Keras script, in one run.

    DIGITREC_DATA=../shared/data python benchmarks/epoch_time.py [--epochs 3]

Runs, one after the other on this machine, each in a fresh process:

- tutorial: benchmarks/tutorial_cnn.py (plain Keras, Chollet's recipe; trains on all 60,000);
- digitrec: `digitrec train --model cnn` (the same model and recipe; trains on 54,000 and
  validates on 6,000 held-out images after every epoch, inside the timed epoch).

and prints seconds per epoch for each (first epoch, which includes graph tracing, and the mean of
the rest) with the ratio digitrec / tutorial. The machine is shared and noisy: read the ratio, not
the absolute seconds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(command: list[str]) -> None:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    arguments = parser.parse_args()
    epochs = str(arguments.epochs)

    tutorial = json.loads(run([sys.executable, str(HERE / "tutorial_cnn.py"), "--epochs", epochs])
                          .stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        run([sys.executable, "-m", "digitrec.cli", "train", "--model", "cnn", "--epochs", epochs,
             "--out", str(out)])
        ours = json.loads((out / "history.json").read_text())["seconds"]

    rows = [("tutorial (plain Keras)", tutorial["epoch_seconds"]), ("digitrec cnn", ours)]
    print(f"cnn, {epochs} epochs, batch 64, rmsprop; seconds per epoch on this machine\n")
    print("| recipe | first epoch (s) | later epochs, mean (s) | ratio to tutorial |")
    print("|---|---:|---:|---:|")
    reference = statistics.mean(tutorial["epoch_seconds"][1:] or tutorial["epoch_seconds"])
    for name, seconds in rows:
        later = statistics.mean(seconds[1:] or seconds)
        print(f"| {name} | {seconds[0]:.1f} | {later:.1f} | {later / reference:.2f} |")


if __name__ == "__main__":
    main()
