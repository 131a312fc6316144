"""Every Azure ML YAML the repository ships loads with the SDK's own loader, offline.

The loader is chosen by the file's `$schema` (commandJob -> load_job, managedOnlineEndpoint ->
load_online_endpoint, ...). YAML files without an Azure ML `$schema` (pre-commit, CI workflows) are
not Azure ML files and are skipped, except each experiment's job file, which must declare one.
experiment_template/ holds placeholders: it is checked as `make new-exp` would write it.
An experiment's files are loaded from its staged snapshot (src/<exp> + common/), where `make job` and the
deploy experiments' main.py load them: a pipeline names its steps as ./common/components/<step>.yml there.
The shared components in src/common/components/ resolve only inside a snapshot (their paths point at the
experiment's code and docker/ beside common/): they are loaded through the pipelines that name them
(tests/test_components.py checks that each is named by one).
"""

from __future__ import annotations

import os
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import pytest
import yaml
from conftest import REPO

from scaffold import snapshot
from scaffold.azure import job_yaml, jobs
from scaffold.paths import Repo

pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

SKIP_DIRS = {".git", ".venv", ".venvs", "data", "mlruns", "node_modules", "__pycache__", ".pytest_cache"}
TEMPLATE = "experiment_template"
PLACEHOLDERS = {"__EXP__": "template_check", "__COMPUTE__": "cpu-cluster"}

LOADERS = {
    "commandJob": "load_job",
    "pipelineJob": "load_job",
    "sweepJob": "load_job",
    "sparkJob": "load_job",
    "commandComponent": "load_component",
    "pipelineComponent": "load_component",
    "parallelComponent": "load_component",
    "managedOnlineEndpoint": "load_online_endpoint",
    "kubernetesOnlineEndpoint": "load_online_endpoint",
    "managedOnlineDeployment": "load_online_deployment",
    "kubernetesOnlineDeployment": "load_online_deployment",
    "batchEndpoint": "load_batch_endpoint",
    "batchDeployment": "load_batch_deployment",
    "modelBatchDeployment": "load_batch_deployment",
    "pipelineComponentBatchDeployment": "load_batch_deployment",
    "data": "load_data",
    "amlCompute": "load_compute",
    "environment": "load_environment",
    "model": "load_model",
}


def azureml_schema(path: Path) -> str | None:
    """The schema name (e.g. commandJob) when the file declares an Azure ML $schema, else None."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return (
            "<invalid YAML>"
            if "azuremlschemas" in path.read_text(encoding="utf-8", errors="replace")
            else None
        )
    schema = data.get("$schema") if isinstance(data, dict) else None
    if not isinstance(schema, str) or "azureml" not in schema.lower():
        return None
    return schema.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".schema")


def shipped_yaml(root: Path = REPO) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith((".yaml", ".yml"))]
    return found


def experiment_job_files(root: Path = REPO) -> list[Path]:
    """Each experiment's azure-ml-job.yaml, and the template's."""
    files = sorted((root / "src").glob("*/azure-ml-job.yaml")) + [root / TEMPLATE / "azure-ml-job.yaml"]
    return [f for f in files if f.is_file()]


ALL = [p for p in shipped_yaml() if azureml_schema(p)]
SHARED_COMPONENTS = REPO / "src" / "common" / "components"
STANDALONE = [p for p in ALL if not p.is_relative_to(SHARED_COMPONENTS)]


def test_the_walk_finds_the_template():
    assert REPO / TEMPLATE / "azure-ml-job.yaml" in ALL


@pytest.mark.parametrize("path", experiment_job_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_job_file_declares_an_azureml_schema(path):
    assert azureml_schema(path), f"{path.relative_to(REPO)} has no Azure ML $schema line"


@contextmanager
def as_loaded(path: Path, tmp_path: Path):
    """The file to load: experiment_template/ files in a copy with the placeholders substituted, an
    experiment's files in its staged snapshot (as `make job` stages it), others where they are."""
    relative = path.relative_to(REPO)
    if relative.parts[0] == TEMPLATE:
        yield _as_created(relative, tmp_path)
    elif relative.parts[0] == "src" and len(relative.parts) > 2:
        repo, exp_dir = Repo(REPO), REPO / "src" / relative.parts[1]
        inside = PurePosixPath(*relative.parts[2:])
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        force = job_yaml.staged_paths(data, inside, jobs._component_reader(repo, exp_dir))
        with snapshot.staged(exp_dir, repo.common, force) as snap:
            yield snap.root / inside
    else:
        yield path


def _as_created(relative: Path, tmp_path: Path) -> Path:
    """Files of experiment_template/ are checked in a copy with the placeholders substituted."""
    copy = tmp_path / PLACEHOLDERS["__EXP__"]
    shutil.copytree(REPO / TEMPLATE, copy)
    for file in copy.rglob("*"):
        if file.is_file():
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for old, new in PLACEHOLDERS.items():
                text = text.replace(old, new)
            file.write_text(text, encoding="utf-8")
    return copy.joinpath(*relative.parts[1:])


@pytest.mark.parametrize("path", STANDALONE, ids=lambda p: str(p.relative_to(REPO)))
def test_yaml_loads_with_the_sdk_offline(path, tmp_path, monkeypatch):
    import azure.ai.ml

    def no_network(*args, **kwargs):
        raise AssertionError("loading a YAML must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    schema = azureml_schema(path)
    loader = LOADERS.get(schema)
    assert loader, f"{path.relative_to(REPO)}: no loader known for schema {schema!r}; add it to LOADERS"
    with as_loaded(path, tmp_path) as staged:
        entity = getattr(azure.ai.ml, loader)(staged)
        assert entity is not None
