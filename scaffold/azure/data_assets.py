"""Azure ML data assets: register a local file or folder, in the workspace or for local jobs."""

from __future__ import annotations

import re
from pathlib import Path

from scaffold.azure import job_yaml, workspace
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def register_data(repo: Repo, config: Config, name: str, path: str, version: str, options) -> int:
    """Register a local file (uri_file) or folder (uri_folder) as a data asset; with --local, record it
    where `make job ... XARGS=--local` resolves it. `options`: the XARGS of `data-asset`."""
    if not name:
        raise ScaffoldError("NAME is required, e.g. make data-asset NAME=my-data PATH=data/my.csv")
    if not ASSET_NAME.match(name):
        raise ScaffoldError(f"invalid data asset name {name!r}: letters, digits, '-', '_' and '.'")
    if not path:
        raise ScaffoldError("PATH is required: a local file or folder, e.g. PATH=data/my.csv")
    local = Path(path).expanduser()
    if not local.exists():
        raise ScaffoldError(f"no such file or folder: {path}")
    local = local.resolve()
    kind = "uri_folder" if local.is_dir() else "uri_file"
    if kind == "uri_folder" and not any(p.is_file() for p in local.rglob("*")):
        raise ScaffoldError(f"{path} is an empty folder: nothing to register")
    if options.local:
        from scaffold.local_job import assets

        version = assets.register(repo, name, local, kind, version)
        print(
            f"recorded local data asset {name}:{version} ({kind}, {path}) in data/{assets.REGISTRY}; "
            f"`make job ... XARGS=--local` resolves azureml:{name}@latest to it"
        )
        return 0
    workspace.quiet_sdk_logs()
    from azure.ai.ml.entities import Data

    description = options.description or None
    asset = Data(name=name, version=version or None, path=str(local), type=kind, description=description)
    files = [local] if local.is_file() else [p for p in local.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    shown = f"version {version}" if version else "next version"
    print(f"{kind} {path}: {len(files)} files, {size / 1024:.1f} KiB, {shown}")
    if options.dry_run:
        print("# dry run: nothing registered")
        print(job_yaml.as_yaml(asset))
        return 0
    client = workspace.ml_client(repo, config)
    created = workspace.sdk_call("data asset registration", lambda: client.data.create_or_update(asset))
    print(
        f"registered data asset {created.name}:{created.version} ({kind}); use azureml:{created.name}@latest"
    )
    return 0
