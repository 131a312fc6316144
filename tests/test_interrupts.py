"""Ctrl-C (SIGINT) and SIGTERM at each phase leave the repository as it was: nothing staged, no container.

Each test starts a real command, waits until it is in the phase under test (a named pause point, or a line
of output that only that phase prints), signals it and checks what is left: src/ unchanged, no container
of the experiment, the temporary folder empty, and a non-zero exit with one line saying what happened.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import (
    PYTHON,
    SlowCreate,
    driver,
    eventually,
    experiment_containers,
    remove_images,
    tree_state,
    unique_name,
)

SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
EXPECTED_LAST_LINE = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated by SIGTERM"}


class Running:
    """A driver command in its own process group whose output lines are read as they come."""

    def __init__(self, repo: Path, args: list[str], env: dict | None = None):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [PYTHON, "-m", "scaffold", *args],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, text: str, timeout: float = 600) -> None:
        """Block until an output line contains `text`; fail with the output if the command ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line == "":
                raise AssertionError(f"ended before {text!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} after {timeout}s:\n{''.join(self.seen)}")

    def signal(self, sig: int) -> tuple[int, str]:
        """Send `sig` to the driver only (not its group) and return (exit code, all output)."""
        self.process.send_signal(sig)
        code = self.process.wait(timeout=120)
        return code, self.drain()

    def drain(self) -> str:
        """All output, once the command has ended."""
        while True:
            line = self.lines.get(timeout=30)
            if line == "":
                break
            self.seen.append(line)
        return "".join(self.seen)


def all_containers() -> set[str]:
    listed = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


def assert_ended_by(code: int, output: str, sig: int) -> None:
    assert code == 128 + sig, output
    assert output.strip().splitlines()[-1] == EXPECTED_LAST_LINE[sig], output
    assert "Traceback" not in output, output


@pytest.fixture
def temp_dir(tmp_path) -> Path:
    """A private TMPDIR, so 'no temporary folder left' is checked on a folder only this test uses."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("sig", SIGNALS)
def test_new_exp_interrupted_while_staged(fresh_repo, sig):
    before = tree_state(fresh_repo / "src")
    name = unique_name("int")
    run = Running(fresh_repo, ["new-exp", "--exp", name], env={"SCAFFOLD_PAUSE_AT": "new-exp:staged"})
    run.wait_for("paused at new-exp:staged")
    assert any(p.name.startswith(f".new-{name}-") for p in (fresh_repo / "src").iterdir())
    code, output = run.signal(sig)
    assert_ended_by(code, output, sig)
    assert tree_state(fresh_repo / "src") == before
    # A later attempt finds nothing in its way.
    assert driver(fresh_repo, "new-exp", "--exp", name).returncode == 0


@pytest.mark.parametrize("sig", SIGNALS)
def test_job_staging_interrupted(fresh_repo, temp_dir, sig):
    before = tree_state(fresh_repo / "src")
    run = Running(
        fresh_repo,
        ["job", "--exp", "nyc_taxi", "--", "--dry-run"],
        env={"SCAFFOLD_PAUSE_AT": "job:staged", "TMPDIR": str(temp_dir)},
    )
    run.wait_for("paused at job:staged", timeout=120)
    assert list(temp_dir.iterdir()), "the snapshot is staged under TMPDIR"
    code, output = run.signal(sig)
    assert_ended_by(code, output, sig)
    assert list(temp_dir.iterdir()) == []
    assert tree_state(fresh_repo / "src") == before


@pytest.fixture(scope="module")
def slow_build_repo(module_repo):
    """An experiment whose image build sits in a long RUN step: the window to interrupt a build."""
    name = unique_name("slowbuild")
    assert driver(module_repo, "new-exp", "--exp", name).returncode == 0
    dockerfile = module_repo / "src" / name / "docker" / "Dockerfile"
    # Right after the shared pip layer, before the LABEL step: an interrupted build then commits no new
    # intermediate image (docker build keeps completed steps as cache, which would outlive the test).
    lines = dockerfile.read_text().splitlines(keepends=True)
    label = next(i for i, line in enumerate(lines) if line.startswith("LABEL"))
    lines.insert(label, 'RUN echo "slow step starts" && sleep 300\n')
    dockerfile.write_text("".join(lines))
    yield module_repo, name
    remove_images(name)


@pytest.mark.docker
@pytest.mark.parametrize("sig", SIGNALS)
def test_build_exp_interrupted_mid_build(slow_build_repo, sig):
    repo, name = slow_build_repo
    before_src, before_containers = tree_state(repo / "src"), all_containers()
    run = Running(repo, ["build-exp", "--exp", name])
    run.wait_for("slow step starts")
    code, output = run.signal(sig)
    assert_ended_by(code, output, sig)
    # The daemon cancels the build when the driver goes: its step container goes with it.
    assert eventually(lambda: all_containers() <= before_containers), all_containers() - before_containers
    listed = subprocess.run(["docker", "images", "-q", name], capture_output=True, text=True).stdout
    assert listed.split() == [], "no half-built image is tagged"
    assert tree_state(repo / "src") == before_src


@pytest.fixture(scope="module")
def notebook_repo(module_repo):
    name = unique_name("intnb")
    assert driver(module_repo, "new-exp", "--exp", name).returncode == 0
    yield module_repo, name
    remove_images(f"{name}-jupyter")  # the child first: its parent cannot go while it exists
    remove_images(name)


@pytest.mark.docker
def test_jupyter_interrupted_while_building_its_layer(notebook_repo, temp_dir):
    repo, name = notebook_repo
    before_src, before_containers = tree_state(repo / "src"), all_containers()
    run = Running(repo, ["jupyter", "--exp", name], env={"TMPDIR": str(temp_dir)})
    run.wait_for(f"building {name}-jupyter")
    run.wait_for("Step ")  # the daemon is building
    code, output = run.signal(signal.SIGINT)
    assert_ended_by(code, output, signal.SIGINT)
    assert eventually(lambda: all_containers() <= before_containers), all_containers() - before_containers
    listed = subprocess.run(["docker", "images", "-q", f"{name}-jupyter"], capture_output=True, text=True)
    assert listed.stdout.split() == []
    assert list(temp_dir.iterdir()) == []
    assert tree_state(repo / "src") == before_src


@pytest.mark.docker
@pytest.mark.parametrize("sig", SIGNALS)
def test_jupyter_interrupted_while_starting(notebook_repo, temp_dir, sig):
    repo, name = notebook_repo
    before_src = tree_state(repo / "src")
    run = Running(repo, ["jupyter", "--exp", name], env={"TMPDIR": str(temp_dir)})
    own = f"scaffold-{name}-"  # the driver's container, not a build step of the Jupyter layer
    started = eventually(
        lambda: experiment_containers(name, name=own) != [] or run.process.poll() is not None, timeout=900
    )
    assert started and run.process.poll() is None, "the container starts (after building the layer if needed)"
    code, output = run.signal(sig)
    assert code == 128 + sig, output
    assert "Traceback" not in output, output
    assert eventually(lambda: experiment_containers(name) == []), "no container is left"
    assert list(temp_dir.iterdir()) == []
    assert tree_state(repo / "src") == before_src


@pytest.mark.docker
@pytest.mark.parametrize("sig", SIGNALS)
def test_local_interrupted_while_its_container_is_created_leaves_none(
    module_repo, taxi_online_image, tmp_path, sig
):
    """The signal reaches the whole process group, as from a terminal, while the daemon is still creating the
    container: the driver waits for the create to end, then removes what it created."""
    slow = SlowCreate(tmp_path / "docker")
    run = Running(module_repo, ["local", "--exp", "taxi_online"], env=slow.env)
    try:
        assert eventually(lambda: slow.creating() or run.process.poll() is not None, timeout=600)
        assert run.process.poll() is None, run.drain()
        os.killpg(run.process.pid, sig)
        code = run.process.wait(timeout=120)
        output = run.drain()
        assert eventually(slow.all_created, timeout=60), "the daemon answered the create"
        assert slow.containers() == [], "no container is left, not even one that never started"
        assert code == 128 + sig, output
        assert "interrupted: stopping container scaffold-taxi_online-" in output and "Traceback" not in output
    finally:
        eventually(slow.all_created, timeout=60)
        if slow.containers():
            subprocess.run(["docker", "rm", "-f", *slow.containers()], capture_output=True)


@pytest.mark.parametrize("sig", SIGNALS)
def test_make_test_interrupted_stops_every_suite(fresh_repo, sig):
    """Ctrl-C in one experiment's suite ends the whole `make test`, not just that suite (the next one used
    to start)."""
    names = sorted(p.parent.name for p in (fresh_repo / "src").glob("*/tests") if p.parent.name != "common")
    run = Running(fresh_repo, ["test"])
    run.wait_for(f"== {names[0]} tests")
    assert eventually(lambda: experiment_containers(names[0], fresh_repo), timeout=300), run.seen
    time.sleep(2)
    code, output = run.signal(sig)
    assert code == 128 + sig, output
    assert f"== {names[1]} tests" not in output, output
    assert "Traceback" not in output, output
    assert eventually(lambda: experiment_containers(names[0], fresh_repo) == [])
