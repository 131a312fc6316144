"""`test-scaffold`: the driver's own suite, on the host; it tests this scaffolding, not the experiments."""

from __future__ import annotations

import subprocess
import sys

from scaffold.config import repo_and_config


def run(args) -> int:
    repo, _ = repo_and_config()
    return subprocess.run([sys.executable, "-m", "pytest", "tests", *args.xargs], cwd=repo.root).returncode
