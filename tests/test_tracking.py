"""Local experiments are created as classical model development, and `make mlflow-ui` prints the link to
their runs in the UI's "Model training" view.

The tag name and value are the ones mlflow 3.15's UI writes when you choose the experiment type "Machine
learning" (ExperimentKind.CUSTOM_MODEL_DEVELOPMENT in its bundle). The same UI opens an experiment on its
GenAI overview (0 traces) unless the link says workflowType=machine_learning (checked in headless Chromium).
"""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import PYTHON, http_status

ENTRY = Path(__file__).parents[1] / "scaffold" / "container_entry.py"
KIND = ("mlflow.experimentKind", "custom_model_development")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def record_run(repo, experiment: str) -> None:
    """One run through the driver's container entry point (the same file runs in containers and venvs)."""
    script = repo / "one_run.py"
    script.write_text("import mlflow\n\nwith mlflow.start_run():\n    mlflow.log_metric('r2', 0.9)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}",
        MLFLOW_EXPERIMENT_NAME=experiment,
        SCAFFOLD_ARTIFACT_ROOT=str(repo / "mlruns" / "artifacts"),
    )
    (repo / "mlruns").mkdir(exist_ok=True)
    subprocess.run([PYTHON, "scaffold/container_entry.py", str(script)], cwd=repo, env=env, check=True)


def test_local_experiments_are_classical_and_mlflow_ui_links_their_runs(fresh_repo):
    import mlflow

    record_run(fresh_repo, "fares")
    record_run(fresh_repo, "tips")
    client = mlflow.MlflowClient(f"sqlite:///{fresh_repo / 'mlruns' / 'mlflow.db'}")
    ids = {}
    for name in ("fares", "tips"):
        experiment = client.get_experiment_by_name(name)
        assert experiment.tags.get(KIND[0]) == KIND[1], experiment.tags
        ids[name] = experiment.experiment_id

    port = free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "mlflow-ui", f"PORT={port}"],
        cwd=fresh_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while http_status(f"http://127.0.0.1:{port}/") != 200:
            assert server.poll() is None and time.monotonic() < deadline, "the MLflow UI did not start"
            time.sleep(1)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output = server.communicate(timeout=90)[0]
    links = dict(re.findall(r"runs of (\w+): (\S+)", output))
    root = f"http://127.0.0.1:{port}/#/experiments"
    wanted = {name: f"{root}/{ids[name]}/runs?workflowType=machine_learning" for name in ("fares", "tips")}
    assert links == wanted, output
    assert "Warning" not in output, output  # MLflow's dependencies' deprecation notices are not the user's

    # Ctrl-C ends every process of the UI (`mlflow ui` left its GenAI job runner's consumers behind).
    # The driver's exit code, as make reports it (make[1] when the tests themselves run under make).
    assert re.search(r"^make(\[\d+\])?: \*\*\* \[Makefile:\d+: mlflow-ui\] Error 130$", output, re.M), output
    assert not group_members(server.pid), output


def group_members(pgid: int) -> list[str]:
    listed = subprocess.run(["ps", "-e", "-o", "pgid=,args="], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines() if line.split(None, 1)[0] == str(pgid)]


def test_a_second_mlflow_ui_on_the_same_port_is_one_line(fresh_repo):
    """The port is taken when the first UI starts, not once MLflow has loaded: a second is refused at once
    (it used to pass the check and then restart its workers forever)."""
    port = free_port()
    first = subprocess.Popen(
        ["make", "--no-print-directory", "mlflow-ui", f"PORT={port}"],
        cwd=fresh_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while "MLflow UI:" not in (line := first.stdout.readline()):  # printed once the port is held
            assert line and time.monotonic() < deadline, "the first MLflow UI did not start"
        second = subprocess.run(
            ["make", "--no-print-directory", "mlflow-ui", f"PORT={port}"],
            cwd=fresh_repo,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.communicate(timeout=90)
    assert second.returncode == 2
    assert f"error: port {port} on 127.0.0.1 is already in use" in second.stderr.splitlines()[0]


def test_mlflow_ui_refuses_an_unknown_experiment(fresh_repo):
    done = subprocess.run(
        ["make", "--no-print-directory", "mlflow-ui", "EXP=nyc_taxy", f"PORT={free_port()}"],
        cwd=fresh_repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith("error: unknown experiment 'nyc_taxy'; known: ")


def test_ctrl_c_ends_the_scripts_run_killed_without_a_traceback(tmp_path):
    """As Azure ML shows a canceled job; the exit code is the signal's (130, 143) and atexit handlers still
    run. In a container, `docker start -a` forwards the Ctrl-C and the driver's `docker stop` sends SIGTERM
    right after it."""
    import mlflow

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        MLFLOW_EXPERIMENT_NAME="fares",
        SCAFFOLD_ARTIFACT_ROOT=str(tmp_path / "artifacts"),
    )
    at_exit = "import atexit\natexit.register(lambda: open('done', 'w').write('at exit'))\n"
    scripts = {  # a run in a with block (MLflow ends it FAILED), and one left active (atexit: FINISHED)
        "with_block.py": "with mlflow.start_run():\n    print('started', flush=True)\n    time.sleep(60)\n",
        "active.py": "mlflow.start_run()\nprint('started', flush=True)\ntime.sleep(60)\n",
        # A pipeline's steps as nested runs (make local's): one done, one interrupted inside its with block.
        "nested.py": "with mlflow.start_run():\n"
        "    with mlflow.start_run(nested=True):\n        pass\n"
        "    with mlflow.start_run(nested=True):\n"
        "        print('started', flush=True)\n        time.sleep(60)\n",
    }
    stops = [("with_block.py", [signal.SIGINT]), ("active.py", [signal.SIGINT])]
    stops += [("with_block.py", [signal.SIGTERM]), ("with_block.py", [signal.SIGINT, signal.SIGTERM])]
    stops += [("nested.py", [signal.SIGINT]), ("nested.py", [signal.SIGTERM])]
    for name, body in scripts.items():
        (tmp_path / name).write_text(f"import time\nimport mlflow\n{at_exit}{body}")
    for name, signals in stops:
        script = subprocess.Popen(
            [PYTHON, str(ENTRY), name], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert script.stdout.readline() == "started\n", script.communicate()
        for sig in signals:
            script.send_signal(sig)
        stderr = script.communicate(timeout=60)[1]
        code = 128 + signals[0]
        assert script.returncode == code and "Traceback" not in stderr, (name, script.returncode, stderr)
        (tmp_path / "done").unlink()  # written at exit
    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([client.get_experiment_by_name("fares").experiment_id])
    finished = [run for run in runs if run.info.status == "FINISHED"]  # the first step of each nested.py
    assert len(finished) == 2 and all(run.data.tags.get("mlflow.parentRunId") for run in finished)
    assert [run.info.status for run in runs if run not in finished] == ["KILLED"] * (len(stops) + 2)
