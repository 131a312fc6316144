"""In the taxi_online container: load-test azmlinfsrv (score.py) and `mlflow models serve`; time batch runs.

Run by bench_deploy.py as `python deploy_load.py MODEL_DIR BATCH_DIR OUT.json`; needs only what the image
has. Every request goes to 127.0.0.1; each load-generator thread keeps one HTTP connection (reopened when
the server closes it).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, "/project/taxi_online")
sys.path.insert(0, "/project/taxi_batch")

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "10000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
WARMUP = 200


def payloads(model_dir: Path, rows: int) -> tuple[bytes, bytes]:
    """The same rows for both servers: Azure ML's input_data and MLflow's dataframe_split."""
    import pandas as pd
    from mlflow.models import Model

    from common.signature import numeric_columns

    model = Model.load(str(model_dir))
    columns, _ = numeric_columns(model.signature)
    example = model.load_input_example(str(model_dir))
    frame = pd.concat([example] * (rows // len(example) + 1), ignore_index=True).head(rows)[columns]
    split = json.loads(frame.to_json(orient="split", index=False))
    azure = {"input_data": {"columns": split["columns"], "index": list(range(rows)), "data": split["data"]}}
    mlflow_body = {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}
    return json.dumps(azure).encode(), json.dumps(mlflow_body).encode()


def load(port: int, path: str, body: bytes, requests: int, concurrency: int) -> dict:
    """`requests` POSTs at `concurrency` threads; latency percentiles in ms and the error count."""
    local = threading.local()
    headers = {"Content-Type": "application/json"}

    def one(_):
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            connection.close()
            local.connection = None
            ok = False
        return time.perf_counter() - started, ok

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(WARMUP)))
        began = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - began
    latencies = sorted(seconds * 1000 for seconds, _ in results)
    return {
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "errors": sum(1 for _, ok in results if not ok),
        "requests_per_s": requests / wall,
    }


def wait(port: int, path: str, process, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server on port {port} not healthy after {timeout}s")


def stop(process) -> None:
    import server

    server.stop(process)


def online(model_dir: Path, workers: int) -> dict:
    import server

    results = {}
    bodies = {rows: payloads(model_dir, rows) for rows in (1, 100)}
    process = server.start(model_dir, 5001, workers=workers)
    try:
        wait(5001, "/", process)
        for rows, (azure, _) in bodies.items():
            results[f"azmlinfsrv|{rows}"] = load(5001, "/score", azure, REQUESTS, CONCURRENCY)
    finally:
        stop(process)
    command = ["mlflow", "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
    command += ["-p", "5002", "-h", "127.0.0.1", "--workers", str(workers)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait(5002, "/ping", process)
        for rows, (_, mlflow_body) in bodies.items():
            results[f"mlflow|{rows}"] = load(5002, "/invocations", mlflow_body, REQUESTS, CONCURRENCY)
    finally:
        stop(process)
    return results


def batch(model_dir: Path, batch_dir: Path) -> dict:
    """taxi_batch's local runner over the files: 1 process, then the deployment's 2 (best of 2 runs each)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("taxi_batch_local", "/project/taxi_batch/local.py")
    local = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = local  # its functions go to the scoring processes by name
    spec.loader.exec_module(local)
    files = sorted(batch_dir.glob("*.parquet"))
    figures = {}
    for processes in (1, 2):
        best = None
        for _ in range(2):
            local.score(model_dir, "bench model", files, Path("/tmp/bench-out"), 2, -1, processes)
            run = dict(local.LAST_RUN)
            best = run if best is None or run["seconds"] < best["seconds"] else best
        best["rows_per_s"] = best["rows"] / best["seconds"]
        figures[processes] = best
    return figures


def main() -> None:
    model_dir, batch_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    workers = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",") if w.strip()]
    result = {"online": {w: online(model_dir, w) for w in workers}, "batch": batch(model_dir, batch_dir)}
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
