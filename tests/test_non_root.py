"""A user who is not root (but in the docker group) works in a fresh clone: every file it creates is theirs.

Containers run as the invoking user, so whatever a run writes into the repository (the MLflow store, data,
outputs, caches, test reports) must belong to that user, never to root. Run as root, this test creates a
`scaffold-ci` user in the docker group, gives it a copy of the repository, and has it set up .venv, create,
build, run, test and stage an experiment, and run the end-to-end inner-loop tests; then walks the copy.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import copy_repository, remove_images, unique_name

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="run as root to create the non-root user (as a non-root user, every test is one)",
    ),
]
USER = "scaffold-ci"


def ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--groups", "docker", USER], check=True)
        return pwd.getpwnam(USER)


def as_user(user: pwd.struct_passwd, repo: Path, command: list[str], timeout: float = 1800):
    """Run `command` in `repo` as the user, with a login-like environment (no root paths, no root HOME)."""
    env = {
        "HOME": user.pw_dir,
        "USER": USER,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "BASE_IMAGE": os.environ.get("BASE_IMAGE", ""),
        "SCAFFOLD_REQUIRE_DOCKER": "1",
        "PYTHON": "/usr/bin/python3",
    }
    return subprocess.run(
        [shutil.which("runuser") or "/usr/sbin/runuser", "-u", USER, "--", *command],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def user_repo():
    user = ensure_user()
    top = Path(tempfile.mkdtemp(prefix="scaffold-non-root-"))
    repo = copy_repository(top / "repo")
    (repo / ".venv").unlink()  # root's .venv lives under /root's Python: the user builds their own
    subprocess.run(["git", "init", "-q", str(repo)], check=True)  # a clone: the suite copies its files
    # The suite's temporary copies go inside the repository (so their ownership is checked too); git must
    # not count them as changes to the checkout, which the suite's leftover census forbids.
    (repo / ".git" / "info" / "exclude").write_text(".pytest-tmp/\n")
    shutil.chown(top, USER, USER)
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(repo)], check=True)
    yield user, repo
    shutil.rmtree(top, ignore_errors=True)


def test_everything_the_user_creates_belongs_to_the_user(user_repo):
    user, repo = user_repo
    name = unique_name("own")
    steps = [
        ["make", "venv", "PYTHON=/usr/bin/python3"],
        ["make", "new-exp", f"EXP={name}"],
        ["make", "build-exp", f"EXP={name}"],
        ["make", "local", f"EXP={name}"],
        [".venv/bin/python", "-m", "scaffold", "test", "--exp", name],
        ["make", "job", f"EXP={name}", "XARGS=--dry-run"],
        # The end-to-end inner-loop suite, as this user, with its temporary copies inside the repository.
        [
            ".venv/bin/python",
            "-m",
            "pytest",
            "-q",
            "-x",
            "tests/test_inner_loop_docker.py",
            f"--basetemp={repo / '.pytest-tmp'}",
            "-p",
            "no:cacheprovider",
        ],
    ]
    try:
        for step in steps:
            result = as_user(user, repo, step)
            assert (
                result.returncode == 0
            ), f"{' '.join(step)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert (repo / "mlruns" / "mlflow.db").is_file() and (repo / "data" / name).is_dir()
        assert any((repo / ".pytest-tmp").iterdir()), "the suite's copies are under the repository"
        foreign = [
            f"{path.relative_to(repo)} ({path.lstat().st_uid})"
            for path in [repo, *repo.rglob("*")]
            if path.lstat().st_uid != user.pw_uid or path.lstat().st_gid != user.pw_gid
        ]
        assert foreign == [], f"not owned by {USER}: {foreign[:20]}"
    finally:
        remove_images(name)
