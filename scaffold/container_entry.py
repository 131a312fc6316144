"""Runs inside the experiment's environment before the script: `python container_entry.py SCRIPT ARGS...`.

MLflow files a new experiment's artifacts under `./mlruns` of the process that creates it (here the
experiment's folder), so this creates the experiment first with its artifacts in the repository's store, then
runs the script as __main__ in the same process, as `python SCRIPT ARGS...` would. Mounted read-only into
containers: standard library only.

A local job's step runs `python container_entry.py --wait PACKAGE... -- SCRIPT ARGS...`: it imports the
packages (started ahead, while the steps before it run), waits for `go` on stdin, then runs the script.
Anything else on stdin (the driver skipped or stopped the step) exits 130 without running it.

Ctrl-C (a KeyboardInterrupt the script does not catch) exits 130 without a traceback, its MLflow run ended
KILLED, as Azure ML shows a canceled job; SIGTERM (`docker stop`, which follows the Ctrl-C that `docker
start -a` forwards) stops the script the same way, exit 143, and its atexit handlers still run.
"""

import contextlib
import fcntl
import gc
import importlib
import os
import runpy
import signal
import sqlite3
import sys
import time

# MLflow 3's experiment type "Machine learning" (not "GenAI apps & agents"): the tag and value mlflow 3.15's
# UI writes when you pick that type.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def experiment_exists(path: str, name: str) -> bool:
    """Ask the SQLite store directly, so a script that never imports mlflow does not pay for it."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone() is not None
    except sqlite3.Error:
        return False


def ensure_experiment() -> None:
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    root = os.environ.get("SCAFFOLD_ARTIFACT_ROOT")
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""  # '' for other stores
    if not name or not root or (path and os.path.exists(path) and experiment_exists(path, name)):
        return
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError:
        return
    # A file lock (it holds across containers) while the store's tables and the experiment are created:
    # several runs started at once on a new store would otherwise all migrate it, and all but one fail.
    with open(f"{path}.lock", "a") if path else contextlib.nullcontext() as lock:
        if lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        client = mlflow.MlflowClient()
        if client.get_experiment_by_name(name) is not None:
            return
        try:
            client.create_experiment(
                name, artifact_location=f"{root.rstrip('/')}/{name}", tags=EXPERIMENT_KIND
            )
        except MlflowException:
            pass  # created meanwhile by a run that does not take the lock: that one is as good


def end_run_killed() -> None:
    """The script's runs as canceled ones: those still active (atexit would end them FINISHED), and those its
    `with mlflow.start_run():` blocks just ended FAILED on the way out, nested step runs included."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return
    with contextlib.suppress(Exception):
        client = mlflow.MlflowClient()
        root = None
        while run := mlflow.active_run():  # innermost first; the outermost is the script's run
            root = run
            mlflow.end_run("KILLED")
        if root is None and (root := mlflow.last_active_run()) and root.info.status == "FAILED":
            client.set_terminated(root.info.run_id, "KILLED")
        if root is None:
            return
        # Runs nested in it that the interrupt ended FAILED (or that never got to end).
        nested = f"tags.mlflow.parentRunId = '{root.info.run_id}'"
        for child in client.search_runs([root.info.experiment_id], nested):
            failed_by_it = child.info.status == "FAILED" and child.info.end_time >= STOPPED_AT[0]
            if failed_by_it or child.info.status == "RUNNING":
                client.set_terminated(child.info.run_id, "KILLED")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the script as Ctrl-C's KeyboardInterrupt is."""


STOPPED_BY: list[int] = []  # the first of SIGINT and SIGTERM received
# When it came, in milliseconds like MLflow's end times: a run that ended FAILED before then did fail.
STOPPED_AT: list[int] = [0]


def stop(signum, _frame):
    """Ctrl-C or SIGTERM; the other one, which follows (`docker stop` after the Ctrl-C that `docker start -a`
    forwards), is ignored from then on, so that the first one's cleanup runs to its end."""
    if not STOPPED_BY:
        STOPPED_BY.append(signum)
        STOPPED_AT[0] = int(time.time() * 1000)
    if signum == STOPPED_BY[0]:
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--wait"]:
        split = args.index("--")
        for name in args[1:split]:
            try:
                importlib.import_module(name)
            except Exception:  # not installed, or broken: the script meets the same when it imports it
                pass
        if sys.stdin.readline().strip() != "go":
            sys.exit(130)
        args = args[split + 1 :]
    if not args:
        sys.exit("usage: container_entry.py [--wait PACKAGE... --] SCRIPT [ARGS...]")
    sys.argv = args
    # The script's real folder takes this file's place on sys.path, as when the script runs directly: with
    # RUNNER=venv this file's folder is scaffold/, whose `azure` package would hide the SDK's.
    sys.path[0] = os.path.dirname(os.path.realpath(args[0]))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        ensure_experiment()
        runpy.run_path(args[0], run_name="__main__")
    except KeyboardInterrupt as exc:
        end_run_killed()
        sys.exit(143 if isinstance(exc, Terminated) else 130)  # as the signal would; atexit still runs
    finally:
        gc.freeze()  # exit without collecting every imported module's objects (about 1 s); atexit still runs


if __name__ == "__main__":
    main()
