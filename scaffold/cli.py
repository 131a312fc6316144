"""Command-line front door. Each command imports what it needs only when it runs."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from importlib import import_module

from scaffold.errors import ScaffoldError


class Terminated(BaseException):
    """SIGTERM or SIGHUP (args: the signal), raised where the driver is, so `finally` blocks clean up as for
    Ctrl-C."""


def _terminate(signum, _frame):
    raise Terminated(signum)


EPILOG = "Extra arguments after the command's options (XARGS) go to the script, the build or the job."
JOB_XARGS = "--set key=value ..., --name NAME, --stream, --web, --dry-run, --local [--serve] [--max-trials N]"


class Parser(argparse.ArgumentParser):
    """argparse with the driver's error format: one `error:` line and exit 2, no usage block."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m scaffold", description=__doc__, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, help_text: str, exp: bool = True, runtime: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if exp:
            p.add_argument("--exp", default="", help="experiment name (folder under src/)")
        if runtime:
            p.add_argument("--runner", default="docker", choices=["docker", "venv"])
            p.add_argument("--run-xargs", default="", help="extra `docker run` arguments")
        return p

    command("list", "list the experiments", exp=False)

    p = command("new-exp", "create src/EXP from the template, or from another experiment with --from")
    p.add_argument("--from", dest="source", default="", help="existing experiment to start from")

    p = command("build-exp", "build the experiment image (no-op when its docker/ context is unchanged)")
    p.add_argument("xargs", nargs=argparse.REMAINDER, help="--no-cache, --build-arg KEY=VALUE")

    p = command(
        "local", "run local.py in the experiment's container (or virtualenv with --runner venv)", runtime=True
    )
    p.add_argument("--gpus", default="", help="GPUs to expose, e.g. all")
    p.add_argument("--port", default="", help="publish this port on 127.0.0.1 and set SCAFFOLD_PORT")
    p.add_argument("xargs", nargs=argparse.REMAINDER, help="arguments for local.py")

    command("terminal", "open an interactive shell in the experiment's container", runtime=True)

    p = command("jupyter", "start JupyterLab in the experiment's environment, on 127.0.0.1", runtime=True)
    p.add_argument("--port", default="8888")  # checked by runner.check_port: one PORT=... error

    p = command("test", "run every experiment's tests with common's, each in its own environment (or one's)")
    p.add_argument("--runner", default="docker", choices=["docker", "venv"])
    p.add_argument("xargs", nargs=argparse.REMAINDER, help="arguments for pytest")

    p = command("test-scaffold", "run the driver's own tests (tests/) on the host", exp=False)
    p.add_argument("xargs", nargs=argparse.REMAINDER, help="arguments for pytest")

    p = command("format", "black, isort and flake8 with the pre-commit settings", exp=False)
    p.add_argument("--check", action="store_true", help="report without changing files")

    command("template", "rebuild experiment_template.zip from experiment_template/", exp=False)

    command(
        "lock", "refresh the lock files from requirements.txt: the host's, each experiment's, the template's"
    )

    p = command("mlflow-ui", "serve the MLflow UI for local runs on 127.0.0.1, printing links to their runs")
    p.add_argument("--port", default="5000")  # checked by runner.check_port: one PORT=... error

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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if getattr(args, "xargs", None) and args.xargs[0] == "--":
        args.xargs = args.xargs[1:]
    handler = import_module(f"scaffold.commands.{args.command.replace('-', '_')}").run
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    try:
        return handler(args) or 0
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"terminated by {signal.Signals(exc.args[0]).name}", file=sys.stderr)
        return 128 + exc.args[0]
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
