"""Runs inside the experiment's environment before the script: `python container_entry.py SCRIPT ARGS...`.

MLflow files a new experiment's artifacts under `./mlruns` of whatever process
creates it, which would be the experiment folder in src/. This creates the
experiment first with its artifacts in the repository's store, then runs the
script as __main__ in the same process (so nothing is imported twice).
This file is mounted read-only into containers; it needs only the standard library.
"""

import os
import runpy
import sqlite3
import sys


def experiment_exists(name: str) -> bool:
    """Ask the SQLite store directly, so a script that never imports mlflow does not pay for it."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
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
    client = mlflow.MlflowClient()
    if client.get_experiment_by_name(name) is not None:
        return
    try:
        client.create_experiment(name, artifact_location=f"{root.rstrip('/')}/{name}")
    except MlflowException:
        pass  # created meanwhile by a concurrent run: that one is as good


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: container_entry.py SCRIPT [ARGS...]")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    ensure_experiment()
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
