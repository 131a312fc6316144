"""RUNNER=venv: the same script in a per-experiment virtualenv built with uv from the image's lock file."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from scaffold import lockfiles, tracking
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

# As in the Dockerfiles: hashes checked, and bytecode compiled once here, since runs set
# PYTHONDONTWRITEBYTECODE (no __pycache__ in src/) and would otherwise compile mlflow at every start.
INSTALL = "--require-hashes --compile-bytecode"


def ensure_venv(repo: Repo, exp: str) -> Path:
    """Create or refresh .venvs/<exp> with uv when docker/requirements.lock changed; return its python."""
    requirements = repo.experiment(exp) / "docker" / "requirements.txt"
    lockfiles.refresh_if_stale(requirements)
    lock = lockfiles.lock_of(requirements)
    folder = repo.venvs / exp
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = folder / ".requirements.sha256"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"
    wanted += f" {INSTALL}"  # a virtualenv made by an older install step is made again
    if python.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    print(
        f"preparing virtualenv {folder.relative_to(repo.root)} from {lock.relative_to(repo.root)}",
        file=sys.stderr,
    )
    uv = lockfiles.uv()
    if not python.exists():
        _uv([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], "create", folder)
    if lock.is_file():
        # sync: exactly the lock, so a package removed from requirements.txt leaves the virtualenv too.
        _uv([uv, "pip", "sync", "--python", str(python), *INSTALL.split(), str(lock)], "install", lock)
    stamp.write_text(wanted)
    return python


def _uv(command: list[str], what: str, path: Path) -> None:
    if subprocess.run(command, check=False).returncode != 0:
        raise ScaffoldError(f"uv could not {what} {path} (see above)")


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
