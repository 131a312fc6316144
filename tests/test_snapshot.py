"""Staging for Azure ML: .amlignore honoured, common/ added, secrets and data never in, src/ never touched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, tree_state

from scaffold import snapshot
from scaffold.errors import ScaffoldError

# The SDK's schemas warn about marshmallow deprecations on import: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

JOB_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: python main.py
code: .
environment:
  build:
    path: docker
compute: azureml:cpu-cluster
"""

AMLIGNORE = """\
# comments and blank lines are fine

tests/
local.py
*.log
!keep.log
/notes/
**/scratch/**
"""


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path) -> tuple[Path, Path]:
    """src/exp and src/common with every kind of file the snapshot must keep or leave out."""
    src = tmp_path / "src"
    exp, common = src / "exp", src / "common"
    for relative in [
        "main.py",
        "local.py",
        "azure-ml-job.yaml",
        "docker/Dockerfile",
        "docker/requirements.txt",
        "tests/test_main.py",
        "run.log",
        "keep.log",
        "notes/todo.md",
        "pkg/notes/kept.md",
        "pkg/scratch/tmp.txt",
        "pkg/module.py",
        ".env",
        ".env.local",
        "data/big.csv",
        "pkg/data/nested.csv",
        "mlruns/0/meta.yaml",
        "__pycache__/main.cpython-311.pyc",
        "stray.pyc",
        ".pytest_cache/v/cache",
        ".ipynb_checkpoints/n-checkpoint.ipynb",
    ]:
        write(exp / relative)
    write(exp / ".amlignore", AMLIGNORE)
    for relative in ["__init__.py", "tools/helpers.py", ".env", "__pycache__/x.pyc", "tests/test_common.py"]:
        write(common / relative)
    outside = write(tmp_path / "secret.txt", "outside\n")
    (exp / "link_out.txt").symlink_to(outside)
    (exp / "link_in.py").symlink_to(exp / "main.py")
    (exp / "dir_out").symlink_to(tmp_path, target_is_directory=True)
    return exp, common


def staged_files(exp: Path, common: Path, force=None) -> dict[str, int]:
    with snapshot.staged(exp, common, force) as snap:
        on_disk = {p.relative_to(snap.root).as_posix() for p in snap.root.rglob("*") if p.is_file()}
        assert on_disk == set(snap.files)
        return dict(snap.files)


def test_amlignore_is_honoured_and_common_is_added(tree):
    exp, common = tree
    files = set(staged_files(exp, common))
    assert {
        "main.py",
        "azure-ml-job.yaml",
        ".amlignore",
        "docker/Dockerfile",
        "keep.log",
        "pkg/module.py",
    } <= files
    assert {"pkg/notes/kept.md", "link_in.py"} <= files  # `/notes/` is anchored; links inside are copied
    assert {"common/__init__.py", "common/tools/helpers.py"} <= files
    # .amlignore applies where the SDK will apply it: in the snapshot, common/ included
    assert {"local.py", "run.log", "notes/todo.md", "pkg/scratch/tmp.txt"}.isdisjoint(files)
    assert not any(f.startswith("tests/") or "/tests/" in f for f in files)


def test_secrets_data_caches_and_outside_links_never_go_in(tree):
    exp, common = tree
    files = staged_files(exp, common)
    for name in files:
        parts = name.split("/")
        assert not (parts[-1] == ".env" or parts[-1].startswith(".env.")), name
        assert "__pycache__" not in parts, name
        assert parts[0] not in {"data", "mlruns", ".pytest_cache", ".ipynb_checkpoints"}, name
    assert "link_out.txt" not in files and not any(f.startswith("dir_out") for f in files)
    with snapshot.staged(exp, common) as snap:
        skipped = dict(snap.skipped)
        assert "link_out.txt" in skipped and "dir_out" in skipped
        assert "not followed" in snap.listing()


def test_nested_data_and_mlruns_folders_are_code_and_go_in(tmp_path):
    """Only the top-level data/ and mlruns/ are local-only: deeper down they are packages, and the
    snapshot holds every file `az ml job create` would upload from the folder (the SDK's own file list,
    with no ignore file) except what the documented rules leave out."""
    from azure.ai.ml._utils._asset_utils import get_ignore_file, get_upload_files_from_folder

    exp, common = tmp_path / "src" / "exp", tmp_path / "src" / "common"
    for relative in [
        "main.py",
        "pkg/data/__init__.py",
        "pkg/data/loader.py",
        "pkg/mlruns/__init__.py",
        "pkg/__pycache__/x.cpython-311.pyc",
        "pkg/.env",
        "data/big.csv",
        "mlruns/0/meta.yaml",
        ".venv/bin/python",
    ]:
        write(exp / relative)
    write(common / "data" / "__init__.py")
    files = set(staged_files(exp, common))
    assert {"pkg/data/__init__.py", "pkg/data/loader.py", "pkg/mlruns/__init__.py"} <= files
    assert "common/data/__init__.py" in files
    sdk = {name for _, name in get_upload_files_from_folder(exp, ignore_file=get_ignore_file(exp))}
    documented = {"pkg/__pycache__/x.cpython-311.pyc", "pkg/.env", "data/big.csv", "mlruns/0/meta.yaml"}
    assert sdk - documented - {".venv/bin/python"} == {f for f in files if not f.startswith("common/")}


def listed(root: Path) -> tuple[set[str], list[tuple[str, str]]]:
    """`make job --dry-run` in `root`: the snapshot listing's staged paths and (skipped path, reason)."""
    from conftest import PYTHON

    env = {**os.environ, "PYTHONPATH": str(REPO), "SCAFFOLD_ROOT": str(root)}
    result = subprocess.run(
        [PYTHON, "-m", "scaffold", "job", "--exp", "exp", "--", "--dry-run"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [line[1:].strip() for line in result.stdout.splitlines() if line.startswith("# ")]
    staged = {line.split()[1] for line in lines if line.split()[0].isdigit()}
    skipped = [tuple(line.split(None, 2)[1:]) for line in lines if line.startswith("skipped ")]
    return staged, skipped


def test_dry_run_lists_every_skipped_path(tree):
    """Every file of src/exp and src/common is either in the listing as staged or covered by a
    `skipped` line (itself or a folder above it) that says why."""
    exp, common = tree
    root = exp.parent.parent
    shutil.copy2(REPO / "config.env", root / "config.env")
    write(exp / "docker" / "Dockerfile", "FROM python:3.11-slim\n")
    write(exp / "azure-ml-job.yaml", JOB_YAML)
    staged, skipped = listed(root)
    assert {"main.py", "common/__init__.py", "pkg/data/nested.csv"} <= staged
    reasons = dict(skipped)
    assert reasons["local.py"] == "(excluded by .amlignore)"
    assert reasons["common/tests/test_common.py"] == "(excluded by .amlignore)"
    assert "secret" in reasons[".env"] and "secret" in reasons["common/.env"]
    assert "top-level" in reasons["data/"] and "top-level" in reasons["mlruns/"]
    assert "cache" in reasons["__pycache__/"] and "not followed" in reasons["link_out.txt"]
    sources = [(exp, ""), (common, "common/")]
    everything = {
        prefix + p.relative_to(base).as_posix()
        for base, prefix in sources
        for p in base.rglob("*")
        if (p.is_file() or p.is_symlink()) and "dir_out" not in p.relative_to(base).parts
    }
    for path in everything - staged:
        assert any(path == s or (s.endswith("/") and path.startswith(s)) for s, _ in skipped), path
    assert "dir_out" in reasons


def test_staged_copy_is_what_the_sdk_uploads(tree):
    """The SDK re-applies the staged .amlignore on upload: it must find nothing left to drop."""
    from azure.ai.ml._utils._asset_utils import get_ignore_file, get_upload_files_from_folder

    exp, common = tree
    with snapshot.staged(exp, common, ["docker"]) as snap:
        uploaded = get_upload_files_from_folder(snap.root, ignore_file=get_ignore_file(snap.root))
        root = snap.root.resolve()
        names = {Path(local).relative_to(root).as_posix() for local, _ in uploaded}
        assert names == set(snap.files) - snap.build_only


def test_build_context_is_staged_even_when_amlignore_excludes_it(tree):
    exp, common = tree
    (exp / ".amlignore").write_text(AMLIGNORE + "docker/\n*.yaml\n")
    with snapshot.staged(exp, common, ["azure-ml-job.yaml", "docker"]) as snap:
        assert {"docker/Dockerfile", "docker/requirements.txt", "azure-ml-job.yaml"} <= set(snap.files)
        assert snap.build_only == {"docker/Dockerfile", "docker/requirements.txt", "azure-ml-job.yaml"}
        assert "build context only" in snap.listing()


def test_summary_counts_files_and_kib(tree):
    exp, common = tree
    with snapshot.staged(exp, common) as snap:
        assert snap.summary() == f"snapshot: {len(snap.files)} files, {snap.size / 1024:.1f} KiB"
        assert snap.size == sum(p.stat().st_size for p in snap.root.rglob("*") if p.is_file())


def test_experiment_folder_named_common_is_refused(tree):
    exp, common = tree
    write(exp / "common" / "x.py")
    with pytest.raises(ScaffoldError, match="would hide src/common"):
        with snapshot.staged(exp, common):
            pass


@pytest.mark.parametrize("outcome", ["success", "failure", "interrupt"])
def test_src_unchanged_and_staging_removed(tree, outcome):
    exp, common = tree
    src = exp.parent
    before = tree_state(src)
    seen = []
    error = {"success": None, "failure": RuntimeError("boom"), "interrupt": KeyboardInterrupt()}[outcome]
    try:
        with snapshot.staged(exp, common) as snap:
            seen.append(snap.root)
            assert (snap.root / "main.py").is_file()
            assert not snap.root.is_relative_to(src)
            if error is not None:
                raise error
    except (RuntimeError, KeyboardInterrupt):
        assert outcome != "success"
    assert not seen[0].exists() and not seen[0].parent.exists()
    assert tree_state(src) == before


STAGE_AND_WAIT = """
import sys, time
from pathlib import Path
from scaffold import snapshot
exp, common = Path(sys.argv[1]), Path(sys.argv[2])
with snapshot.staged(exp, common) as snap:
    print(snap.root, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT])
def test_signal_removes_staging(tree, sig):
    """Ctrl-C leaves no staged folder behind (SIGTERM through the CLI: tests/test_interrupts.py)."""
    exp, common = tree
    before = tree_state(exp.parent)
    proc = subprocess.Popen(
        [sys.executable, "-c", STAGE_AND_WAIT, str(exp), str(common)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    staged = Path(proc.stdout.readline().strip())
    assert staged.is_dir()
    proc.send_signal(sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 5
    while staged.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not staged.parent.exists()
    assert proc.returncode != 0
    assert tree_state(exp.parent) == before
