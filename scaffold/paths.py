"""Where things live in the repository, computed once from one root."""

from __future__ import annotations

import os
from pathlib import Path

from scaffold.errors import ScaffoldError


class Repo:
    """Absolute paths of the repository's well-known folders and files (no dataclass: startup matters)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.src = self.root / "src"
        self.common = self.src / "common"
        self.data = self.root / "data"
        self.notebooks = self.root / "notebooks"
        self.mlruns = self.root / "mlruns"
        self.template_zip = self.root / "experiment_template.zip"
        self.docker = self.root / "docker"
        self.venvs = self.root / ".venvs"

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    @classmethod
    def find(cls) -> "Repo":
        """The repository that holds config.env and src/: SCAFFOLD_ROOT, else the cwd or a parent."""
        env = os.environ.get("SCAFFOLD_ROOT")
        start = Path(env) if env else Path.cwd()
        for candidate in [start, *start.parents]:
            if (candidate / "config.env").is_file() and (candidate / "src").is_dir():
                return cls(candidate.resolve())
        # Without this, a checkout that lost config.env would silently run on defaults (or on a parent).
        raise ScaffoldError(
            f"no config.env next to a src/ folder in {start.resolve()} or above: run from the repository "
            "root, and restore config.env if it was deleted (it is part of the repository)"
        )

    def experiment(self, name: str) -> Path:
        return self.src / name
