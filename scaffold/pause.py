"""Named pause points for the interrupt tests: SCAFFOLD_PAUSE_AT=<name> holds the driver there until a signal.

A test can then send SIGINT or SIGTERM at an exact phase (a new experiment half staged, a job snapshot
staged) instead of racing a timer. When the variable is unset a pause point costs one environment lookup.
"""

from __future__ import annotations

import os
import sys
import time

VARIABLE = "SCAFFOLD_PAUSE_AT"


def point(name: str) -> None:
    """Print `paused at <name>` on stderr and wait for a signal, if SCAFFOLD_PAUSE_AT names this point."""
    if os.environ.get(VARIABLE) != name:
        return
    print(f"paused at {name}", file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)
