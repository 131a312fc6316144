"""Running an experiment's container with the docker CLI (not the SDK): RUN_XARGS are plain `docker run`
flags, terminals get a real TTY and the exit code is the script's. Whatever ends the command, the container
is stopped and removed.

A container is created (`docker create`, which registers it with the daemon), then started (`docker start
-a`). A signal that arrives while it is being created waits until the daemon has answered: interrupted
then, the daemon could still register the container after `docker rm -f` found nothing, and a container
that never started is never removed by --rm.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scaffold import tracking
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo

PROJECT = "/project"
ENTRY = "/opt/scaffold/container_entry.py"
STOP_TIMEOUT = 10
HELD_SIGNALS = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])


@dataclass
class RunSpec:
    """Everything that decides how one container runs."""

    repo: Repo
    exp: str
    image: str
    command: list[str]
    secrets: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    gpus: str = ""
    run_xargs: str = ""
    interactive: bool = False
    ports: dict[int, int] = field(default_factory=dict)  # host port -> container port, on 127.0.0.1
    mounts: dict[Path, str] = field(default_factory=dict)  # extra host path -> container path
    name: str = ""

    def __post_init__(self):
        if not self.name:
            # Not uuid: importing it would cost each run about 5 ms.
            self.name = f"scaffold-{self.exp}-{os.urandom(4).hex()}"

    def environment(self) -> dict[str, str]:
        """Variables set in the container (secrets travel separately, by name only)."""
        return {
            "HOME": "/tmp",
            "USER": _user_name(),
            "PYTHONPATH": PROJECT,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "GIT_PYTHON_REFRESH": "quiet",
            "SCAFFOLD_IMAGE": self.image,
            **tracking.run_env(self.repo, self.exp),
            **self.extra_env,
        }

    def argv(self, verb: str = "create") -> list[str]:
        """The full `docker create` (or `docker run`) command line; values of secrets are not in it."""
        mounts = {
            self.repo.experiment(self.exp): f"{PROJECT}/{self.exp}",
            self.repo.data: f"{PROJECT}/data",
            self.repo.mlruns: str(self.repo.mlruns),
            **self.mounts,
        }
        entry = Path(__file__).with_name("container_entry.py")
        readonly = {self.repo.common: f"{PROJECT}/common", entry: ENTRY}
        argv = ["docker", verb, "--rm", "--init", "--name", self.name]
        argv += ["--label", f"scaffold.experiment={self.exp}"]
        if self.interactive:
            argv += ["-i", "-t"] if sys.stdin.isatty() else ["-i"]
        if hasattr(os, "getuid"):
            argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        argv += ["--workdir", f"{PROJECT}/{self.exp}"]
        for host, inside in mounts.items():
            argv += ["--mount", f"type=bind,source={host},target={inside}"]
        for host, inside in readonly.items():
            if host.exists():
                argv += ["--mount", f"type=bind,source={host},target={inside},readonly"]
        for key, value in self.environment().items():
            argv += ["-e", f"{key}={value}"]
        for key in self.secrets:
            argv += ["-e", key]
        for host_port, container_port in self.ports.items():
            argv += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
        if self.gpus:
            argv += ["--gpus", self.gpus]
        argv += split_run_xargs(self.run_xargs)
        return argv + [self.image, *self.command]


# RUN_XARGS go to `docker run` as they are. They are no security boundary (whoever can run make can run
# docker); only two accidents are refused: --privileged, and a port published on every interface
# (Docker's default when no address is given), which would put the container on the network.
_PUBLISH = "ports are published on 127.0.0.1 only (PORT=n, or -p 127.0.0.1:n:n)"
_SHORT = {"p": "--publish", "P": "--publish-all"}
_SHORT_WITH_VALUE = set("acehlmpuvw")  # docker run's one-letter options that take a value
# Common long options of `docker run` that take a value (all are in `docker run --help`): one left last
# without it would take the image name as its value. Others go through as they are.
_LONG_WITH_VALUE = {
    "--add-host", "--cap-add", "--cap-drop", "--cpus", "--cpuset-cpus", "--device", "--dns", "--entrypoint",
    "--env", "--env-file", "--gpus", "--hostname", "--ipc", "--label", "--log-opt", "--memory",
    "--memory-swap", "--mount", "--name", "--network", "--pid", "--pids-limit", "--platform", "--publish",
    "--runtime", "--security-opt", "--shm-size", "--sysctl", "--tmpfs", "--ulimit", "--user", "--volume",
    "--workdir",
}  # fmt: skip
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}  # what Docker accepts as true for --privileged=...


def split_run_xargs(text: str) -> list[str]:
    """RUN_XARGS as `docker run` arguments; refuses --privileged and ports beyond 127.0.0.1."""
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise ScaffoldError(f"RUN_XARGS: {exc}") from None
    for flag, value in _options(tokens):
        if flag in ("--privileged", "--publish-all") and (value is None or value in _TRUE):
            why = "containers never run privileged" if flag == "--privileged" else _PUBLISH
            raise ScaffoldError(f"RUN_XARGS: {flag} is refused: {why}")
        if flag == "--publish" and not _loopback_publish(value or ""):
            raise ScaffoldError(f"RUN_XARGS: --publish {value} is refused: {_PUBLISH}")
    return tokens


def _options(tokens: list[str]):
    """(long flag, value or None) for each option; one-letter clusters such as `-itp 80:80` expanded."""
    rest = iter(tokens)
    for token in rest:
        if token.startswith("--") and len(token) > 2:
            flag, sep, value = token.partition("=")
            yield flag, value if sep else (_value(flag, rest) if flag in _LONG_WITH_VALUE else None)
        elif token.startswith("-") and len(token) > 1:
            for position, letter in enumerate(token[1:], start=2):
                flag = _SHORT.get(letter, f"-{letter}")
                if letter in _SHORT_WITH_VALUE:
                    yield flag, token[position:].removeprefix("=") or _value(f"-{letter}", rest)
                    break
                yield flag, None


def _value(flag: str, rest) -> str:
    """The next token, as docker takes it (even when it starts with -); none left is an error."""
    value = next(rest, None)
    if value is None:
        raise ScaffoldError(f"RUN_XARGS: {flag} needs a value")
    return value


def _loopback_publish(value: str) -> bool:
    """-p [ip:][host_port:]container_port: without an ip Docker listens on every interface."""
    if value.startswith("["):
        host = value[1 : value.find("]")]
    else:
        parts = value.split(":")
        host = parts[0] if len(parts) == 3 else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def script_command(script: str, args: list[str]) -> list[str]:
    """`python SCRIPT ARGS` through the entry that points MLflow at the local store."""
    return ["python", ENTRY, script, *args]


def run(spec: RunSpec) -> int:
    """Run the container in the foreground; return its exit code; never leave it behind."""
    if shutil.which("docker") is None:
        raise ScaffoldError("docker CLI not found on PATH; install Docker, or use RUNNER=venv")
    for folder in (spec.repo.data, spec.repo.mlruns):  # as the user, before Docker creates them as root
        folder.mkdir(exist_ok=True)
    env = {**os.environ, **spec.secrets}
    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)
        raise KeyboardInterrupt

    argv = spec.argv()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    process = None
    try:
        code = 125 if create(argv, env=env).returncode else 0
        if code == 0:
            since = time.time()
            process = subprocess.Popen(start_argv(spec.name, interactive=spec.interactive))
            code = process.wait()
            if code == 1 and not received and never_started(spec.name, since):
                remove(spec.name)  # --rm: the daemon has removed it already
                code = 125  # as `docker run` says of a container created but not started (a port taken...)
    except BaseException as exc:  # Ctrl-C or SIGTERM (on_signal); SIGHUP too (the CLI's Terminated)
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if isinstance(exc, KeyboardInterrupt):
            print(f"\ninterrupted: stopping container {spec.name}", file=sys.stderr)
        stop(spec.name)
        if process is not None:
            try:
                process.wait(timeout=STOP_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                process.kill()
        remove(spec.name)
        if not isinstance(exc, KeyboardInterrupt):
            raise
        code = 128 + (received[0] if received else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code == 125:
        raise ScaffoldError(
            f"docker could not start the container for {spec.exp} (see the message above)", 125
        )
    if code != 0 and not received and not daemon_answers():
        raise ScaffoldError(
            f"the Docker daemon stopped during the run of {spec.exp}; start it again and rerun"
        )
    if code == 128 + signal.SIGKILL and not received:
        raise ScaffoldError(
            f"the container of {spec.exp} was killed (exit 137): by `docker kill`, `docker rm -f` "
            "or the kernel's out-of-memory killer",
            code,
        )
    return code


@contextmanager
def signals_held():
    """SIGINT, SIGTERM and SIGHUP that arrive inside are handled as they would have been, once it ends (the
    first of them). Only the main thread receives signals: elsewhere, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum)) for sig in HELD_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])  # its handler runs here (a KeyboardInterrupt is raised here)


def create(argv: list[str], **options) -> subprocess.CompletedProcess:
    """`docker create ...` (or `docker run -d ...`) run to its end whatever arrives meanwhile, so that an
    interrupt can always remove what it created: in a session of its own (Ctrl-C at the terminal does not
    reach it), with signals held. Its stdout (the container id) is dropped; `options` are subprocess.run's."""
    with signals_held():
        return subprocess.run(argv, **{"stdout": subprocess.DEVNULL, **options}, start_new_session=True)


def start_argv(name: str, interactive: bool = False) -> list[str]:
    """`docker start` attached to the created container: its output (and input) and its exit code."""
    return ["docker", "start", "-a", *(["-i"] if interactive else []), name]


def never_started(name: str, since: float) -> bool:
    """Whether the daemon's events show `docker start -a` (begun at `since`) attached to the container, but
    no start of it: asked when it exits 1, which is also what it returns when the start itself failed. The
    daemon keeps only its last events, the oldest dropped first: when the attach is still listed, the start
    that followed it would be too."""
    argv = ["docker", "events", "--since", f"{since - 60:.3f}", "--until", f"{time.time():.3f}"]
    argv += ["--filter", f"container={name}", "--format", "{{.Status}}"]
    try:
        found = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return False
    seen = set(found.stdout.split()) if found.returncode == 0 else set()
    return "attach" in seen and "start" not in seen


def daemon_answers() -> bool:
    """Whether the Docker daemon still answers (asked only after a run failed, to say why)."""
    version = ["docker", "version", "--format", "{{.Server.Version}}"]
    try:
        return subprocess.run(version, capture_output=True, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def stop(*names: str) -> None:
    """Stop the containers (one `docker stop` for all, so they stop in parallel)."""
    subprocess.run(["docker", "stop", "-t", str(STOP_TIMEOUT), *names], capture_output=True)


def remove(*names: str) -> None:
    """Force-remove the containers still there (a no-op for those --rm already removed)."""
    subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
