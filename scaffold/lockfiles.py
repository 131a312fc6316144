"""Lock files: beside every requirements.txt, a requirements.lock with exact versions and their hashes.

`uv pip compile --generate-hashes` writes them; environments install only from them (hashes required), so
a rebuild months later gets the same packages. The experiments' locks are for the images' platform, Linux
x86_64 with Python 3.11; the host tooling's lock is universal (any OS), as the host can be a laptop.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from scaffold.errors import ScaffoldError

IMAGE_PLATFORM = ["--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"]
HOST_PLATFORM = ["--python-version", "3.11", "--universal"]
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def lock_of(requirements: Path) -> Path:
    return requirements.with_suffix(".lock")


def uv() -> str:
    """The uv executable installed in .venv from requirements.txt, told to trust the system's certificates
    as pip does (unless UV_SYSTEM_CERTS says otherwise): a company proxy's CA is there, not in uv's roots."""
    from uv import find_uv_bin

    os.environ.setdefault("UV_SYSTEM_CERTS", "1")
    return find_uv_bin()


def compile_lock(requirements: Path, platform: list[str] = IMAGE_PLATFORM) -> Path:
    """Resolve requirements.txt against the package index and write its lock file; return the lock's path."""
    lock = lock_of(requirements)
    command = [
        uv(),
        "pip",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--custom-compile-command",
        "make lock",
    ]
    command += [*platform, requirements.name, "-o", lock.name]
    print(f"locking {requirements} -> {lock.name}", file=sys.stderr)
    if subprocess.run(command, cwd=requirements.parent, check=False).returncode != 0:
        raise ScaffoldError(f"uv could not resolve {requirements} (see above); {lock.name} is unchanged")
    return lock


def locked_versions(lock: Path) -> dict[str, set[str]]:
    """{normalized name: versions} pinned in a lock (a universal lock may pin two versions, per Python)."""
    from packaging.utils import canonicalize_name

    found: dict[str, set[str]] = {}
    for name, version in _PINNED.findall(lock.read_text()):
        found.setdefault(canonicalize_name(name), set()).add(version)
    return found


def stale_entries(requirements: Path) -> list[str]:
    """What requirements.txt asks for that the lock beside it lacks (everything, without a lock)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lock = lock_of(requirements)
    locked = locked_versions(lock) if lock.is_file() else {}
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    wanted = [Requirement(line) for line in lines if line]
    return [
        str(r)
        for r in wanted
        if not any(
            r.specifier.contains(v, prereleases=True) for v in locked.get(canonicalize_name(r.name), ())
        )
    ]


def refresh_if_stale(requirements: Path) -> bool:
    """Re-lock an experiment's requirements.txt when it asks for something its lock lacks (a package just
    added); whether it did."""
    if requirements.is_file() and stale_entries(requirements):
        compile_lock(requirements)
        return True
    return False
