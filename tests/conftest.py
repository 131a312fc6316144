"""Shared fixtures: a fresh copy of the repository, and the Docker gate.

Tests marked `docker` skip with a reason when no daemon answers, unless
SCAFFOLD_REQUIRE_DOCKER=1 (set by CI), which turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def docker_problem() -> str:
    """Empty when a Docker daemon answers, else why not."""
    try:
        import docker

        docker.from_env().ping()
        return ""
    except Exception as exc:  # noqa: BLE001 - any failure means no usable daemon
        return f"no Docker daemon: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("docker") for item in items):
        return
    problem = docker_problem()
    if not problem:
        return
    required = os.environ.get("SCAFFOLD_REQUIRE_DOCKER") == "1"
    for item in items:
        if item.get_closest_marker("docker"):
            if required:
                item.fixturenames.insert(0, "_docker_required")
            else:
                item.add_marker(pytest.mark.skip(reason=problem))


@pytest.fixture
def _docker_required():
    pytest.fail(f"SCAFFOLD_REQUIRE_DOCKER=1 but {docker_problem()}")


def copy_repository(dest: Path) -> Path:
    """Copy the repository's committed and new (not ignored) files, as a fresh clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = raw.decode()
        source = REPO / relative
        if not source.is_file():
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    # Share the host tooling: the copy's Makefile sees an up-to-date .venv.
    (dest / ".venv").symlink_to(REPO / ".venv")
    return dest


@pytest.fixture
def fresh_repo(tmp_path) -> Path:
    return copy_repository(tmp_path / "repo")


@pytest.fixture(scope="module")
def module_repo(tmp_path_factory) -> Path:
    return copy_repository(tmp_path_factory.mktemp("repo") / "repo")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def driver(repo: Path, *args: str, env: dict | None = None, timeout: float = 900, **kwargs):
    """Run `python -m scaffold ARGS` in `repo`, capturing text output."""
    full_env = {**os.environ, "PYTHONPATH": str(repo), **(env or {})}
    return subprocess.run(
        [PYTHON, "-m", "scaffold", *args],
        cwd=repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def make(repo: Path, *args: str, env: dict | None = None, timeout: float = 900):
    """Run `make ARGS` in `repo`, capturing text output."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=repo,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def experiment_containers(exp: str, repo: Path | None = None, name: str = "") -> list[str]:
    """Ids of the containers (any state) labelled scaffold.experiment=<exp>. With `repo`, only those that
    mount something of that repository copy (other modules may run the same experiment meanwhile); with
    `name`, only those whose name contains it (build steps inherit the image's label, the driver's own
    containers are called scaffold-<exp>-*)."""
    filters = ["--filter", f"label=scaffold.experiment={exp}"] + (
        ["--filter", f"name={name}"] if name else []
    )
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", *filters], capture_output=True, text=True
    ).stdout.split()
    if repo is None or not listed:
        return listed
    mounts = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}} {{range .Mounts}}{{.Source}}\t{{end}}", *listed],
        capture_output=True,
        text=True,
    ).stdout  # a container removed meanwhile is simply missing here
    ours = []
    for line in mounts.splitlines():
        container, _, sources = line.partition(" ")
        if any(source.startswith(str(repo)) for source in sources.split("\t")):
            ours.append(container)
    return ours


def eventually(check, timeout: float = 30) -> bool:
    """Poll `check` until it is true: Docker removes --rm containers a moment after they stop."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


def http_status(url: str) -> int:
    """The HTTP status of a GET on `url`; 0 when nothing answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime: equal states mean nothing was touched."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_dir()
    }


def remove_images(repository: str) -> None:
    """Delete every local image of `repository` (test clean-up)."""
    try:
        import docker

        client = docker.from_env()
        for image in client.images.list(name=repository):
            client.images.remove(image.id, force=True)
    except Exception:  # noqa: BLE001 - clean-up is best effort
        pass


# Runs in taxi_online's image, as the host user: the experiment's own fixture trains and saves a small model
# (MLflow sklearn flavor, signature, input example), then the request the deployments' smoke test sends is
# built from it (common.signature) and the model predicts it.
TRAIN_TINY_TAXI_MODEL = """
import json, sys
from pathlib import Path
sys.path[:0] = ["/src/taxi_online", "/src/taxi_online/tests", "/src"]
from conftest import save_tiny_model
from common.signature import sample_request
import mlflow.pyfunc
import pandas as pd
path, features = save_tiny_model(Path("/out/model/nyc_taxi_fare"))
request = sample_request(str(path), rows=3)
data = request["input_data"]
frame = pd.DataFrame(data["data"], columns=data["columns"])
expected = [float(v) for v in mlflow.pyfunc.load_model(str(path)).predict(frame)]
features.head(40).to_csv("/out/trips.csv", index=False)
Path("/out/request.json").write_text(json.dumps({"request": request, "expected": expected}))
"""


@pytest.fixture(scope="session")
def taxi_online_image():
    """The taxi_online image as `make build-exp` builds it (BASE_IMAGE from the environment)."""
    from scaffold import images

    exp_dir = REPO / "src" / "taxi_online"
    return images.ensure(images.experiment_image(exp_dir, os.environ.get("BASE_IMAGE", "")), quiet=True)


@pytest.fixture(scope="session")
def tiny_taxi_model(taxi_online_image, tmp_path_factory):
    """(folder holding the MLflow model nyc_taxi_fare/, the sample request, its predictions, 40 trips)."""
    out = tmp_path_factory.mktemp("tiny-taxi-model")
    subprocess.run(
        ["docker", "run", "--rm", "--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp",
         "-e", "MPLCONFIGDIR=/tmp/matplotlib", "--entrypoint", "python",
         "--mount", f"type=bind,source={REPO / 'src'},target=/src,readonly",
         "--mount", f"type=bind,source={out},target=/out",
         taxi_online_image, "-c", TRAIN_TINY_TAXI_MODEL],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    saved = json.loads((out / "request.json").read_text())
    return out / "model", saved["request"], saved["expected"], out / "trips.csv"


@pytest.fixture(scope="session", autouse=True)
def no_leftovers(request):
    """Fail the session if it left containers, test images, staged folders or checkout changes behind.

    Strict under SCAFFOLD_REQUIRE_DOCKER=1 (CI owns the machine); elsewhere other work may be running at the
    same time, so the difference is printed instead. SCAFFOLD_LEFTOVERS_FILE receives it as JSON.
    """
    import json

    import leftovers

    with_docker = not docker_problem()
    before = leftovers.census(REPO, with_docker)
    yield
    found = leftovers.new_since(before, leftovers.census(REPO, with_docker))
    report = os.environ.get("SCAFFOLD_LEFTOVERS_FILE")
    if report:
        Path(report).write_text(json.dumps(found, indent=2))
    if found and os.environ.get("SCAFFOLD_REQUIRE_DOCKER") == "1":
        pytest.fail(f"the tests left things behind: {found}", pytrace=False)
    if found:
        print(f"\nleftovers (other work may be running too): {found}", file=sys.stderr)


SLOW_DOCKER = """#!/bin/sh
# docker, with a daemon that takes $SLOW_DOCKER_DELAY s to register each new container and registers it even
# when its client is gone by then (a create request that reached a busy daemon). `run` is create + start -a.
case "$1" in
create|run)
    verb=$1
    shift
    touch "$SLOW_DOCKER_DIR/creating.$$"
    TAG=$$ setsid sh -c 'sleep "$1"; shift; "$@"; c=$?; touch "$SLOW_DOCKER_DIR/created.$TAG"; exit $c' \\
        sh "$SLOW_DOCKER_DELAY" "$REAL_DOCKER" create "$@" >"$SLOW_DOCKER_DIR/id.$$" </dev/null &
    wait $! || exit $?
    id=$(cat "$SLOW_DOCKER_DIR/id.$$")
    [ -n "$id" ] || exit 125
    [ "$verb" = create ] && echo "$id" && exit 0
    for arg; do [ "$arg" = -i ] && exec "$REAL_DOCKER" start -a -i "$id"; done
    exec "$REAL_DOCKER" start -a "$id"
    ;;
esac
exec "$REAL_DOCKER" "$@"
"""


class SlowCreate:
    """A `docker` first on PATH whose containers take `delay` seconds to be registered (SLOW_DOCKER): the
    window in which an interrupt used to leave a container behind, made wide enough to hit every time."""

    def __init__(self, folder: Path, delay: float = 4):
        self.folder = folder
        (folder / "bin").mkdir(parents=True)
        wrapper = folder / "bin" / "docker"
        wrapper.write_text(SLOW_DOCKER)
        wrapper.chmod(0o755)
        self.env = {
            "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "REAL_DOCKER": shutil.which("docker"),
            "SLOW_DOCKER_DIR": str(folder),
            "SLOW_DOCKER_DELAY": str(delay),
        }

    def creating(self) -> bool:
        return any(self.folder.glob("creating.*"))

    def all_created(self) -> bool:
        """Whether the daemon has answered every create asked of it."""
        asked = {p.suffix for p in self.folder.glob("creating.*")}
        return bool(asked) and asked <= {p.suffix for p in self.folder.glob("created.*")}

    def containers(self) -> list[str]:
        """The containers created through it that are still there (any state)."""
        ids = [p.read_text().strip() for p in self.folder.glob("id.*") if p.read_text().strip()]
        filters = [arg for cid in ids for arg in ("--filter", f"id={cid}")]
        if not ids:
            return []
        listed = subprocess.run(["docker", "ps", "-aq", *filters], capture_output=True, text=True)
        return listed.stdout.split()
