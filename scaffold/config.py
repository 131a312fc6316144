"""Settings from config.env (committed defaults) and .env (secrets), overridden by the environment."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv.parser import parse_stream

from scaffold.errors import ScaffoldError
from scaffold.paths import Repo


def parse_env_file(path: Path, secret: bool = False) -> dict[str, str]:
    """KEY=VALUE lines read by python-dotenv, values literal (as docker --env-file). Its parser, not
    dotenv_values() (which skips an unparsable line with a warning), so a typo is one clear error; the
    error shows a `secret` file's key only, never what follows it."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    with open(path, encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error or (binding.key is not None and binding.value is None):  # or KEY without =
                original = binding.original.string
                text = original.lstrip()
                line = binding.original.line + original[: len(original) - len(text)].count("\n")
                first = text.splitlines()[0].rstrip() if text else ""
                hint = " (a quote left open?)" if "'" in first or '"' in first else ""
                if secret:
                    key, equals, _ = first.partition("=")
                    shown = f"'{key}=...' (value not shown)" if equals else "a line without '=' (not shown)"
                else:
                    shown = repr(first)
                raise ScaffoldError(f"{path.name}:{line}: expected KEY=VALUE, got {shown}{hint}")
            if binding.key is not None:
                values[binding.key] = binding.value
    return values


class Config:
    """config.env values, each overridable by an environment variable of the same name."""

    def __init__(self, root: Path):
        self.root = root
        self.file_values = parse_env_file(root / "config.env")

    def get(self, key: str, default: str = "") -> str:
        return os.environ.get(key) or self.file_values.get(key) or default

    def secrets(self) -> dict[str, str]:
        """Variables from .env: passed to containers at run time only, never baked into images."""
        return parse_env_file(self.root / ".env", secret=True)


def repo_and_config() -> tuple[Repo, Config]:
    """The repository a command runs in (found from the working directory) and its settings."""
    repo = Repo.find()
    return repo, Config(repo.root)
