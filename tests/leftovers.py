"""What a test session must not leave behind: containers, test images, dangling images, staged folders, and
changes to the checkout itself. conftest.py takes a census before and after the session and fails on any
difference; tests/hardening_report.py counts them for tests/README.md.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

# Images of the experiments tests create with conftest.unique_name(): prefix_8hex, and their Jupyter layer.
TEST_IMAGE = re.compile(r"^[a-z][a-z0-9]*_[0-9a-f]{8}(-jupyter)?$")
# Temporary folders the driver creates (snapshots: scaffold-<exp>-*).
TEMP_PREFIX = "scaffold-"


def _lines(command: list[str]) -> set[str]:
    result = subprocess.run(command, capture_output=True, text=True)
    return set(result.stdout.split("\n")) - {""} if result.returncode == 0 else set()


def census(repo: Path, with_docker: bool) -> dict[str, set[str]]:
    """Everything that could be left over, by kind."""
    found = {
        "temporary folders": {p.name for p in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*")},
        "staging folders in src/": {p.name for p in (repo / "src").glob(".new-*")},
        "changes to the checkout": _lines(["git", "-C", str(repo), "status", "--porcelain", "--ignored=no"]),
    }
    if with_docker:
        found["containers"] = _lines(["docker", "ps", "-aq", "--no-trunc"])
        images = _lines(["docker", "images", "--format", "{{.Repository}}"])
        found["test images"] = {name for name in images if TEST_IMAGE.match(name)}
        found["dangling images"] = _lines(
            ["docker", "images", "-q", "--no-trunc", "--filter", "dangling=true"]
        )
    return found


def new_since(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """What appeared between two censuses, by kind (kinds with nothing new are left out)."""
    return {
        kind: sorted(after[kind] - before.get(kind, set()))
        for kind in after
        if after[kind] - before.get(kind, set())
    }
