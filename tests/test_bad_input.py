"""Bad input: whatever a user types, the repository is left as it was and the user reads ONE `error:` line.

Each `Case` in CASES is one row of the "Bad input" table in tests/README.md (a test keeps the two equal).
A case runs a command in one repository copy shared by the module; its setup creates the bad condition and
registers how to undo it. After every case: a non-zero exit, no traceback, the expected text in the last
line of stderr, which starts with `error:` and is the only such line (make's own `make: ***` trailer is
not the driver's and is left out), src/ exactly as before, $TMPDIR empty again, and for Docker cases no
container of this repository copy labelled `scaffold.experiment=<exp>`.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from conftest import PYTHON, REPO, driver, experiment_containers, make, remove_images, tree_state, unique_name

SECRET = "TOP-SECRET-d41d8cd9"  # content of files outside the repository that must never be read
MAKE_TRAILER = re.compile(r"^make(\[\d+\])?: \*\*\* ")
SCHEMA = (
    "distance,dropoff_latitude,dropoff_longitude,passengers,pickup_latitude,pickup_longitude,"
    "pickup_weekday,pickup_month,pickup_monthday,pickup_hour,pickup_minute,pickup_second,"
    "dropoff_weekday,dropoff_month,dropoff_monthday,dropoff_hour,dropoff_minute,dropoff_second,"
    "store_forward,vendor,cost"
)
DENIED = "(Operation not permitted|Permission denied)"  # a read-only folder, as root (chattr +i) or not
VALID_ROW = "2.0,40.76,-73.97,1,40.75,-73.98,2,3,4,10,5,6,2,3,4,10,20,6,0,1,12.5"


class Ctx:
    """One case's world: the shared repository, a private temporary folder, format values and undo steps."""

    def __init__(self, repo: Path, tmp: Path):
        self.repo = repo
        self.tmp = tmp
        self.values: dict[str, object] = {}
        self.undo: list[Callable[[], None]] = []

    def outside(self, content: str = SECRET) -> Path:
        """A file outside the repository holding `content`."""
        path = self.tmp / "outside" / "secret.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return path

    def write(self, relative: str, data: bytes | str) -> Path:
        """Write a file in the repository; the original (or its absence) comes back afterwards."""
        path = self.repo / relative
        original = path.read_bytes() if path.is_file() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        self.undo.append(lambda: path.write_bytes(original) if original is not None else path.unlink())
        return path

    def move_away(self, relative: str) -> None:
        """Take a file or folder out of the repository for the case; whatever the command made there goes."""
        path, kept = self.repo / relative, self.tmp / "moved" / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, kept)

        def restore():
            _remove(path)
            shutil.move(kept, path)

        self.undo.append(restore)

    def link(self, relative: str, target: Path) -> None:
        path = self.repo / relative
        path.symlink_to(target)
        self.undo.append(path.unlink)

    def new_experiment(self) -> str:
        """A fresh experiment from the template (removed afterwards with any image of it)."""
        name = unique_name("bad")
        created = driver(self.repo, "new-exp", "--exp", name)
        assert created.returncode == 0, created.stderr

        def remove():
            shutil.rmtree(self.repo / "src" / name)
            remove_images(name)

        self.undo.append(remove)
        self.values["exp"] = name
        return name

    def data(self, files: dict[str, bytes | str]) -> None:
        """data/nyc_taxi/ holding exactly `files` (relative to it); removed afterwards."""
        home = self.repo / "data" / "nyc_taxi"
        _remove(home)
        for relative, content in files.items():
            path = home / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.undo.append(lambda: _remove(home))

    def read_only(self, relative: str) -> None:
        """A folder nobody may write, root included: chattr +i as root (chmod means nothing to root)."""
        path = self.repo / relative
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("chattr +i (an immutable folder) is not supported on this file system")
            self.undo.append(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))
        else:
            path.chmod(0o555)
            self.undo.append(lambda: path.chmod(0o755))

    def busy_port(self) -> None:
        """A port on 127.0.0.1 that another process (this test) is listening on."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        server.listen()
        self.values["port"] = server.getsockname()[1]
        self.undo.append(server.close)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


# --- setups -------------------------------------------------------------------------------------------


def zip_bytes(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, data, unix mode) entries, in memory (duplicate names allowed: that is a case)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def template(*entries: tuple[str, bytes, int]) -> Callable[[Ctx], None]:
    """Replace experiment_template.zip by one holding a harmless main.py plus `entries`."""

    def setup(ctx: Ctx) -> None:
        ctx.write("experiment_template.zip", zip_bytes([("main.py", b"print(1)\n", 0o100644), *entries]))

    return setup


def template_escaping_the_repository(ctx: Ctx) -> None:
    """Unpacked in src/.new-<name>-*/<name>/, then src/<name>/: this entry lands next to the repository."""
    template(("../../../../escape.py", b"print('escaped')\n", 0o100644))(ctx)
    ctx.values["outside_before"] = outside_state(ctx.repo)


def template_with_absolute_entry(ctx: Ctx) -> None:
    target = ctx.tmp / "absolute-escape.py"
    ctx.values["absolute"] = target
    template((str(target), b"print('escaped')\n", 0o100644))(ctx)


def damaged_template(ctx: Ctx) -> None:
    """The real template with compressed bytes of its largest entry flipped: inflating or the CRC fails."""
    data = bytearray((REPO / "experiment_template.zip").read_bytes())
    with zipfile.ZipFile(REPO / "experiment_template.zip") as archive:
        largest = max(archive.infolist(), key=lambda info: info.compress_size)
    start = largest.header_offset + 30 + len(largest.filename.encode()) + len(largest.extra)
    middle = start + largest.compress_size // 2
    for offset in range(middle, middle + 8):
        data[offset] ^= 0xFF
    ctx.write("experiment_template.zip", bytes(data))


def experiment_linking_outside(ctx: Ctx) -> None:
    name = ctx.new_experiment()
    ctx.link(f"src/{name}/notes.txt", ctx.outside())


def dockerfile(text: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        name = ctx.new_experiment()
        (ctx.repo / "src" / name / "docker" / "Dockerfile").write_text(text)

    return setup


def no_dockerfile(ctx: Ctx) -> None:
    name = ctx.new_experiment()
    (ctx.repo / "src" / name / "docker" / "Dockerfile").unlink()


def build_context_linking_outside(ctx: Ctx) -> None:
    """docker/leak.txt -> a file outside; the Dockerfile copies the whole context and prints the link."""
    dockerfile("ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nCOPY . /ctx/\nRUN cat /ctx/leak.txt\n")(
        ctx
    )
    ctx.link(f"src/{ctx.values['exp']}/docker/leak.txt", ctx.outside())


def job_file(text: str) -> Callable[[Ctx], None]:
    """A command-job experiment whose azure-ml-job.yaml is `text` ({original} is the template's)."""

    def setup(ctx: Ctx) -> None:
        name = ctx.new_experiment()
        path = ctx.repo / "src" / name / "azure-ml-job.yaml"
        content = text.format(original=path.read_text())
        path.write_text(content)
        ctx.values["line"] = len(content.splitlines())

    return setup


def job_file_linking_outside(ctx: Ctx) -> None:
    outside = ctx.outside((REPO / "src" / "nyc_taxi" / "azure-ml-job.yaml").read_text())
    ctx.link("src/nyc_taxi/linked.yaml", outside)


def config_without_workspace(ctx: Ctx) -> None:
    lines = (ctx.repo / "config.env").read_text().splitlines()
    workspace = ("SUBSCRIPTION_ID=", "RESOURCE_GROUP=", "WORKSPACE=")
    ctx.write("config.env", "".join(f"{line}\n" for line in lines if not line.startswith(workspace)))


def config_with(line: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        text = (ctx.repo / "config.env").read_text()
        ctx.values["line"] = len(text.splitlines()) + 1
        ctx.write("config.env", text + line + "\n")

    return setup


def raw_files(files: dict[str, bytes | str]) -> Callable[[Ctx], None]:
    return lambda ctx: ctx.data({f"raw/{name}": content for name, content in files.items()})


def read_only_raw(ctx: Ctx) -> None:
    ctx.data({})
    ctx.read_only("data/nyc_taxi/raw")


def read_only_outputs(ctx: Ctx) -> None:
    ctx.data({"raw/trips.csv": f"{SCHEMA}\n" + f"{VALID_ROW}\n" * 50})
    ctx.read_only("data/nyc_taxi/outputs")


def empty_data_folder(ctx: Ctx) -> None:
    (ctx.repo / "data" / "empty").mkdir(parents=True)
    ctx.undo.append(lambda: _remove(ctx.repo / "data" / "empty"))


# --- checks beyond the common ones --------------------------------------------------------------------


def outside_state(repo: Path) -> dict:
    """Every file next to and inside the repository copy, minus the driver's own bytecode."""
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in repo.parent.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def nothing_escaped(ctx: Ctx, result) -> None:
    assert outside_state(ctx.repo) == ctx.values["outside_before"]
    assert not (ctx.repo.parent / "escape.py").exists() and not (ctx.repo / "escape.py").exists()


def absolute_target_not_written(ctx: Ctx, result) -> None:
    assert not Path(ctx.values["absolute"]).exists()


def secret_not_read(ctx: Ctx, result) -> None:
    assert SECRET not in result.stdout + result.stderr


def no_image(ctx: Ctx, result, step: str = "") -> None:
    """The failed build tagged nothing (and, when given, its error line names `step`)."""
    import docker

    assert docker.from_env().images.list(name=ctx.values["exp"]) == []
    assert step in driver_lines(result.stderr)[-1]
    secret_not_read(ctx, result)


# --- the table ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input. `argv` is `make ARGS`, or `python -m scaffold ARGS` when it starts with "driver";
    `{name}` in argv and message is filled from what the setup put in ctx.values."""

    name: str
    argv: tuple[str, ...]
    message: str
    checked: str = ""
    setup: Callable[[Ctx], None] | None = None
    check: Callable[[Ctx, object], None] | None = None
    exp: str = ""  # Docker cases: the experiment label that must have no container left
    env: dict[str, str] = field(default_factory=dict)

    @property
    def docker(self) -> bool:
        return bool(self.exp)

    def command(self) -> str:
        """The command as a user types it, with <placeholders> for what the setup provides."""
        driver_call = self.argv[0] == "driver"
        words = [f"{key}={value}" for key, value in self.env.items()]
        words += ["python -m scaffold", *self.argv[1:]] if driver_call else ["make", *map(_shown, self.argv)]
        return placeholders(" ".join(words))


def _shown(word: str) -> str:
    """VAR=value as typed in a shell: quoted when the value holds a space or a double quote."""
    key, _, value = word.partition("=")
    if " " not in value and '"' not in value:
        return word
    return f"{key}='{value}'" if '"' in value else f'{key}="{value}"'


def placeholders(text: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", text)


NYC = "nyc_taxi"
CASES = [
    # new-exp: names
    Case("new-exp: empty name", ("new-exp", "EXP="), "EXP is required"),
    Case("new-exp: ../x", ("new-exp", "EXP=../x"), "invalid experiment name '../x'"),
    Case("new-exp: absolute path", ("new-exp", "EXP=/abs"), "invalid experiment name '/abs'"),
    Case("new-exp: space", ("new-exp", "EXP=has space"), "invalid experiment name 'has space'"),
    Case("new-exp: unicode", ("new-exp", "EXP=na\u00efve"), "invalid experiment name 'na\u00efve'"),
    Case("new-exp: reserved name", ("new-exp", "EXP=common"), "'common': it is reserved for the repository"),
    Case(
        "new-exp: existing experiment",
        ("new-exp", f"EXP={NYC}"),
        f"experiment '{NYC}' already exists at src/{NYC}",
    ),
    Case("new-exp: Python keyword", ("new-exp", "EXP=class"), "invalid experiment name 'class'"),
    Case("new-exp: upper case", ("new-exp", "EXP=Churn"), "invalid experiment name 'Churn'"),
    Case("new-exp: leading digit", ("new-exp", "EXP=1st"), "invalid experiment name '1st'"),
    Case("new-exp: leading dash", ("new-exp", "EXP=-x"), "invalid experiment name '-x'"),
    Case("new-exp: double quote", ("new-exp", 'EXP=my"exp'), "invalid experiment name 'my\"exp'"),
    # new-exp: the template
    Case(
        "template: not a zip",
        ("new-exp", "EXP=victim"),
        "experiment_template.zip is not a valid zip file",
        setup=lambda ctx: ctx.write("experiment_template.zip", b"this is not a zip"),
    ),
    Case(
        "template: entry with ..",
        ("new-exp", "EXP=victim"),
        "refusing entry '../../../../escape.py' outside the experiment folder",
        "nothing written in or next to the repository",
        setup=template_escaping_the_repository,
        check=nothing_escaped,
    ),
    Case(
        "template: absolute entry",
        ("new-exp", "EXP=victim"),
        "outside the experiment folder",
        "the absolute path was not written",
        setup=template_with_absolute_entry,
        check=absolute_target_not_written,
    ),
    Case(
        "template: symlink entry",
        ("new-exp", "EXP=victim"),
        "refusing symlink entry 'link'",
        setup=template(("link", b"/etc/passwd", 0o120777)),
    ),
    Case(
        "template: duplicate entry",
        ("new-exp", "EXP=victim"),
        "refusing entry 'main.py': it occurs twice",
        setup=template(("main.py", b"print(2)\n", 0o100644)),
    ),
    Case(
        "template: damaged entry",
        ("new-exp", "EXP=victim"),
        "experiment_template.zip: cannot unpack",
        setup=damaged_template,
    ),
    Case(
        "template: missing",
        ("new-exp", "EXP=victim"),
        "template not found: experiment_template.zip",
        setup=lambda ctx: ctx.move_away("experiment_template.zip"),
    ),
    Case("new-exp: FROM unknown", ("new-exp", "EXP=victim", "FROM=nope"), "unknown experiment 'nope'"),
    Case(
        "new-exp: FROM an experiment with a link to an outside file",
        ("new-exp", "EXP=victim", "FROM={exp}"),
        "refusing to copy notes.txt: it links outside src/{exp}",
        setup=experiment_linking_outside,
    ),
    # build-exp
    Case("build-exp: unknown experiment", ("build-exp", "EXP=nope"), "unknown experiment 'nope'"),
    Case(
        "build-exp: unknown option",
        ("build-exp", f"EXP={NYC}", "XARGS=--bogus"),
        "build-exp XARGS: expected --no-cache or --build-arg KEY=VALUE, got --bogus",
    ),
    Case(
        "build-exp: --build-arg without =",
        ("build-exp", f"EXP={NYC}", "XARGS=--build-arg NOEQ"),
        "--build-arg expects KEY=VALUE, got 'NOEQ'",
    ),
    Case("build-exp: no Dockerfile", ("build-exp", "EXP={exp}"), "no Dockerfile in", setup=no_dockerfile),
    Case(
        "build-exp: failing RUN step",
        ("build-exp", "EXP={exp}"),
        "build of {exp} failed at Step 3/",
        "the error line names the step `RUN echo boom-step && false`; no image",
        setup=dockerfile(
            "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nRUN echo boom-step && false\n"
        ),
        check=lambda ctx, r: no_image(ctx, r, step="RUN echo boom-step && false"),
        exp="{exp}",
    ),
    Case(
        "build-exp: unknown instruction",
        ("build-exp", "EXP={exp}"),
        "unknown instruction: FROMM",
        "no image",
        setup=dockerfile("FROMM scratch\n"),
        check=no_image,
        exp="{exp}",
    ),
    Case(
        "build-exp: docker/ link to an outside file",
        ("build-exp", "EXP={exp}"),
        "docker/leak.txt links outside the build context",
        "nothing is sent to Docker: the outside content is in no output; no image",
        setup=build_context_linking_outside,
        check=no_image,
        exp="{exp}",
    ),
    # local
    Case("local: no EXP", ("local",), "EXP is required"),
    Case("local: unknown experiment", ("local", "EXP=nope"), "unknown experiment 'nope'"),
    Case(
        "local: bad RUNNER",
        ("local", f"EXP={NYC}", "RUNNER=podman"),
        "argument --runner: invalid choice: 'podman' (choose from",
    ),
    Case(
        "local: port in use",
        ("local", "EXP=taxi_online", "PORT={port}"),
        "port {port} on 127.0.0.1 is already in use",
        setup=Ctx.busy_port,
    ),
    Case("local: PORT not a number", ("local", f"EXP={NYC}", "PORT=abc"), "PORT must be a port number"),
    Case("local: PORT out of range", ("local", f"EXP={NYC}", "PORT=70000"), "PORT must be a port number"),
    Case(
        "local: RUN_XARGS unbalanced quote",
        ("local", f"EXP={NYC}", 'RUN_XARGS=--label "x'),
        "RUN_XARGS: No closing quotation",
        exp=NYC,
    ),
    Case(
        "local: RUN_XARGS option without its value",
        ("local", f"EXP={NYC}", "RUN_XARGS=--shm-size"),
        "RUN_XARGS: --shm-size needs a value",
        exp=NYC,
    ),
    Case(
        "local: RUN_XARGS unknown docker flag",
        ("local", f"EXP={NYC}", "RUN_XARGS=--no-such-flag"),
        f"docker could not start the container for {NYC}",
        exp=NYC,
    ),
    Case(
        "local: RUN_XARGS publishes a port in use",
        ("local", f"EXP={NYC}", "RUN_XARGS=-p 127.0.0.1:{port}:80"),
        f"docker could not start the container for {NYC}",
        setup=Ctx.busy_port,
        exp=NYC,
    ),
    # local: data
    Case(
        "data: CSV with wrong columns",
        ("local", f"EXP={NYC}"),
        "../data/nyc_taxi/raw: missing column(s): distance",
        setup=raw_files({"trips.csv": "a,b,c\n1,2,3\n"}),
        exp=NYC,
    ),
    Case(
        "data: empty CSV",
        ("local", f"EXP={NYC}"),
        "raw/trips.csv: file is empty",
        setup=raw_files({"trips.csv": ""}),
        exp=NYC,
    ),
    Case(
        "data: CSV with a header only",
        ("local", f"EXP={NYC}"),
        "../data/nyc_taxi/raw: no data rows",
        setup=raw_files({"trips.csv": f"{SCHEMA}\n"}),
        exp=NYC,
    ),
    Case(
        "data: unreadable (corrupt) Parquet",
        ("local", f"EXP={NYC}"),
        "raw/trips.parquet: cannot read",
        setup=raw_files({"trips.parquet": b"PAR1 this is not parquet"}),
        exp=NYC,
    ),
    Case(
        "data: data/ missing, --raw_data into it",
        ("local", f"EXP={NYC}", "XARGS=--raw_data ../data/nyc_taxi/raw"),
        "no such file or folder: ../data/nyc_taxi/raw",
        setup=lambda ctx: ctx.move_away("data"),
        exp=NYC,
    ),
    Case(
        "data: read-only raw/ (no data, sample cannot be written)",
        ("local", f"EXP={NYC}"),
        "no data in ../data/nyc_taxi/raw, and a sample cannot be written there: ",
        "the reason is `Operation not permitted` (root) or `Permission denied`",
        setup=read_only_raw,
        check=lambda ctx, r: _assert(re.search(f"there: {DENIED}$", r.stderr, re.M)),
        exp=NYC,
    ),
    Case(
        "data: read-only outputs/",
        ("local", f"EXP={NYC}"),
        "error: prep: ",
        "the error line names `../data/nyc_taxi/outputs/prep` and the reason",
        setup=read_only_outputs,
        check=lambda ctx, r: _assert(re.search(f"{DENIED}: ../data/nyc_taxi/outputs/prep$", r.stderr, re.M)),
        exp=NYC,
    ),
    # data-asset, compute
    Case(
        "data-asset: data/ missing",
        ("data-asset", "NAME=raw", "PATH=data/nyc_taxi/raw", "XARGS=--dry-run"),
        "no such file or folder: data/nyc_taxi/raw",
        setup=lambda ctx: ctx.move_away("data"),
    ),
    Case(
        "data-asset: empty folder",
        ("data-asset", "NAME=raw", "PATH=data/empty", "XARGS=--dry-run"),
        "data/empty is an empty folder: nothing to register",
        setup=empty_data_folder,
    ),
    Case(
        "data-asset: bad NAME",
        ("data-asset", "NAME=my data", "PATH=README.md", "XARGS=--dry-run"),
        "invalid data asset name 'my data'",
    ),
    Case(
        "compute: MAX not a number",
        ("compute", "NAME=cpu-cluster", "MAX=many", "XARGS=--dry-run"),
        "MAX must be a whole number of nodes, got 'many'",
    ),
    # job (always --dry-run unless the case is about settings: Azure is never reached)
    Case("job: no EXP", ("job", "XARGS=--dry-run"), "EXP is required"),
    Case("job: unknown experiment", ("job", "EXP=nope", "XARGS=--dry-run"), "unknown experiment 'nope'"),
    Case(
        "job: malformed YAML",
        ("job", "EXP={exp}", "XARGS=--dry-run"),
        "src/{exp}/azure-ml-job.yaml:3:5: invalid YAML: expected ',' or ']', but got ':'",
        setup=job_file("type: command\ncommand: [python main.py\ncode: .\n"),
    ),
    Case(
        "job: empty YAML",
        ("job", "EXP={exp}", "XARGS=--dry-run"),
        "src/{exp}/azure-ml-job.yaml: expected a YAML mapping (an Azure ML job), got an empty file",
        setup=job_file(""),
    ),
    Case(
        "job: unknown top-level field",
        ("job", "EXP={exp}", "XARGS=--dry-run"),
        "src/{exp}/azure-ml-job.yaml:{line}: colour: Unknown field.",
        setup=job_file("{original}colour: blue\n"),
    ),
    Case(
        "job: --set with a wrong type",
        ("job", "EXP={exp}", "XARGS=--dry-run --set resources.instance_count=abc"),
        "resources.instance_count: Not a valid integer. (from --set)",
        setup=job_file("{original}"),
    ),
    Case(
        "job: --set of a path that does not exist",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --set nosuch.path=1"),
        f"src/{NYC}/azure-ml-job.yaml: nosuch: Unknown field. (from --set)",
    ),
    Case(
        "job: --set without =",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --set nothing"),
        "--set expects key=value, got 'nothing'",
    ),
    Case(
        "job: --set of a step input the component does not have",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --set jobs.train.inputs.max_itr=500"),
        "--set jobs.train.inputs.max_itr: step train has no input max_itr (its inputs: learning_rate,",
    ),
    Case(
        "job: --set of an empty input",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --set inputs.seed="),
        "--set inputs.seed: empty value; Azure ML refuses an empty input",
    ),
    Case(
        "job: --set of a local input path that does not exist",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --set inputs.raw_data.path=../../data/nope"),
        f"--set inputs.raw_data.path: no such file or folder ../../data/nope (relative to src/{NYC}/)",
    ),
    Case(
        "job: FILE that does not exist",
        ("job", f"EXP={NYC}", "FILE=nope.yaml", "XARGS=--dry-run"),
        f"no job file nope.yaml in src/{NYC}",
    ),
    Case(
        "job: FILE of another experiment",
        ("job", f"EXP={NYC}", "FILE=../taxi_online/azure-ml-job.yaml", "XARGS=--dry-run"),
        f"FILE ../taxi_online/azure-ml-job.yaml is outside src/{NYC}",
    ),
    Case(
        "job: FILE linking outside",
        ("job", f"EXP={NYC}", "FILE=linked.yaml", "XARGS=--dry-run"),
        f"FILE linked.yaml is outside src/{NYC}",
        setup=job_file_linking_outside,
    ),
    Case(
        "job: unknown option",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --bogus"),
        "job XARGS: unknown --bogus; expected --set, --name, --stream, --web, --dry-run",
    ),
    Case(
        "job: option without its value",
        ("job", f"EXP={NYC}", "XARGS=--dry-run --name"),
        "job XARGS: argument --name/-n: expected one argument",
    ),
    # config.env
    Case(
        "config.env missing",
        ("new-exp", "EXP=victim"),
        "no config.env next to a src/ folder",
        setup=lambda ctx: ctx.move_away("config.env"),
    ),
    Case(
        "config.env without the workspace keys",
        ("job", f"EXP={NYC}"),
        "workspace not configured: set SUBSCRIPTION_ID, RESOURCE_GROUP and WORKSPACE",
        "nothing submitted (no `submitting` line)",
        setup=config_without_workspace,
        check=lambda ctx, r: _assert("submitting" not in r.stderr),
        env={"SUBSCRIPTION_ID": "", "RESOURCE_GROUP": "", "WORKSPACE": ""},
    ),
    Case(
        "config.env malformed line",
        ("new-exp", "EXP=victim"),
        "config.env:{line}: expected KEY=VALUE, got 'this is not a setting'",
        setup=config_with("this is not a setting"),
    ),
    Case(
        "config.env unbalanced quote",
        ("build-exp", f"EXP={NYC}"),
        "config.env:{line}: expected KEY=VALUE, got 'BASE_IMAGE=\"oops' (a quote left open?)",
        setup=config_with('BASE_IMAGE="oops'),
    ),
    # jupyter, terminal, mlflow-ui, test
    Case(
        "jupyter: port in use",
        ("jupyter", f"EXP={NYC}", "PORT={port}"),
        "port {port} on 127.0.0.1 is already in use",
        setup=Ctx.busy_port,
    ),
    Case(
        "jupyter: PORT out of range",
        ("jupyter", f"EXP={NYC}", "PORT=70000"),
        "PORT must be a port number (1-65535), got '70000'",
    ),
    Case(
        "jupyter: PORT not a number",
        ("jupyter", f"EXP={NYC}", "PORT=abc"),
        "PORT must be a port number (1-65535), got 'abc'",
    ),
    Case(
        "mlflow-ui: PORT not a number",
        ("mlflow-ui", "PORT=abc"),
        "PORT must be a port number (1-65535), got 'abc'",
    ),
    Case("jupyter: unknown experiment", ("jupyter", "EXP=nope"), "unknown experiment 'nope'"),
    Case(
        "jupyter: RUNNER=venv",
        ("driver", "jupyter", "--exp", NYC, "--runner", "venv"),
        "jupyter needs Docker",
    ),
    Case("terminal: unknown experiment", ("terminal", "EXP=nope"), "unknown experiment 'nope'"),
    Case(
        "terminal: RUNNER=venv",
        ("driver", "terminal", "--exp", NYC, "--runner", "venv"),
        "terminal needs Docker",
    ),
    Case(
        "mlflow-ui: port in use",
        ("mlflow-ui", "PORT={port}"),
        "port {port} on 127.0.0.1 is already in use",
        setup=Ctx.busy_port,
    ),
    Case("mlflow-ui: PORT out of range", ("mlflow-ui", "PORT=0"), "PORT must be a port number (1-65535)"),
    Case("mlflow-ui: unknown experiment", ("mlflow-ui", "EXP=nope"), "unknown experiment 'nope'"),
    Case("test: unknown experiment", ("test", "EXP=nope"), "unknown experiment 'nope'"),
]


def _assert(condition) -> None:
    assert condition


def _param(case: Case):
    marks = [pytest.mark.docker] if case.docker else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture(scope="module")
def repo(module_repo) -> Path:
    return module_repo


def run(ctx: Ctx, argv: tuple[str, ...], env: dict[str, str], timeout: float):
    values = {key: str(value) for key, value in ctx.values.items()}
    words = [word.format(**values) for word in argv]
    if words[0] == "driver":
        return driver(ctx.repo, *words[1:], env=env, timeout=timeout)
    return make(ctx.repo, *words, env=env, timeout=timeout)


def driver_lines(stderr: str) -> list[str]:
    """Non-empty stderr lines, without make's own `make: *** [...] Error 2` trailer."""
    return [line for line in stderr.splitlines() if line.strip() and not MAKE_TRAILER.match(line)]


def assert_one_error_line(result, message: str) -> None:
    """Non-zero exit, no traceback, and the message in the one `error:` line, which ends stderr."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = driver_lines(result.stderr)
    assert not any(line.startswith("usage:") for line in lines), "argparse's usage block is not one line"
    errors = [line for line in lines if line.startswith("error:")]
    assert lines and lines[-1].startswith("error:"), result.stderr
    assert len(errors) == 1, result.stderr
    assert message in lines[-1], result.stderr


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_bad_input_is_one_error_line_and_changes_nothing(case: Case, repo: Path, tmp_path: Path):
    """Run the case; whatever happens, undo its setup so the shared copy stays clean for the next one."""
    ctx = Ctx(repo, tmp_path)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    try:
        if case.setup:
            case.setup(ctx)
        before = tree_state(repo / "src")
        # Refusals are instant; Docker cases may first build nyc_taxi's image on a machine without it.
        result = run(ctx, case.argv, {**case.env, "TMPDIR": str(scratch)}, 900 if case.docker else 120)
        values = {key: str(value) for key, value in ctx.values.items()}
        assert_one_error_line(result, case.message.format(**values))
        assert tree_state(repo / "src") == before, "src/ changed"
        assert list(scratch.iterdir()) == [], "left in TMPDIR"
        if case.check:
            case.check(ctx, result)
        if case.docker:
            assert experiment_containers(case.exp.format(**values), repo) == []
    finally:
        for undo in reversed(ctx.undo):
            undo()


# --- a link out of an experiment, and make job: succeeds, but the link stays out of the snapshot ------

LINK_ROW = (
    "job: links out of the experiment",
    f"make job EXP={NYC} XARGS=--dry-run",
    "succeeds (exit 0); listing: `notes.txt (link pointing outside, not followed)`, "
    "`shared (link to a folder outside, not followed)`",
    "paused at the staged snapshot: no link and no outside content in it; the outside content is in no "
    "output; src/ unchanged; staging removed",
)


def wait_for_line(process: subprocess.Popen, text: str) -> None:
    """Read stderr until a line holds `text` (the pause point announces itself); a finished driver ends it."""
    seen = ""
    for line in process.stderr:
        seen += line
        if text in line:
            return
    raise AssertionError(f"no {text!r} on stderr; got: {seen}")


def test_job_dry_run_keeps_links_out_of_the_snapshot(repo: Path, tmp_path: Path):
    """The snapshot is what Azure ML uploads: a link out of src/<exp> must neither be followed nor copied.

    Not an error (the snapshot rules skip such links and say so), so the proof is the staged folder
    itself, inspected while the driver waits at its `job:staged` pause point, and the printed listing.
    """
    ctx = Ctx(repo, tmp_path)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    secret = ctx.outside()
    (tmp_path / "outside" / "folder").mkdir()
    (tmp_path / "outside" / "folder" / "data.txt").write_text(SECRET)
    ctx.link(f"src/{NYC}/notes.txt", secret)
    ctx.link(f"src/{NYC}/shared", tmp_path / "outside" / "folder")
    env = {**os.environ, "PYTHONPATH": str(repo), "TMPDIR": str(scratch)}
    try:
        before = tree_state(repo / "src")
        paused = subprocess.Popen(
            [PYTHON, "-m", "scaffold", "job", "--exp", NYC, "--", "--dry-run"],
            cwd=repo,
            env={**env, "SCAFFOLD_PAUSE_AT": "job:staged"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_line(paused, "paused at job:staged")
            [staged] = scratch.glob(f"scaffold-{NYC}-*/{NYC}")
            names = {p.relative_to(staged).as_posix() for p in staged.rglob("*")}
            assert "main.py" in names and "common/__init__.py" in names
            assert not {"notes.txt", "shared", "shared/data.txt"} & names
            assert not any(p.is_symlink() for p in staged.rglob("*"))
            assert not any(SECRET.encode() in p.read_bytes() for p in staged.rglob("*") if p.is_file())
        finally:
            paused.send_signal(signal.SIGINT)
            paused.communicate(timeout=60)
        assert list(scratch.iterdir()) == [], "staging left behind"

        result = make(repo, "job", f"EXP={NYC}", "XARGS=--dry-run", env={"TMPDIR": str(scratch)})
        assert result.returncode == 0, result.stderr
        assert "notes.txt (link pointing outside, not followed)" in result.stdout
        assert "shared (link to a folder outside, not followed)" in result.stdout
        assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr
        assert tree_state(repo / "src") == before and list(scratch.iterdir()) == []
    finally:
        for undo in reversed(ctx.undo):
            undo()


# --- the README table ---------------------------------------------------------------------------------

COMMON_CHECKS = "common"  # defined once above the table in tests/README.md


def readme_rows() -> list[str]:
    """The table rows of tests/README.md's "Bad input" section, as this module defines them."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = []
    for case in CASES:
        checked = [COMMON_CHECKS]
        if case.docker:
            checked.append(f"no container labelled scaffold.experiment={placeholders(case.exp)} left")
        if case.checked:
            checked.append(case.checked)
        command, message = cell(case.command()), cell(placeholders(case.message))
        rows.append(f"| {cell(case.name)} | `{command}` | `{message}` | {cell('; '.join(checked))} |")
    name, command, message, checked = LINK_ROW
    rows.append(f"| {cell(name)} | `{cell(command)}` | {cell(message)} | {cell(checked)} |")
    return rows


def test_readme_table_lists_every_case():
    """The README table is the human view of CASES: a case added or changed here must show up there."""
    text = (REPO / "tests" / "README.md").read_text()
    section = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert table == readme_rows()
    assert len(table) >= 30
