"""Named pause points: the interrupt tests signal the driver at an exact phase instead of racing a timer.

SCAFFOLD_PAUSE_AT=<name> holds the driver at that point (after `paused at <name>` on stderr) until a signal.
"""

from __future__ import annotations

import os
import sys
import time


def point(name: str) -> None:
    if os.environ.get("SCAFFOLD_PAUSE_AT") == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
