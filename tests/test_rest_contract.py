"""What `make job` and `make compute` would send to Azure ML, checked against Azure ML's contracts.

`make job` runs as usual (staged snapshot, the driver's own loader and overrides) up to
`client.jobs.create_or_update(job)`. There a recorder converts the job with the SDK's own REST conversion
(`to_rest_job_object`, what `JobOperations.create_or_update` calls) and serializes it with the SDK's own
encoder, then fails the call as an unreachable service would: nothing is ever reported as submitted.
Before converting, local code, environments and inline components are swapped for resource ids, as the
SDK does after uploading them (`_resolve_arm_id_or_upload_dependencies`); the environments and components
are converted with their own REST conversions, as the SDK sends them first. `make compute` is recorded the
same way at `client.compute.begin_create_or_update(cluster)`.

The contracts (sources in docs/azure.md):
- Azure ML refuses an empty literal input: "The Value field is required" (Azure/azure-sdk-for-python#41834).
- Pipeline steps are reused from earlier runs unless their component says `is_deterministic: false`
  (https://learn.microsoft.com/azure/machine-learning/reference-yaml-component-command): steps that read or
  write the model registry must say so.
- A job with `identity: type: managed` signs in with its compute's managed identity
  (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication).
- Fields the SDK's REST models mark `[Required]` are present.

The conversions are private SDK functions: `test_the_contract_was_checked_with_this_sdk_version` pins them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON, REPO
from test_yaml_loads import ALL, TEMPLATE, azureml_schema

from scaffold import cli, experiments
from scaffold.azure import job_yaml, workspace
from scaffold.paths import Repo

pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

CHECKED_WITH = "1.35.2"
ARM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
JOB_SCHEMAS = {"commandJob", "pipelineJob", "sweepJob"}
JOB_FILES = [p for p in ALL if azureml_schema(p) in JOB_SCHEMAS]
STEP = re.compile(r"\bpython main\.py (\w+)\b")
MANAGED = "Managed"
IDENTITY_TYPES = {"SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"}


def test_the_contract_was_checked_with_this_sdk_version():
    import azure.ai.ml

    assert azure.ai.ml.__version__ == CHECKED_WITH, (
        f"these tests use azure-ai-ml's private REST conversions, checked with {CHECKED_WITH}; "
        f"with {azure.ai.ml.__version__}, re-check what JobOperations.create_or_update and "
        "ComputeOperations.begin_create_or_update send, then update CHECKED_WITH"
    )


# --- the SDK's own conversions ------------------------------------------------------------------------


def serialized(rest) -> dict:
    """The JSON body the SDK's client sends for a REST model."""
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder

    return json.loads(json.dumps(rest, cls=SdkJSONEncoder, exclude_readonly=True))


def required(model: str) -> set[str]:
    """Wire names of the fields the SDK's REST model documents as [Required]."""
    from azure.ai.ml._restclient.arm_ml_service import models

    cls = getattr(models, model)
    names = re.findall(r":ivar (\w+): \[Required\]", cls.__doc__ or "")
    assert names, f"{model}: no [Required] field documented; re-check the REST model"
    return {cls._attr_to_rest_field[name]._rest_name for name in names}


def missing(body: dict, model: str) -> set[str]:
    return {name for name in required(model) if body.get(name) in (None, "", {}, [])}


def unreachable():
    """What the recorders raise after recording: the driver reports it as a failed call, never a success."""
    from azure.core.exceptions import ServiceRequestError

    return ServiceRequestError("Azure ML is not reachable from tests; the request was recorded, not sent")


class RecordingJobs:
    """Stands where MLClient.jobs is; records the REST bodies create_or_update would send."""

    def __init__(self):
        self.sent: list[dict] = []

    def create_or_update(self, job, **kwargs):
        from azure.ai.ml.entities import Component, PipelineJob
        from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
        from azure.ai.ml.sweep import SweepJob

        code, contexts = job_yaml.code_paths(job), job_yaml.build_contexts(job)
        assert code and all(path.is_dir() for path in code), f"code {code}: not local folders"
        assert contexts and all((c / "Dockerfile").is_file() for c in contexts), f"{contexts}: no Dockerfile"
        if isinstance(job, PipelineJob):
            nodes = {name: node.component for name, node in job.jobs.items()}
        else:
            nodes = {"": job.trial if isinstance(job, SweepJob) else job}
        environments, components = [], {}
        for name, node in nodes.items():
            assert node.environment.build.dockerfile_path in (None, "Dockerfile"), node.environment.build
            environments.append(serialized(node.environment._to_rest_object()))
            node.code = f"{ARM}/codes/snapshot/versions/1"  # as the SDK does after uploading them
            node.environment = f"{ARM}/environments/built/versions/1"
            if isinstance(job, PipelineJob):
                assert isinstance(node, Component), f"step {name}: component {node!r}"
                components[name] = serialized(node._to_rest_object())
                job.jobs[name]._component = f"{ARM}/components/azureml_anonymous/versions/{name}"
        self.sent.append(
            {
                "job": serialized(to_rest_job_object(job)),
                "environments": environments,
                "components": components,
            }
        )
        raise unreachable()


class RecordingCompute:
    """Stands where MLClient.compute is; records the REST body begin_create_or_update would send."""

    def __init__(self):
        self.sent: list[dict] = []

    def begin_create_or_update(self, cluster):
        self.sent.append({"name": cluster.name, "body": serialized(cluster._to_rest_object())})
        raise unreachable()


class Recorder:
    def __init__(self):
        self.jobs = RecordingJobs()
        self.compute = RecordingCompute()


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    client = Recorder()
    monkeypatch.setattr(workspace, "ml_client", lambda repo, config: client)
    return client


def template_repo(root: Path) -> Path:
    """A repository with one experiment made from the template, as `make new-exp` writes it."""
    (root / "src" / "common").mkdir(parents=True)
    (root / "src" / "common" / "__init__.py").write_text('"""shared"""\n')
    shutil.copy2(REPO / "config.env", root / "config.env")
    shutil.copy2(REPO / "experiment_template.zip", root / "experiment_template.zip")
    experiments.new_experiment(Repo(root), "template_check", compute="cpu-cluster")
    return root


def sent_by_make_job(path: Path, recorder: Recorder, tmp_path: Path, monkeypatch, capsys) -> dict:
    """`make job EXP=<exp> FILE=<file>` for a shipped job YAML, up to the SDK client."""
    relative = path.relative_to(REPO)
    if relative.parts[0] == TEMPLATE:
        root, exp, file = template_repo(tmp_path / "repo"), "template_check", Path(*relative.parts[1:])
    else:
        root, exp, file = REPO, relative.parts[1], Path(*relative.parts[2:])
    monkeypatch.setenv("SCAFFOLD_ROOT", str(root))
    monkeypatch.chdir(root)
    assert cli.main(["job", "--exp", exp, "--file", file.as_posix()]) == 2
    err = capsys.readouterr().err
    assert "job submission failed: Azure ML is not reachable from tests" in err, err
    [sent] = recorder.jobs.sent
    return sent


def sent_by_make_compute(recorder: Recorder, *xargs: str) -> dict:
    """`make compute` with its defaults (NAME, SIZE, MAX empty) and XARGS, up to the SDK client."""
    assert cli.main(["compute", "--name", "", "--size", "", "--max", "", "--", *xargs]) == 2
    return recorder.compute.sent[-1]


def literal_inputs(node, where: str = ""):
    """(where, value) of every literal input in a REST body: job inputs and pipeline step inputs alike."""
    if isinstance(node, dict):
        kind = node.get("jobInputType", node.get("job_input_type"))
        if kind == "literal":
            yield where, node.get("value")
        for key, value in node.items():
            yield from literal_inputs(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from literal_inputs(value, f"{where}[{i}]")


def touches_registry(step: str) -> bool:
    """Whether common/steps/<step>.py reads or writes the model registry (common.registry, MlflowClient)."""
    tree = ast.parse((REPO / "src" / "common" / "steps" / f"{step}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "common.registry":
            return True
        if isinstance(node, ast.Attribute) and node.attr in {"MlflowClient", "register_model"}:
            return True
        if isinstance(node, ast.keyword) and node.arg == "registered_model_name":
            return True
    return False


# --- job bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_job_body_has_what_azure_ml_requires(path, recorder, tmp_path, monkeypatch, capsys):
    sent = sent_by_make_job(path, recorder, tmp_path, monkeypatch, capsys)
    properties = sent["job"]["properties"]
    model = {"Command": "CommandJob", "Pipeline": "PipelineJob", "Sweep": "SweepJob"}[properties["jobType"]]
    assert not missing(properties, model), f"{model} body lacks {missing(properties, model)}"
    if model == "SweepJob":
        assert not missing(properties["trial"], "TrialComponent"), properties["trial"]
    if model != "PipelineJob":  # a pipeline's code and environment are its components'
        assert properties.get("codeId", properties.get("trial", {}).get("codeId", "")).startswith(ARM)
    for name, component in sent["components"].items():
        spec = component["properties"]["componentSpec"]
        assert spec["command"] and spec["code"] and spec["environment"], f"step {name}: {spec}"
    for environment in sent["environments"]:
        assert not missing(environment["properties"]["build"], "BuildContext"), environment


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_literal_input_is_empty(path, recorder, tmp_path, monkeypatch, capsys):
    sent = sent_by_make_job(path, recorder, tmp_path, monkeypatch, capsys)
    empty = [where for where, value in literal_inputs(sent["job"]) if value in (None, "")]
    assert not empty, f"Azure ML refuses empty literal inputs (The Value field is required): {empty}"


PIPELINES = [p for p in JOB_FILES if azureml_schema(p) == "pipelineJob"]


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: str(p.relative_to(REPO)))
def test_steps_touching_the_registry_are_not_deterministic(path, recorder, tmp_path, monkeypatch, capsys):
    sent = sent_by_make_job(path, recorder, tmp_path, monkeypatch, capsys)
    checked = {}
    for name, component in sent["components"].items():
        spec = component["properties"]["componentSpec"]
        steps = STEP.findall(spec["command"])
        assert steps, f"step {name}: cannot tell which common step `{spec['command']}` runs"
        if any(touches_registry(step) for step in steps):
            checked[name] = spec.get("is_deterministic")
    assert checked, f"{path.name}: no step reads or writes the registry; is the step detection still right?"
    assert all(
        value is False for value in checked.values()
    ), f"steps that read or write the model registry must send is_deterministic: false, got {checked}"


def test_the_registry_detection_sees_the_registry_steps():
    """The detection the test above relies on, against the four steps as they are written today."""
    found = {step: touches_registry(step) for step in ("prep", "train", "evaluate", "register")}
    assert found == {"prep": False, "train": False, "evaluate": True, "register": True}


@pytest.mark.parametrize("exp", ["nyc_taxi", "london_taxi"])
def test_taxi_pipelines_send_their_experiments_values(exp, recorder, tmp_path, monkeypatch, capsys):
    """The steps are shared component files; the values are each pipeline's: the train step's literal
    inputs are what `python main.py train` uses in that experiment (make local trains the same model), and
    the parent inputs keep their defaults. The shared train component's own defaults are common.model's
    (london_taxi's 127 leaves travel as the step's literal input, which is what the step runs with)."""
    from test_components import experiment_train_defaults

    path = REPO / "src" / exp / "azure-ml-job.yaml"
    sent = sent_by_make_job(path, recorder, tmp_path, monkeypatch, capsys)
    properties = sent["job"]["properties"]
    train = {name: spec["value"] for name, spec in properties["jobs"]["train"]["inputs"].items()}
    expected = experiment_train_defaults(exp)
    hyperparameters = ["learning_rate", "max_iter", "max_leaf_nodes", "min_samples_leaf"]
    assert {name: train[name] for name in hyperparameters} == {n: str(expected[n]) for n in hyperparameters}
    assert train["prep_data"] == "${{parent.jobs.prep.outputs.prep_data}}"
    parent = {name: spec.get("value", spec.get("uri")) for name, spec in properties["inputs"].items()}
    assert parent == {
        "raw_data": f"{exp}_raw@latest",
        "model_name": f"{exp}_fare",
        "seed": "42",
        "min_improvement": "0.0",
    }
    specs = {name: component["properties"]["componentSpec"] for name, component in sent["components"].items()}
    assert {name: spec["_source"] for name, spec in specs.items()} == dict.fromkeys(specs, "YAML.COMPONENT")
    assert specs["train"]["inputs"]["max_leaf_nodes"]["default"] == "63"


MANAGED_JOBS = [p for p in JOB_FILES if "type: managed" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("path", MANAGED_JOBS, ids=lambda p: str(p.relative_to(REPO)))
def test_managed_identity_jobs_run_on_a_compute_with_an_identity(
    path, recorder, tmp_path, monkeypatch, capsys
):
    properties = sent_by_make_job(path, recorder, tmp_path, monkeypatch, capsys)["job"]["properties"]
    assert properties["identity"]["identityType"] == MANAGED
    compute = properties["computeId"].removeprefix("azureml:").rsplit("/", 1)[-1]
    cluster = sent_by_make_compute(recorder)
    assert cluster["name"] == compute, f"`make compute` creates {cluster['name']}, the job runs on {compute}"
    identity = cluster["body"].get("identity") or {}
    assert (
        identity.get("type") in IDENTITY_TYPES
    ), f"the job signs in with {compute}'s managed identity, but `make compute` sends identity {identity}"


# --- make compute -------------------------------------------------------------------------------------


def test_compute_identity_options(recorder, monkeypatch, capsys):
    monkeypatch.setenv("SCAFFOLD_ROOT", str(REPO))
    user_id = f"{ARM.split('/providers/')[0]}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs"
    assert sent_by_make_compute(recorder)["body"]["identity"] == {"type": "SystemAssigned"}
    assert "identity" not in sent_by_make_compute(recorder, "--identity", "none")["body"]
    user = sent_by_make_compute(recorder, "--identity", "user_assigned", "--identity-id", user_id)["body"]
    assert user["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {user_id: {}}}
    capsys.readouterr()


@pytest.mark.parametrize(
    "xargs, message",
    [
        (["--identity", "user_assigned"], "--identity user_assigned needs --identity-id /subscriptions/"),
        (["--identity", "user_assigned", "--identity-id", "jobs"], "got 'jobs'"),
        (["--identity-id", "/subscriptions/x"], "--identity-id is only for --identity user_assigned"),
        (["--identity", "both"], "compute XARGS: argument --identity: invalid choice: 'both'"),
    ],
)
def test_compute_identity_errors_before_any_call(recorder, monkeypatch, capsys, xargs, message):
    monkeypatch.setenv("SCAFFOLD_ROOT", str(REPO))
    assert cli.main(["compute", "--name", "", "--size", "", "--max", "", "--", *xargs]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert recorder.compute.sent == []


# --- taxi_batch's optional --invoke -------------------------------------------------------------------


def azure_ml_command_line(command: str, inputs: dict[str, str]) -> str:
    """The command line Azure ML runs: `$[[...]]` is dropped when an input in it is not given
    (https://learn.microsoft.com/azure/machine-learning/how-to-manage-inputs-outputs-pipeline, optional
    inputs), then ${{inputs.x}} is replaced by the value."""

    def optional(match: re.Match) -> str:
        names = re.findall(r"\$\{\{inputs\.(\w+)\}\}", match.group(1))
        return match.group(1) if all(name in inputs for name in names) else ""

    command = re.sub(r"\$\[\[(.*?)\]\]", optional, command)
    return re.sub(r"\$\{\{inputs\.(\w+)\}\}", lambda m: inputs[m.group(1)], command)


@pytest.mark.parametrize("invoke", [None, "azureml:nyc_taxi_raw@latest"])
def test_taxi_batch_invoke_is_optional_end_to_end(invoke, recorder, tmp_path, monkeypatch, capsys):
    """The command taxi_batch's job sends, as Azure ML runs it, is one main.py accepts, with and without
    `--set inputs.invoke=...`."""
    path = REPO / "src" / "taxi_batch" / "azure-ml-job.yaml"
    monkeypatch.setenv("SCAFFOLD_ROOT", str(REPO))
    monkeypatch.chdir(REPO)
    xargs = ["--", "--set", f"inputs.invoke={invoke}"] if invoke else []
    assert cli.main(["job", "--exp", "taxi_batch", "--file", path.name, *xargs]) == 2
    properties = recorder.jobs.sent[0]["job"]["properties"]
    inputs = {name: spec["value"] for name, spec in properties["inputs"].items()}
    assert ("invoke" in inputs) == bool(invoke)
    argv = shlex.split(azure_ml_command_line(properties["command"], inputs))  # as a shell splits it
    assert argv[:2] == ["python", "main.py"], argv
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path.parent), str(REPO), str(REPO / "src")])}
    result = subprocess.run(
        [PYTHON, "main.py", *argv[2:], "--dry-run"],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    plan = [line for line in result.stdout.splitlines() if line.startswith("# plan:")]
    assert plan and (f"invoke taxi-fare-batch on {invoke}" in plan[0]) == bool(invoke), plan


def test_inline_component_build_contexts_are_staged():
    """A step defined as an inline component (to set is_deterministic) keeps its Docker build context in
    the snapshot even when .amlignore leaves it out."""
    data = {
        "jobs": {
            "evaluate": {"component": {"environment": {"build": {"path": "docker_evaluate"}}}},
            "prep": {"environment": {"build": {"path": "docker"}}},
        }
    }
    assert sorted(job_yaml.build_paths(data)) == ["docker", "docker_evaluate"]


def test_taxi_batch_empty_invoke_is_one_line_error():
    """An empty --invoke used to mean "only deploy"; now leaving it out does, and empty is a mistake."""
    here = REPO / "src" / "taxi_batch"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(REPO), str(REPO / "src")])}
    result = subprocess.run(
        [PYTHON, "main.py", "--invoke", ""], cwd=here, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --invoke needs DATA (a folder or data asset); leave it out to only deploy"
    ]
