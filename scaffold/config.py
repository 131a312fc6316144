"""Settings from config.env (committed defaults) and .env (secrets), overridden by the environment."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from scaffold.errors import ScaffoldError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines (comments, blank lines, `export` and quotes allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ScaffoldError(f"{path.name}:{number}: expected KEY=VALUE, got {raw.strip()!r}")
        key, value = match.groups()
        try:
            parts = shlex.split(value, comments=True)
        except ValueError as exc:
            raise ScaffoldError(f"{path.name}:{number}: {exc}") from None
        values[key] = " ".join(parts)
    return values


class Config:
    """config.env values, each overridable by an environment variable of the same name."""

    def __init__(self, root: Path):
        self.root = root
        self.file_values = parse_env_file(root / "config.env")

    def get(self, key: str, default: str = "") -> str:
        value = os.environ.get(key)
        if value is None or value == "":
            value = self.file_values.get(key, "")
        return value or default

    def secrets(self) -> dict[str, str]:
        """Variables from .env: passed to containers at run time only, never baked into images."""
        return parse_env_file(self.root / ".env")
