"""End to end against a real Docker daemon, from a fresh copy of the repository:
new-exp, build-exp (and the no-op rebuild), local with tracking, exit codes, interrupts,
terminal, the experiment's own tests, and the one-line errors."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest
from conftest import PYTHON, driver, experiment_containers, make, remove_images, tree_state, unique_name

from scaffold.commands.test import NO_TESTS, Outcome

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def built(module_repo):
    """A new experiment in a fresh repository copy, built once for the module."""
    name = unique_name("e2e")
    created = driver(module_repo, "new-exp", "--exp", name)
    assert created.returncode == 0, created.stderr
    build = make(module_repo, "build-exp", f"EXP={name}")
    assert build.returncode == 0, build.stdout + build.stderr
    yield module_repo, name, build
    remove_images(name)


def test_first_build_builds_and_tags_hash_and_latest(built):
    repo, name, build = built
    import docker

    assert "Step " in build.stderr or "up to date" in build.stderr
    tags = {t for image in docker.from_env().images.list(name=name) for t in image.tags}
    assert f"{name}:latest" in tags
    assert any(t != f"{name}:latest" and len(t.split(":")[1]) == 12 for t in tags)


def test_second_build_does_not_build(built):
    repo, name, _ = built
    started = time.perf_counter()
    again = make(repo, "build-exp", f"EXP={name}")
    assert again.returncode == 0
    assert "up to date" in again.stderr and "Step " not in again.stderr
    assert time.perf_counter() - started < 30


def test_changed_context_rebuilds(built):
    repo, name, _ = built
    extra = repo / "src" / name / "docker" / "notes.txt"
    extra.write_text("a new file in the build context\n")
    try:
        result = make(repo, "build-exp", f"EXP={name}")
        assert result.returncode == 0, result.stderr
        assert "building" in result.stderr and "Step " in result.stderr
    finally:
        extra.unlink()


def test_local_run_is_tracked_and_readable_from_host(built):
    repo, name, _ = built
    source_before = tree_state(repo / "src")
    result = make(repo, "local", f"EXP={name}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "value_mean = 5.0000 over 100 rows" in result.stdout
    assert tree_state(repo / "src") == source_before, "the run wrote into src/"

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    assert len(runs) >= 1
    run = runs[0]
    assert run.data.metrics["value_mean"] == 5.0
    assert run.data.params["rows"] == "100"
    assert run.data.tags["image"].startswith(f"{name}:")
    artifact = repo / "mlruns" / "artifacts" / name / run.info.run_id / "artifacts" / "summary.json"
    assert artifact.is_file()

    sample = repo / "data" / name / "sample.csv"
    assert sample.stat().st_uid == os.getuid() and sample.stat().st_gid == os.getgid()
    assert experiment_containers(name) == []


def test_script_exit_code_is_the_command_exit_code(built):
    repo, name, _ = built
    result = driver(repo, "local", "--exp", name, "--", "--data", "/nonexistent.csv")
    assert result.returncode == 1
    assert "error: data file not found: /nonexistent.csv" in result.stderr
    assert experiment_containers(name) == []


def test_secrets_from_dotenv_reach_the_run_only(built):
    repo, name, _ = built
    (repo / ".env").write_text("SCAFFOLD_TEST_SECRET=s3cr3t-value\n")
    probe = repo / "src" / name / "probe_env.py"
    probe.write_text("import os\nprint('secret=' + os.environ.get('SCAFFOLD_TEST_SECRET', 'missing'))\n")
    try:
        result = subprocess.run(
            [PYTHON, "-m", "scaffold", "terminal", "--exp", name],
            cwd=repo,
            input="python probe_env.py\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "secret=s3cr3t-value" in result.stdout
    finally:
        probe.unlink()
        (repo / ".env").unlink()


def test_terminal_has_the_run_environment(built):
    repo, name, _ = built
    script = (
        "id -u; pwd; ls ../data >/dev/null && echo data-ok\n"
        "python -c 'import common; print(\"common-ok\")'; exit 3\n"
    )
    result = subprocess.run(
        [PYTHON, "-m", "scaffold", "terminal", "--exp", name],
        cwd=repo,
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3
    lines = result.stdout.split()
    assert lines[:2] == [str(os.getuid()), f"/project/{name}"]
    assert "data-ok" in lines and "common-ok" in lines
    assert experiment_containers(name) == []


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_local_leaves_no_container_and_no_stray_file(built, how):
    repo, name, _ = built
    local = repo / "src" / name / "local.py"
    original = local.read_text()
    local.write_text("import time\nprint('ready', flush=True)\ntime.sleep(300)\n")
    before = tree_state(repo / "src")
    try:
        process = subprocess.Popen(
            [PYTHON, "-m", "scaffold", "local", "--exp", name],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert process.stdout.readline().strip() == "ready"
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # the terminal sends SIGINT to the whole foreground group
        else:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        assert code == (130 if how == "ctrl-c" else 143)
        assert "Traceback" not in process.stderr.read()
        assert experiment_containers(name) == []
        assert tree_state(repo / "src") == before
    finally:
        local.write_text(original)


def test_experiment_tests_run_in_its_container(built):
    repo, name, _ = built
    result = make(repo, "test", f"EXP={name}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/test_main.py ....." in result.stdout  # the template's own five tests
    assert "../common/tests/" in result.stdout  # common's tests, in this experiment's environment
    passed = int(
        re.search(rf"^  {name}: (\d+) passed, 0 failed, 0 skipped ok$", result.stdout, re.M).group(1)
    )
    assert f"total: {passed} passed, 0 failed, 0 skipped" in result.stdout and passed > 5


def test_failing_experiment_test_fails_make_test(built):
    repo, name, _ = built
    failing = repo / "src" / name / "tests" / "test_failing.py"
    failing.write_text("def test_fails():\n    assert 1 == 2\n")
    try:
        result = make(repo, "test", f"EXP={name}")
        assert result.returncode != 0
        assert re.search(r"^total: \d+ passed, 1 failed, 0 skipped$", result.stdout, re.M)
    finally:
        failing.unlink()


def test_make_test_that_runs_no_test_says_so_and_fails(built):
    """Tests chosen by EXP or XARGS and none ran is a failure, as pytest's own exit 5 says; a pytest usage
    error is named as one, not counted as a failed test."""
    repo, name, _ = built
    for xargs, line in [
        ("-k nothing_matches", f"  {name}: no tests ran (exit 5)"),
        ("--bogus-opt", f"  {name}: pytest usage error (exit 4), see its message above"),
    ]:
        result = make(repo, "test", f"EXP={name}", f"XARGS={xargs}")
        assert result.returncode != 0 and line in result.stdout.splitlines(), result.stdout
        assert "total: 0 passed, 0 failed, 0 skipped" in result.stdout
    assert Outcome(name, NO_TESTS).ok  # a plain `make test` over every experiment: one without tests is ok


def test_venv_runner_runs_without_docker(built):
    repo, name, _ = built
    result = make(
        repo, "local", f"EXP={name}", "RUNNER=venv", env={"DOCKER_HOST": "unix:///nonexistent.sock"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "value_mean = 5.0000 over 100 rows" in result.stdout
    with sqlite3.connect(repo / "mlruns" / "mlflow.db") as db:
        tags = [row[0] for row in db.execute("select value from tags where key='image'")]
    assert f"venv:{name}" in tags
    assert not any(p.name == "mlruns" for p in (repo / "src").rglob("*"))
    # Compiled at install: runs write no bytecode, so without it every run would compile mlflow again.
    assert next((repo / ".venvs" / name).glob("lib/python3*/site-packages/mlflow/__pycache__/*.pyc"), None)


def test_failing_build_names_the_step(built):
    repo, _, _ = built
    broken = unique_name("broken")
    assert driver(repo, "new-exp", "--exp", broken).returncode == 0
    dockerfile = repo / "src" / broken / "docker" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY", "RUN echo boom-step && false\nCOPY", 1))
    try:
        result = make(repo, "build-exp", f"EXP={broken}")
        assert result.returncode != 0
        error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(error) == 1
        assert re.search(r"failed at Step \d+/\d+ : RUN echo boom-step && false: ", error[0]), error[0]
    finally:
        remove_images(broken)


def test_unreachable_daemon_is_one_line_suggesting_venv(built):
    repo, name, _ = built
    result = make(repo, "local", f"EXP={name}", env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.returncode != 0
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "Docker daemon unreachable" in error[0] and "RUNNER=venv" in error[0]


def test_missing_and_unknown_exp(built):
    repo, name, _ = built
    missing = make(repo, "local")
    assert missing.returncode != 0 and "error: EXP is required" in missing.stderr
    unknown = make(repo, "build-exp", "EXP=nope")
    assert (
        unknown.returncode != 0 and "unknown experiment 'nope'" in unknown.stderr and name in unknown.stderr
    )
