"""`make job ... XARGS=--local`: job YAMLs run here as Azure ML runs them, each step in its own container.

The bindings and the local data assets are checked first without Docker; then real jobs run against the real
daemon, the real MLflow stand-in and the experiments' real images: a pipeline that exercises every binding
kind, the shipped taxi pipelines (one with an extra step added to a copy of its YAML), a 2-trial sweep, the
template's command job, a failing step, a missing asset and Ctrl-C mid-pipeline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import PYTHON, SlowCreate, driver, eventually, remove_images, unique_name

from scaffold.errors import ScaffoldError
from scaffold.local_job import assets, bindings
from scaffold.local_job.steps import imported_packages, python_script
from scaffold.paths import Repo

ROWS = 3000  # taxi trips in the small data set: enough for every step, quick to train
SMALL_TRAIN = ["--set", "jobs.train.inputs.max_iter=15"]


# --- bindings and assets, no Docker ------------------------------------------------------------------------


def test_render_substitutes_literals_inputs_and_outputs_as_they_are():
    values = {"inputs.rate": "0.2", "inputs.data": "/mnt/in/x.csv", "outputs.model": "/mnt/out/model"}
    command = "python main.py --rate ${{inputs.rate}} --data ${{ inputs.data }} --out ${{outputs.model}}"
    assert bindings.render(command, values, "job") == (
        "python main.py --rate 0.2 --data /mnt/in/x.csv --out /mnt/out/model"
    )


def test_render_keeps_an_optional_part_only_when_its_input_is_given():
    command = "python main.py $[[--invoke ${{inputs.invoke}}]] --name ${{inputs.name}}"
    assert bindings.render(command, {"inputs.name": "n"}, "job") == "python main.py  --name n"
    given = {"inputs.name": "n", "inputs.invoke": "/data"}
    assert bindings.render(command, given, "job") == "python main.py --invoke /data --name n"


def test_render_refuses_a_required_binding_without_value():
    with pytest.raises(ScaffoldError, match=r"uses \$\{\{inputs.missing\}\}, which has no value"):
        bindings.render("python main.py --x ${{inputs.missing}}", {}, "src/x/job.yaml")


def test_literals_are_written_as_azure_ml_writes_them():
    assert [bindings.literal(v) for v in (True, 3, 0.5, "a b")] == ["True", "3", "0.5", "a b"]


LITERALS_COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: literals
inputs:
  flag: {type: boolean, default: true}
  quiet: {type: boolean, default: false}
  other: {type: boolean}
  rate: {type: number}
  count: {type: integer}
command: echo ${{inputs.flag}} ${{inputs.quiet}} ${{inputs.other}} ${{inputs.rate}} ${{inputs.count}}
environment: {image: python:3.11}
"""
LITERALS_PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
inputs: {switch: false, ratio: 1}
jobs:
  bound:
    component: ./component.yml
    inputs:
      other: ${{parent.inputs.switch}}
      rate: ${{parent.inputs.ratio}}
      count: 2
  literal:
    component: ./component.yml
    inputs: {flag: false, other: true, rate: 0.001, count: 7}
settings: {default_compute: azureml:cpu}
"""
LITERALS_COMMAND = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
inputs: {flag: true, quiet: false, count: 3, rate: 0.5, word: "true"}
command: echo ${{inputs.flag}} ${{inputs.quiet}} ${{inputs.count}} ${{inputs.rate}} ${{inputs.word}}
environment: {image: python:3.11}
compute: azureml:cpu
"""
LITERALS_SWEEP = """\
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
inputs: {flag: true, n: 1}
trial:
  command: echo ${{inputs.flag}} ${{inputs.n}} ${{search_space.x}}
  environment: {image: python:3.11}
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1, 2]}
objective: {goal: maximize, primary_metric: m}
limits: {max_total_trials: 2}
compute: azureml:cpu
"""


def test_boolean_literals_reach_the_command_as_the_sdk_sends_them(tmp_path):
    """The SDK sends str(value) (True/False); its dump writes 1/0, which the local job must not use.

    Checked against the SDK's own REST conversion (private: pinned by test_rest_contract's CHECKED_WITH).
    """
    from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
    from test_rest_contract import ARM, serialized

    from scaffold.azure.job_yaml import load_job
    from scaffold.local_job.run import _as_data

    (tmp_path / "component.yml").write_text(LITERALS_COMPONENT)
    (tmp_path / "pipeline.yml").write_text(LITERALS_PIPELINE)
    (tmp_path / "command.yml").write_text(LITERALS_COMMAND)

    def sent(inputs: dict) -> dict:
        return {name: value["value"] for name, value in inputs.items()}

    command = load_job(tmp_path / "command.yml", [], "command.yml")
    local = {name: bindings.literal(v) for name, v in _as_data(command)["inputs"].items()}
    command.environment = f"{ARM}/environments/e/versions/1"
    assert local == sent(serialized(to_rest_job_object(command))["properties"]["inputs"])
    assert local == {"flag": "True", "quiet": "False", "count": "3", "rate": "0.5", "word": "true"}

    pipeline = load_job(tmp_path / "pipeline.yml", [], "pipeline.yml")
    data = _as_data(pipeline)
    for node in pipeline.jobs.values():
        node._component = f"{ARM}/components/literals/versions/1"  # as the SDK does after uploading it
    body = serialized(to_rest_job_object(pipeline))["properties"]
    parent = {name: bindings.literal(v) for name, v in data["inputs"].items()}
    assert parent == sent(body["inputs"]) == {"switch": "False", "ratio": "1"}
    step = {name: bindings.literal(v) for name, v in data["jobs"]["literal"]["inputs"].items()}
    assert step == sent(body["jobs"]["literal"]["inputs"])
    assert step == {"flag": "False", "other": "True", "rate": "0.001", "count": "7"}
    defaults = data["jobs"]["literal"]["component"]["inputs"]
    assert [bindings.literal(defaults[n]["default"]) for n in ("flag", "quiet")] == ["True", "False"]
    assert data["jobs"]["bound"]["inputs"]["other"] == {"path": "${{parent.inputs.switch}}"}

    (tmp_path / "sweep.yml").write_text(LITERALS_SWEEP)
    sweep = _as_data(load_job(tmp_path / "sweep.yml", [], "sweep.yml"))
    assert {name: bindings.literal(v) for name, v in sweep["inputs"].items()} == {"flag": "True", "n": "1"}

    overridden = load_job(tmp_path / "command.yml", [{"inputs.flag": "false"}], "command.yml")
    assert _as_data(overridden)["inputs"]["flag"] == "false"  # --set values stay strings, as sent


def test_local_assets_resolve_latest_and_each_version(tmp_path):
    repo = Repo(tmp_path)
    first, second = tmp_path / "data" / "v1", tmp_path / "elsewhere" / "v2.csv"
    first.mkdir(parents=True)
    second.parent.mkdir()
    second.write_text("a\n1\n")
    assert assets.register(repo, "taxi", first, "uri_folder") == "1"
    assert assets.register(repo, "taxi", second, "uri_file") == "2"
    assert assets.register(repo, "taxi", first, "uri_folder", "gold") == "gold"
    assert assets.resolve(repo, "azureml:taxi@latest") == (first, "uri_folder", "gold")
    assert assets.resolve(repo, "azureml:taxi:2") == (second, "uri_file", "2")
    assert assets.resolve(repo, "azureml:taxi@1") == (first, "uri_folder", "1")
    stored = json.loads((tmp_path / "data" / "assets.json").read_text())
    assert [entry["path"] for entry in stored["taxi"]] == ["data/v1", "elsewhere/v2.csv", "data/v1"]
    with pytest.raises(ScaffoldError, match="exists already"):
        assets.register(repo, "taxi", first, "uri_folder", "2")


def test_generated_job_names_do_not_collide_and_a_given_name_must_be_new(tmp_path, monkeypatch):
    """Two jobs started in the same second get different names; `--name` of an existing job is an error."""
    from scaffold.azure.jobs import default_name
    from scaffold.gitinfo import GitInfo
    from scaffold.local_job.run import _new_run_dir

    monkeypatch.setattr(time, "gmtime", lambda *args: time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0)))
    names = {default_name("demo", GitInfo("0123456789abcdef", False)) for _ in range(5)}
    assert len(names) == 5 and all(
        re.fullmatch(r"demo-20260102-030405-[0-9a-f]{6}-0123456", n) for n in names
    )
    repo = Repo(tmp_path)
    for name in names:
        assert _new_run_dir(repo, name).is_dir()
    _new_run_dir(repo, "run-1")
    with pytest.raises(
        ScaffoldError, match="a local job called run-1 exists already .*; choose another --name"
    ):
        _new_run_dir(repo, "run-1")


def test_a_missing_local_asset_says_how_to_register_it(tmp_path):
    repo = Repo(tmp_path)
    with pytest.raises(ScaffoldError) as missing:
        assets.resolve(repo, "azureml:raw@latest")
    assert str(missing.value) == (
        "no local data asset raw: register one with "
        "`make data-asset NAME=raw PATH=<file or folder> XARGS=--local`"
    )
    folder = tmp_path / "raw"
    folder.mkdir()
    assets.register(repo, "raw", folder, "uri_folder")
    with pytest.raises(ScaffoldError, match=r"no local data asset raw:7 \(versions: 1\)"):
        assets.resolve(repo, "azureml:raw:7")


# --- steps started ahead of their inputs, no Docker ---------------------------------------------------------

ENTRY = Path(__file__).parents[1] / "scaffold" / "container_entry.py"


def test_only_a_plain_python_script_command_is_started_ahead():
    assert python_script(" python main.py train --lr 0.1 --out /mnt/x\n") == [
        "python", "main.py", "train", "--lr", "0.1", "--out", "/mnt/x",
    ]  # fmt: skip
    assert python_script("python3 src/train.py") == ["python3", "src/train.py"]
    for command in (
        "ls /mnt/x > /mnt/y/files.txt",
        "python main.py a && python main.py b",
        "cd src; python train.py",
        "python -m pkg.train",
        "python train.py --glob *.csv",
        "python train.py --name 'two words'",
        "python train.py $HOME",
        "FOO=1 python train.py",
        "python main.py a\npython main.py b",
    ):
        assert python_script(command) is None, command


def test_the_packages_a_step_imports_ahead_are_the_codes_own_third_party_imports(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "main.py").write_text(
        "from __future__ import annotations\nimport os, json\nimport mlflow\nimport pandas as pd\n"
        "from common import util\nmlflow.sklearn.save_model(os.path, pd.DataFrame, util.x)\n"
    )
    (tmp_path / "common" / "util.py").write_text(
        "from . import other\nfrom sklearn.ensemble import HistGradientBoostingRegressor\n"
        "def plot():\n    import matplotlib.pyplot as plt\n"
    )
    (tmp_path / "common" / "broken.py").write_text("def (:\n")
    (tmp_path / "tests" / "test_main.py").write_text("import pytest\n")
    files = ["main.py", "common/util.py", "common/broken.py", "tests/test_main.py"]
    assert set(imported_packages(tmp_path, files)) == {
        "mlflow", "pandas", "mlflow.sklearn", "pandas.DataFrame",
        "sklearn.ensemble", "sklearn.ensemble.HistGradientBoostingRegressor", "matplotlib.pyplot",
    }  # fmt: skip


def warm(tmp_path, script: str, stdin: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "script.py").write_text(script)
    return subprocess.run(
        [PYTHON, str(ENTRY), "--wait", "json", "no_such_package", "--", "script.py", *args],
        input=stdin, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip


def test_a_step_started_ahead_runs_its_script_as_python_would_once_let_go(tmp_path):
    script = (
        "import sys, os\nprint(sys.argv, __name__, sys.path[0] == os.getcwd(), 'json' in sys.modules)\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    ran = warm(tmp_path, script, "go\n", "3", "--flag")
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout == "['script.py', '3', '--flag'] __main__ True True\n"
    failing = warm(tmp_path, "raise ValueError('bad value')\n", "go\n")
    assert failing.returncode == 1 and failing.stderr.splitlines()[-1] == "ValueError: bad value"
    at_exit = "import atexit\natexit.register(lambda: open('done', 'w').write('flushed at exit'))\n"
    assert warm(tmp_path, at_exit, "go\n").returncode == 0  # the script's atexit handlers still run
    assert (tmp_path / "done").read_text() == "flushed at exit"


def test_a_step_started_ahead_and_never_let_go_does_not_run(tmp_path):
    for stdin in ("", "stop\n"):  # the driver went away, or skipped the step
        skipped = warm(tmp_path, "open('ran', 'w')\n", stdin)
        assert skipped.returncode == 130 and not (tmp_path / "ran").exists()


# --- real jobs ---------------------------------------------------------------------------------------------

PROBE = '''\
"""Writes what the step received: its arguments, what its inputs hold, its MLflow variables."""
import json, os, pathlib, sys

args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
seen = {"step": sys.argv[1], "args": args, "cwd": os.getcwd(), "argv0": sys.argv[0], "path0": sys.path[0],
        "preloaded": "mlflow" in sys.modules,
        "mlflow": {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}}
for key, value in args.items():
    path = pathlib.Path(value)
    if path.is_file():
        seen[key + "_text"] = path.read_text()
    elif path.is_dir() and key != "--out":
        seen[key + "_files"] = sorted(p.name for p in path.iterdir())
# ./outputs and ./logs of the working directory: Azure ML uploads them to the step's run
for folder, text in (("outputs", "from " + sys.argv[1]), ("logs", "log of " + sys.argv[1])):
    pathlib.Path(folder, "deep").mkdir(parents=True, exist_ok=True)
    pathlib.Path(folder, "deep", folder + ".txt").write_text(text)
if sys.argv[1] == "fail":
    sys.exit(3)
if sys.argv[1] == "sleep":
    import time; time.sleep(300)
out = pathlib.Path(args["--out"])
(out / "seen.json").write_text(json.dumps(seen))
'''

BINDINGS_PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
experiment_name: {exp}
settings:
  default_compute: azureml:cpu-cluster
inputs:
  table:
    type: uri_file
    path: azureml:{exp}-table@latest
  folder:
    type: uri_folder
    path: azureml:{exp}-folder:1
  greeting: hello
  verbose: true
jobs:
  first:
    type: command
    code: .
    environment:
      build:
        path: docker
    inputs:
      table: ${{{{parent.inputs.table}}}}
      folder: ${{{{parent.inputs.folder}}}}
      greeting: ${{{{parent.inputs.greeting}}}}
      verbose: ${{{{parent.inputs.verbose}}}}
      quiet: false
      count: 3
      notes:
        type: uri_file
        path: ./notes.txt
      extra:
        type: uri_folder
        path: ./extra
    outputs:
      out:
        type: uri_folder
    command: >-
      python probe.py first --table ${{{{inputs.table}}}} --folder ${{{{inputs.folder}}}}
      --greeting ${{{{inputs.greeting}}}} --count ${{{{inputs.count}}}} --notes ${{{{inputs.notes}}}}
      --extra ${{{{inputs.extra}}}} --verbose ${{{{inputs.verbose}}}} --quiet ${{{{inputs.quiet}}}}
      --out ${{{{outputs.out}}}}
  second:
    type: command
    code: .
    environment:
      build:
        path: docker
    inputs:
      previous: ${{{{parent.jobs.first.outputs.out}}}}
    outputs:
      out:
        type: uri_folder
    command: >-
      python probe.py second --previous ${{{{inputs.previous}}}} --out ${{{{outputs.out}}}}
"""


def write_pipeline(exp_dir: Path, name: str, text: str) -> None:
    """The pipeline, the probe its steps run, and the local file and folder it reads."""
    (exp_dir / name).write_text(text)
    (exp_dir / "probe.py").write_text(PROBE)
    (exp_dir / "notes.txt").write_text("local file")
    (exp_dir / "extra").mkdir(exist_ok=True)
    (exp_dir / "extra" / "inside.txt").write_text("local folder")


def jobs_dir(repo: Path, name: str) -> Path:
    return repo / "data" / ".jobs" / name


def job_containers(name: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=scaffold.job={name}"], capture_output=True, text=True
    )
    return listed.stdout.split()


def mlflow_client(repo: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def runs_of(repo: Path, experiment: str, job: str):
    """(parent runs tagged with the job, their children) in the repository's store."""
    client = mlflow_client(repo)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=200)
    parents = [r for r in runs if r.data.tags.get("azureml.job") == job]
    ids = {r.info.run_id for r in parents}
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") in ids]
    return parents, children


def run_folders(repo: Path, run_id: str) -> dict[str, str]:
    """The files under the run's outputs/ and logs/ artifacts, and their text, read back from the store."""
    import mlflow.artifacts

    client, found, folders = mlflow_client(repo), {}, ["outputs", "logs"]
    while folders:
        for item in client.list_artifacts(run_id, folders.pop()):
            if item.is_dir:
                folders.append(item.path)
            else:
                uri = f"{client.get_run(run_id).info.artifact_uri}/{item.path}"
                found[item.path] = mlflow.artifacts.load_text(uri)
    return found


@pytest.fixture(scope="module")
def template_exp(module_repo):
    """An experiment made from the template, with a CSV file and a folder registered as local assets."""
    exp = unique_name("lj")
    assert driver(module_repo, "new-exp", f"--exp={exp}").returncode == 0
    data = module_repo / "data" / exp
    (data / "folder_v1").mkdir(parents=True)
    (data / "folder_v1" / "one.txt").write_text("version one")
    (data / "folder_v2").mkdir()
    (data / "folder_v2" / "two.txt").write_text("version two")
    (data / "table.csv").write_text("value,other\n1.5,a\n2.5,b\n")
    for name, path in ((f"{exp}-table", data / "table.csv"), (f"{exp}-data", data / "table.csv")):
        registered = driver(module_repo, "data-asset", f"--name={name}", f"--path={path}", "--", "--local")
        assert registered.returncode == 0, registered.stderr
    for path in (data / "folder_v1", data / "folder_v2"):
        registered = driver(
            module_repo, "data-asset", f"--name={exp}-folder", f"--path={path}", "--", "--local"
        )
        assert registered.returncode == 0, registered.stderr
    yield exp
    remove_images(exp)


@pytest.mark.docker
def test_every_binding_kind_reaches_the_step(module_repo, template_exp):
    exp_dir = module_repo / "src" / template_exp
    write_pipeline(exp_dir, "bindings.yaml", BINDINGS_PIPELINE.format(exp=template_exp))
    name = unique_name("job")
    result = driver(
        module_repo, "job", f"--exp={template_exp}", "--file=bindings.yaml", "--", "--local", "--name", name,
        "--set", "inputs.greeting=hi",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    first = json.loads((jobs_dir(module_repo, name) / "first" / "out" / "seen.json").read_text())
    second = json.loads((jobs_dir(module_repo, name) / "second" / "out" / "seen.json").read_text())
    args = first["args"]
    assert args["--greeting"] == "hi" and args["--count"] == "3"  # parent input with --set, and a literal
    assert args["--verbose"] == "True" and args["--quiet"] == "False"  # booleans, as the SDK sends them
    assert first["--table_text"] == "value,other\n1.5,a\n2.5,b\n"  # uri_file asset @latest
    assert args["--table"].endswith("/INPUT_table/table.csv")
    assert first["--folder_files"] == ["one.txt"]  # uri_folder asset at version 1, not the latest
    assert first["--notes_text"] == "local file" and first["--extra_files"] == ["inside.txt"]  # local paths
    assert args["--out"].startswith("/mnt/azureml/cr/j/") and first["cwd"].endswith("/exe/wd")
    assert second["--previous_files"] == ["seen.json"]  # the first step's output feeds the second
    # the second step started ahead, with the code's packages imported: its script saw what the first's did
    assert (first["preloaded"], second["preloaded"]) == (False, True)
    for seen in (first, second):
        assert seen["argv0"] == "probe.py" and seen["path0"] == seen["cwd"]
    parents, children = runs_of(module_repo, template_exp, name)
    assert len(parents) == 1 and sorted(r.info.run_name for r in children) == ["first", "second"]
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    run_ids = {r.info.run_name: r.info.run_id for r in children}
    assert first["mlflow"]["MLFLOW_RUN_ID"] == run_ids["first"]
    assert first["mlflow"]["MLFLOW_TRACKING_URI"].startswith("http://host.docker.internal:")
    for step in ("first", "second"):  # what the step left in ./outputs and ./logs, in its run
        assert run_folders(module_repo, run_ids[step]) == {
            "outputs/deep/outputs.txt": f"from {step}",
            "logs/deep/logs.txt": f"log of {step}",
        }
    assert not (module_repo / "src" / template_exp / "data").exists()  # nothing written into src/


@pytest.mark.docker
def test_the_template_command_job_runs_and_is_tracked(module_repo, template_exp):
    """Its data is a relative path given with --set: relative to the YAML's folder, as with `az ml`."""
    name = unique_name("job")
    relative = f"inputs.data.path=../../data/{template_exp}/table.csv"
    result = driver(
        module_repo, "job", f"--exp={template_exp}", "--", "--local", "--name", name, "--set", relative
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "value_mean = 2.0000 over 2 rows" in result.stdout
    client = mlflow_client(module_repo)
    found = client.get_experiment_by_name(template_exp)
    runs = [r for r in client.search_runs([found.experiment_id]) if r.data.tags.get("azureml.job") == name]
    assert len(runs) == 1 and runs[0].data.metrics["value_mean"] == 2.0
    assert runs[0].info.status == "FINISHED"


@pytest.mark.docker
def test_a_failing_step_is_one_line_and_its_dependents_do_not_run(module_repo, template_exp):
    exp_dir = module_repo / "src" / template_exp
    text = BINDINGS_PIPELINE.format(exp=template_exp).replace("python probe.py first", "python probe.py fail")
    write_pipeline(exp_dir, "failing.yaml", text)
    name = unique_name("job")
    result = driver(
        module_repo, "job", f"--exp={template_exp}", "--file=failing.yaml", "--", "--local", "--name", name
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: step first failed with exit code 3; its log: data/.jobs/{name}/.logs/first.log"
    ]
    assert (jobs_dir(module_repo, name) / ".logs" / "first.log").is_file()
    assert "second       Skipped" in result.stdout
    assert not (jobs_dir(module_repo, name) / ".logs" / "second.log").exists()
    assert job_containers(name) == []
    parents, children = runs_of(module_repo, template_exp, name)
    statuses = {r.info.run_name: r.info.status for r in children}
    assert parents[0].info.status == "FAILED" and statuses == {"first": "FAILED", "second": "KILLED"}
    failed = next(r for r in children if r.info.run_name == "first")
    assert run_folders(module_repo, failed.info.run_id) == {  # uploaded whatever the outcome
        "outputs/deep/outputs.txt": "from fail",
        "logs/deep/logs.txt": "log of fail",
    }


@pytest.mark.docker
def test_a_missing_asset_is_one_line_and_leaves_no_job_behind(module_repo, template_exp):
    name = unique_name("job")
    result = driver(
        module_repo, "job", f"--exp={template_exp}", "--", "--local", "--name", name,
        "--set", "inputs.data.path=azureml:nobody-registered-this@latest",
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "error: no local data asset nobody-registered-this: register one with "
        "`make data-asset NAME=nobody-registered-this PATH=<file or folder> XARGS=--local`"
    )
    assert not jobs_dir(module_repo, name).exists()


@pytest.mark.docker
def test_ctrl_c_mid_pipeline_stops_and_removes_every_container(module_repo, template_exp):
    exp_dir = module_repo / "src" / template_exp
    text = BINDINGS_PIPELINE.format(exp=template_exp).replace(
        "python probe.py first", "python probe.py sleep"
    )
    write_pipeline(exp_dir, "sleeping.yaml", text)
    name = unique_name("job")
    process = subprocess.Popen(
        [PYTHON, "-m", "scaffold", "job", f"--exp={template_exp}", "--file=sleeping.yaml", "--", "--local",
         "--name", name],
        cwd=module_repo, env={**os.environ, "PYTHONPATH": str(module_repo)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not job_containers(name) and process.poll() is None:
        time.sleep(0.5)
    assert job_containers(name), "the step container never started"
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert job_containers(name) == []
    parents, children = runs_of(module_repo, template_exp, name)
    assert parents[0].info.status == "KILLED" and {r.info.status for r in children} == {"KILLED"}


@pytest.mark.docker
def test_ctrl_c_while_step_containers_are_created_leaves_none(module_repo, template_exp, tmp_path):
    """Ctrl-C reaches the job's process group while the daemon is still creating the first step's container
    (in a worker thread) and the second's, started ahead (in the main thread): none is left behind."""
    exp_dir = module_repo / "src" / template_exp
    write_pipeline(exp_dir, "bindings.yaml", BINDINGS_PIPELINE.format(exp=template_exp))
    assert driver(module_repo, "build-exp", f"--exp={template_exp}").returncode == 0  # not timed below
    slow = SlowCreate(tmp_path / "docker")
    name = unique_name("job")
    process = subprocess.Popen(
        [PYTHON, "-m", "scaffold", "job", f"--exp={template_exp}", "--file=bindings.yaml", "--", "--local",
         "--name", name],
        cwd=module_repo, env={**os.environ, "PYTHONPATH": str(module_repo), **slow.env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert eventually(lambda: slow.creating() or process.poll() is not None, timeout=600)
        time.sleep(1)  # the step started ahead is being created too
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=120)
        assert eventually(slow.all_created, timeout=60), "the daemon answered every create"
        assert slow.containers() == [] and job_containers(name) == [], "no container is left"
        assert len(list(slow.folder.glob("creating.*"))) == 2, "both steps were being created"
        assert process.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
    finally:
        eventually(slow.all_created, timeout=60)
        if slow.containers():
            subprocess.run(["docker", "rm", "-f", *slow.containers()], capture_output=True)


# --- the shipped taxi jobs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def taxi_data(module_repo):
    """Small NYC and London samples registered as the assets the taxi YAMLs name."""
    code = (
        "import sys; from pathlib import Path; from common.generator import write_trips; "
        "from common.cities import NYC, LONDON; "
        f"[write_trips(Path(sys.argv[1]) / n / 'sample.parquet', c, {ROWS}, seed=1) "
        "for n, c in (('nyc', NYC), ('london', LONDON))]"
    )
    data = module_repo / "data" / "small"
    subprocess.run(
        [PYTHON, "-c", code, str(data)],
        check=True,
        env={**os.environ, "PYTHONPATH": str(module_repo / "src")},
    )
    for folder, asset in (("nyc", "nyc_taxi_raw"), ("london", "london_taxi_raw")):
        path = data / folder
        registered = driver(module_repo, "data-asset", f"--name={asset}", f"--path={path}", "--", "--local")
        assert registered.returncode == 0, registered.stderr
    return data


@pytest.fixture(scope="module")
def nyc_pipeline(module_repo, taxi_data):
    """The shipped nyc pipeline with one step added to a copy of its YAML, run with --local: (name, result).
    It registers nyc_taxi_fare, which the deploy experiments then serve."""
    exp_dir = module_repo / "src" / "nyc_taxi"
    pipeline = yaml.safe_load((exp_dir / "azure-ml-job.yaml").read_text())
    pipeline["jobs"]["inspect"] = {
        "type": "command",
        "code": ".",
        "environment": {"build": {"path": "docker"}},
        "inputs": {"prep_data": "${{parent.jobs.prep.outputs.prep_data}}"},
        "outputs": {"listing": {"type": "uri_folder"}},
        "command": "ls ${{inputs.prep_data}} > ${{outputs.listing}}/files.txt",
    }
    (exp_dir / "with-inspect.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    name = unique_name("job")
    result = driver(
        module_repo, "job", "--exp=nyc_taxi", "--file=with-inspect.yaml", "--", "--local", "--name", name,
        *SMALL_TRAIN,
    )  # fmt: skip
    (exp_dir / "with-inspect.yaml").unlink()
    return name, result


@pytest.mark.docker
def test_a_step_added_to_a_copy_of_the_nyc_pipeline_runs_with_no_other_change(module_repo, nyc_pipeline):
    name, result = nyc_pipeline
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    listing = (jobs_dir(module_repo, name) / "inspect" / "listing" / "files.txt").read_text().split()
    assert listing and all(entry.endswith(".parquet") for entry in listing), listing
    parents, children = runs_of(module_repo, "nyc_taxi", name)
    assert sorted(r.info.run_name for r in children) == ["evaluate", "inspect", "prep", "register", "train"]
    assert {r.info.status for r in parents + children} == {"FINISHED"}
    train = next(r for r in children if r.info.run_name == "train")
    assert train.data.params["max_iter"] == "15" and "val_r2" in train.data.metrics
    registered = json.loads(
        next((jobs_dir(module_repo, name) / "register" / "registration_output").glob("*.json")).read_text()
    )
    assert registered["model_name"] == "nyc_taxi_fare" and registered["version"]


@pytest.mark.docker
def test_the_london_pipeline_runs_as_shipped(module_repo, taxi_data):
    name = unique_name("job")
    result = driver(module_repo, "job", "--exp=london_taxi", "--", "--local", "--name", name, *SMALL_TRAIN)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    parents, children = runs_of(module_repo, "london_taxi", name)
    assert sorted(r.info.run_name for r in children) == ["evaluate", "prep", "register", "train"]
    assert "registered model" in result.stdout or "register:" in result.stdout


@pytest.mark.docker
def test_a_two_trial_sweep_reports_the_best_trial(module_repo, taxi_data):
    """The shipped sweep with fewer boosting iterations to choose from (a list cannot be set with --set)."""
    exp_dir = module_repo / "src" / "nyc_taxi"
    sweep = yaml.safe_load((exp_dir / "sweep.yaml").read_text())
    sweep["search_space"]["max_iter"]["values"] = [20, 40]
    (exp_dir / "sweep-small.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    name = unique_name("job")
    result = driver(
        module_repo, "job", "--exp=nyc_taxi", "--file=sweep-small.yaml", "--", "--local", "--name", name,
        "--max-trials", "2",
    )  # fmt: skip
    (exp_dir / "sweep-small.yaml").unlink()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    parents, children = runs_of(module_repo, "nyc_taxi", name)
    assert sorted(r.info.run_name for r in children) == ["trial_0", "trial_1"]
    values = {r.info.run_name: r.data.metrics.get("val_r2") for r in children}
    best = max(values, key=lambda k: values[k])
    assert f"best: {best} with val_r2 {values[best]:.4f}" in result.stdout
    params = json.loads(next(r for r in children if r.info.run_name == best).data.tags["hyperparameters"])
    assert params["max_iter"] in (20, 40)


@pytest.mark.docker
def test_the_online_deployment_job_serves_the_registered_model_locally(module_repo, nyc_pipeline):
    """The model the nyc pipeline registered, served by the deployment (main.py would call Azure)."""
    name = unique_name("job")
    result = driver(module_repo, "job", "--exp=taxi_online", "--", "--local", "--name", name)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "emulating its deployment here" in result.stderr
    assert "local: scoring URI http://127.0.0.1:" in result.stdout + result.stderr
    assert job_containers(name) == [] and not [c for c in _containers("taxi_online") if c]


@pytest.mark.docker
def test_the_batch_deployment_job_scores_a_local_asset(module_repo, nyc_pipeline):
    name = unique_name("job")
    result = driver(
        module_repo, "job", "--exp=taxi_batch", "--", "--local", "--name", name,
        "--set", "inputs.invoke=azureml:nyc_taxi_raw@latest",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    rows = (jobs_dir(module_repo, name) / "score" / "predictions.csv").read_text().splitlines()
    assert len(rows) > 0.9 * ROWS  # one row per trip (the generator's dirty rows may be dropped)


def _containers(exp: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=scaffold.experiment={exp}"],
        capture_output=True,
        text=True,
    )
    return listed.stdout.split()
