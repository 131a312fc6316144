"""The deploy scripts (taxi_online/main.py, taxi_batch/main.py) run from src/<exp>, outside a job: the code
they hand to the SDK is the snapshot `make job` stages (experiment + common/, minus .amlignore), not
src/<exp>, where `from common...` would fail in Azure ML. Real SDK loaders and the driver's real staging;
the client records the deployment it is handed and stops there (nothing is sent to Azure).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REPO

pytestmark = pytest.mark.filterwarnings(
    "ignore:::azure", "ignore:::marshmallow", "ignore::DeprecationWarning"
)

SRC = REPO / "src"


class Handed(Exception):
    """Raised by the recording client once the deployment reached it: the test stops at the SDK boundary."""


def load_main(exp: str, monkeypatch):
    """src/<exp>/main.py as `python main.py` imports it (its folder and src/ on the path)."""
    monkeypatch.syspath_prepend(str(SRC))
    monkeypatch.syspath_prepend(str(SRC / exp))
    spec = importlib.util.spec_from_file_location(f"{exp}_main", SRC / exp / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def uploaded_code(deployment) -> Path:
    """The folder the SDK uploads as the deployment's code: `code` resolved against the YAML's folder, which
    the entity keeps in its private `_base_path` (checked with azure-ai-ml 1.35.2, pinned below)."""
    return (Path(deployment._base_path) / str(deployment.code_configuration.code)).resolve()


def test_private_base_path_was_checked_with_this_sdk():
    from importlib.metadata import version

    assert version("azure-ai-ml") == "1.35.2", "re-check uploaded_code() against this azure-ai-ml's loaders"


def recording_client(kind: str, seen: dict):
    """A client that answers as for a new endpoint and records the code of the deployment it is handed."""
    from azure.core.exceptions import ResourceNotFoundError

    def record(deployment):
        code = uploaded_code(deployment)
        seen["code"] = code
        seen["files"] = sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file())
        raise Handed()

    def not_found(name):
        raise ResourceNotFoundError("new endpoint")

    endpoints = SimpleNamespace(
        get=not_found, begin_create_or_update=lambda e: SimpleNamespace(result=lambda: e)
    )
    models = SimpleNamespace(get=lambda name, label=None: SimpleNamespace(version="3"))
    deployments = SimpleNamespace(begin_create_or_update=record)
    return SimpleNamespace(
        **{f"{kind}_endpoints": endpoints, f"{kind}_deployments": deployments}, models=models
    )


@pytest.mark.parametrize(
    "exp, kind, script",
    [("taxi_online", "online", "score.py"), ("taxi_batch", "batch", "batch_driver.py")],
)
def test_deployment_code_is_the_staged_snapshot_with_common(exp, kind, script, monkeypatch):
    main = load_main(exp, monkeypatch)
    seen: dict = {}
    with pytest.raises(Handed):
        main.main([], client=recording_client(kind, seen))
    code, files = seen["code"], seen["files"]
    assert script in files and "common/__init__.py" in files and "common/azure_deploy.py" in files, files
    assert not code.is_relative_to(REPO), f"the code must be a staged copy, not {code}"
    assert not any(f.startswith("tests/") or f == "local.py" for f in files), ".amlignore applies"
    assert not code.exists(), "the staged snapshot is removed when main.py ends"


def test_inside_the_job_the_snapshot_is_used_as_it_is(tmp_path, monkeypatch):
    """In Azure ML the job runs main.py in the snapshot `make job` uploaded: common/ is already there."""
    import shutil

    main = load_main("taxi_online", monkeypatch)
    snapshot = tmp_path / "taxi_online"
    shutil.copytree(SRC / "taxi_online", snapshot, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    shutil.copytree(
        SRC / "common", snapshot / "common", ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    seen: dict = {}
    argv = ["--deployment-file", str(snapshot / "deployment.yml")]
    with pytest.raises(Handed):
        main.main(argv, client=recording_client("online", seen))
    assert seen["code"] == snapshot.resolve() and "common/__init__.py" in seen["files"]
