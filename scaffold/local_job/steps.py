"""One container per job step, started as Azure ML starts a job's container, and stopped on any interrupt.

Paths have the shape they have on Azure ML compute: the code snapshot is the working directory
`/mnt/azureml/cr/j/<id>/exe/wd`; inputs are mounted read-only and outputs read-write under
`/mnt/azureml/cr/j/<id>/cap/data-capability/wd/`. Unlike Azure ML, the container runs as the host user, so
every file it writes is yours.

A command that is only `python SCRIPT.py ARGS...` (no shell syntax) runs through `container_entry.py --wait`,
which runs the script in its own process as `python SCRIPT.py` would (same argv, working directory, mounts,
variables, exit code), but exits without the interpreter's last garbage collection. In a pipeline such a
step also starts ahead, in the order the steps run (at most WARM_LIMIT waiting at a time): its container
imports the packages the code imports with the CPU the running steps leave (the lowest CPU weight, raised
to the default when it is let go), and runs the script when its inputs are complete. Azure ML starts it
later and cold. Any other command runs with `bash -c`, as there, so `&&` and the like work.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from scaffold import containers

HOST_ALIAS = "host.docker.internal"  # the MLflow stand-in, as seen from a container
# Steps started ahead and waiting at once (each holds its imported packages in memory), and the CPU weight
# they import with: docker's lowest, so that they use only the CPU the running steps leave.
WARM_LIMIT = max(1, (os.cpu_count() or 1) - 1)
WARM_SHARES = 2
SHELL_SYNTAX = set("$`|&;<>(){}[]*?~!#\\'\"\n")  # a command with any of these runs through bash only


def python_script(command: str) -> list[str] | None:
    """[python, SCRIPT, ARGS...] when the command is only `python SCRIPT.py ARGS...`, else None."""
    words = command.split()
    if set(command.strip()) & SHELL_SYNTAX or len(words) < 2 or words[0] not in ("python", "python3"):
        return None
    return words if words[1].endswith(".py") else None


def imported_packages(root: Path, files: list[str]) -> list[str]:
    """What the code imports from outside itself and the standard library (tests aside), as written, and
    the attributes it reads of an imported package (`mlflow.sklearn`), which may be lazily loaded modules."""
    local = {part.removesuffix(".py") for name in files for part in Path(name).parts}
    local |= set(sys.stdlib_module_names) | {"__future__"}
    found: dict[str, None] = {}
    for name in files:
        path = Path(name)
        if path.suffix != ".py" or "tests" in path.parts or path.name.startswith(("test_", "conftest")):
            continue
        try:
            tree = ast.parse((root / path).read_bytes())
        except (SyntaxError, ValueError):
            continue
        nodes, bound = list(ast.walk(tree)), {}  # bound: the name `import x [as y]` binds -> its module
        for node in nodes:
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
                bound.update((a.asname or a.name.partition(".")[0], a.asname and a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
            else:
                continue
            found.update((module, None) for module in modules if module.partition(".")[0] not in local)
        for node in nodes:
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
            ):
                module = bound[node.value.id] or node.value.id
                if module.partition(".")[0] not in local:
                    found[f"{module}.{node.attr}"] = None
    return list(found)


def job_root(job_id: str) -> str:
    return f"/mnt/azureml/cr/j/{job_id}"


@dataclass
class Step:
    """A step ready to run: its resolved command, image, mounts and variables."""

    name: str
    command: str
    image: str
    workdir: Path  # host copy of the code snapshot
    log: Path
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    inputs: dict[str, tuple[Path, str]] = field(default_factory=dict)  # name -> (host path, container path)
    outputs: dict[str, tuple[Path, str]] = field(default_factory=dict)
    extra_mounts: dict[Path, str] = field(default_factory=dict)  # host -> same-shaped path, read-write
    env: dict[str, str] = field(default_factory=dict)
    run_id: str = ""
    container: str = ""
    process: subprocess.Popen | None = None  # its container's `docker start -a`, once started
    create_error: str = ""  # what `docker create` said when it failed
    ahead: bool = False  # started before its inputs were complete
    started: float = 0.0  # time.monotonic() when its container started
    status: str = "NotStarted"
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def container_workdir(self) -> str:
        return f"{job_root(self.job_id)}/exe/wd"

    def input_path(self, name: str, host: Path) -> str:
        """Where input `name` is mounted; a file keeps its name inside the input's folder."""
        folder = f"{job_root(self.job_id)}/cap/data-capability/wd/INPUT_{name}"
        return f"{folder}/{host.name}" if host.is_file() else folder

    def output_path(self, name: str) -> str:
        return f"{job_root(self.job_id)}/cap/data-capability/wd/{name}"

    def argv(self, container: str, labels: dict[str, str], packages: list[str] | None = None) -> list[str]:
        """`docker create` of the step: `bash -c COMMAND`, or container_entry.py importing `packages`."""
        argv = ["docker", "create", "--rm", "--init", "--name", container]
        argv += ([] if packages is None else ["-i"]) + (
            ["--cpu-shares", str(WARM_SHARES)] if self.ahead else []
        )
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        if hasattr(os, "getuid"):
            argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        argv += ["--add-host", f"{HOST_ALIAS}:host-gateway", "--workdir", self.container_workdir]
        mounts = [(self.workdir, self.container_workdir, False)]
        mounts += [(host, inside, True) for host, inside in self.inputs.values()]
        mounts += [(host, inside, False) for host, inside in self.outputs.values()]
        mounts += [(host, inside, False) for host, inside in self.extra_mounts.items()]
        if packages is not None:
            mounts.append((Path(containers.__file__).with_name("container_entry.py"), containers.ENTRY, True))
        for host, inside, readonly in mounts:
            argv += [
                "--mount",
                f"type=bind,source={host},target={inside}" + (",readonly" if readonly else ""),
            ]
        for key, value in self.env.items():
            argv += ["-e", f"{key}={value}"]
        if packages is None:
            return argv + [self.image, "bash", "-c", self.command]
        python, *script = python_script(self.command)
        return argv + [self.image, python, containers.ENTRY, "--wait", *packages, "--", *script]


class Containers:
    """Runs step containers and remembers them, so that an interrupt stops and removes every one (once those
    being created are: see containers.create)."""

    def __init__(self, labels: dict[str, str], out=None, prefix: bool = True):
        self.labels = labels
        self.out = out or sys.stdout
        self.prefix = prefix
        self.started: set[str] = set()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._created = threading.Condition(self._lock)  # notified as each `docker create` ends
        self._creating = 0

    def _start(self, step: Step, packages: list[str] | None = None) -> bool:
        """Start the step's container unless the job is stopping; its output waits in the pipe for run()."""
        container = f"scaffold-job-{step.name}-{uuid.uuid4().hex[:8]}"
        with containers.signals_held():  # in the main thread: no interrupt between the count and the create
            with self._lock:
                if self.stopping.is_set():
                    return False
                self.started.add(container)
                self._creating += 1
            step.container = container
            try:
                created = containers.create(
                    step.argv(container, self.labels, packages),
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                )
            finally:
                with self._lock:
                    self._creating -= 1
                    self._created.notify_all()
        if created.returncode != 0:
            step.create_error = created.stderr or f"docker create exited with {created.returncode}\n"
            return True
        if self.stopping.is_set():  # stop_all() removes it
            return False
        # A session of its own: Ctrl-C reaches the driver only, which stops the containers itself.
        step.process = subprocess.Popen(
            containers.start_argv(container, interactive=packages is not None),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL if packages is None else subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        return True

    def prestart(self, step: Step, packages: list[str]) -> bool:
        """Start a `python SCRIPT.py` step before its inputs are complete; run() then lets it go."""
        if step.container or not python_script(step.command):
            return False
        step.ahead = True
        return self._start(step, packages)

    def run(self, step: Step) -> int:
        """Run the step to its end; its output goes to its log and, prefixed, to the terminal."""
        packages = [] if python_script(step.command) else None  # a plain script runs in-process too
        if self.stopping.is_set() or (step.container == "" and not self._start(step, packages)):
            step.status = "Canceled"
            return 130
        step.log.parent.mkdir(parents=True, exist_ok=True)
        if step.process is None:  # `docker create` failed: what it said is the step's log
            step.log.write_text(step.create_error, encoding="utf-8")
            self._show(step, step.create_error.splitlines(keepends=True))
            step.status, step.exit_code = "Failed", 125
            return step.exit_code
        process = step.process
        if process.stdin:  # container_entry.py --wait: its inputs are complete now
            try:
                process.stdin.write("go\n")
                process.stdin.close()
            except OSError:  # its container is gone already: its exit code says why
                pass
        if step.ahead:  # from now on a step like any other (docker's default weight), not one on spare CPU
            subprocess.run(["docker", "update", "--cpu-shares", "1024", step.container], capture_output=True)
        step.started = time.monotonic()
        step.status = "Running"
        with open(step.log, "w", encoding="utf-8") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                self._show(step, [line])
        step.exit_code = process.wait()
        step.seconds = time.monotonic() - step.started
        if self.stopping.is_set() and step.exit_code != 0:
            step.status = "Canceled"
        else:
            step.status = "Completed" if step.exit_code == 0 else "Failed"
        return step.exit_code

    def _show(self, step: Step, lines) -> None:
        for line in lines:
            self.out.write(f"[{step.name}] {line}" if self.prefix else line)
        self.out.flush()

    def stop_all(self) -> None:
        """Stop every container started so far (in parallel), then make sure each is removed; those being
        created are waited for first, so that none is registered after its removal. A second Ctrl-C waits
        until it is done."""
        with containers.signals_held():
            with self._lock:
                self.stopping.set()
                while self._creating:
                    self._created.wait()
                names = sorted(self.started)
            _stop_and_remove(names)

    def discard(self, steps) -> None:
        """Stop and remove the containers of steps started ahead that never ran (skipped, or a failed job)."""
        waiting = [step for step in steps if step.container and step.status in ("NotStarted", "Skipped")]
        _stop_and_remove([step.container for step in waiting])
        for step in waiting:
            if step.process:
                step.process.wait()

    def stop(self, step: Step) -> None:
        """Stop one step's container (an early-terminated sweep trial); its run() then returns."""
        containers.stop(step.container)


def _stop_and_remove(names: list[str]) -> None:
    """Stop the containers (in parallel), then make sure each is removed (one that never started too)."""
    if names:
        containers.stop(*names)
        containers.remove(*names)
