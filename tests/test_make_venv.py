"""`make venv` installs uv into a venv that has no pip of its own, by the machine's pip or, where the machine
has none, by the venv's ensurepip (the Makefile's two paths). Each runs the real Makefile against a lock of
uv alone, with PyPI, in a folder of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO


def uv_pin() -> tuple[str, str]:
    """(requirements.txt line, requirements.lock entry with its hashes) for the uv the repository pins."""
    lock = (REPO / "requirements.lock").read_text()
    entry = re.search(r"^uv==\S+ \\\n(?:    --hash=\S+(?: \\)?\n)+", lock, re.M)
    assert entry, "no uv entry in requirements.lock"
    return entry[0].split()[0], entry[0]


def make_venv(folder, python: str) -> subprocess.CompletedProcess:
    requirement, entry = uv_pin()
    shutil.copy(REPO / "Makefile", folder / "Makefile")
    (folder / "requirements.txt").write_text(requirement + "\n")
    (folder / "requirements.lock").write_text(entry)
    return subprocess.run(
        ["make", "venv", f"PYTHON={python}"], cwd=folder, capture_output=True, text=True, timeout=600
    )


def has_pip(python) -> bool:
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def check_venv(folder) -> None:
    venv = folder / ".venv"
    version = subprocess.run([venv / "bin" / "uv", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.split()[1] == uv_pin()[0].split("==")[1]
    assert (venv / ".requirements.lock").read_text() == (folder / "requirements.lock").read_text()


def test_make_venv_installs_uv_with_the_machines_pip(tmp_path):
    python = shutil.which("python3")  # the Makefile's default PYTHON
    if not python or not has_pip(python):
        pytest.skip("the machine's python3 has no pip: the other test covers this machine")
    done = make_venv(tmp_path, python)
    assert done.returncode == 0, done.stdout + done.stderr
    check_venv(tmp_path)
    assert not has_pip(tmp_path / ".venv" / "bin" / "python")  # no pip seeded into the venv


def test_make_venv_falls_back_to_ensurepip_without_a_machine_pip(tmp_path):
    machine = tmp_path / "machine"  # a Python with no pip module at all
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", machine], check=True)
    python = machine / "bin" / "python"
    assert not has_pip(python)
    project = tmp_path / "project"
    project.mkdir()
    done = make_venv(project, str(python))
    assert done.returncode == 0, done.stdout + done.stderr
    check_venv(project)
    assert has_pip(project / ".venv" / "bin" / "python")  # the venv's ensurepip installed uv
