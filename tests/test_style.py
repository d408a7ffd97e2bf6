"""The code passes the project's linter (ruff, configured in pyproject.toml)."""

import subprocess
import sys

from conftest import REPOSITORY


def test_ruff_finds_nothing_to_fix():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
                            capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
