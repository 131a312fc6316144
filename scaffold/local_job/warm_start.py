"""A pipeline step started ahead of its inputs: `python warm_start.py PACKAGE... -- SCRIPT ARGS...`.

While the steps it reads from still run, this imports the packages the step's code imports, then waits for
`go` on stdin and runs SCRIPT as __main__ in this same process, as `python SCRIPT ARGS...` would: same
argv, sys.path[0], exit code and atexit handlers (only the interpreter's last garbage collection is
skipped). Anything else on stdin (the driver skipped or stopped the step) exits without running it.
Standard library only: it is mounted read-only into the step's image.
"""

import gc
import importlib
import os
import runpy
import sys


def main() -> None:
    split = sys.argv.index("--")
    packages, command = sys.argv[1:split], sys.argv[split + 1 :]
    for name in packages:
        try:
            importlib.import_module(name)
        except Exception:  # not installed, or broken: the script meets the same when it imports it
            pass
    if sys.stdin.readline().strip() != "go":
        sys.exit(130)
    sys.argv = command
    sys.path[0] = os.path.dirname(os.path.realpath(command[0]))
    try:
        runpy.run_path(command[0], run_name="__main__")
    finally:
        gc.freeze()  # exit without collecting every imported module's objects (about 1 s); atexit still runs


if __name__ == "__main__":
    main()
