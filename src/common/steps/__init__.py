"""The four pipeline steps shared by the taxi experiments, and the command line that dispatches to them."""

from __future__ import annotations

import argparse
import importlib
import sys

from common.errors import DataError
from common.experiment import Experiment

STEPS = ("prep", "train", "evaluate", "register")  # modules of this package


def build_parser(experiment: Experiment, steps: tuple[str, ...] = STEPS) -> argparse.ArgumentParser:
    """`main.py <step> [options]`, one sub-command per step."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description=f"{experiment.name}: taxi fare pipeline steps ({experiment.city.currency})",
    )
    commands = parser.add_subparsers(dest="step", required=True)
    for name in steps:
        module = importlib.import_module(f"{__name__}.{name}")
        sub = commands.add_parser(name, help=module.__doc__.splitlines()[0])
        sub.set_defaults(run=module.run)
        module.add_arguments(sub, experiment)
    return parser


def main(argv: list[str] | None, experiment: Experiment) -> int:
    """Run one step; bad data, or data that cannot be read or written, prints `error: ...` and exits 2
    instead of a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    # Each pipeline step is its own process: load only its module, so prep and register start without
    # scikit-learn and matplotlib. Anything else (--help, a typo) gets every step.
    steps = (argv[0],) if argv and argv[0] in STEPS else STEPS
    args = build_parser(experiment, steps).parse_args(argv)
    try:
        args.run(args, experiment)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a read-only or full data folder: the file and the reason are enough
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {args.step}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    return 0
