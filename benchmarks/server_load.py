"""Requests per second and latency of POST /v1/predict with a 28x28 PNG, on loopback, with wrk.

    python benchmarks/server_load.py [--seconds 10] [--connections 8 16]

Starts `digitrec serve` in a subprocess on a free loopback port, checks that it answers, then
runs wrk (Debian package `wrk`) against it with a real 28x28 MNIST test digit as a PNG body, and
prints requests per second and the p50 / p90 / p99 latency wrk measured. Both the server and wrk
run on this machine (2 cores here), so the figures include the load generator's own cost.
The goal set for digitrec on this machine: at least 1,000 requests/s with p99 under 20 ms.
"""

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

from digitrec import datasets

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 16],
                        help="concurrent connections; one measurement for each")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: install it (Debian: apt-get install wrk)")

    _, (x_test, _) = datasets.load("mnist")
    with tempfile.TemporaryDirectory() as folder:
        body, script = Path(folder) / "digit.png", Path(folder) / "post.lua"
        buffer = io.BytesIO()
        Image.fromarray(x_test[0]).save(buffer, format="PNG")
        body.write_bytes(buffer.getvalue())
        script.write_text(LUA.format(body=body))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "digitrec.cli", "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", str(script), url + "/v1/predict"],
                           capture_output=True)  # warm up
            outputs = [subprocess.run(
                ["wrk", f"-t{arguments.threads}", f"-c{connections}", f"-d{arguments.seconds}s",
                 "--latency", "-s", str(script), url + "/v1/predict"],
                capture_output=True, text=True, check=True).stdout
                for connections in arguments.connections]
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"POST /v1/predict, 28x28 PNG ({len(buffer.getvalue())} bytes), {arguments.seconds} s "
          f"each, one server process, wrk on the same {os.cpu_count()} cores\n")
    print("| connections | requests/s | p50 | p90 | p99 | non-2xx |")
    print("|---:|---:|---:|---:|---:|---:|")
    for connections, output in zip(arguments.connections, outputs):
        requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        print(f"| {connections} | {requests_per_second:,.0f} | {percentiles.get('50')} "
              f"| {percentiles.get('90')} | {percentiles.get('99')} "
              f"| {errors.group(1) if errors else 0} |")


if __name__ == "__main__":
    main()
