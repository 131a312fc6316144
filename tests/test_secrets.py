"""Secrets never leak, services listen on 127.0.0.1 only, containers are never privileged.

A repository copy gets a `.env` with a marker secret (and `.env` files in the experiment and common/ with
markers of their own); the marker must reach the container yet appear in no image layer, job snapshot, log
line or MLflow record. JupyterLab, the MLflow UI and the local endpoint are checked to be reachable on
127.0.0.1 and unreachable through this machine's other addresses; every container is inspected for
privilege, capabilities, host namespaces, sockets and its user. Each check first proves, on a planted leak,
that it would have found one. Jupyter's token is checked in tests/test_jupyter_docker.py.
"""

from __future__ import annotations

import copy
import gzip
import io
import ipaddress
import json
import os
import re
import signal
import socket
import stat
import subprocess
import tarfile
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest
from conftest import (
    PYTHON,
    copy_repository,
    driver,
    experiment_containers,
    http_status,
    make,
    remove_images,
    unique_name,
)

from scaffold import containers
from scaffold.errors import ScaffoldError

# The SDK's schemas warn about marshmallow deprecations on import (snapshot staging): not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:::azure", "ignore:::marshmallow")

SECRET = "SCAFFOLD_TEST_SECRET"
UID_GID = f"{os.getuid()}:{os.getgid()}"

PROBE = '''\
"""Secret probe (tests/test_secrets.py): says whether the .env secret arrived, never its value."""
import os
import runpy
import sys
import time

NAME = "SCAFFOLD_TEST_SECRET"
print(f"probe: {NAME} is {'set' if os.environ.get(NAME) else 'missing'}", flush=True)
if sys.argv[1:] == ["--control-leak"]:  # the test's planted leak: where the checks look, on purpose
    import mlflow

    print(f"control: {os.environ[NAME]}")
    print(f"control: {os.environ[NAME]}", file=sys.stderr)
    with mlflow.start_run():
        mlflow.log_param("control", os.environ[NAME])
        mlflow.set_tag("control", os.environ[NAME])
    sys.exit(0)
if sys.argv[1:] == ["--wait"]:
    print("ready", flush=True)
    time.sleep(600)
    sys.exit(0)
sys.argv = ["template_local.py", *sys.argv[1:]]
runpy.run_path("template_local.py", run_name="__main__")
'''


def marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


class Setup:
    """The repository copy, the experiment and the markers planted in its .env files."""

    def __init__(self, repo: Path, name: str, markers: list[str]):
        self.repo, self.name, self.markers = repo, name, markers
        self.scanned_layers: set[str] = set()

    @property
    def exp_dir(self) -> Path:
        return self.repo / "src" / self.name


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A new experiment whose local.py reads the secret, with .env files at the root, in it and in common/."""
    repo = copy_repository(tmp_path_factory.mktemp("secrets") / "repo")
    name = unique_name("sec")
    created = driver(repo, "new-exp", "--exp", name)
    assert created.returncode == 0, created.stderr
    markers = [marker(), marker(), marker()]
    (repo / ".env").write_text(f"# local secrets\nexport {SECRET}='{markers[0]}'\n")
    exp_dir = repo / "src" / name
    (exp_dir / ".env").write_text(f"SCAFFOLD_EXP_SECRET={markers[1]}\n")
    (repo / "src" / "common" / ".env").write_text(f"SCAFFOLD_COMMON_SECRET={markers[2]}\n")
    (exp_dir / "local.py").rename(exp_dir / "template_local.py")
    (exp_dir / "local.py").write_text(PROBE)
    yield Setup(repo, name, markers)
    remove_images(f"{name}-jupyter")  # the child first: its parent cannot go while it exists
    remove_images(name)


# --- searching ------------------------------------------------------------------------------------------


def stream_hits(stream, markers: list[str]) -> set[str]:
    """Markers found in a byte stream, read in chunks (a marker split across two chunks is still found)."""
    wanted = [m.encode() for m in markers]
    keep = max(len(m) for m in wanted)
    found, tail = set(), b""
    while chunk := stream.read(1 << 20):
        window = tail + chunk
        found |= {m.decode() for m in wanted if m in window}
        tail = window[-keep:]
    return found


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: lets a tar be recognised, then read whole."""

    def __init__(self, head: bytes, rest):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.head[: len(buffer)] if self.head else self.rest.read(len(buffer))
        self.head = self.head[len(data) :] if self.head else b""
        buffer[: len(data)] = data
        return len(data)


def file_hits(content, markers: list[str]) -> set[str]:
    """Markers in one file's bytes, and in its decompressed bytes when it is gzip."""
    head = content.read(2)
    stream = io.BufferedReader(_Prefixed(head, content))
    if head != b"\x1f\x8b":
        return stream_hits(stream, markers)
    try:
        return stream_hits(gzip.GzipFile(fileobj=stream), markers)
    except (OSError, EOFError, zlib.error):
        return set()  # not really gzip: its raw bytes are all a leak could be, and were not kept


def layer_hits(stream, markers: list[str]) -> set[str]:
    """Markers in the names and contents of every file of one layer tar (plain or gzip)."""
    found = set()
    with tarfile.open(fileobj=stream, mode="r|*") as layer:
        for member in layer:
            found |= {m for m in markers if m in member.name or m in (member.linkname or "")}
            if member.isfile():
                found |= file_hits(layer.extractfile(member), markers)
    return found


def image_hits(image: str, markers: list[str], skip: set[str] | None = None, layers: set | None = None):
    """`docker save IMAGE`: markers in its manifests, its config and every file of every layer.

    Layers named in `skip` (already searched, e.g. the parent's) are not read again; the names of the layers
    read are added to `layers`."""
    layers = layers if layers is not None else set()
    found = set()
    process = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=process.stdout, mode="r|") as saved:
            for member in saved:
                found |= {m for m in markers if m in member.name}
                if not member.isfile() or member.name in (skip or set()):
                    continue
                content = saved.extractfile(member)
                head = content.read(512)
                rest = io.BufferedReader(_Prefixed(head, content))
                if head[257:262] == b"ustar" or head[:2] == b"\x1f\x8b":
                    layers.add(member.name)
                    found |= layer_hits(rest, markers)
                else:
                    found |= stream_hits(rest, markers)
    finally:
        process.stdout.close()
        assert process.wait(timeout=120) == 0, f"docker save {image} failed"
    return found


def text_hits(texts, markers: list[str]) -> set[str]:
    return {m for m in markers for text in texts if m in str(text)}


def tree_hits(folder: Path, markers: list[str]) -> set[str]:
    """Markers in the names and bytes of every file under `folder`."""
    found = set()
    for path in folder.rglob("*"):
        found |= text_hits([path.relative_to(folder)], markers)
        if path.is_file():
            with open(path, "rb") as handle:
                found |= stream_hits(handle, markers)
    return found


def cmdline_hits(markers: list[str]) -> set[str]:
    """Markers in any process's command line (what `ps` shows every user), e.g. a `docker run -e K=V`."""
    found = set()
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found |= {m for m in markers if m.encode() in path.read_bytes()}
        except OSError:
            continue  # the process ended
    return found


def mlflow_hits(repo: Path, experiment: str, markers: list[str]) -> set[str]:
    """Markers in the experiment's runs: names, params, tags, metric names and small text artifacts."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    found_experiment = client.get_experiment_by_name(experiment)
    assert found_experiment is not None, f"no MLflow experiment {experiment}"
    runs = client.search_runs([found_experiment.experiment_id])
    assert runs, "no run recorded"
    texts = [found_experiment.name, *found_experiment.tags.items()]
    for run in runs:
        texts += [run.info.run_name, *run.data.params.items(), *run.data.tags.items(), *run.data.metrics]
        pending = [""]
        while pending:
            for item in client.list_artifacts(run.info.run_id, pending.pop() or None):
                if item.is_dir:
                    pending.append(item.path)
                elif (item.file_size or 0) < 1_000_000:
                    local = client.download_artifacts(run.info.run_id, item.path)
                    texts.append(Path(local).read_bytes().decode(errors="replace"))
    return text_hits(texts, markers)


# --- containers and sockets -----------------------------------------------------------------------------


def docker_sockets() -> list[Path]:
    paths = [Path("/var/run/docker.sock"), Path("/run/docker.sock")]
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        paths.append(Path(host[len("unix://") :]))
    return paths + [p.resolve() for p in paths]


def is_loopback(host_ip: str) -> bool:
    try:
        return ipaddress.ip_address(host_ip).is_loopback
    except ValueError:
        return False  # "" means every interface


def confinement_problems(info: dict) -> list[str]:
    """What, in `docker inspect` output, would give the container more than the driver promises."""
    host, problems = info["HostConfig"], []
    if host.get("Privileged"):
        problems.append("privileged")
    if host.get("CapAdd"):
        problems.append(f"capabilities added: {host['CapAdd']}")
    for key in ("PidMode", "NetworkMode", "IpcMode", "UTSMode", "UsernsMode"):  # not cgroupns: v1 default
        if host.get(key) == "host":
            problems.append(f"{key}=host")
    if any("unconfined" in option for option in host.get("SecurityOpt") or []):
        problems.append(f"security options: {host['SecurityOpt']}")
    for mount in info.get("Mounts") or []:
        source = Path(mount.get("Source") or "/nonexistent")
        is_socket = source.exists() and stat.S_ISSOCK(source.stat().st_mode)
        holds_daemon = any(s == source or source in s.parents for s in docker_sockets())
        if source.name.endswith(".sock") or is_socket or holds_daemon:
            problems.append(f"socket mounted: {source}")
    if info["Config"].get("User") != UID_GID:
        problems.append(f"user {info['Config'].get('User')!r}, not {UID_GID}")
    published = [
        *((host.get("PortBindings") or {}).values()),
        *((info.get("NetworkSettings", {}).get("Ports") or {}).values()),
    ]
    for bindings in published:
        for binding in bindings or []:
            if not is_loopback(binding.get("HostIp", "")):
                problems.append(f"published on {binding.get('HostIp') or 'every interface'}")
    return problems


ESCALATIONS = {
    "privileged": lambda i: i["HostConfig"].update(Privileged=True),
    "cap-add": lambda i: i["HostConfig"].update(CapAdd=["SYS_ADMIN"]),
    "pid host": lambda i: i["HostConfig"].update(PidMode="host"),
    "network host": lambda i: i["HostConfig"].update(NetworkMode="host"),
    "seccomp off": lambda i: i["HostConfig"].update(SecurityOpt=["seccomp=unconfined"]),
    "docker.sock": lambda i: i["Mounts"].append({"Source": "/var/run/docker.sock"}),
    "/var/run": lambda i: i["Mounts"].append({"Source": "/var/run"}),
    "another user": lambda i: i["Config"].update(User="" if UID_GID != "0:0" else "1:1"),
    "0.0.0.0": lambda i: i["HostConfig"].update(
        PortBindings={"1/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1"}]}
    ),
    "every interface": lambda i: i["HostConfig"].update(
        PortBindings={"1/tcp": [{"HostIp": "", "HostPort": "1"}]}
    ),
}


def assert_confined(info: dict) -> None:
    """No problem in the real container, and each planted escalation of it is caught."""
    assert confinement_problems(info) == []
    for label, escalate in ESCALATIONS.items():
        planted = copy.deepcopy(info)
        planted.setdefault("Mounts", [])
        escalate(planted)
        assert confinement_problems(planted), f"the check misses {label}"


def inspect(container: str) -> dict:
    result = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


def wait_for_container(label: str, repo: Path, process, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while not (found := experiment_containers(label, repo)):
        assert process.poll() is None, f"the command exited early ({process.returncode})"
        assert time.monotonic() < deadline, "no container started"
        time.sleep(1)
    assert len(found) == 1, found
    return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def other_addresses() -> list[str]:
    """This machine's addresses other than loopback (and link-local, which needs an interface)."""
    output = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    found = []
    for address in re.findall(r"\binet6? ([0-9a-fA-F.:]+)/", output):
        parsed = ipaddress.ip_address(address)
        if not parsed.is_loopback and not parsed.is_link_local:
            found.append(address)
    return found


def reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def addresses() -> list[str]:
    """Non-loopback addresses, each proved able to reach a listener bound to every interface."""
    found = other_addresses()
    assert found, "this machine has no address besides loopback: cannot test exposure"
    dual = socket.has_dualstack_ipv6()
    family = socket.AF_INET6 if dual else socket.AF_INET
    with socket.create_server(("", 0), family=family, dualstack_ipv6=dual) as exposed:
        port = exposed.getsockname()[1]
        usable = [a for a in found if reachable(a, port)]
    assert usable, f"none of {found} reaches a listener on every interface"
    return usable


def listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp*."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(str(ipaddress.ip_address(raw)))
    return sorted(found)


class Server:
    """A long-running command in its own process group, its output drained (and kept) by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict | None = None, stdin: str = ""):
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True)
        self.reader.start()
        if stdin:  # written, and kept open: an interactive shell stays until it is interrupted
            self.process.stdin.write(stdin)
            self.process.stdin.flush()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until(self, ready, what: str, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert (
                self.process.poll() is None
            ), f"exited early ({self.process.returncode}): {self.output[-3000:]}"
            assert time.monotonic() < deadline, f"{what} never happened: {self.output[-3000:]}"
            time.sleep(1)

    def stop(self) -> int:
        """SIGINT to the whole group, as a terminal's Ctrl-C does; wait until every process has gone."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=90)
        self.reader.join(timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return code
            assert time.monotonic() < deadline, "processes of the command outlived it"
            time.sleep(0.5)


# --- 1. the secret never leaks ----------------------------------------------------------------------------


@pytest.mark.docker
def test_marker_search_finds_a_planted_secret_in_image_layers_and_config(tmp_path):
    """Proves the layer search reads every layer file and the image config, so its silence means something."""
    in_file, in_label = marker(), marker()
    (tmp_path / ".env").write_text(f"{SECRET}={in_file}\n")
    (tmp_path / "Dockerfile").write_text(
        f"FROM scratch\nLABEL planted={in_label}\nCOPY .env /deep/dir/.env\n"
    )
    tag = f"scaffold-secret-control-{uuid.uuid4().hex[:8]}:latest"
    built = subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(tmp_path)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    try:
        layers: set[str] = set()
        assert image_hits(tag, [in_file, in_label, marker()], layers=layers) == {in_file, in_label}
        assert len(layers) == 1
    finally:
        remove_images(tag.split(":")[0])


@pytest.mark.timeout(2400)
@pytest.mark.docker
def test_secret_not_in_any_image_layer(setup):
    """`make build-exp` with .env files around: no marker in the build log or anywhere in the saved image."""
    result = make(setup.repo, "build-exp", f"EXP={setup.name}", timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert text_hits([result.stdout, result.stderr], setup.markers) == set()
    assert image_hits(f"{setup.name}:latest", setup.markers, layers=setup.scanned_layers) == set()
    assert len(setup.scanned_layers) >= 2, "the base and the pip layer were read"


@pytest.mark.docker
def test_secret_not_in_job_snapshot(setup):
    """The staged snapshot (real staging code, then `make job --dry-run`) holds no .env and no marker, even
    with .env files in the forced build context and an ignore file that asks for them."""
    from scaffold import snapshot

    exp_dir = setup.exp_dir
    planted = [exp_dir / "docker" / ".env", exp_dir / "config" / ".env.production"]
    amlignore = exp_dir / ".amlignore"
    original_ignore = amlignore.read_text()
    try:
        amlignore.write_text(original_ignore + "!.env\n!.env.*\n")
        for index, path in enumerate(planted):
            path.parent.mkdir(exist_ok=True)
            path.write_text(f"PLANTED_{index}={setup.markers[0]}\n")
        force = ["azure-ml-job.yaml", "docker"]
        with snapshot.staged(exp_dir, setup.repo / "src" / "common", force) as snap:
            staged = [p.relative_to(snap.root).as_posix() for p in snap.root.rglob("*") if p.is_file()]
            assert "main.py" in staged and "docker/Dockerfile" in staged and "common/__init__.py" in staged
            assert [p for p in staged if Path(p).name.startswith(".env")] == []
            assert tree_hits(snap.root, setup.markers) == set()

        # Control: the same staging and search find the marker once a file that is staged holds it.
        (exp_dir / "notes.txt").write_text(f"oops {setup.markers[1]}\n")
        with snapshot.staged(exp_dir, setup.repo / "src" / "common", force) as snap:
            assert tree_hits(snap.root, setup.markers) == {setup.markers[1]}
        (exp_dir / "notes.txt").unlink()

        # Through the CLI, a .env in the build context is refused outright (Docker would receive it).
        for command in (["job", f"EXP={setup.name}", "XARGS=--dry-run"], ["build-exp", f"EXP={setup.name}"]):
            refused = make(setup.repo, *command, timeout=600)
            assert refused.returncode != 0
            errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "docker/.env: secrets never go in a build context" in errors[0]
            assert text_hits([refused.stdout, refused.stderr], setup.markers) == set()
        planted[0].unlink()

        result = make(setup.repo, "job", f"EXP={setup.name}", "XARGS=--dry-run", timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        listed = re.findall(r"^#\s+\d+\s+(\S+)", result.stdout, re.MULTILINE)
        assert "main.py" in listed and "common/__init__.py" in listed
        assert [p for p in listed if Path(p).name.startswith(".env")] == []
        # .env files appear only as skipped paths (the dry run names every path it leaves out), never staged.
        mentions = [line for line in (result.stdout + result.stderr).splitlines() if ".env" in line]
        assert mentions and all(
            "skipped" in line and "secrets never go to Azure ML" in line for line in mentions
        )
        assert text_hits([result.stdout, result.stderr], setup.markers) == set()
    finally:
        amlignore.write_text(original_ignore)
        for path in [*planted, exp_dir / "notes.txt"]:
            path.unlink(missing_ok=True)
        if (exp_dir / "config").is_dir():
            (exp_dir / "config").rmdir()


def test_command_line_search_finds_a_planted_secret():
    """Control for `cmdline_hits`: a process with the marker among its arguments is found."""
    planted = marker()
    script = "import time; print('ready', flush=True); time.sleep(60)"
    process = subprocess.Popen([PYTHON, "-c", script, planted], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"  # exec'd: /proc shows its own command line
        assert cmdline_hits([planted, marker()]) == {planted}
    finally:
        process.kill()
        process.wait()


@pytest.mark.timeout(2400)
@pytest.mark.docker
def test_secret_reaches_the_run_but_no_log_and_no_mlflow_record(setup):
    """`make local`: the script sees the secret, yet no marker in its output, the run's params, tags,
    metrics and artifacts, or any byte of mlruns/; a planted leak is found by the same searches."""
    result = make(setup.repo, "local", f"EXP={setup.name}", timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"probe: {SECRET} is set" in result.stdout
    assert "value_mean = 5.0000 over 100 rows" in result.stdout
    assert text_hits([result.stdout, result.stderr], setup.markers) == set()
    assert mlflow_hits(setup.repo, setup.name, setup.markers) == set()
    assert tree_hits(setup.repo / "mlruns", setup.markers) == set()

    control = make(setup.repo, "local", f"EXP={setup.name}", "XARGS=--control-leak", timeout=600)
    assert control.returncode == 0, control.stdout[-3000:] + control.stderr[-3000:]
    secret = setup.markers[0]
    assert text_hits([control.stdout], setup.markers) == {secret}
    assert text_hits([control.stderr], setup.markers) == {secret}
    assert mlflow_hits(setup.repo, setup.name, setup.markers) == {secret}
    assert tree_hits(setup.repo / "mlruns", setup.markers) == {secret}


# --- 2 and 3. loopback only, never privileged -----------------------------------------------------------


@pytest.mark.timeout(2400)
@pytest.mark.docker
@pytest.mark.parametrize("command", ["local", "terminal"])
def test_local_and_terminal_containers_are_confined(setup, command):
    """While `make local` / `make terminal` runs, its container is unprivileged, socket-less, host uid:gid."""
    if command == "local":
        server = Server(
            ["make", "--no-print-directory", "local", f"EXP={setup.name}", "XARGS=--wait"], setup.repo
        )
    else:  # as `make terminal` does, with the shell's input from a pipe instead of a terminal
        argv = [PYTHON, "-m", "scaffold", "terminal", "--exp", setup.name]
        server = Server(argv, setup.repo, {"PYTHONPATH": str(setup.repo)}, stdin="echo ready; sleep 600\n")
    try:
        container = wait_for_container(setup.name, setup.repo, server.process)
        server.wait_until(lambda: "ready\n" in server.lines, "the ready line")
        info = inspect(container)
        assert info["State"]["Running"]
        assert_confined(info)
        assert f"{SECRET}={setup.markers[0]}" in info["Config"]["Env"], "the secret is passed to the run"
        assert cmdline_hits(setup.markers) == set()
    finally:
        server.stop()
    assert experiment_containers(setup.name, setup.repo) == []
    assert text_hits([server.output], setup.markers) == set()


@pytest.mark.timeout(2400)
@pytest.mark.docker
def test_jupyter_on_loopback_only_confined_and_its_layer_clean(setup, addresses):
    """`make jupyter`: published on 127.0.0.1 only, unreachable via other addresses, confined, removed on
    Ctrl-C; its image layer holds no marker. (Token required: tests/test_jupyter_docker.py.)"""
    port = free_port()
    server = Server(
        ["make", "--no-print-directory", "jupyter", f"EXP={setup.name}", f"PORT={port}"], setup.repo
    )
    try:
        server.wait_until(lambda: re.search(r"lab\?token=\w+", server.output), "the token URL")
        token = re.search(r"lab\?token=(\w+)", server.output).group(1)
        base = f"http://127.0.0.1:{port}"
        server.wait_until(lambda: http_status(f"{base}/api/status?token={token}") == 200, "Jupyter ready")
        container = wait_for_container(setup.name, setup.repo, server.process)
        assert_confined(inspect(container))
        assert cmdline_hits(setup.markers) == set()
        assert [a for a in addresses if reachable(a, port)] == []
        assert set(listening(port)) <= {"127.0.0.1"}, "a proxy listens beyond 127.0.0.1"
    finally:
        code = server.stop()
    assert code != 0  # interrupted
    assert experiment_containers(setup.name, setup.repo) == []
    assert text_hits([server.output], setup.markers) == set()
    assert image_hits(f"{setup.name}-jupyter:latest", setup.markers, skip=setup.scanned_layers) == set()


def test_listening_sockets_are_read_right():
    """Control for `listening`: a socket on every interface and one on 127.0.0.1 are told apart."""
    with socket.create_server(("0.0.0.0", 0)) as everywhere, socket.create_server(("127.0.0.1", 0)) as local:
        assert listening(everywhere.getsockname()[1]) == ["0.0.0.0"]
        assert listening(local.getsockname()[1]) == ["127.0.0.1"]


@pytest.mark.docker
def test_mlflow_ui_listens_on_loopback_only(setup, addresses):
    """`make mlflow-ui PORT=n`: every listening socket on n is 127.0.0.1; other addresses are refused."""
    port = free_port()
    server = Server(["make", "--no-print-directory", "mlflow-ui", f"PORT={port}"], setup.repo)
    try:
        server.wait_until(lambda: http_status(f"http://127.0.0.1:{port}/") == 200, "the MLflow UI", 300)
        assert listening(port) and set(listening(port)) == {"127.0.0.1"}
        assert [a for a in addresses if reachable(a, port)] == []
    finally:
        server.stop()
    assert listening(port) == []


@pytest.fixture(scope="module")
def registered(setup):
    """nyc_taxi_fare version 1 in the copy's registry, trained small as tests/test_deploy_docker.py does."""
    result = make(setup.repo, "local", "EXP=nyc_taxi", "XARGS=--rows 4000 --max_iter 20", timeout=1800)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "registered model: nyc_taxi_fare version 1" in result.stdout
    return setup


@pytest.mark.timeout(2400)
@pytest.mark.docker
def test_local_endpoint_on_loopback_only_and_confined(registered, addresses):
    """`make local EXP=taxi_online PORT=n XARGS=--serve`: 127.0.0.1 only, confined, removed on Ctrl-C."""
    repo, port = registered.repo, free_port()
    argv = ["make", "--no-print-directory", "local", "EXP=taxi_online", f"PORT={port}", "XARGS=--serve"]
    server = Server(argv, repo)
    try:
        # Ready once local.py has scored its sample request and says where it serves, not at the first 200.
        server.wait_until(lambda: "stop with Ctrl-C" in server.output, "the endpoint", 600)
        assert http_status(f"http://127.0.0.1:{port}/") == 200
        container = wait_for_container("taxi_online", repo, server.process)
        assert_confined(inspect(container))
        assert [a for a in addresses if reachable(a, port)] == []
        assert set(listening(port)) <= {"127.0.0.1"}, "a proxy listens beyond 127.0.0.1"
    finally:
        server.stop()
    assert experiment_containers("taxi_online", repo) == []
    assert f"serving: http://127.0.0.1:{port}/score" in server.output
    assert text_hits([server.output], registered.markers) == set()


# --- RUN_XARGS: passed through, but for two accidents ------------------------------------------------

REFUSED = {
    "--privileged": "--privileged is refused",
    "--privileged=true": "--privileged is refused",
    "-p 5001:5001": "--publish 5001:5001 is refused",
    "-itp5001:5001": "--publish 5001:5001 is refused",
    "--publish 5001:5001": "--publish 5001:5001 is refused",
    "--publish=0.0.0.0:5001:5001": "--publish 0.0.0.0:5001:5001 is refused",
    "-p 8080": "--publish 8080 is refused",
    "-P": "--publish-all is refused",
}
ALLOWED = [
    "",
    "--shm-size 2g",
    "-e FOO=bar --label a=--privileged",
    "--privileged=false",
    "-p 127.0.0.1:5001:5001",
    "-p [::1]:5001:5001",
    "-v /tmp/scaffold-data:/extra -v named:/cache",
    "--network bridge --gpus all --oom-score-adj -500",
    "--memory 4g --cpus 1.5 --ulimit nofile=1024:2048",
    # Not a boundary (docs: README "Variables"): deliberate flags go through as docker run would take them.
    "--cap-add SYS_PTRACE --security-opt seccomp=unconfined",
    "--user 0 --network host --pid=host",
    "--device /dev/null --cgroupns host",
    "-v /var/run/docker.sock:/var/run/docker.sock",
]


@pytest.mark.parametrize("xargs", REFUSED)
def test_run_xargs_accidents_are_refused(xargs, tmp_path):
    """--privileged and ports on every interface are refused with one line that names them (no daemon)."""
    with pytest.raises(ScaffoldError) as refused:
        containers.split_run_xargs(xargs)
    message = str(refused.value)
    assert message.startswith("RUN_XARGS: ") and REFUSED[xargs] in message and "\n" not in message
    from scaffold.paths import Repo

    spec = containers.RunSpec(
        Repo(tmp_path), "exp", "image:tag", ["true"], run_xargs=f"--shm-size 1g {xargs}"
    )
    with pytest.raises(ScaffoldError):
        spec.argv()


@pytest.mark.parametrize("xargs", ["--shm-size", "-v", "--label a=b -itp", "--gpus all --env"])
def test_a_last_option_without_its_value_is_refused(xargs):
    """docker would take the image name as its value, then print its usage text."""
    flag = xargs.split()[-1].replace("-itp", "-p")
    with pytest.raises(ScaffoldError, match=f"^RUN_XARGS: {flag} needs a value$"):
        containers.split_run_xargs(xargs)


@pytest.mark.parametrize("xargs", ALLOWED)
def test_other_run_xargs_pass_through_unchanged(xargs):
    assert containers.split_run_xargs(xargs) == xargs.split()


@pytest.mark.docker
@pytest.mark.parametrize(
    "target, xargs",
    [
        ("local", "--privileged"),
        ("local", "-p 5001:5001"),
        ("terminal", "--privileged=true"),
        ("jupyter", "-p 0.0.0.0:9999:8888"),
    ],
)
def test_make_refuses_run_xargs_accidents_before_anything_runs(setup, target, xargs):
    """Through make, on an experiment never built: exit 2, one `error:` line, no image, no container."""
    import docker

    name = unique_name("esc")
    assert driver(setup.repo, "new-exp", "--exp", name).returncode == 0
    try:
        result = make(setup.repo, target, f"EXP={name}", f"RUN_XARGS={xargs}", timeout=120)
        assert result.returncode == 2
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and errors[0].startswith("error: RUN_XARGS: ") and "is refused" in errors[0]
        assert "Traceback" not in result.stderr and "building" not in result.stderr
        assert experiment_containers(name, setup.repo) == []
        client = docker.from_env()
        assert client.images.list(name=name) == [] and client.images.list(name=f"{name}-jupyter") == []
    finally:
        for container in experiment_containers(name, setup.repo):  # only if the refusal failed
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        remove_images(f"{name}-jupyter")
        remove_images(name)
