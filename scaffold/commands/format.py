"""`format`: black, isort and flake8 with the pre-commit settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scaffold.config import repo_and_config
from scaffold.errors import ScaffoldError


def run(args) -> int:
    repo, _ = repo_and_config()
    bin_dir = Path(sys.executable).parent
    folders = ("scaffold", "tests", "benchmarks", "src", "experiment_template")
    targets = [p for p in folders if (repo.root / p).exists()]
    check = ["--check", "--diff"] if args.check else []
    steps = [
        [str(bin_dir / "isort"), *check, *targets],
        [str(bin_dir / "black"), *check, *targets],
        [str(bin_dir / "flake8"), *targets],
    ]
    failed = [Path(step[0]).name for step in steps if subprocess.run(step, cwd=repo.root).returncode != 0]
    if failed:
        raise ScaffoldError(f"format: {', '.join(failed)} reported problems (see above)", 1)
    return 0
