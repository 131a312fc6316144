"""The taxi pipelines declare each step once: shared command components in src/common/components/.

`make job` stages src/<exp> with src/common as common/ and loads the pipeline from there, so a component at
common/components/prep.yml resolves `code: ../..` and `build: path: ../../docker` (relative to the component
file, as azure-ai-ml resolves them) to the experiment's own code and Docker build context. These tests load
the pipelines the way `make job` does and check what the SDK resolved.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml
from conftest import PYTHON, REPO

from scaffold import cli, snapshot
from scaffold.azure import job_yaml, jobs
from scaffold.paths import Repo

pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

TAXI = ["nyc_taxi", "london_taxi"]
STEPS = ["prep", "train", "evaluate", "register"]
SHARED = REPO / "src" / "common" / "components"
JOB_FILE = "azure-ml-job.yaml"
# evaluate reads the model registry and register writes it: Azure ML must never reuse their outputs.
NOT_DETERMINISTIC = {"evaluate", "register"}


def pipeline(exp: str, root: Path = REPO) -> dict:
    return yaml.safe_load((root / "src" / exp / JOB_FILE).read_text(encoding="utf-8"))


def component_source(reference: str) -> Path:
    """The file in src/ a pipeline's `component: ./common/...` stands for (paths in the staged snapshot)."""
    parts = PurePosixPath(reference).parts
    assert parts[0] == "common", f"{reference}: not a shared component"
    return REPO / "src" / "common" / Path(*parts[1:])


def experiment_train_defaults(exp: str) -> dict:
    """What `python main.py train` uses without options in this experiment: common.model.DEFAULTS with
    experiment.py's train_defaults (run in its own process: every experiment has a module `experiment`)."""
    code = (
        "import json; from common.model import DEFAULTS; from experiment import EXPERIMENT; "
        "print(json.dumps({**DEFAULTS, **EXPERIMENT.train_defaults}))"
    )
    here = REPO / "src" / exp
    result = subprocess.run(
        [PYTHON, "-c", code],
        cwd=here,
        env={"PYTHONPATH": f"{here}:{REPO / 'src'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_taxi_pipelines_use_the_same_component_files_and_nothing_inline():
    references = {}
    for exp in TAXI:
        jobs = pipeline(exp)["jobs"]
        assert list(jobs) == STEPS, exp
        for name, step in jobs.items():
            assert set(step) == {"component", "inputs"}, f"{exp}.{name}: only wiring, got {sorted(step)}"
            assert step["component"] == f"./common/components/{name}.yml", f"{exp}.{name}"
        references[exp] = {name: step["component"] for name, step in jobs.items()}
    assert references["nyc_taxi"] == references["london_taxi"]
    for reference in references["nyc_taxi"].values():
        spec = yaml.safe_load(component_source(reference).read_text(encoding="utf-8"))
        assert spec["$schema"].endswith("/commandComponent.schema.json"), reference
        assert spec["code"] == "../.." and spec["environment"] == {"build": {"path": "../../docker"}}


def test_every_shared_component_is_used_by_a_pipeline():
    """test_yaml_loads skips these files (they resolve only in a snapshot): each must be loaded here."""
    used = {
        component_source(step["component"])
        for job_file in (REPO / "src").glob(f"*/{JOB_FILE}")
        for step in (yaml.safe_load(job_file.read_text(encoding="utf-8")).get("jobs") or {}).values()
        if isinstance(step.get("component"), str) and step["component"].startswith("./common/")
    }
    assert set(SHARED.glob("*.yml")) == used


def test_train_component_defaults_are_trains_own_and_pipelines_set_their_experiments():
    """The shared component holds train.py's defaults (common.model.DEFAULTS); each pipeline sets its
    experiment's values (experiment.py's train_defaults included) as literal inputs of its train step."""
    spec = yaml.safe_load((SHARED / "train.yml").read_text(encoding="utf-8"))
    hyperparameters = {name: value["default"] for name, value in spec["inputs"].items() if "default" in value}
    assert set(hyperparameters) == {"learning_rate", "max_iter", "max_leaf_nodes", "min_samples_leaf"}
    common_defaults = experiment_train_defaults("nyc_taxi")  # nyc_taxi has no train_defaults of its own
    assert hyperparameters == {name: common_defaults[name] for name in hyperparameters}
    for exp in TAXI:
        inputs = pipeline(exp)["jobs"]["train"]["inputs"]
        expected = experiment_train_defaults(exp)
        assert {name: inputs[name] for name in hyperparameters} == {n: expected[n] for n in hyperparameters}


@pytest.mark.parametrize("exp", TAXI)
def test_staged_pipeline_resolves_every_step_to_the_snapshot(exp):
    """Loaded from its staged snapshot, each step's code is the snapshot root and its build context the
    snapshot's docker/: as the driver sees them (code_paths, build_contexts), as the SDK will upload the
    build context (Environment.path), and as the SDK writes the job (the dry run's YAML)."""
    from azure.ai.ml.entities import CommandComponent

    repo = Repo(REPO)
    exp_dir = REPO / "src" / exp
    relative = PurePosixPath(JOB_FILE)
    force = job_yaml.staged_paths(pipeline(exp), relative, jobs._component_reader(repo, exp_dir))
    assert {"docker", "common/components/prep.yml", "common/components/register.yml"} <= set(force)
    with snapshot.staged(exp_dir, repo.common, force) as snap:
        job = job_yaml.load_job(snap.root / JOB_FILE, [], f"src/{exp}/{JOB_FILE}")
        root = snap.root.resolve()
        dumped = yaml.safe_load(job_yaml.as_yaml(job))["jobs"]
        assert sorted(job.jobs) == sorted(STEPS)
        for name in STEPS:
            component = job.jobs[name].component
            assert isinstance(component, CommandComponent), f"{name}: {component!r}"
            assert Path(component.base_path).resolve() == root / "common" / "components"
            assert Path(component.environment.path).resolve() == root / "docker"
            assert Path(dumped[name]["component"]["code"]).resolve() == root
            assert (
                Path(dumped[name]["component"]["environment"]["build"]["path"]).resolve() == root / "docker"
            )
            assert component.is_deterministic is (name not in NOT_DETERMINISTIC), name
        assert job_yaml.code_paths(job) == [root] * len(STEPS)
        assert job_yaml.build_contexts(job) == [root / "docker"] * len(STEPS)


@pytest.mark.parametrize("exp", TAXI)
def test_dry_run_shows_the_components_resolved_without_warnings(exp, monkeypatch, capsys):
    monkeypatch.setenv("SCAFFOLD_ROOT", str(REPO))
    monkeypatch.chdir(REPO)
    assert cli.main(["job", "--exp", exp, "--", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert [line for line in captured.err.splitlines() if not line.startswith("snapshot: ")] == []
    staged = captured.out.split(" staged in ", 1)[1].split("\n", 1)[0]
    job = yaml.safe_load("\n".join(line for line in captured.out.splitlines() if not line.startswith("#")))
    for name in STEPS:
        component = job["jobs"][name]["component"]
        assert component["code"] == staged and component["environment"]["build"]["path"] == f"{staged}/docker"
    rows = [line[1:].split() for line in captured.out.splitlines() if line.startswith("#  ")]
    listed = {row[1]: row[0] for row in rows if len(row) == 2 and row[0].isdigit()}  # "size  path" rows
    for step in STEPS:  # the snapshot holds the shared components, copied from src/common/components/
        assert listed[f"common/components/{step}.yml"] == str((SHARED / f"{step}.yml").stat().st_size)


def test_components_and_build_context_are_staged_even_when_amlignore_excludes_them(
    tmp_path, monkeypatch, capsys
):
    """The SDK reads the component files and builds docker/ from the snapshot: they go in (marked as
    build-only in the listing) even when .amlignore keeps them out of the code upload."""
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    shutil.copy2(REPO / "config.env", root / "config.env")
    ignore = shutil.ignore_patterns("__pycache__", "tests", ".pytest_cache")
    shutil.copytree(REPO / "src" / "common", root / "src" / "common", ignore=ignore)
    shutil.copytree(REPO / "src" / "nyc_taxi", root / "src" / "nyc_taxi", ignore=ignore)
    amlignore = root / "src" / "nyc_taxi" / ".amlignore"
    amlignore.write_text(amlignore.read_text() + "docker/\n*.yml\n")
    monkeypatch.setenv("SCAFFOLD_ROOT", str(root))
    monkeypatch.chdir(root)
    assert cli.main(["job", "--exp", "nyc_taxi", "--", "--dry-run"]) == 0, capsys.readouterr().err
    listing = [line for line in capsys.readouterr().out.splitlines() if line.startswith("#")]
    build_only = {line.split()[2] for line in listing if "(build context only" in line}
    assert {"docker/Dockerfile", *(f"common/components/{step}.yml" for step in STEPS)} <= build_only


def test_staged_paths_follow_component_files_relative_to_each_file():
    components = {
        "common/components/prep.yml": {"environment": {"build": {"path": "../../docker"}}},
        "jobs/train.yml": {"environment": {"build": {"path": "../docker_gpu"}}},
    }
    data = {
        "jobs": {
            "prep": {"component": "../common/components/prep.yml"},
            "train": {"component": "./train.yml"},
            "remote": {"component": "azureml:taxi_train:3"},
            "missing": {"component": "./none.yml"},
            "outside": {"component": "../../elsewhere.yml"},
            "inline": {"component": {"environment": {"build": {"path": "docker_inline"}}}},
        }
    }
    asked = []

    def read(path: str) -> dict | None:
        asked.append(path)
        return components.get(path)

    found = job_yaml.staged_paths(data, PurePosixPath("jobs/pipeline.yaml"), read)
    assert found == [
        "jobs/pipeline.yaml",
        "jobs/docker_inline",
        "common/components/prep.yml",
        "docker",
        "jobs/train.yml",
        "docker_gpu",
    ]
    assert asked == ["common/components/prep.yml", "jobs/train.yml", "jobs/none.yml"]
