"""`make lint` passes on a fresh clone, before and after `new-exp`: isort's sections are fixed in
pyproject.toml, not guessed from which files and folders exist, so `make format` never flips lines it did not
need to touch (two contributors' pre-commit runs would otherwise undo each other)."""

import subprocess

from conftest import copy_repository, driver


def lint(repo):
    """`make lint` as the Makefile runs it (the driver's format --check), with this .venv's tools."""
    result = driver(repo, "format", "--check", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_lint_passes_on_a_fresh_clone_before_and_after_new_exp(tmp_path):
    repo = copy_repository(tmp_path / "repo")
    # A git repository, as a clone is: isort's skip_gitignore asks git what is ignored.
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    lint(repo)
    # `experiment` is also a module name the experiments import (`from experiment import EXPERIMENT`):
    # with isort's default src_paths, src/experiment/ would turn those imports first party.
    # FROM= renames names in code, which changes line lengths.
    for args in (["my_experiment"], ["experiment"], ["paris_taxi", "--from", "london_taxi"]):
        result = driver(repo, "new-exp", "--exp", *args)
        assert result.returncode == 0, result.stderr
    lint(repo)
