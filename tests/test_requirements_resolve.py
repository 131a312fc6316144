"""Each experiment's docker/requirements.txt installs together with what its Azure ML deployment type needs.

A real resolver (uv) against PyPI, for the images' Python on Linux x86_64: a conflict here is an image that
cannot be built, or an environment Azure ML refuses to run. Skips when PyPI cannot be reached, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/simple"
PYTHON_VERSION = "3.11"  # the images' Python: minimal-py311-inference on MCR, and the CI base (bookworm)
PLATFORM = "x86_64-manylinux_2_28"  # Azure ML compute: Linux x86_64

# What each deployment type needs in its environment, keyed by the deployment YAML's $schema.
NEEDS = {
    # Learn, "Deploy models for scoring in batch endpoints" (how-to-use-batch-model-deployments): "The
    # packages azureml-core and azureml-dataset-runtime[fuse] are required by batch deployments"; likewise
    # azureml-examples' cli/endpoints/batch/deploy-models/mnist-classifier/deployment-torch/environment/
    # conda.yaml.
    "batchDeployment": ["azureml-core", "azureml-dataset-runtime[fuse]"],
    # A custom image for a managed online deployment runs the Azure ML inference server (azmlinfsrv), which
    # this package provides (Learn, "Azure Machine Learning inference HTTP server").
    "managedOnlineDeployment": ["azureml-inference-server-http"],
}

EXPERIMENTS = sorted(
    [p.parents[1] for p in (REPO / "src").glob("*/docker/requirements.txt")] + [REPO / "experiment_template"]
)


def needs(experiment: Path) -> list[str]:
    """What the experiment's deployment YAMLs (found by their $schema) need in the environment."""
    found: list[str] = []
    for path in sorted([*experiment.glob("*.yml"), *experiment.glob("*.yaml")]):
        schema = str((yaml.safe_load(path.read_text()) or {}).get("$schema", ""))
        kind = schema.rsplit("/", 1)[-1].removesuffix(".schema.json")
        found += [need for need in NEEDS.get(kind, []) if need not in found]
    return found


def requirements(experiment: Path) -> list[Requirement]:
    lines = (experiment / "docker" / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (raw.split("#")[0].strip() for raw in lines) if line]


@pytest.fixture(scope="module")
def pypi():
    """Skip with the reason when the index cannot be reached; under CI=true, fail instead."""
    try:
        urllib.request.urlopen(f"{INDEX}/uv/", timeout=20).close()
    except OSError as exc:
        reason = f"{INDEX} cannot be reached ({exc}); the resolver needs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def test_the_deployment_experiments_are_found():
    kinds = {experiment.name: needs(experiment) for experiment in EXPERIMENTS}
    assert kinds["taxi_batch"] == NEEDS["batchDeployment"]
    assert kinds["taxi_online"] == NEEDS["managedOnlineDeployment"]
    assert kinds["nyc_taxi"] == [] and kinds["experiment_template"] == []


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.name)
def test_requirements_list_what_the_deployment_needs(experiment):
    listed = {canonicalize_name(r.name): r for r in requirements(experiment)}
    missing = []
    for need in map(Requirement, needs(experiment)):
        have = listed.get(canonicalize_name(need.name))
        if have is None or not need.extras <= have.extras:
            missing.append(str(need))
    assert not missing, f"{experiment.name}/docker/requirements.txt lacks {', '.join(missing)}"


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.name)
def test_requirements_resolve_with_what_the_deployment_needs(experiment, pypi, tmp_path):
    from uv import find_uv_bin

    extra = tmp_path / "deployment-needs.txt"
    extra.write_text("".join(f"{need}\n" for need in needs(experiment)))
    command = [find_uv_bin(), "pip", "compile", "--quiet", "--no-header", "--no-python-downloads"]
    command += ["--python", sys.executable, "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    command += ["--default-index", INDEX, "--output-file", str(tmp_path / "resolved.txt")]
    command += [str(experiment / "docker" / "requirements.txt"), str(extra)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        why = "\n".join(result.stderr.strip().splitlines()[-12:])
        pytest.fail(f"{experiment.name}: requirements + {needs(experiment)} do not resolve:\n{why}")
