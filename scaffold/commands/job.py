"""`job`: submit the experiment to Azure ML, or run the job here with --local."""

from __future__ import annotations

from scaffold import xargs
from scaffold.errors import ScaffoldError


def define(p) -> None:
    """The job's XARGS."""
    p.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    p.add_argument("--name", "-n", default="")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--web", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--local", action="store_true", help="run the job here, as Azure ML would run it")
    p.add_argument("--serve", action="store_true", help="with --local: keep a local deployment up")
    p.add_argument("--max-trials", type=int, default=3, help="with --local: trials of a sweep job")


def run(args) -> int:
    options = xargs.parse("job", args.xargs or [], define)
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
        from scaffold.local_job import run as local_job

        local = local_job.LocalOptions(options.overrides, options.name, options.serve, options.max_trials)
        return local_job.run(repo, config, args.exp, args.file, local)
    if options.serve or options.max_trials != 3:
        raise ScaffoldError("job XARGS: --serve and --max-trials go with --local")
    from scaffold.azure import jobs

    return jobs.submit_job(repo, config, args.exp, args.file, options)
