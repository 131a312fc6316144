"""Deploy experiments end to end through the driver, in a fresh repository copy, on a real Docker daemon.

nyc_taxi registers a small model; taxi_online serves it with the Azure ML inference server in its container
(once, then kept serving on a published 127.0.0.1 port); taxi_batch scores generated files, then files
with unreadable ones under and over the error threshold. Nothing here talks to Azure.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import PYTHON, copy_repository, make

pytestmark = pytest.mark.docker

SMALL_TRAINING = "--rows 4000 --max_iter 20"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repository(tmp_path_factory.mktemp("deploy") / "repo")


@pytest.fixture(scope="module")
def registered(repo):
    """nyc_taxi_fare version 1 in the copy's local registry."""
    result = make(repo, "local", "EXP=nyc_taxi", f"XARGS={SMALL_TRAINING}", timeout=1200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "registered model: nyc_taxi_fare version 1" in result.stdout
    return repo


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(port: int, method: str, path: str, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body),
                           headers={"Content-Type": "application/json"})  # fmt: skip
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_online_without_a_model_is_one_line(repo):
    result = make(repo, "local", "EXP=taxi_online", timeout=1200)
    assert result.returncode != 0
    assert "error: no registered model nyc_taxi_fare: run make local EXP=nyc_taxi first" in result.stderr
    assert "Traceback" not in result.stderr


def test_online_serves_the_sample_request_and_stops(registered):
    result = make(registered, "local", "EXP=taxi_online", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "local: serving nyc_taxi_fare version 1 from /tmp/" in out
    assert "inference server healthy on port 5001" in out
    line = next(x for x in out.splitlines() if x.startswith("local: predictions: "))
    predictions = json.loads(line.removeprefix("local: predictions: "))
    assert len(predictions) == 3 and all(2 < value < 300 for value in predictions)
    assert not (registered / "src" / "taxi_online" / "model").exists()


def test_online_serve_on_a_published_port(registered):
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "scaffold", "local", "--exp", "taxi_online", "--port", str(port), "--", "--serve"],
        cwd=registered,
        env={**os.environ, "PYTHONPATH": str(registered)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                if call(port, "GET", "/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the served endpoint never became healthy"
            time.sleep(0.5)
        sys.path.insert(0, str(registered / "src"))
        from common.cities import NYC
        from common.generator import generate_frame
        from common.schema import FEATURES

        frame = generate_frame(NYC, 5, seed=1)[FEATURES]
        records = json.loads(frame[list(reversed(FEATURES))].to_json(orient="records"))
        status, body = call(port, "POST", "/score", {"input_data": records})
        assert status == 200 and len(json.loads(body)) == 5
        status, body = call(port, "POST", "/score", {"input_data": [dict(records[0], distance="far")]})
        assert status == 400 and "non-numeric value" in json.loads(body)["message"]
        # Only 127.0.0.1 is published.
        published = subprocess.run(
            ["docker", "ps", "--filter", "label=scaffold.experiment=taxi_online", "--format", "{{.Ports}}"],
            capture_output=True,
            text=True,
        ).stdout
        assert f"127.0.0.1:{port}->{port}/tcp" in published and "0.0.0.0" not in published
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert f"serving: http://127.0.0.1:{port}/score" in output
    assert "curl -s -H 'Content-Type: application/json'" in output


def test_batch_scores_generated_files(registered):
    result = make(registered, "local", "EXP=taxi_batch", "XARGS=--sample-rows 3000", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "generating 4 files of 3000 NYC trips" in result.stdout
    assert (
        "local: 12000 rows from 4 file(s)" in result.stdout
        and "failed files: 0 (threshold 2)" in result.stdout
    )
    predictions = registered / "data" / "taxi_batch" / "outputs" / "predictions.csv"
    lines = predictions.read_text().splitlines()
    # As Azure ML's append_row writes it: no header, values joined by a space.
    assert len(lines) == 12000 and lines[0].startswith("trips_00.parquet 0 ")
    assert os.stat(predictions).st_uid == os.getuid()


def test_batch_unreadable_files_under_and_over_the_threshold(registered):
    folder = registered / "data" / "taxi_batch" / "input"
    (folder / "broken.parquet").write_bytes(b"this is not parquet")
    (folder / "empty.csv").write_text("")
    under = make(registered, "local", "EXP=taxi_batch", timeout=600)
    assert under.returncode == 0, under.stdout[-2000:] + under.stderr[-2000:]
    assert (
        "local: 12000 rows from 4 file(s)" in under.stdout and "failed files: 2 (threshold 2)" in under.stdout
    )
    assert "failed: broken.parquet: cannot read" in under.stdout

    (folder / "notes.csv").write_text("a,b\n1,2\n")
    over = make(registered, "local", "EXP=taxi_batch", timeout=600)
    assert over.returncode != 0
    assert "error: 3 file(s) failed, more than the error threshold (2)" in over.stderr
    assert "failed: notes.csv: missing column(s): distance" in over.stdout


def test_job_dry_runs_load_offline(repo):
    for exp in ("taxi_online", "taxi_batch"):
        result = make(repo, "job", f"EXP={exp}", "XARGS=--dry-run", timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "python main.py" in result.stdout and "identity:" in result.stdout
