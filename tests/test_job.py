"""`make job`, `make data-asset`, `make compute` up to the SDK boundary.

A fake client stands in for MLClient: the tests assert what the driver hands to the SDK (the staged job,
data asset or cluster) and never pretend that anything reached Azure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import PYTHON, REPO, tree_state
from test_yaml_loads import as_loaded

from scaffold import cli, experiments, images
from scaffold.azure import job_yaml, workspace
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

EXP = "demo"
FAKE_URL = "https://fake.invalid/studio/"  # the fake client's URL: nothing here is a real submission
SETTINGS = {
    "SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
    "RESOURCE_GROUP": "rg",
    "WORKSPACE": "ws",
}


def make_repo(root: Path) -> Path:
    """A small repository: the real config.env and template, a common package and one experiment."""
    root.mkdir(parents=True)
    shutil.copy2(REPO / "config.env", root / "config.env")
    shutil.copy2(REPO / "experiment_template.zip", root / "experiment_template.zip")
    (root / "src" / "common").mkdir(parents=True)
    (root / "src" / "common" / "__init__.py").write_text('"""shared"""\n')
    (root / "src" / "common" / ".env").write_text("SECRET=1\n")
    experiments.new_experiment(Repo(root), EXP, compute="cpu-cluster")
    exp = root / "src" / EXP
    (exp / ".env").write_text("TOKEN=secret\n")
    (exp / "data").mkdir()
    (exp / "data" / "big.csv").write_text("a,b\n1,2\n")
    return root


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    root = make_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    monkeypatch.setenv("SCAFFOLD_ROOT", str(root))
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    return root


class FakeJobs:
    """records what create_or_update receives, while the staged folder still exists"""

    def __init__(self, final_status: str = "Completed"):
        self.received: list[dict] = []
        self.final_status = final_status
        self.streamed: list[str] = []

    def create_or_update(self, job, **kwargs):
        code = job_yaml.code_paths(job)
        contexts = job_yaml.build_contexts(job)
        self.received.append(
            {
                "job": job,
                "kwargs": kwargs,
                "code": code,
                "code_files": [
                    sorted(p.relative_to(c).as_posix() for p in c.rglob("*") if p.is_file()) for c in code
                ],
                "contexts": contexts,
                "context_files": [sorted(p.name for p in c.iterdir()) for c in contexts],
            }
        )
        return SimpleNamespace(name=job.name, studio_url=FAKE_URL + job.name, status="Queued")

    def stream(self, name):
        self.streamed.append(name)
        if self.final_status != "Completed":
            from azure.ai.ml.exceptions import JobException

            raise JobException(message="Job failed", no_personal_data_message="Job failed")

    def get(self, name):
        return SimpleNamespace(name=name, status=self.final_status)


class FakeClient:
    def __init__(self, final_status: str = "Completed"):
        self.jobs = FakeJobs(final_status)
        self.data = SimpleNamespace(received=[], create_or_update=self._data)
        self.compute = SimpleNamespace(received=[], begin_create_or_update=self._compute)

    def _data(self, asset):
        self.data.received.append(asset)
        return SimpleNamespace(name=asset.name, version=asset.version or "1")

    def _compute(self, cluster):
        self.compute.received.append(cluster)
        return SimpleNamespace(result=lambda: cluster)


@pytest.fixture
def fake(monkeypatch) -> FakeClient:
    client = FakeClient()
    monkeypatch.setattr(workspace, "ml_client", lambda repo, config: client)
    return client


def run(*argv: str) -> int:
    return cli.main(list(argv))


# --- submission ---------------------------------------------------------------------------------------


def test_submit_hands_the_staged_job_to_the_sdk(repo, fake, capsys):
    exp = repo / "src" / EXP
    before = tree_state(repo / "src")
    assert run("job", "--exp", EXP, "--file", "azure-ml-job.yaml") == 0
    [call] = fake.jobs.received
    job, [code], [context] = call["job"], call["code"], call["contexts"]
    assert call["kwargs"] == {}
    # the code is the staged snapshot (experiment minus .amlignore, plus common/), gone afterwards
    assert code.name == EXP and not code.is_relative_to(repo) and not code.exists()
    files = call["code_files"][0]
    assert {"main.py", "azure-ml-job.yaml", "common/__init__.py", "docker/Dockerfile"} <= set(files)
    assert not {"local.py", ".env", "common/.env", "data/big.csv"} & set(files)
    assert not any(f.startswith("tests/") for f in files)
    # the environment is built from the staged docker/ context
    assert context == code / "docker"
    assert call["context_files"][0] == ["Dockerfile", "requirements.lock", "requirements.txt"]
    assert job.experiment_name == EXP
    assert re.fullmatch(rf"{EXP}-\d{{8}}-\d{{6}}-[0-9a-f]{{6}}", job.name)  # no git repository: no sha part
    assert job.tags["image_context_hash"] == images.context_hash(exp / "docker", {})
    assert job.tags["git_commit"] == "unknown" and job.tags["git_dirty"] == "unknown"
    out, err = capsys.readouterr()
    assert f"job: {job.name}" in out and f"studio: {FAKE_URL}{job.name}" in out
    assert re.search(r"snapshot: \d+ files, [\d.]+ KiB", err)
    assert tree_state(repo / "src") == before


def test_set_and_name_reach_the_job(repo, fake):
    argv = [
        "--set",
        "display_name=tuned",
        "tags.owner=me",
        "--set",
        "compute=azureml:gpu-cluster",
        "--name",
        "run-1",
    ]
    assert run("job", "--exp", EXP, "--", *argv) == 0
    job = fake.jobs.received[0]["job"]
    assert (
        job.display_name == "tuned"
        and job.compute.removeprefix("azureml:") == "gpu-cluster"
        and job.name == "run-1"
    )
    assert job.tags["owner"] == "me" and "image_context_hash" in job.tags


def test_git_commit_and_dirty_tags(repo, fake):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    assert run("job", "--exp", EXP) == 0
    (repo / "src" / EXP / "main.py").write_text("# changed\n")
    assert run("job", "--exp", EXP) == 0
    clean, dirty = (call["job"] for call in fake.jobs.received)
    assert clean.tags["git_commit"] == head and clean.tags["git_dirty"] == "false"
    assert dirty.tags["git_dirty"] == "true"
    assert clean.name.endswith("-" + head[:7])


PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
settings:
  default_compute: azureml:cpu-cluster
inputs:
  raw:
    type: uri_file
    path: ../../raw.csv
jobs:
  prep:
    type: command
    code: .
    command: python main.py --data ${{inputs.data}} --out ${{outputs.out}}
    environment:
      build:
        path: docker
    inputs:
      data: ${{parent.inputs.raw}}
    outputs:
      out:
        type: uri_folder
  train:
    type: command
    code: .
    command: python main.py --data ${{inputs.data}}
    environment:
      build:
        path: docker
    inputs:
      data: ${{parent.jobs.prep.outputs.out}}
"""

SWEEP = """\
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
trial:
  code: .
  command: python main.py --lr ${{search_space.lr}}
  environment:
    build:
      path: docker
search_space:
  lr:
    type: uniform
    min_value: 0.01
    max_value: 0.1
objective:
  goal: minimize
  primary_metric: rmse
sampling_algorithm: random
limits:
  max_total_trials: 4
compute: azureml:cpu-cluster
"""


@pytest.mark.parametrize("kind, text", [("pipeline", PIPELINE), ("sweep", SWEEP)])
def test_pipeline_and_sweep_jobs_use_the_snapshot_everywhere(repo, fake, kind, text):
    (repo / "src" / EXP / f"{kind}.yaml").write_text(text)
    (repo / "raw.csv").write_text("a\n1\n")
    assert run("job", "--exp", EXP, "--file", f"{kind}.yaml") == 0
    call = fake.jobs.received[0]
    job = call["job"]
    assert job.type == kind and job.experiment_name == EXP
    assert len(call["code"]) == (2 if kind == "pipeline" else 1)
    assert len(set(call["code"])) == 1 and call["code"][0].name == EXP and not call["code"][0].exists()
    assert all("common/__init__.py" in files for files in call["code_files"])
    assert all(c == call["code"][0] / "docker" for c in call["contexts"])
    if kind == "pipeline":  # a relative local input still points where it did from src/demo
        assert Path(job.inputs["raw"].path) == (repo / "raw.csv").resolve()


def test_stream_exit_code_follows_the_job(repo, monkeypatch, capsys):
    for status, code in [("Completed", 0), ("Failed", 1)]:
        client = FakeClient(status)
        monkeypatch.setattr(workspace, "ml_client", lambda repo, config: client)
        assert run("job", "--exp", EXP, "--", "--stream") == code
        assert client.jobs.streamed == [client.jobs.received[0]["job"].name]
    assert "finished with status Failed" in capsys.readouterr().err


def test_web_opens_the_studio_page(repo, fake, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert run("job", "--exp", EXP, "--", "--web") == 0
    assert opened == [FAKE_URL + fake.jobs.received[0]["job"].name]


def test_stream_past_the_sign_in_token_says_the_job_keeps_running(tmp_path, monkeypatch):
    """A stream that outlives the CI sign-in: the Azure CLI can no longer get a token (AADSTS700024, the
    error of an expired federated assertion), so azure-identity's AzureCliCredential raises
    ClientAuthenticationError inside the SDK's own `jobs.stream`, before any network request. The driver
    must say the token expired and the job keeps running, not that no credential works."""
    from azure.ai.ml import MLClient
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import AzureCliCredential

    from scaffold.azure import jobs

    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    az.write_text(
        "#!/bin/sh\necho 'ERROR: AADSTS700024: Client assertion is not within its valid time range.' >&2\n"
        "exit 1\n"
    )
    az.chmod(0o755)
    monkeypatch.setenv("PATH", f"{az.parent}{os.pathsep}{os.environ['PATH']}")
    client = MLClient(
        AzureCliCredential(),
        subscription_id=SETTINGS["SUBSCRIPTION_ID"],
        resource_group_name=SETTINGS["RESOURCE_GROUP"],
        workspace_name=SETTINGS["WORKSPACE"],
    )
    with pytest.raises(ClientAuthenticationError):  # what the SDK raises: the driver sees this type
        client.jobs.stream("job-1")

    err = io.StringIO()
    with pytest.raises(ScaffoldError) as caught:
        jobs.stream(client, "job-1", FAKE_URL + "job-1", err)
    message = str(caught.value)
    assert message.startswith("the Azure sign-in expired while streaming job job-1")
    assert "AADSTS700024" in message and "the job keeps running in Azure ML" in message
    assert f"({FAKE_URL}job-1)" in message and "`az ml job stream -n job-1 " in message
    assert "no usable Azure credential" not in message + err.getvalue()
    assert caught.value.exit_code == 1 and "\n" not in message


# --- dry run ------------------------------------------------------------------------------------------


def test_dry_run_prints_job_and_listing_and_connects_to_nothing(repo, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("--dry-run must not connect anywhere")

    monkeypatch.setattr(workspace, "ml_client", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    before = tree_state(repo / "src")
    assert run("job", "--exp", EXP, "--", "--dry-run", "--set", "display_name=dry", "--name", "n1") == 0
    out, err = capsys.readouterr()
    listing = [line for line in out.splitlines() if line.startswith("#")]
    assert any(line.endswith(" main.py") for line in listing) and any(
        "common/__init__.py" in x for x in listing
    )
    staged = [line for line in listing if not line.lstrip("# ").startswith("skipped ")]
    assert not any(line.endswith(" local.py") or ".env" in line for line in staged)
    assert any(line.endswith(" .env (secrets never go to Azure ML)") for line in listing)
    resolved = yaml.safe_load(out)  # listing lines are YAML comments: stdout is the resolved job
    assert (
        resolved["name"] == "n1" and resolved["display_name"] == "dry" and resolved["experiment_name"] == EXP
    )
    assert resolved["component"]["command"].startswith("python main.py")
    assert "image_context_hash" in resolved["tags"]
    assert "snapshot:" in err
    assert tree_state(repo / "src") == before


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="unshare -rn (a network namespace) is not permitted here")
def test_dry_run_works_without_any_network(tmp_path):
    """In a network namespace with no interfaces up, a dry run still validates, stages and prints."""
    root = make_repo(tmp_path / "repo")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCAFFOLD_ROOT": str(root)}
    for key in SETTINGS:
        env.pop(key, None)
    result = subprocess.run(
        ["unshare", "-rn", PYTHON, "-m", "scaffold", "job", "--exp", EXP, "--", "--dry-run"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["experiment_name"] == EXP
    assert "snapshot:" in result.stderr


# --- errors -------------------------------------------------------------------------------------------


def test_malformed_yaml_names_file_and_line(repo, fake, capsys):
    path = repo / "src" / EXP / "azure-ml-job.yaml"
    path.write_text(path.read_text().replace("code: .", "code: [.\n  oops: :"))
    assert run("job", "--exp", EXP) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: src/{EXP}/azure-ml-job.yaml:\d+:\d+: invalid YAML: .+", err), err
    assert fake.jobs.received == []


def test_unknown_field_names_file_line_and_field(repo, fake, capsys):
    path = repo / "src" / EXP / "azure-ml-job.yaml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "path: docker")
    lines.insert(at + 1, "    colour: blue")
    path.write_text("\n".join(lines) + "\n")
    assert run("job", "--exp", EXP, "--", "--dry-run") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        err == f"error: src/{EXP}/azure-ml-job.yaml:{at + 2}: environment.build.colour: Unknown field."
    ), err
    assert "/tmp" not in err and fake.jobs.received == []


def test_unknown_field_from_set_is_reported_as_such(repo, fake, capsys):
    assert run("job", "--exp", EXP, "--", "--set", "colour=blue") == 2
    err = capsys.readouterr().err
    assert "colour: Unknown field. (from --set)" in err and fake.jobs.received == []


def test_set_inside_an_input_names_the_field_as_written(repo, fake, capsys):
    """marshmallow's Dict `value` level is not a YAML field: the error names `inputs.data.type`."""
    assert run("job", "--exp", EXP, "--", "--dry-run", "--set", "inputs.data.type=nonsense") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"error: src/{EXP}/azure-ml-job.yaml: inputs.data.type: Value 'nonsense' passed is not in set "
        "['uri_file', 'uri_folder'] (from --set)"
    ), err


COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
code: .
command: python main.py --rate ${{inputs.rate}} --out ${{outputs.model}}
environment:
  build:
    path: docker
inputs:
  rate:
    type: number
    default: 0.1
outputs:
  model:
    type: uri_folder
"""


@pytest.mark.parametrize(
    "file, setting, message",
    [
        ("pipeline.yaml", "jobs.fit.inputs.rat=1", "step fit has no input rat (its inputs: rate)"),
        (
            "pipeline.yaml",
            "jobs.fit.outputs.modle.mode=upload",
            "step fit has no output modle (its outputs: model)",
        ),
        ("pipeline.yaml", "jobs.prep.inputs.dta=1", "step prep has no input dta (its inputs: data)"),
        (
            "pipeline.yaml",
            "jobs.fitt.compute=azureml:gpu",
            "the pipeline has no step fitt (its steps: fit, prep, train)",
        ),
        ("pipeline.yaml", "inputs.rwa=1", "src/demo/pipeline.yaml has no input rwa (its inputs: raw)"),
        (
            "azure-ml-job.yaml",
            "inputs.dat=1",
            "src/demo/azure-ml-job.yaml has no input dat (its inputs: data)",
        ),
        (
            "azure-ml-job.yaml",
            "outputs.x.mode=upload",
            "src/demo/azure-ml-job.yaml has no output x (it has no outputs)",
        ),
    ],
)
def test_set_keys_naming_what_the_job_does_not_have_are_refused(repo, fake, capsys, file, setting, message):
    """The SDK's loader drops a step's unknown input and makes `jobs.<new>` a step, silently."""
    (repo / "src" / EXP / "pipeline.yaml").write_text(
        PIPELINE + "  fit:\n    component: ./fit.yml\n    inputs:\n      rate: 0.2\n"
    )
    (repo / "src" / EXP / "fit.yml").write_text(COMPONENT)
    (repo / "raw.csv").write_text("a\n1\n")
    assert run("job", "--exp", EXP, "--file", file, "--", "--dry-run", "--set", setting) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: --set {setting.partition('=')[0]}: {message}", err


def test_set_keys_the_job_has_or_binds_are_kept(repo, fake, capsys):
    (repo / "src" / EXP / "pipeline.yaml").write_text(
        PIPELINE + "  fit:\n    component: ./fit.yml\n    inputs:\n      rate: 0.2\n"
    )
    (repo / "src" / EXP / "fit.yml").write_text(COMPONENT)
    (repo / "raw.csv").write_text("a\n1\n")
    keys = [
        "jobs.fit.inputs.rate=0.5", "jobs.fit.compute=azureml:gpu", "jobs.prep.compute=azureml:gpu",
        "settings.default_compute=azureml:other", "experiment_name=e", "display_name=d",
        "inputs.raw.mode=download", "jobs.fit.outputs.model.mode=upload",
    ]  # fmt: skip
    assert run("job", "--exp", EXP, "--file", "pipeline.yaml", "--", "--set", *keys) == 0
    job = yaml.safe_load(job_yaml.as_yaml(fake.jobs.received[0]["job"]))
    assert job["jobs"]["fit"]["inputs"]["rate"] == "0.5" and job["settings"]["default_compute"].endswith(
        "other"
    )
    # a command job's input that its command binds (optional, $[[...]]) may be added, as taxi_batch does
    path = repo / "src" / EXP / "azure-ml-job.yaml"
    path.write_text(path.read_text().replace("${{inputs.data}}", "${{inputs.data}} $[[--n ${{inputs.n}}]]"))
    assert run("job", "--exp", EXP, "--", "--set", "inputs.n=3", "environment_variables.X=1") == 0
    assert yaml.safe_load(job_yaml.as_yaml(fake.jobs.received[1]["job"]))["inputs"]["n"] == "3"
    (repo / "src" / EXP / "sweep.yaml").write_text(SWEEP)
    sweep = ["search_space.lr.max_value=0.2", "limits.max_total_trials=2", "trial.command=python main.py"]
    assert run("job", "--exp", EXP, "--file", "sweep.yaml", "--", "--set", *sweep) == 0


@pytest.mark.parametrize("key", ["inputs.data.path", "inputs.seed", "jobs.train.inputs.n.value"])
def test_an_empty_input_value_is_refused(key):
    """Azure ML refuses an empty literal input (docs/azure.md): it would be sent as ''."""
    with pytest.raises(ScaffoldError) as empty:
        job_yaml.parse_set([f"{key}="])
    assert str(empty.value).startswith(f"--set {key}: empty value; Azure ML refuses an empty input")
    assert job_yaml.parse_set(["display_name=", "tags.note="]) == [{"display_name": ""}, {"tags.note": ""}]


def test_a_relative_path_from_set_is_relative_to_the_yaml_folder(repo, fake, capsys):
    """As `az ml job create --file src/demo/... --set` reads it: the SDK loads the overrides with the YAML's
    folder as base path (not the snapshot, where the path would point elsewhere and become `azureml:...`)."""
    assert run("job", "--exp", EXP, "--", "--set", "inputs.data.path=data/big.csv") == 0
    job = fake.jobs.received[0]["job"]
    assert Path(job.inputs["data"].path) == (repo / "src" / EXP / "data" / "big.csv").resolve()
    assert run("job", "--exp", EXP, "--", "--dry-run", "--set", "inputs.data.path=../data/big.csv") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f": no such file or folder ../data/big.csv (relative to src/{EXP}/)"), err
    assert run("job", "--exp", EXP, "--", "--dry-run", "--set", "inputs.data.path=/nonexistent/x.csv") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == "error: --set inputs.data.path: no such file or folder /nonexistent/x.csv"


def test_pipeline_union_field_error_names_the_nested_field(tmp_path):
    """Of a union field's alternatives, the one that reached a nested field is reported, not their repr;
    also for a step's component file (the line is the step's `component:` line in the pipeline)."""
    folder = shutil.copytree(REPO / "src" / "nyc_taxi", tmp_path / "nyc_taxi")  # laid out as a snapshot:
    shutil.copytree(REPO / "src" / "common", folder / "common")  # common/ beside main.py
    component = folder / "common" / "components" / "prep.yml"
    lines = component.read_text().splitlines()
    at = lines.index("    path: ../../docker") + 1
    component.write_text("\n".join(lines[:at] + ["    colour: blue"] + lines[at:]) + "\n")
    path = folder / "azure-ml-job.yaml"
    line = path.read_text().splitlines().index("    component: ./common/components/prep.yml") + 1
    with pytest.raises(ScaffoldError) as error:
        job_yaml.load_job(path, [], "p.yaml")
    message = str(error.value)
    expected = f"p.yaml:{line}: jobs.prep.component.environment.build.colour: Unknown field."
    assert message.startswith(expected), message
    assert "{" not in message


# What load_job raises, as checked with azure-ai-ml 1.35.2: a marshmallow.ValidationError whose chain
# (__cause__/__context__) holds marshmallow's {field: [messages]}. job_yaml.field_errors reads only that.
SDK_VALIDATION_CASES = {
    "command": (
        "experiment_template/azure-ml-job.yaml",
        {"resources.instance_count": "abc"},
        [(("resources", "instance_count"), "Not a valid integer.")],
    ),
    "pipeline": (
        "src/nyc_taxi/azure-ml-job.yaml",
        {"settings.continue_on_step_failure": "maybe"},
        [(("settings", "continue_on_step_failure"), "Not a valid boolean.")],
    ),
    "sweep": (
        "src/nyc_taxi/sweep.yaml",
        {"limits.max_total_trials": "x"},
        [(("limits", "max_total_trials"), "Not a valid integer.")],
    ),
}


@pytest.mark.parametrize("kind", SDK_VALIDATION_CASES)
def test_sdk_validation_errors_keep_marshmallow_messages(kind, tmp_path):
    """Pins the SDK behaviour job_yaml relies on (azure-ai-ml 1.35.2); a failure here after an SDK
    upgrade means field_errors must be looked at again, not that users' YAML is wrong."""
    from importlib.metadata import version

    from azure.ai.ml import load_job
    from marshmallow import ValidationError

    relative, override, expected = SDK_VALIDATION_CASES[kind]
    with as_loaded(REPO / relative, tmp_path) as path, pytest.raises(ValidationError) as raised:
        load_job(path, params_override=[override])  # from the staged snapshot, as make job loads it
    assert job_yaml.field_errors(raised.value) == expected, f"azure-ai-ml {version('azure-ai-ml')}"


def test_sdk_private_names_still_exist():
    """The SDK's non-public names the driver uses, checked with azure-ai-ml 1.35.2: the logger of its
    experimental-class notices (silenced by quiet_sdk_logs) and its ignore-file matcher (snapshot.py)."""
    import logging
    from importlib.metadata import version

    import azure.ai.ml._utils._experimental as experimental
    from azure.ai.ml._utils._asset_utils import get_ignore_file

    checked = f"checked with azure-ai-ml 1.35.2, installed {version('azure-ai-ml')}"
    assert experimental.module_logger is logging.getLogger(workspace.EXPERIMENTAL_LOGGER), checked
    ignore = get_ignore_file(REPO / "src" / "nyc_taxi")
    assert ignore.path.name == ".amlignore" and ignore.is_file_excluded(
        REPO / "src/nyc_taxi/tests/x.py"
    ), checked


@pytest.mark.parametrize(
    "xargs, message",
    [
        (["--set", "nothing"], "--set expects key=value"),
        (["--bogus"], "job XARGS: unknown --bogus"),
    ],
)
def test_bad_xargs(repo, fake, capsys, xargs, message):
    assert run("job", "--exp", EXP, "--", *xargs) == 2
    assert message in capsys.readouterr().err


def test_missing_job_file_and_unknown_experiment(repo, fake, capsys):
    assert run("job", "--exp", EXP, "--file", "nope.yaml") == 2
    assert run("job", "--exp", "ghost") == 2
    err = capsys.readouterr().err
    assert f"no job file nope.yaml in src/{EXP}" in err and "unknown experiment 'ghost'" in err


def test_missing_settings_stop_before_any_credential_or_upload(repo, monkeypatch, capsys):
    called = []
    monkeypatch.setattr(workspace, "credential", lambda: called.append(1))
    assert run("job", "--exp", EXP) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: {workspace.NOT_CONFIGURED}" and called == []


def test_workspace_settings_env_over_config_env_over_config_json(repo, monkeypatch):
    from scaffold.config import Config

    (repo / "config.json").write_text(
        '{"subscription_id": "s-json", "resource_group": "rg-json", "workspace_name": "w"}'
    )
    monkeypatch.setenv("WORKSPACE", "w-env")
    settings = workspace.workspace_settings(Repo(repo), Config(repo))
    assert settings == {"subscription_id": "s-json", "resource_group": "rg-json", "workspace_name": "w-env"}
    (repo / "config.env").write_text("SUBSCRIPTION_ID=s-file\nRESOURCE_GROUP=\nWORKSPACE=w-file\n")
    settings = workspace.workspace_settings(Repo(repo), Config(repo))
    assert settings["subscription_id"] == "s-file" and settings["workspace_name"] == "w-env"
    (repo / "config.json").unlink()
    with pytest.raises(ScaffoldError, match="workspace not configured"):
        workspace.workspace_settings(Repo(repo), Config(repo))


@pytest.mark.parametrize("error", ["CredentialUnavailableError", "ClientAuthenticationError"])
def test_credential_failures_are_one_line(monkeypatch, error):
    import azure.identity
    from azure.core import exceptions as core

    exc_type = getattr(azure.identity, error, None) or getattr(core, error)

    class Failing:
        def get_token(self, *scopes):
            raise exc_type(message="nothing available")

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Failing)
    with pytest.raises(ScaffoldError) as info:
        workspace.credential()
    assert str(info.value) == workspace.NO_CREDENTIAL


def test_a_credential_set_but_failing_says_why(monkeypatch, tmp_path):
    """Service-principal variables set, the sign-in authority unreachable: the real DefaultAzureCredential
    stops at EnvironmentCredential, and the error gives its reason instead of advice to set them."""
    for key in [k for k in os.environ if k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-secret")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ScaffoldError) as info:
        workspace.credential()
    message = str(info.value)
    assert message.startswith("the Azure sign-in failed: EnvironmentCredential: "), message
    assert "\n" not in message and "az login" not in message


def test_no_credential_end_to_end_fails_fast(tmp_path):
    """The real DefaultAzureCredential with every source absent: one line, quickly, before any upload.

    No az/azd/pwsh on PATH, no AZURE_* variables, an empty HOME (no token cache), and no managed identity
    endpoint (a network namespace without interfaces when permitted, so the metadata probe fails at once).
    """
    root = make_repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_"))}
    home = tmp_path / "home"
    home.mkdir()
    env.update(SETTINGS, PYTHONPATH=str(REPO), SCAFFOLD_ROOT=str(root), HOME=str(home), PATH=str(home))
    prefix = [shutil.which("unshare"), "-rn"] if _unshare_works() else []
    started = time.monotonic()
    result = subprocess.run(
        [*prefix, PYTHON, "-m", "scaffold", "job", "--exp", EXP],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {workspace.NO_CREDENTIAL}"
    assert "Traceback" not in result.stderr and "submitting" not in result.stderr
    assert elapsed < 60


# --- data assets and compute --------------------------------------------------------------------------


def test_data_asset_file_and_folder(repo, fake, capsys):
    (repo / "data").mkdir()
    (repo / "data" / "trips.csv").write_text("a\n1\n")
    (repo / "data" / "set").mkdir()
    (repo / "data" / "set" / "part.csv").write_text("a\n2\n")
    assert run("data-asset", "--name", "trips", "--path", "data/trips.csv", "--version", "3") == 0
    assert run("data-asset", "--name", "set", "--path", "data/set", "--version", "") == 0
    first, second = fake.data.received
    assert (first.type, first.version, Path(first.path)) == ("uri_file", "3", repo / "data" / "trips.csv")
    assert (second.type, second.version, Path(second.path)) == ("uri_folder", None, repo / "data" / "set")
    assert "registered data asset trips:3" in capsys.readouterr().out


def test_data_asset_dry_run_and_errors(repo, monkeypatch, capsys):
    monkeypatch.setattr(workspace, "ml_client", lambda *a: pytest.fail("dry run must not connect"))
    (repo / "d.csv").write_text("a\n")
    assert run("data-asset", "--name", "d", "--path", "d.csv", "--version", "", "--", "--dry-run") == 0
    assert yaml.safe_load(capsys.readouterr().out)["type"] == "uri_file"
    assert run("data-asset", "--name", "d", "--path", "missing.csv", "--version", "") == 2
    assert run("data-asset", "--name", "", "--path", "d.csv", "--version", "") == 2
    assert run("data-asset", "--name", "bad name", "--path", "d.csv", "--version", "") == 2
    err = capsys.readouterr().err
    assert (
        "no such file or folder: missing.csv" in err
        and "NAME is required" in err
        and "invalid data asset" in err
    )


def test_compute_defaults_scale_to_zero(repo, fake, capsys):
    assert run("compute", "--name", "", "--size", "", "--max", "") == 0
    assert (
        run("compute", "--name", "gpu-cluster", "--size", "Standard_NC6", "--max", "2", "--", "--idle", "600")
        == 0
    )
    default, gpu = fake.compute.received
    assert (default.name, default.size, default.min_instances, default.max_instances) == (
        "cpu-cluster",
        "Standard_DS3_v2",
        0,
        4,
    )
    assert (gpu.size, gpu.min_instances, gpu.max_instances, gpu.idle_time_before_scale_down) == (
        "Standard_NC6",
        0,
        2,
        600,
    )


def test_compute_dry_run_and_errors(repo, monkeypatch, capsys):
    monkeypatch.setattr(workspace, "ml_client", lambda *a: pytest.fail("dry run must not connect"))
    assert run("compute", "--name", "c1", "--size", "", "--max", "3", "--", "--dry-run") == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["min_instances"] == 0 and shown["max_instances"] == 3 and shown["type"] == "amlcompute"
    assert run("compute", "--name", "x", "--size", "", "--max", "") == 2
    assert run("compute", "--name", "ok-name", "--size", "", "--max", "many") == 2
    err = capsys.readouterr().err
    assert "invalid compute name 'x'" in err and "MAX must be a whole number" in err


# --- the front door stays light -----------------------------------------------------------------------


def test_help_and_parsing_do_not_import_azure():
    code = (
        "import sys, contextlib, io\n"
        "from scaffold import cli\n"
        "parser = cli.build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for argv in (['--help'], ['job', '--help']):\n"
        "        try:\n"
        "            parser.parse_args(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "parser.parse_args(['job', '--exp', 'x', '--', '--dry-run'])\n"
        "print(sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.')))\n"
    )
    result = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
