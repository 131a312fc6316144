"""Argument definitions for the Azure ML commands job, data-asset and compute; the SDK is imported lazily."""

from __future__ import annotations

import argparse
import shlex

from scaffold.errors import ScaffoldError

JOB_XARGS = "--set key=value ..., --name NAME, --stream, --web, --dry-run, --local [--serve] [--max-trials N]"


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
        p.add_argument("--local", action="store_true", help="run the job here, as Azure ML would run it")
        p.add_argument("--serve", action="store_true", help="with --local: keep a local deployment up")
        p.add_argument("--max-trials", type=int, default=3, help="with --local: trials of a sweep job")

    options = _parse("job", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    if options.local:
        if options.stream or options.web or options.dry_run:
            raise ScaffoldError(
                "job XARGS: --local runs the job here; --stream, --web and --dry-run are for Azure"
            )
        if options.max_trials < 1:
            raise ScaffoldError(f"job XARGS: --max-trials must be at least 1, got {options.max_trials}")
        from scaffold.local_job.run import LocalOptions, run

        local = LocalOptions(options.overrides, options.name, options.serve, options.max_trials)
        return run(repo, config, args.exp, args.file, local)
    if options.serve or options.max_trials != 3:
        raise ScaffoldError("job XARGS: --serve and --max-trials go with --local")
    from scaffold import azure_ml

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
        p.add_argument("--local", action="store_true", help="record it for `make job ... XARGS=--local`")

    options = _parse("data-asset", args.xargs or [], define)
    if options is None:
        return 0
    from scaffold import azure_ml
    from scaffold.config import repo_and_config

    repo, config = repo_and_config()
    if options.local:
        return azure_ml.register_local_data(repo, args.name, args.path, args.version)
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
