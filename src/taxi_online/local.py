"""Serve a registered taxi model locally with the real Azure ML inference server, as the endpoint will.

`make local EXP=taxi_online` takes nyc_taxi_fare from the local MLflow registry (the latest version, or
--model-version), downloads it to a temporary folder, starts `azmlinfsrv --entry_script score.py` in this
container, waits until it is healthy, sends the sample request (built from the model's signature), prints
the predictions and stops. With --serve it keeps serving until Ctrl-C; publish the port to the host with
`make local EXP=taxi_online XARGS=--serve PORT=5001` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import server

from common.registry import resolve_version
from common.signature import sample_request

DEFAULT_MODEL = "nyc_taxi_fare"
PUBLISHED_PORT = "SCAFFOLD_PORT"  # set by the driver when it publishes a port (make local PORT=...)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-name", default=DEFAULT_MODEL, help="registered MLflow model")
    parser.add_argument("--model-version", default=None, help="version to serve (default: the latest)")
    parser.add_argument("--port", type=int, default=int(os.environ.get(PUBLISHED_PORT) or 5001))
    parser.add_argument("--workers", type=int, default=1, help="inference server workers (WORKER_COUNT)")
    parser.add_argument("--rows", type=int, default=3, help="rows in the sample request")
    parser.add_argument("--serve", action="store_true", help="keep serving until Ctrl-C")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the server")
    return parser.parse_args(argv)


def download(name: str, version: str, into: Path) -> Path:
    """Download models:/name/version into `into` (never into src/)."""
    import mlflow

    path = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(into))
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    version = resolve_version(args.model_name, args.model_version)
    if version is None:
        print(
            f"error: no registered model {args.model_name}: run make local EXP=nyc_taxi first",
            file=sys.stderr,
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="taxi_online-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        model_dir = download(args.model_name, version, work / "model")
        request = sample_request(model_dir, rows=args.rows)
        (work / "sample-request.json").write_text(json.dumps(request, indent=1))
        print(f"local: serving {args.model_name} version {version} from {model_dir}")
        return serve(model_dir, request, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def serve(model_dir: Path, request: dict, args: argparse.Namespace, work: Path) -> int:
    log_path = work / "azmlinfsrv.log"
    with open(log_path, "wb") as log:
        process = server.start(model_dir, args.port, workers=args.workers, log=None if args.serve else log)
        stop_requested = []

        def on_signal(signum, _frame):
            stop_requested.append(signum)
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            took = server.wait_healthy(args.port, process, timeout=args.timeout, log_path=log_path)
            print(f"local: inference server healthy on port {args.port} after {took:.1f}s")
            status, answer = server.score(args.port, request)
            if status != 200:
                print(f"error: the sample request got HTTP {status}: {answer}", file=sys.stderr)
                return 1
            print("local: sample request (split orientation, columns in the signature's order):")
            print("  " + json.dumps(request)[:300] + ("..." if len(json.dumps(request)) > 300 else ""))
            print(f"local: predictions: {json.dumps(answer)}")
            if not args.serve:
                return 0
            _print_serving(args.port, work, request)
            process.wait()
            print(f"error: the inference server stopped (exit code {process.returncode})", file=sys.stderr)
            return 1
        except server.ServerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("local: stopping the inference server")
            return 0
        finally:
            server.stop(process)
            signal.signal(signal.SIGTERM, previous)


def _print_serving(port: int, work: Path, request: dict) -> None:
    published = os.environ.get(PUBLISHED_PORT)
    one_row = {
        "input_data": {**request["input_data"], "index": [0], "data": request["input_data"]["data"][:1]}
    }
    body = json.dumps(one_row).replace("'", "'\\''")
    url = f"http://127.0.0.1:{published or port}/score"
    print(f"\nserving: {url}  (health: GET /)")
    print(f"try:     curl -s -H 'Content-Type: application/json' -d '{body}' {url}")
    if not published:
        print(
            f"note: the port is published to the host only with `make local EXP=taxi_online XARGS=--serve "
            f'PORT={port}` (or RUN_XARGS="-p 127.0.0.1:{port}:{port}")'
        )
    print("stop with Ctrl-C", flush=True)


if __name__ == "__main__":
    sys.exit(main())
