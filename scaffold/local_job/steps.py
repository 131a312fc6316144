"""One container per job step, started as Azure ML starts a job's container, and stopped on any interrupt.

Paths have the shape they have on Azure ML compute: the code snapshot is the working directory
`/mnt/azureml/cr/j/<id>/exe/wd`; inputs are mounted read-only and outputs read-write under
`/mnt/azureml/cr/j/<id>/cap/data-capability/wd/`. The command runs with `bash -c`, so `&&` and the like work
as they do there. Unlike Azure ML, the container runs as the host user, so every file it writes is yours.
"""

from __future__ import annotations

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

    def argv(self, container: str, labels: dict[str, str]) -> list[str]:
        argv = ["docker", "run", "--rm", "--init", "--name", container]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        if hasattr(os, "getuid"):
            argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
        argv += ["--add-host", f"{HOST_ALIAS}:host-gateway", "--workdir", self.container_workdir]
        mounts = [(self.workdir, self.container_workdir, False)]
        mounts += [(host, inside, True) for host, inside in self.inputs.values()]
        mounts += [(host, inside, False) for host, inside in self.outputs.values()]
        mounts += [(host, inside, False) for host, inside in self.extra_mounts.items()]
        for host, inside, readonly in mounts:
            argv += [
                "--mount",
                f"type=bind,source={host},target={inside}" + (",readonly" if readonly else ""),
            ]
        for key, value in self.env.items():
            argv += ["-e", f"{key}={value}"]
        return argv + [self.image, "bash", "-c", self.command]


class Containers:
    """Runs step containers and remembers them, so that an interrupt stops and removes every one."""

    def __init__(self, labels: dict[str, str], out=None, prefix: bool = True):
        self.labels = labels
        self.out = out or sys.stdout
        self.prefix = prefix
        self.started: set[str] = set()
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def run(self, step: Step) -> int:
        """Run the step to its end; its output goes to its log and, prefixed, to the terminal."""
        container = step.container = f"scaffold-job-{step.name}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            if self.stopping.is_set():
                step.status = "Canceled"
                return 130
            self.started.add(container)
        step.log.parent.mkdir(parents=True, exist_ok=True)
        step.started = time.monotonic()
        step.status = "Running"
        # A session of its own: Ctrl-C reaches the driver only, which stops the containers itself.
        process = subprocess.Popen(
            step.argv(container, self.labels),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        with open(step.log, "w", encoding="utf-8") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                self.out.write(f"[{step.name}] {line}" if self.prefix else line)
                self.out.flush()
        step.exit_code = process.wait()
        step.seconds = time.monotonic() - step.started
        if self.stopping.is_set() and step.exit_code != 0:
            step.status = "Canceled"
        else:
            step.status = "Completed" if step.exit_code == 0 else "Failed"
        return step.exit_code

    def stop_all(self) -> None:
        """Stop every container started so far (in parallel), then make sure each is removed."""
        with self._lock:
            self.stopping.set()
            names = sorted(self.started)
        if names:
            containers.stop(*names)
            containers.remove(*names)

    def stop(self, step: Step) -> None:
        """Stop one step's container (an early-terminated sweep trial); its run() then returns."""
        containers.stop(step.container)
