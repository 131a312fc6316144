"""`data-asset`: register a local file or folder as an Azure ML data asset (or locally, with --local)."""

from __future__ import annotations

from scaffold import xargs


def define(p) -> None:
    """The data asset's XARGS."""
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--description", default="")
    p.add_argument("--local", action="store_true", help="record it for `make job ... XARGS=--local`")


def run(args) -> int:
    options = xargs.parse("data-asset", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold.azure import data_assets
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    return data_assets.register_data(repo, config, args.name, args.path, args.version, options)
