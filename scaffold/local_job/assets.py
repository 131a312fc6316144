"""Local data assets: the laptop's answer to `azureml:<name>@latest` in a job YAML.

`make data-asset NAME=n PATH=p XARGS=--local` records a name, a version and a path in data/assets.json (the
data stays where it is); `make job ... XARGS=--local` resolves `azureml:n@latest`, `azureml:n:<version>` and
`azureml:n@<version>` through it. Versions are numbered 1, 2, ... unless given; `@latest` is the version
registered last, as in Azure ML. Paths inside the repository are stored relative to it, so a clone elsewhere
still finds them.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from scaffold import locks
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

REGISTRY = "assets.json"
REFERENCE = re.compile(r"^azureml:(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)(?:(?:@|:)(?P<version>[^@:/]+))?$")


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScaffoldError(f"{path}: unreadable local asset registry ({exc})") from None
    if not isinstance(data, dict):
        raise ScaffoldError(f"{path}: unreadable local asset registry (expected a JSON object)")
    return data


def register(repo: Repo, name: str, path: Path, kind: str, version: str = "") -> str:
    """Record `path` as version `version` (default: the next number) of `name`; return the version."""
    file = repo.data / REGISTRY
    repo.data.mkdir(exist_ok=True)
    with locks.exclusive(f"assets {file}"):
        data = _read(file)
        versions = data.setdefault(name, [])
        known = {entry["version"] for entry in versions}
        if version in known:
            raise ScaffoldError(f"local data asset {name}:{version} exists already; choose another VERSION")
        if not version:
            version = str(max((int(v) for v in known if v.isdigit()), default=0) + 1)
        stored = path.relative_to(repo.root) if path.is_relative_to(repo.root) else path
        versions.append({"version": version, "type": kind, "path": stored.as_posix(), "created": time.time()})
        temporary = file.with_name(f".{REGISTRY}.{os.getpid()}")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        temporary.replace(file)
    return version


def is_reference(value: str) -> bool:
    return isinstance(value, str) and value.startswith("azureml:") and not value.startswith("azureml://")


def resolve(repo: Repo, reference: str) -> tuple[Path, str, str]:
    """(absolute path, uri_file or uri_folder, version) of `azureml:name@latest` and the like."""
    match = REFERENCE.match(reference)
    if not match:
        raise ScaffoldError(
            f"{reference}: only azureml:<name>@latest, azureml:<name>:<version> or azureml:<name>@<version> "
            "resolve locally"
        )
    name, version = match["name"], match["version"] or "latest"
    register_hint = f"make data-asset NAME={name} PATH=<file or folder> XARGS=--local"
    versions = _read(repo.data / REGISTRY).get(name) or []
    if not versions:
        raise ScaffoldError(f"no local data asset {name}: register one with `{register_hint}`")
    found = [e for e in versions if version in ("latest", e["version"])]
    if not found:
        have = ", ".join(e["version"] for e in versions)
        raise ScaffoldError(f"no local data asset {name}:{version} (versions: {have}); `{register_hint}`")
    entry = found[-1]
    path = repo.root / entry["path"]  # an absolute path stays as it is
    if not path.exists():
        raise ScaffoldError(
            f"local data asset {name}:{entry['version']} points to {path}, which is gone; `{register_hint}`"
        )
    return path, entry["type"], entry["version"]
