"""The code passes the project's linter (ruff, configured in pyproject.toml), and every install
is pinned (constraints.txt)."""

import subprocess
import sys
import tomllib

from conftest import REPOSITORY
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def test_ruff_finds_nothing_to_fix():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
                            capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dependency_has_its_version_in_the_constraints():
    """Each package pyproject.toml asks for, in every extra, is pinned in constraints.txt (which
    make's installs pass to pip) at a version its own specifier allows: one added without a pin
    would be installed at whatever version is newest, and a fresh machine train otherwise."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]] + [
        Requirement(text) for extra in project["optional-dependencies"].values() for text in extra]
    pins = dict(line.split("==") for line in (REPOSITORY / "constraints.txt").read_text()
                .splitlines() if line and not line.startswith("#"))
    pins = {canonicalize_name(name): version for name, version in pins.items()}
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # another platform's package (tensorflow off x86-64)
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
