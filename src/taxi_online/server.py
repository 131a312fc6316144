"""Start, probe, call and stop the Azure ML inference server (`azmlinfsrv`) around score.py.

Used by local.py, the tests and the benchmark; standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCORE = HERE / "score.py"


class ServerError(RuntimeError):
    """The server did not start or stopped early; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(port: int, workers: int = 1) -> list[str]:
    """The azmlinfsrv command line for score.py on `port` (it binds 0.0.0.0, as in Azure ML)."""
    exe = shutil.which("azmlinfsrv") or str(Path(sys.executable).with_name("azmlinfsrv"))
    return [exe, "--entry_script", str(SCORE), "--port", str(port), "--worker_count", str(workers)]


def start(model_dir: str | Path, port: int, workers: int = 1, log=subprocess.DEVNULL) -> subprocess.Popen:
    """Start the server in its own process group; its output goes to `log` (a file; None: this stdout)."""
    env = {**os.environ, "AZUREML_MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    env.setdefault("AML_APP_ROOT", str(HERE))
    return subprocess.Popen(
        command(port, workers),
        cwd=HERE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(
    port: int, process: subprocess.Popen | None = None, timeout: float = 120.0, log_path=None
) -> float:
    """Poll GET / until it answers 200 (Healthy) and init() has run; return the seconds it took."""
    started = time.perf_counter()
    while True:
        if process is not None and process.poll() is not None:
            raise ServerError(f"the inference server exited with code {process.returncode}{_tail(log_path)}")
        try:
            status, _ = request(port, "GET", "/", timeout=2)
            if status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            raise ServerError(f"the inference server was not healthy after {timeout:.0f}s{_tail(log_path)}")
        time.sleep(0.2)


def _tail(log_path) -> str:
    if not log_path or not Path(log_path).is_file():
        return ""
    lines = Path(log_path).read_text(errors="replace").strip().splitlines()[-15:]
    return ("; last lines of its log:\n" + "\n".join(lines)) if lines else ""


def request(port: int, method: str, path: str, body=None, timeout: float = 30.0, headers=None):
    """One HTTP request to 127.0.0.1:port; returns (status, decoded JSON or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def score(port: int, body, timeout: float = 30.0):
    """POST /score; returns (status, answer)."""
    return request(port, "POST", "/score", body, timeout=timeout)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the server's process group (gunicorn and its workers), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
