"""new-exp: names, substitution, FROM=, a hostile template zip, and that a refusal creates nothing."""

import subprocess
import sys
import zipfile

import pytest
import yaml
from conftest import PYTHON, driver, make, tree_state


def listing(repo):
    return sorted(p.name for p in (repo / "src").iterdir())


def test_creates_experiment_with_name_substituted(fresh_repo):
    result = driver(fresh_repo, "new-exp", "--exp", "churn")
    assert result.returncode == 0, result.stderr
    exp = fresh_repo / "src" / "churn"
    expected = ["main.py", "local.py", "docker/Dockerfile", "docker/requirements.txt", "azure-ml-job.yaml"]
    for relative in [*expected, ".amlignore", "tests/test_main.py", "README.md"]:
        assert (exp / relative).is_file(), relative
    texts = [p.read_text() for p in exp.rglob("*") if p.is_file()]
    assert not any("__EXP__" in t or "__COMPUTE__" in t for t in texts)
    job = yaml.safe_load((exp / "azure-ml-job.yaml").read_text())
    assert job["experiment_name"] == "churn"
    assert job["compute"] == "azureml:cpu-cluster"
    assert job["$schema"].endswith("commandJob.schema.json")
    assert 'title="churn"' in (exp / "docker" / "Dockerfile").read_text()
    assert "churn" in driver(fresh_repo, "list").stdout.split()


def test_compute_comes_from_config(fresh_repo):
    result = driver(fresh_repo, "new-exp", "--exp", "gpu_exp", env={"COMPUTE": "gpu-cluster"})
    assert result.returncode == 0, result.stderr
    job = yaml.safe_load((fresh_repo / "src" / "gpu_exp" / "azure-ml-job.yaml").read_text())
    assert job["compute"] == "azureml:gpu-cluster"


def test_from_renames_the_source_experiment(fresh_repo):
    assert driver(fresh_repo, "new-exp", "--exp", "base_exp").returncode == 0
    cache = fresh_repo / "src" / "base_exp" / "__pycache__"
    cache.mkdir()
    (cache / "main.cpython-311.pyc").write_bytes(b"\0")
    result = driver(fresh_repo, "new-exp", "--exp", "copy_exp", "--from", "base_exp")
    assert result.returncode == 0, result.stderr
    copy = fresh_repo / "src" / "copy_exp"
    job = yaml.safe_load((copy / "azure-ml-job.yaml").read_text())
    assert job["experiment_name"] == "copy_exp"
    assert "base_exp" not in "".join(p.read_text() for p in copy.rglob("*") if p.is_file())
    assert not (copy / "__pycache__").exists()


def test_from_a_source_name_without_underscore_keeps_the_new_names_snake_case(fresh_repo):
    """A one-word source name is the same in snake and kebab case: the copy takes the name as given."""
    assert driver(fresh_repo, "new-exp", "--exp", "rome").returncode == 0
    result = driver(fresh_repo, "new-exp", "--exp", "milan_city", "--from", "rome")
    assert result.returncode == 0, result.stderr
    copy = fresh_repo / "src" / "milan_city"
    job = yaml.safe_load((copy / "azure-ml-job.yaml").read_text())
    assert job["experiment_name"] == "milan_city"
    text = "".join(p.read_text() for p in copy.rglob("*") if p.is_file())
    assert "milan_city" in text and "milan-city" not in text and "rome" not in text


def test_from_renames_every_name_derived_from_the_source(fresh_repo):
    """`make new-exp EXP=paris_taxi FROM=london_taxi`: the copy trains on its own data asset and registers its
    own model, not London's; a mention it cannot safely rename is printed as file:line."""
    source = fresh_repo / "src" / "london_taxi"
    readme = source / "README.md"
    readme.write_text(readme.read_text() + "Compare with greater_london_taxi (LONDON_TAXI_TOKEN).\n")
    mention_line = len(readme.read_text().splitlines())
    before = tree_state(source)
    result = make(fresh_repo, "new-exp", "EXP=paris_taxi", "FROM=london_taxi")
    assert result.returncode == 0, result.stderr
    copy = fresh_repo / "src" / "paris_taxi"
    job = yaml.safe_load((copy / "azure-ml-job.yaml").read_text())
    sweep = yaml.safe_load((copy / "sweep.yaml").read_text())
    assert job["experiment_name"] == sweep["experiment_name"] == "paris_taxi"
    assert job["display_name"] == "paris_taxi fare pipeline"
    assert sweep["display_name"] == "paris_taxi train sweep"
    assert (
        job["inputs"]["raw_data"]["path"]
        == sweep["inputs"]["raw_data"]["path"]
        == "azureml:paris_taxi_raw@latest"
    )
    assert job["inputs"]["model_name"] == "paris_taxi_fare"
    experiment = (copy / "experiment.py").read_text()
    assert 'name="paris_taxi"' in experiment and 'model_name="paris_taxi_fare"' in experiment
    # Only the planted line still mentions the old name, and the output points at it.
    mentions = [
        f"{path.relative_to(fresh_repo)}:{number}"
        for path in sorted(copy.rglob("*"))
        if path.is_file()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "london_taxi" in line.lower()
    ]
    assert mentions == [f"src/paris_taxi/README.md:{mention_line}"]
    assert f"src/paris_taxi/README.md:{mention_line}: Compare with greater_london_taxi" in result.stdout
    assert tree_state(source) == before


def test_from_a_deploy_experiment_warns_of_each_endpoint_name_it_keeps(fresh_repo):
    """Deploying the copy would replace the original's deployment: each line naming its endpoint is listed;
    CI deploys the copy after the training, as the original (it has a deployment.yml)."""
    result = make(fresh_repo, "new-exp", "EXP=online2", "FROM=taxi_online")
    assert result.returncode == 0, result.stderr
    assert "warning: online2 keeps the endpoint names of taxi_online;" in result.stderr
    assert [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")] == [
        "src/online2/azure-ml-job.yaml:19: endpoint_name: taxi-fare-online",
        "src/online2/deployment.yml:6: endpoint_name: taxi-fare-online",
        "src/online2/endpoint.yml:4: name: taxi-fare-online",
    ]
    ci = [PYTHON, "ci/changed_experiments.py", "--stage", "deploy", "--all"]
    deploys = subprocess.run(ci, cwd=fresh_repo, capture_output=True, text=True, check=True).stdout.split()
    assert deploys == ["online2", "taxi_batch", "taxi_online"]
    copy = make(fresh_repo, "new-exp", "EXP=rome_taxi", "FROM=nyc_taxi")  # no endpoint: no warning
    assert copy.returncode == 0 and "warning" not in copy.stderr, copy.stderr


def test_from_a_taxi_experiment_keeps_the_shared_components_and_loads(fresh_repo):
    """The copy's pipeline names the same shared components (src/common/components/), which resolve to
    the copy's own code and docker/ in its snapshot: its dry run loads with no warning."""
    result = make(fresh_repo, "new-exp", "EXP=rome_taxi", "FROM=nyc_taxi")
    assert result.returncode == 0, result.stderr
    source = yaml.safe_load((fresh_repo / "src" / "nyc_taxi" / "azure-ml-job.yaml").read_text())
    copy = yaml.safe_load((fresh_repo / "src" / "rome_taxi" / "azure-ml-job.yaml").read_text())
    assert {name: step["component"] for name, step in copy["jobs"].items()} == {
        name: step["component"] for name, step in source["jobs"].items()
    }
    dry = driver(fresh_repo, "job", "--exp", "rome_taxi", "--", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "warning" not in dry.stderr, dry.stderr
    staged = dry.stdout.split(" staged in ", 1)[1].split("\n", 1)[0]
    assert staged.endswith("/rome_taxi")
    job = yaml.safe_load("\n".join(line for line in dry.stdout.splitlines() if not line.startswith("#")))
    for step in job["jobs"].values():
        assert step["component"]["code"] == staged
        assert step["component"]["environment"]["build"]["path"] == f"{staged}/docker"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "EXP is required"),
        ("Bad", "invalid experiment name"),
        ("1x", "invalid experiment name"),
        ("class", "invalid experiment name"),
        ("common", "reserved"),
        ("../x", "invalid experiment name"),
        ("/abs", "invalid experiment name"),
        ("two words", "invalid experiment name"),
        ("caf\u00e9", "invalid experiment name"),
        ("x-y", "invalid experiment name"),
        ("abc\n", "invalid experiment name"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_created(fresh_repo, name, message):
    before = tree_state(fresh_repo / "src")
    result = driver(fresh_repo, "new-exp", "--exp", name)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree_state(fresh_repo / "src") == before


def test_existing_experiment_is_not_overwritten(fresh_repo):
    assert driver(fresh_repo, "new-exp", "--exp", "keep").returncode == 0
    main = fresh_repo / "src" / "keep" / "main.py"
    main.write_text("# my work\n")
    result = driver(fresh_repo, "new-exp", "--exp", "keep")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert main.read_text() == "# my work\n"


def test_unknown_from_lists_known(fresh_repo):
    result = driver(fresh_repo, "new-exp", "--exp", "x", "--from", "nope")
    assert result.returncode == 2 and "unknown experiment 'nope'" in result.stderr
    assert not (fresh_repo / "src" / "x").exists()


def _hostile_zip(path, name, data=b"x", symlink=False):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("main.py", "print(1)\n")
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = 0o120777 << 16
        zf.writestr(info, data)


@pytest.mark.parametrize(
    "entry, symlink, message",
    [
        ("../escape.py", False, "outside the experiment"),
        ("docker/../../escape.py", False, "outside the experiment"),
        ("/etc/escape", False, "outside the experiment"),
        ("link", True, "symlink"),
    ],
)
def test_hostile_template_is_refused(fresh_repo, entry, symlink, message):
    _hostile_zip(fresh_repo / "experiment_template.zip", entry, b"/etc/passwd" if symlink else b"x", symlink)
    before = tree_state(fresh_repo)
    result = driver(fresh_repo, "new-exp", "--exp", "victim")
    assert result.returncode == 2 and message in result.stderr
    assert tree_state(fresh_repo) == before
    assert not (fresh_repo / "escape.py").exists()


def test_corrupt_template_is_refused(fresh_repo):
    (fresh_repo / "experiment_template.zip").write_bytes(b"not a zip")
    result = driver(fresh_repo, "new-exp", "--exp", "victim")
    assert result.returncode == 2 and "not a valid zip" in result.stderr
    assert not (fresh_repo / "src" / "victim").exists()


def test_two_concurrent_new_exp_exactly_one_wins(fresh_repo):
    command = [PYTHON, "-m", "scaffold", "new-exp", "--exp", "race"]
    procs = [subprocess.Popen(command, cwd=fresh_repo, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((p.wait(), p.stderr.read()) for p in procs)
    assert [code for code, _ in outcomes] == [0, 2]
    assert "already exists" in outcomes[1][1]
    assert [p.name for p in (fresh_repo / "src").iterdir() if p.name.startswith(".")] == []


def test_template_zip_matches_its_source_folder():
    from conftest import REPO

    sys.path.insert(0, str(REPO))
    from scaffold.template import members, zip_contents

    folder = REPO / "experiment_template"
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in members(folder)}
    assert zip_contents(REPO / "experiment_template.zip") == expected, "run `make template`"
