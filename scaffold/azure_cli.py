"""Argument definitions for the Azure ML commands job, data-asset and compute; the SDK is imported lazily."""

from __future__ import annotations

import argparse
import shlex

from scaffold.errors import ScaffoldError

JOB_XARGS = "--set key=value ..., --name NAME, --stream, --web, --dry-run"


def add_commands(command) -> None:
    """Register the Azure ML sub-commands on the driver's parser."""
    p = command("job", "submit the experiment to Azure ML (like az ml job create --file src/EXP/FILE)")
    p.add_argument("--file", default="azure-ml-job.yaml", help="job YAML in the experiment folder")
    p.add_argument("xargs", nargs=argparse.REMAINDER, help=JOB_XARGS)

    p = command(
        "data-asset", "register a local file (uri_file) or folder (uri_folder) as a data asset", exp=False
    )
    p.add_argument("--name", default="", help="data asset name")
    p.add_argument("--path", default="", help="local file or folder")
    p.add_argument("--version", default="", help="version (default: next version)")
    p.add_argument("xargs", nargs=argparse.REMAINDER, help="--dry-run, --description TEXT")

    p = command("compute", "create or update an AmlCompute cluster that scales to zero", exp=False)
    p.add_argument("--name", default="", help="cluster name (default: COMPUTE from config.env)")
    p.add_argument("--size", default="", help="VM size (default: Standard_DS3_v2)")
    p.add_argument("--max", default="", help="maximum nodes (default: 4)")
    p.add_argument(
        "xargs",
        nargs=argparse.REMAINDER,
        help="--dry-run, --min N, --idle SECONDS, --identity system_assigned|user_assigned|none, "
        "--identity-id ID",
    )


def _parse(prog: str, xargs: list[str], define) -> argparse.Namespace | None:
    """Parse a command's XARGS; unknown or malformed ones are a one-line error. None after --help."""
    parser = argparse.ArgumentParser(prog=f"{prog} XARGS", exit_on_error=False)
    define(parser)
    try:
        options, unknown = parser.parse_known_args(xargs)
    except SystemExit as exc:
        if exc.code == 0:
            return None
        raise ScaffoldError(f"{prog} XARGS: cannot parse {shlex.join(xargs)}") from None
    except argparse.ArgumentError as exc:
        raise ScaffoldError(f"{prog} XARGS: {exc}") from None
    if unknown:
        raise ScaffoldError(f"{prog} XARGS: unknown {shlex.join(unknown)}; expected {_usage(parser)}")
    return options


def _usage(parser: argparse.ArgumentParser) -> str:
    return ", ".join(a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help")


def job(args) -> int:
    def define(p):
        p.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
        p.add_argument("--name", "-n", default="")
        p.add_argument("--stream", action="store_true")
        p.add_argument("--web", action="store_true")
        p.add_argument("--dry-run", action="store_true")

    options = _parse("job", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold import azure_ml
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    job_options = azure_ml.JobOptions(
        overrides=options.overrides,
        name=options.name,
        stream=options.stream,
        web=options.web,
        dry_run=options.dry_run,
    )
    return azure_ml.submit_job(repo, config, args.exp, args.file, job_options)


def data_asset(args) -> int:
    def define(p):
        p.add_argument("--dry-run", action="store_true")
        p.add_argument("--description", default="")

    options = _parse("data-asset", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold import azure_ml
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    return azure_ml.register_data(
        repo, config, args.name, args.path, args.version, options.dry_run, description=options.description
    )


def compute(args) -> int:
    def define(p):
        p.add_argument("--dry-run", action="store_true")
        p.add_argument("--min", type=int, default=0)
        p.add_argument("--idle", type=int, default=0, help="seconds idle before scaling down")
        p.add_argument(
            "--identity",
            choices=azure_ml.IDENTITIES,
            default="system_assigned",
            help="the cluster's managed identity, used by jobs with identity: type: managed",
        )
        p.add_argument("--identity-id", default="", help="resource id of the user-assigned identity")

    from scaffold import azure_ml
    from scaffold.config import repo_and_config

    options = _parse("compute", args.xargs or [], define)
    if options is None:
        return 0
    repo, config = repo_and_config()
    return azure_ml.ensure_compute(
        repo,
        config,
        args.name,
        args.size,
        args.max,
        options.dry_run,
        min_nodes=options.min,
        idle=options.idle,
        identity=options.identity,
        identity_id=options.identity_id,
    )


COMMANDS = {"job": job, "data-asset": data_asset, "compute": compute}
