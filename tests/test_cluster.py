"""predict and read on a real two-node Ray cluster on loopback (`ray start --head` and a second
`ray start --address`, each with one CPU, in this test's own temporary folder), answering as one
process does, on real handwriting."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HANDWRITING
from test_cli import digitrec

RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray(*arguments, env) -> None:
    result = subprocess.run([str(RAY), *arguments], capture_output=True, text=True, env=env,
                            timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"ray {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def cluster():
    """The client address of a head node and a second node, both on 127.0.0.1; stopped (with
    `ray stop`, which stops the Ray processes this machine's `ray start` made) at the end."""
    # Ray's sockets live in its temporary folder, whose path must stay short.
    temporary = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    # A local ray.init() (an earlier test's) leaves ~/.ray/auth_token, which makes a head node
    # require tokens; this loopback cluster and its clients (digitrec, below) go without.
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    port, client_port = _free_port(), _free_port()
    try:
        _ray("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--ray-client-server-port", str(client_port), "--num-cpus", "1",
             "--include-dashboard", "false", "--temp-dir", temporary, env=env)
        _ray("start", "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1",
             "--num-cpus", "1", "--resources", '{"second_node": 1}', env=env)
        address = f"ray://127.0.0.1:{client_port}"
        deadline = time.time() + 120
        while _alive_nodes(address) < 2 and time.time() < deadline:
            time.sleep(2)  # the second node registers with the head in its own time
        yield address
    finally:
        subprocess.run([str(RAY), "stop"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temporary, ignore_errors=True)
        if saved is None:
            del os.environ["RAY_AUTH_MODE"]
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def _alive_nodes(address: str) -> int:
    """How many nodes of the cluster at ``address`` are alive (0 when it cannot be reached)."""
    code = ("import ray; ray.init(address=%r); "
            "print(sum(node['Alive'] for node in ray.nodes()))" % address)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=180)
    lines = result.stdout.strip().splitlines()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def test_the_cluster_has_two_nodes(cluster):
    assert _alive_nodes(cluster) == 2


def test_predict_and_read_on_the_cluster_answer_as_one_process(cluster, tmp_path):
    """Two actors (one per node) answer 70 user_digits photos and drawings, a file that is not
    an image among them, and the held-out cheques' first 40 amounts (given as a file:// URI),
    in the input's order."""
    digits = tmp_path / "digits"
    digits.mkdir()
    photos = sorted((HANDWRITING / "user_digits").rglob("*.[pj][np]g"))[:70]
    for index, photo in enumerate(photos):
        (digits / f"{index:03d}{photo.suffix}").symlink_to(photo)
    (digits / "050-not-an-image.png").write_text("not an image")
    local = digitrec("predict", "--json", "--jobs", 1, digits)
    remote = digitrec("predict", "--json", "--address", cluster, digits, timeout=600)
    assert remote.returncode == local.returncode == 1, remote.stderr[-2000:]
    assert remote.stdout == local.stdout, remote.stderr[-2000:]
    assert len(local.stdout.splitlines()) == 71
    assert json.loads(local.stdout.splitlines()[50])["status"] == "error"

    cheques = tmp_path / "cheques"
    cheques.mkdir()
    for path in sorted((HANDWRITING / "orand_car_a" / "images").glob("*.jpg"))[:40]:
        (cheques / path.name).symlink_to(path)
    local = digitrec("read", "--json", "--jobs", 1, cheques)
    # Given as a URI, the folder is listed and its files read with pyarrow, on the workers.
    remote = digitrec("read", "--json", "--address", cluster, f"file://{cheques}", timeout=600)
    assert remote.returncode == local.returncode, remote.stderr[-2000:]
    assert remote.stdout == local.stdout.replace(str(cheques), f"file://{cheques}"), \
        remote.stderr[-2000:]
    assert len(local.stdout.splitlines()) == 40
