"""Entry point Azure ML runs: `python main.py {prep,train,evaluate,register} [options]` (see --help)."""

from __future__ import annotations

import sys

from experiment import EXPERIMENT

from common.steps import main as run_step


def main(argv: list[str] | None = None) -> int:
    """Run one pipeline step of this experiment."""
    return run_step(argv, EXPERIMENT)


if __name__ == "__main__":
    sys.exit(main())
