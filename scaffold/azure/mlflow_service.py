"""An offline stand-in for Azure ML's MLflow service: the real `mlflow server`, limited to Azure ML's API.

Azure ML implements only the MLflow 2 tracking and registry REST API: MLflow 3's logged-model API (`POST
/api/2.0/mlflow/logged-models`, from `mlflow.<flavor>.log_model(name=...)`) answers 404 with an empty body
(Azure/azure-sdk-for-python#44896; workarounds in Azure/azureml-examples#3885, #3868, #3891). The client
sends the same REST paths to an http:// URI as to azureml://: azureml-mlflow 1.62.0.post6
(`_store/tracking/store.py`, `_store/model_registry/model_registry.py`, `_store/azureml_reststore.py`: "V3
API not implemented yet") subclasses MLflow's RestStore classes, adding only authentication and the base
URL (its own runs/log-batch-async and runs/get-run-data-status are not in open-source MLflow). So MLflow's
own server (mlflow_app.py; SQLite, artifacts proxied through it as through Azure's artifact service) runs
behind a filter in the same process (mlflow_app.AzureFilter) that passes ALLOWED, answers the rest 404 with
an empty body and notes each refusal in refused.log.

ALLOWED follows Learn's concept-mlflow, the support matrix of "Query & compare experiments and runs with
MLflow" and the limitations in "Manage models registry in Azure Machine Learning with MLflow" (no renaming
experiments or models, no deleting a model container). Refused as MLflow 3 only or undocumented for Azure
ML: logged-models, runs/outputs, runs/log-model (mlflow/mlflow#11103), runs/log-inputs, registered-model
aliases, presigned URLs, traces, prompts, webhooks, scorers, datasets, gateway, workspaces, /api/3.0, the UI.

`with serving(folder) as uri:` yields http://127.0.0.1:<port>; by hand, `python -m
scaffold.azure.mlflow_service [--port N] [FOLDER]` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

API = "/api/2.0/mlflow/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
ALLOWED: dict[str, set[str]] = {
    "experiments/create": {"POST"},
    "experiments/get": {"GET"},
    "experiments/get-by-name": {"GET"},
    "experiments/search": {"GET", "POST"},
    "experiments/delete": {"POST"},
    "experiments/restore": {"POST"},
    "experiments/set-experiment-tag": {"POST"},
    "runs/create": {"POST"},
    "runs/get": {"GET"},
    "runs/update": {"POST"},
    "runs/search": {"POST"},
    "runs/delete": {"POST"},
    "runs/restore": {"POST"},
    "runs/log-metric": {"POST"},
    "runs/log-parameter": {"POST"},
    "runs/set-tag": {"POST"},
    "runs/delete-tag": {"POST"},
    "runs/log-batch": {"POST"},
    "metrics/get-history": {"GET"},
    "artifacts/list": {"GET"},
    "registered-models/create": {"POST"},
    "registered-models/get": {"GET"},
    "registered-models/search": {"GET"},
    "registered-models/update": {"PATCH"},
    "registered-models/get-latest-versions": {"GET", "POST"},
    "registered-models/set-tag": {"POST"},
    "registered-models/delete-tag": {"DELETE"},
    "model-versions/create": {"POST"},
    "model-versions/get": {"GET"},
    "model-versions/update": {"PATCH"},
    "model-versions/delete": {"DELETE"},
    "model-versions/search": {"GET"},
    "model-versions/get-download-uri": {"GET"},
    "model-versions/set-tag": {"POST"},
    "model-versions/delete-tag": {"DELETE"},
    "model-versions/transition-stage": {"POST"},
}


def allowed(method: str, path: str) -> bool:
    """Whether Azure ML's MLflow service answers this request (see the module docstring)."""
    if path == ARTIFACTS or path.startswith(ARTIFACTS + "/"):
        return method in ("GET", "PUT")
    return path.startswith(API) and method in ALLOWED.get(path[len(API) :], ())


def _wait_ready(server: subprocess.Popen, ready: int, log: Path, timeout: float = 120) -> None:
    """Until the MLflow server writes to `ready`; a server that exits or stays silent is an error."""
    if not select.select([ready], [], [], timeout)[0]:
        raise RuntimeError(f"mlflow server did not start within {timeout:.0f}s (log: {log})")
    if not os.read(ready, 1):  # the pipe closed: the server has exited
        server.wait(timeout=30)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"mlflow server exited with {server.returncode}: {tail[0]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the MLflow server and anything it started (its own process group; POSIX only, as fcntl)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextmanager
def serving(folder: str | Path, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Run the stand-in with its store in `folder`; yield its tracking URI, http://<host>:<port>.
    The store (mlflow.db), artifacts, server.log and refused.log (`METHOD path` a line) stay in `folder`.
    The server creates or migrates the tables under the lock `make local` takes for the same
    (mlflow.db.lock), so both can start at once."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with ExitStack() as stack:  # unwound in reverse: the server, the pipe, the lock file
        lock = stack.enter_context(open(folder / "mlflow.db.lock", "a"))
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready, done = os.pipe()  # the server writes to `done` once the tables exist
        stack.callback(os.close, ready)
        # Bound here, so that port 0 is a free port nobody takes first; the server inherits the socket.
        with socket.create_server((host, port)) as listener, open(log, "ab") as output:
            port = listener.getsockname()[1]
            # What `mlflow server --workers 1` serves, in one process (scaffold/azure/mlflow_app.py says why).
            fds = (listener.fileno(), done)
            argv = [sys.executable, "-m", "scaffold.azure.mlflow_app", str(folder), *map(str, fds)]
            try:
                server = subprocess.Popen(
                    argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    start_new_session=True, pass_fds=fds,
                )  # fmt: skip
            finally:
                os.close(done)
        stack.callback(_stop, server)
        _wait_ready(server, ready, log)
        fcntl.flock(lock, fcntl.LOCK_UN)
        yield f"http://{f'[{host}]' if ':' in host else host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scaffold.azure.mlflow_service", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", nargs="?", help="where the store lives (default: a temporary folder)")
    parser.add_argument("--port", type=int, default=5002, help="port on 127.0.0.1 (default: 5002)")
    args = parser.parse_args(argv)
    folder = args.folder or tempfile.mkdtemp(prefix="azureml-mlflow-")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM also stops the server
    try:
        with serving(folder, args.port) as uri:
            print(f"MLFLOW_TRACKING_URI={uri}  (store: {folder}; Ctrl-C stops)", flush=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
    except (OSError, RuntimeError) as exc:  # the port is taken, or the server did not start
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
