"""`make mlflow-ui` against `mlflow ui` on the same store, side by side: seconds from the command to the UI's
first answer (medians of alternating rounds), and the processes each leaves behind after Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from results import table, write_section

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def left_behind(pgid: int) -> int:
    """Processes still in the command's process group, or re-parented from it, 5 s after Ctrl-C."""
    time.sleep(5)
    listed = subprocess.run(["ps", "-e", "-o", "pgid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 1) for line in listed.splitlines() if line.strip()]
    return sum(1 for group, args in rows if group == str(pgid) or "huey_consumer" in args)


def start_to_answer(argv: list[str]) -> tuple[float, int]:
    """(seconds until the UI answers, processes left after Ctrl-C)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*argv, str(port)] if argv[-1] == "--port" else [*argv, f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while not answers(port):
        if process.poll() is not None or time.perf_counter() - started > 300:
            raise RuntimeError(f"{argv[:3]} did not answer")
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=120)
    left = left_behind(process.pid)
    subprocess.run(["pkill", "-f", "huey_consumer"], capture_output=True)  # what `mlflow ui` leaves
    return seconds, left


def main(argv: list[str]) -> None:
    mlruns = ROOT / "mlruns"
    mlruns.mkdir(exist_ok=True)
    ours = ["make", "--no-print-directory", "mlflow-ui"]
    theirs = [
        str(ROOT / ".venv" / "bin" / "mlflow"),
        "ui",
        "--backend-store-uri",
        f"sqlite:///{mlruns}/mlflow.db",
    ]
    theirs += ["--default-artifact-root", str(mlruns / "artifacts"), "--host", "127.0.0.1", "--port"]
    a, b = [], []
    for _ in range(ROUNDS):
        a.append(start_to_answer(ours))
        b.append(start_to_answer(theirs))
    ours_s, theirs_s = statistics.median(s for s, _ in a), statistics.median(s for s, _ in b)
    rows = [
        [
            "seconds to the UI's first answer (median)",
            f"{ours_s:.1f}",
            f"{theirs_s:.1f}",
            f"x{ours_s / theirs_s:.2f}",
        ],
        ["processes left 5 s after Ctrl-C (most)", max(n for _, n in a), max(n for _, n in b), ""],
    ]
    load = os.getloadavg()[0]
    body = table(["measure", "make mlflow-ui", "mlflow ui", "ratio"], rows)
    body += (
        f"\n\n{ROUNDS} alternating rounds; load average {load:.1f} at the end. `make mlflow-ui` includes the"
    )
    body += " driver's start and its run links."
    write_section("mlflow_ui", "MLflow UI start (`benchmarks/bench_mlflow_ui.py`)", body)
    print(body)


if __name__ == "__main__":
    main([])
