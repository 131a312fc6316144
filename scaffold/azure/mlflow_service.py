"""An offline stand-in for Azure ML's MLflow service: the real `mlflow server`, limited to Azure ML's API.

Azure ML implements only the MLflow 2 tracking and registry REST API: MLflow 3's logged-model API (`POST
/api/2.0/mlflow/logged-models`, from `mlflow.<flavor>.log_model(name=...)`) answers 404 with an empty body
(Azure/azure-sdk-for-python#44896; workarounds in Azure/azureml-examples#3885, #3868, #3891). The client
sends the same REST paths to an http:// URI as to azureml://: azureml-mlflow 1.62.0.post6
(`_store/tracking/store.py`, `_store/model_registry/model_registry.py`, `_store/azureml_reststore.py`: "V3
API not implemented yet") subclasses MLflow's RestStore classes, adding only authentication and the base
URL (its own runs/log-batch-async and runs/get-run-data-status are not in open-source MLflow). So MLflow's
own server (mlflow_app.py; SQLite, artifacts proxied through it as through Azure's artifact service) runs
behind a filter that passes ALLOWED, answers the rest 404 with an empty body and notes each refusal in
refused.log.

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
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

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
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


def allowed(method: str, path: str) -> bool:
    """Whether Azure ML's MLflow service answers this request (see the module docstring)."""
    if path == ARTIFACTS or path.startswith(ARTIFACTS + "/"):
        return method in ("GET", "PUT")
    return path.startswith(API) and method in ALLOWED.get(path[len(API) :], ())


class _Filter(BaseHTTPRequestHandler):
    """Forward allowed requests to the MLflow server; answer the rest 404 with an empty body, as Azure ML."""

    protocol_version = "HTTP/1.1"
    upstream = ("127.0.0.1", 0)
    refused_log = Path(os.devnull)

    def _forward(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            return self._reply(411, b"")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not allowed(self.command, urlsplit(self.path).path):
            with open(self.refused_log, "a") as log:
                log.write(f"{self.command} {self.path}\n")
            return self._reply(404, b"")
        connection = http.client.HTTPConnection(*self.upstream, timeout=600)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
            # The server answers only its own host name (MLflow 3 refuses others against DNS rebinding); a
            # container calls this proxy host.docker.internal.
            headers["Host"] = "%s:%d" % self.upstream
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            self._reply(response.status, data, kept)
        finally:
            connection.close()

    def _reply(self, status: int, data: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet: the MLflow server keeps its own log."""


def _wait_ready(server: subprocess.Popen, port: int, log: Path, timeout: float = 120) -> None:
    """Until the MLflow server answers /health; a server that exits or stays silent is an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"mlflow server exited with {server.returncode}: {tail[0]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"mlflow server did not answer within {timeout:.0f}s (log: {log})")


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        upstream = probe.getsockname()[1]
    # What `mlflow server --workers 1` serves, in one process (scaffold/azure/mlflow_app.py says why).
    argv = [sys.executable, "-m", "scaffold.azure.mlflow_app", str(folder), str(upstream)]
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with ExitStack() as stack:  # unwound in reverse: the proxy, the server, the lock file
        lock = stack.enter_context(open(folder / "mlflow.db.lock", "a"))
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(log, "ab") as output:
            server = subprocess.Popen(
                argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )  # fmt: skip
        stack.callback(_stop, server)
        _wait_ready(server, upstream, log)
        fcntl.flock(lock, fcntl.LOCK_UN)
        settings = {"upstream": ("127.0.0.1", upstream), "refused_log": folder / "refused.log"}
        proxy = stack.enter_context(ThreadingHTTPServer((host, port), type("Filter", (_Filter,), settings)))
        proxy.daemon_threads = True
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        stack.callback(proxy.shutdown)
        yield f"http://{host}:{proxy.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scaffold.azure.mlflow_service", description=__doc__.splitlines()[0]
    )
    parser.add_argument("folder", nargs="?", help="where the store lives (default: a temporary folder)")
    parser.add_argument("--port", type=int, default=5002, help="port on 127.0.0.1 (default: 5002)")
    args = parser.parse_args(argv)
    folder = args.folder or tempfile.mkdtemp(prefix="azureml-mlflow-")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM also stops the server
    with serving(folder, args.port) as uri:
        print(f"MLFLOW_TRACKING_URI={uri}  (store: {folder}; Ctrl-C stops)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
