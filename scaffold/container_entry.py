"""Runs inside the experiment's environment before the script: `python container_entry.py SCRIPT ARGS...`.

MLflow files a new experiment's artifacts under `./mlruns` of whatever process
creates it, which would be the experiment folder in src/. This creates the
experiment first with its artifacts in the repository's store, then runs the
script as __main__ in the same process (so nothing is imported twice).
This file is mounted read-only into containers; it needs only the standard library.
"""

import contextlib
import fcntl
import os
import runpy
import sqlite3
import sys

# MLflow 3's experiment type "Machine learning" (not "GenAI apps & agents"): the tag and value mlflow 3.15's
# UI writes when you pick that type.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def store_path() -> str:
    """The SQLite file of MLFLOW_TRACKING_URI, or '' for any other kind of store."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    return uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""


@contextlib.contextmanager
def store_lock():
    """Hold an exclusive lock next to the SQLite store while its tables and the experiment are created.

    Several runs started at once on a fresh repository would otherwise all run MLflow's schema migrations
    on the same new file, and all but one fail. The lock is a file lock, so it also holds across containers.
    """
    path = store_path()
    if not path:
        yield
        return
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def experiment_exists(name: str) -> bool:
    """Ask the SQLite store directly, so a script that never imports mlflow does not pay for it."""
    path = store_path()
    if not path or not os.path.exists(path):
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            row = db.execute("SELECT 1 FROM experiments WHERE name = ?", (name,)).fetchone()
        return row is not None
    except sqlite3.Error:
        return False


def ensure_experiment() -> None:
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME")
    root = os.environ.get("SCAFFOLD_ARTIFACT_ROOT")
    if not name or not root or experiment_exists(name):
        return
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError:
        return
    with store_lock():
        client = mlflow.MlflowClient()
        if client.get_experiment_by_name(name) is not None:
            return
        try:
            client.create_experiment(
                name, artifact_location=f"{root.rstrip('/')}/{name}", tags=EXPERIMENT_KIND
            )
        except MlflowException:
            pass  # created meanwhile by a run that does not take the lock: that one is as good


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: container_entry.py SCRIPT [ARGS...]")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    # The script's folder takes this file's place on sys.path, as when the script runs directly: with
    # RUNNER=venv this file's folder is scaffold/, whose `azure` package would hide the SDK's.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    ensure_experiment()
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
