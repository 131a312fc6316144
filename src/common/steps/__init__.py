"""The four pipeline steps shared by the taxi experiments, and the command line that dispatches to them."""

from __future__ import annotations

import argparse
import sys

from common.errors import DataError
from common.experiment import Experiment
from common.steps import evaluate, prep, register, train

STEPS = {"prep": prep, "train": train, "evaluate": evaluate, "register": register}


def build_parser(experiment: Experiment) -> argparse.ArgumentParser:
    """`main.py <step> [options]`, one sub-command per step."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description=f"{experiment.name}: taxi fare pipeline steps ({experiment.city.currency})",
    )
    commands = parser.add_subparsers(dest="step", required=True)
    for name, module in STEPS.items():
        sub = commands.add_parser(name, help=module.__doc__.splitlines()[0])
        module.add_arguments(sub, experiment)
    return parser


def main(argv: list[str] | None, experiment: Experiment) -> int:
    """Run one step; bad data, or data that cannot be read or written, prints `error: ...` and exits 2
    instead of a traceback."""
    args = build_parser(experiment).parse_args(argv)
    try:
        STEPS[args.step].run(args, experiment)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a read-only or full data folder: the file and the reason are enough
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {args.step}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    return 0
