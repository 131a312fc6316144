"""RUNNER=venv: the same script in a per-experiment virtualenv built from the image's requirements.txt."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

from scaffold import tracking
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo


def ensure_venv(repo: Repo, exp: str) -> Path:
    """Create or refresh .venvs/<exp> when docker/requirements.txt changed; return its python."""
    requirements = repo.experiment(exp) / "docker" / "requirements.txt"
    folder = repo.venvs / exp
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = folder / ".requirements.sha256"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest() if requirements.is_file() else "none"
    if python.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    print(
        f"preparing virtualenv {folder.relative_to(repo.root)} from {requirements.relative_to(repo.root)}",
        file=sys.stderr,
    )
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(folder)
    if requirements.is_file():
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=False
        )
        if result.returncode != 0:
            raise ScaffoldError(f"pip could not install {requirements.relative_to(repo.root)} (see above)")
    stamp.write_text(wanted)
    return python


def run(repo: Repo, exp: str, command: list[str], secrets: dict[str, str]) -> int:
    """Run `command` (python first) with the experiment as cwd, `common` importable and data at DATA_DIR."""
    python = ensure_venv(repo, exp)
    repo.data.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **secrets,
        **tracking.run_env(repo, exp),
        "PYTHONPATH": str(repo.src),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "DATA_DIR": str(repo.data),
        "SCAFFOLD_IMAGE": f"venv:{exp}",
    }
    argv = [str(python), *command[1:]] if command and command[0] == "python" else command
    process = subprocess.Popen(argv, cwd=repo.experiment(exp), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait()
        return 130
