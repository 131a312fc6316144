"""Faults from outside: the Docker daemon stops, the disk fills up, a container is killed. One clear line,
a non-zero exit, and nothing left behind: no container, no staged folder, src/ as it was.

Stopping the real daemon and mounting a small tmpfs need root and a daemon this suite may restart: they
run when SCAFFOLD_FAULTS=1 (set by .ci/run, which starts its own dockerd) and skip with a reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import driver, eventually, experiment_containers, remove_images, tree_state, unique_name
from test_interrupts import Running

FAULTS = os.environ.get("SCAFFOLD_FAULTS") == "1"
needs_root_faults = pytest.mark.skipif(
    not FAULTS or os.geteuid() != 0, reason="needs root and SCAFFOLD_FAULTS=1 (set by .ci/run)"
)
SLEEPER = 'import time\nprint("sleeper ready", flush=True)\ntime.sleep(600)\n'


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def sleeper(module_repo):
    """An experiment whose local.py waits: the window for faults during a run."""
    name = unique_name("fault")
    assert driver(module_repo, "new-exp", "--exp", name).returncode == 0
    (module_repo / "src" / name / "local.py").write_text(SLEEPER)
    assert driver(module_repo, "build-exp", "--exp", name).returncode == 0
    yield module_repo, name
    remove_images(name)


@pytest.mark.docker
def test_container_killed_from_outside(sleeper):
    repo, name = sleeper
    before = tree_state(repo / "src")
    run = Running(repo, ["local", "--exp", name])
    run.wait_for("sleeper ready", timeout=300)
    subprocess.run(["docker", "kill", *experiment_containers(name)], check=True, capture_output=True)
    code = run.process.wait(timeout=60)
    output = run.drain()
    assert code == 137, output
    assert error_lines(output) == [
        f"error: the container of {name} was killed (exit 137): by `docker kill`, `docker rm -f` "
        "or the kernel's out-of-memory killer"
    ], output
    assert eventually(lambda: experiment_containers(name) == [])
    assert tree_state(repo / "src") == before


def daemon_pid() -> int:
    pid = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout.split()
    assert len(pid) == 1, f"expected one dockerd, found {pid}"
    return int(pid[0])


def stop_daemon() -> list[str]:
    """Stop dockerd as a shutdown would (SIGTERM); return its command line to start it again."""
    pid = daemon_pid()
    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    os.kill(pid, signal.SIGTERM)
    assert eventually(lambda: not Path(f"/proc/{pid}").exists(), timeout=60), "dockerd did not stop"
    return command


def start_daemon(command: list[str], log_path: Path) -> None:
    with open(log_path, "ab") as log:
        subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    ping = ["docker", "info"]
    up = eventually(lambda: subprocess.run(ping, capture_output=True).returncode == 0, timeout=90)
    assert up, "dockerd did not come back"


@pytest.mark.docker
@needs_root_faults
def test_daemon_stopped_before_and_during_a_run(sleeper, tmp_path):
    repo, name = sleeper
    before = tree_state(repo / "src")
    run = Running(repo, ["local", "--exp", name])
    run.wait_for("sleeper ready", timeout=300)
    command = stop_daemon()
    try:
        code = run.process.wait(timeout=120)
        output = run.drain()
        assert code != 0, output
        assert error_lines(output) == [
            f"error: the Docker daemon stopped during the run of {name}; start it again and rerun"
        ], output
        stopped = driver(repo, "local", "--exp", name, timeout=120)
        assert stopped.returncode != 0
        assert len(error_lines(stopped.stderr)) == 1 and "Docker daemon unreachable" in stopped.stderr
        assert "Traceback" not in stopped.stderr
        build = driver(repo, "build-exp", "--exp", name, timeout=120)
        assert build.returncode != 0 and "Docker daemon unreachable" in build.stderr
    finally:
        start_daemon(command, tmp_path / "dockerd.log")
    assert eventually(lambda: experiment_containers(name) == [], timeout=60)
    assert tree_state(repo / "src") == before


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MB tmpfs: the disk that fills up."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@needs_root_faults
def test_disk_full_while_staging_a_job(fresh_repo, small_tmpfs):
    big = fresh_repo / "src" / "nyc_taxi" / "lookup.bin"
    big.write_bytes(os.urandom(2 * 1024 * 1024))
    before = tree_state(fresh_repo / "src")
    result = driver(
        fresh_repo, "job", "--exp", "nyc_taxi", "--", "--dry-run", env={"TMPDIR": str(small_tmpfs)}
    )
    assert result.returncode != 0
    assert error_lines(result.stderr) == [
        f"error: no space left on the device while staging the snapshot in {small_tmpfs}; "
        "free some space or set TMPDIR to a larger folder"
    ], result.stderr
    assert "Traceback" not in result.stderr
    assert list(small_tmpfs.iterdir()) == []
    assert tree_state(fresh_repo / "src") == before


@needs_root_faults
def test_disk_full_while_creating_an_experiment(tmp_path):
    """The repository itself on a disk with less room than the copy needs: new-exp leaves src/ as it was."""
    from conftest import copy_repository

    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        repo = copy_repository(mount / "repo")
        (repo / "src" / "nyc_taxi" / "lookup.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        used = shutil.disk_usage(mount).used
        subprocess.run(["mount", "-o", f"remount,size={used + 1024 * 1024}", str(mount)], check=True)
        before = tree_state(repo / "src")
        result = driver(repo, "new-exp", "--exp", "copy_of_nyc", "--from", "nyc_taxi")
        assert result.returncode != 0
        assert error_lines(result.stderr) == [
            "error: no space left on the device while creating src/copy_of_nyc; nothing was created"
        ], result.stderr
        assert "Traceback" not in result.stderr
        assert tree_state(repo / "src") == before
    finally:
        subprocess.run(["umount", str(mount)], check=False)
