"""Bulk recognition: files per second for digitrec predict and read with one job, two jobs and
Ray, side by side in one run, as ratios to one job.

    DIGITREC_DATA=../shared/data python benchmarks/bulk.py [--files 10000] [--no-ray]

Sets: the first ``--files`` MNIST test digits written as PNG files (predict), and all of
ORAND-CAR-A's cheque images (read). For each command and engine it prints the wall time of the
whole command (process start, model loading and workers included), files per second, the ratio
to ``--jobs 1``, and the peak memory (RSS) of the largest process. For predict it also prints,
for comparison, the image pipeline's own cost per file in this process (decoding and
preprocessing, :func:`digitrec.recognizer.to_batch`, no model) and the model-only ceiling (the
same digits as arrays, one batched call). Every engine's output must equal ``--jobs 1``'s, or
the script stops. The machine is shared: read the ratios, not the absolute seconds.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from digitrec import datasets
from digitrec.recognizer import Recognizer, to_batch
from inference import HANDWRITING  # benchmarks/inference.py, beside this script

RUN = ("import resource, subprocess, sys; "
       "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); "
       "sys.stdout.buffer.write(done.stdout); "
       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")


def command(arguments: list[str]) -> tuple[float, str, float]:
    """Runs ``digitrec ARGUMENTS``: (seconds, its stdout, peak RSS in MiB of its processes)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, sys.executable, "-m", "digitrec.cli",
                           *arguments], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024
    return seconds, done.stdout, peak


def engines(use_ray: bool) -> dict[str, list[str]]:
    found = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"]}
    if use_ray:
        found["Ray (local, 2 CPUs)"] = ["--address", "local"]
    return found


def compare(name: str, arguments: list[str], count: int, use_ray: bool) -> None:
    reference = None
    for engine, options in engines(use_ray).items():
        seconds, output, peak = command([name, "--json", *options, *arguments])
        if reference is None:
            reference = (seconds, output)
        elif output != reference[1]:
            raise SystemExit(f"{name} {engine} answered differently from --jobs 1")
        print(f"| `{name}` | {count:,} | {engine} | {seconds:.1f} | {count / seconds:,.0f} | "
              f"{reference[0] / seconds:.2f}x | {peak:,.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--data-dir", default=os.environ.get("DIGITREC_DATA"))
    parser.add_argument("--no-ray", action="store_true", help="leave the Ray engine out")
    arguments = parser.parse_args()
    (_, _), (digits, _) = datasets.load("mnist", arguments.data_dir, download=False)
    digits = digits[:arguments.files]
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"{index:05d}.png" for index in range(len(digits))]
        for path, digit in zip(paths, digits):
            Image.fromarray(digit).save(path)
        recognizer = Recognizer.load()
        started = time.perf_counter()
        for path in paths:
            to_batch([path])
        pipeline = (time.perf_counter() - started) / len(paths)
        started = time.perf_counter()
        recognizer.predict_proba(digits)
        ceiling = len(digits) / (time.perf_counter() - started)
        print(f"image pipeline alone: {pipeline * 1000:.2f} ms per file "
              f"({1 / pipeline:,.0f} files/s, one process); model alone on the same digits as "
              f"arrays: {ceiling:,.0f} images/s\n")
        print("| command | files | engine | seconds | files/s | against --jobs 1 | peak RSS "
              "(MiB) |")
        print("|---|---:|---|---:|---:|---:|---:|")
        compare("predict", [folder], len(paths), not arguments.no_ray)
    cheques = HANDWRITING / "orand_car_a" / "images"
    compare("read", [str(cheques)], len(list(cheques.glob("*.jpg"))), not arguments.no_ray)
    print(f"\nthis benchmark's own peak RSS: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
