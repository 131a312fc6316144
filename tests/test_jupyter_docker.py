"""make jupyter: token-protected JupyterLab on 127.0.0.1, layer cached, container removed on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time

import pytest
from conftest import PYTHON, driver, experiment_containers, http_status, make, remove_images, unique_name

pytestmark = pytest.mark.docker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(repo, name, port):
    process = subprocess.Popen(
        [PYTHON, "-m", "scaffold", "jupyter", "--exp", name, "--port", str(port)],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/lab\?token=(\w+))", line)
        if match:
            return process, match.group(2), lines
    raise AssertionError("no URL printed: " + "".join(lines))


def stop(process) -> int:
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=60)


@pytest.fixture(scope="module")
def experiment(module_repo):
    name = unique_name("nb")
    assert driver(module_repo, "new-exp", "--exp", name).returncode == 0
    yield module_repo, name
    remove_images(f"{name}-jupyter")  # the child first: its parent cannot go while it exists
    remove_images(name)


def test_jupyter_serves_on_loopback_with_token_and_cleans_up(experiment):
    repo, name = experiment
    port = free_port()
    process, token, _ = start(repo, name, port)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 600
        while http_status(f"{base}/api/status?token={token}") != 200:
            assert process.poll() is None, "jupyter exited early"
            assert time.time() < deadline, "jupyter did not become ready"
            time.sleep(1)
        assert http_status(f"{base}/api/contents") == 403
        assert http_status(f"{base}/api/contents/notebooks?token={token}") == 200
        published = subprocess.run(
            ["docker", "ps", "--filter", f"label=scaffold.experiment={name}", "--format", "{{.Ports}}"],
            capture_output=True,
            text=True,
        ).stdout
        assert f"127.0.0.1:{port}->8888/tcp" in published and "0.0.0.0" not in published
    finally:
        code = stop(process)
    assert code == 130
    assert experiment_containers(name) == []


def test_second_start_installs_nothing(experiment):
    repo, name = experiment
    import docker

    client = docker.from_env()
    before = {image.id for image in client.images.list(name=f"{name}-jupyter")}
    assert before, "the first test builds the Jupyter layer"
    process, _, lines = start(repo, name, free_port())
    stop(process)
    assert not any(line.startswith("building") for line in lines)
    assert {image.id for image in client.images.list(name=f"{name}-jupyter")} == before


def test_port_in_use_is_refused(experiment):
    repo, name = experiment
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = make(repo, "jupyter", f"EXP={name}", f"PORT={port}")
    assert result.returncode != 0
    assert f"error: port {port} on 127.0.0.1 is already in use" in result.stderr


def installed(image: str) -> dict[str, str]:
    listed = subprocess.run(
        ["docker", "run", "--rm", image, "python", "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("==", 1) for line in listed.splitlines())


def test_the_layer_keeps_every_package_of_the_experiment(experiment):
    """A notebook imports what the job runs: JupyterLab is added, no experiment package changes version."""
    _, name = experiment
    job, notebook = installed(f"{name}:latest"), installed(f"{name}-jupyter:latest")
    assert "jupyterlab" in notebook and "jupyterlab" not in job
    assert {package: notebook.get(package) for package in job} == job
    assert "uv" not in notebook
