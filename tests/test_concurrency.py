"""The same command started several times at once: every run succeeds and is tracked, one image is built.

A data scientist starts a run, then another in a second terminal; CI runs jobs side by side. The fresh
repository (no MLflow store, no sample data, no image yet) is the hardest case: every process wants to
create the same things at the same moment. (Two `new-exp` of one name at once: tests/test_new_exp.py.)
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import driver, make, remove_images, unique_name

pytestmark = pytest.mark.docker


@pytest.fixture
def experiment(fresh_repo):
    name = unique_name("conc")
    assert driver(fresh_repo, "new-exp", "--exp", name).returncode == 0
    yield fresh_repo, name
    remove_images(name)


def at_once(count: int, call):
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_four_local_runs_at_once_all_succeed_and_are_tracked(experiment):
    repo, name = experiment
    assert make(repo, "build-exp", f"EXP={name}").returncode == 0  # the image race is the next test's
    assert not (repo / "mlruns").exists() and not (repo / "data" / name).exists()
    results = at_once(4, lambda: make(repo, "local", f"EXP={name}"))
    for result in results:
        assert result.returncode == 0, result.stderr
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    experiments = [e for e in client.search_experiments() if e.name == name]
    assert len(experiments) == 1, "one MLflow experiment, created once"
    runs = client.search_runs([experiments[0].experiment_id])
    assert len(runs) == 4 and {run.info.status for run in runs} == {"FINISHED"}
    assert {run.data.params["rows"] for run in runs} == {"100"}, "each run read the whole sample"
    assert sorted(p.name for p in (repo / "data" / name).iterdir()) == ["sample.csv"]


def image_ids(name: str) -> set[str]:
    listed = subprocess.run(["docker", "images", "-q", "--no-trunc", name], capture_output=True, text=True)
    return set(listed.stdout.split())


def test_two_builds_at_once_both_succeed_with_one_image(experiment):
    repo, name = experiment
    dangling_before = subprocess.run(
        ["docker", "images", "-q", "--filter", "dangling=true"], capture_output=True, text=True
    ).stdout.split()
    results = at_once(2, lambda: make(repo, "build-exp", f"EXP={name}"))
    for result in results:
        assert result.returncode == 0, result.stderr
    assert len(image_ids(name)) == 1, "both tags name one image"
    built = [r for r in results if "\nbuilt " in "\n" + r.stderr]
    assert len(built) == 1, "one build; the other waited and found it up to date"
    dangling_after = subprocess.run(
        ["docker", "images", "-q", "--filter", "dangling=true"], capture_output=True, text=True
    ).stdout.split()
    assert set(dangling_after) <= set(dangling_before), "no orphaned image from a duplicate build"
