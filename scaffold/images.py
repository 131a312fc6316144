"""Experiment images: tagged by a hash of their docker/ context, built only when that hash is new; when only
the lock changed, built on top of the previous image (see `lock_update`).

Docker is reached through its CLI: `docker image inspect` answers "is it built?" in about 0.04 s (importing
the Docker SDK alone costs 0.1-0.3 s), and `docker build` streams its own progress.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from scaffold import lockfiles
from scaffold.errors import ScaffoldError

if TYPE_CHECKING:
    from scaffold.config import Config
    from scaffold.paths import Repo

HASH_LABEL = "scaffold.context-hash"
RECIPE_LABEL = "scaffold.recipe-hash"  # the context's hash without requirements.txt and .lock
LOCKED_LABEL = "scaffold.locked-names"  # the packages the image's lock pins
UPDATES_LABEL = "scaffold.lock-updates"  # lock updates layered on the last full build
MAX_UPDATES = 5  # then a full build again, so that replaced versions do not pile up in layers
LOCK = "requirements.lock"
REQUIREMENTS = ("requirements.txt", LOCK)  # what a package added changes


def context_hash(context: Path, build_args: dict[str, str], skip: tuple[str, ...] = ()) -> str:
    """Hash of every file in the build context (path, exec bit, bytes) and the build arguments; files named
    in `skip` (paths relative to the context) are left out."""
    if not (context / "Dockerfile").is_file():
        raise ScaffoldError(f"no Dockerfile in {context}")
    digest = hashlib.sha256()
    root = context.resolve()
    for path in sorted(context.rglob("*")):
        if "__pycache__" in path.parts or (path.is_dir() and not path.is_symlink()):
            continue
        relative = path.relative_to(context).as_posix()
        if relative in skip:
            continue
        if path.name == ".env" or path.name.startswith(".env."):
            raise ScaffoldError(
                f"{context.name}/{relative}: secrets never go in a build context (Docker would receive it); "
                "put them in the repository's .env, which runs get by name"
            )
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise ScaffoldError(
                f"{context.name}/{relative} links outside the build context ({os.readlink(path)}): Docker "
                f"sends the link, not the file; copy the file into {context.name}/ instead"
            )
        digest.update(f"{relative}\0{int(os.access(path, os.X_OK))}\0".encode())
        # A link is hashed as its target's name: that is what Docker receives.
        digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        digest.update(b"\0")
    for key in sorted(build_args):
        digest.update(f"arg:{key}={build_args[key]}\0".encode())
    return digest.hexdigest()[:12]


@dataclass
class ImageSpec:
    """What to build: a repository name, its context folder, build arguments and labels."""

    name: str
    context: Path
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"{self.name}:{context_hash(self.context, self.build_args)}"

    @property
    def recipe_hash(self) -> str:
        return context_hash(self.context, self.build_args, skip=REQUIREMENTS)


def experiment_image(exp_dir: Path, base_image: str, extra_args: dict[str, str] | None = None) -> ImageSpec:
    """The image of an experiment; BASE_IMAGE is a build argument only when it is set."""
    args = {"BASE_IMAGE": base_image} if base_image else {}
    args.update(extra_args or {})
    return ImageSpec(exp_dir.name, exp_dir / "docker", args, {"scaffold.experiment": exp_dir.name})


def exists(tag: str) -> bool:
    """Whether the daemon has the image; a daemon that does not answer is one line."""
    found = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True
    )
    if found.returncode == 0:
        return True
    problem = found.stderr.strip()
    if "no such image" in problem.lower():
        return False
    reason = (
        problem.splitlines()[-1].removeprefix("Error: ") if problem else f"docker exited {found.returncode}"
    )
    raise ScaffoldError(
        f"Docker daemon unreachable ({reason[:160]}); start Docker, or use RUNNER=venv to run without it"
    )


def build_options(xargs: list[str]) -> argparse.Namespace:
    """build-exp's XARGS: --no-cache and --build-arg KEY=VALUE (as .build_args, a dict), else one line."""
    parser = argparse.ArgumentParser(prog="build-exp XARGS", add_help=False, exit_on_error=False)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--build-arg", action="append", default=[])
    try:  # unknown flags are returned, a malformed known one raises (exit_on_error=False): never an exit
        options, unknown = parser.parse_known_args(xargs)
    except argparse.ArgumentError:
        unknown = xargs
    if unknown:
        raise ScaffoldError(
            f"build-exp XARGS: expected --no-cache or --build-arg KEY=VALUE, got {shlex.join(xargs)}"
        )
    for item in options.build_arg:
        if "=" not in item or item.startswith("="):
            raise ScaffoldError(f"--build-arg expects KEY=VALUE, got {item!r}")
    options.build_args = dict(item.split("=", 1) for item in options.build_arg)
    return options


def ensure_experiment(
    repo: Repo, config: Config, exp: str, xargs: list[str] | None = None, quiet: bool = False
) -> str:
    """The tag of the experiment's image, its lock refreshed and the image built first when needed."""
    options = build_options(xargs or [])
    spec = experiment_image(repo.experiment(exp), config.get("BASE_IMAGE"), options.build_args)
    # An image of this very context (requirements.txt and lock included) was built after the check below.
    if shutil.which("docker") and _up_to_date(spec.tag, options.no_cache, quiet, sys.stderr):
        return spec.tag
    # A package just added to requirements.txt gets locked before the build; the lock is what gets installed.
    if lockfiles.refresh_if_stale(repo.experiment(exp) / "docker" / "requirements.txt"):
        spec = experiment_image(repo.experiment(exp), config.get("BASE_IMAGE"), options.build_args)
    return ensure(spec, no_cache=options.no_cache, quiet=quiet)


def _up_to_date(tag: str, no_cache: bool, quiet: bool, out, how: str = "") -> bool:
    """Whether the image exists and may be used as it is (not with --no-cache); says so unless quiet."""
    if no_cache or not exists(tag):
        return False
    if not quiet:
        print(f"image {tag} is up to date{how}", file=out)
    return True


def ensure(spec: ImageSpec, no_cache: bool = False, quiet: bool = False, out=None) -> str:
    """Return the image tag, building it first unless an image with that content hash exists."""
    if shutil.which("docker") is None:
        raise ScaffoldError("docker CLI not found on PATH; install Docker, or use RUNNER=venv")
    out = out or sys.stderr
    tag = spec.tag
    if _up_to_date(tag, no_cache, quiet, out):
        return tag
    from scaffold import locks  # only when building: the up-to-date path above stays import-light

    # Another driver building the same tag right now: wait for it, then use its image.
    with locks.exclusive(f"build {tag}"):
        if _up_to_date(tag, no_cache, quiet, out, " (built meanwhile by another command)"):
            return tag
        update = None if no_cache else lock_update(spec)
        if update:
            print(
                f"building {tag} from {spec.context}: only requirements.txt/.lock changed since"
                f" {update.previous}, so the lock's install step runs on top of that image",
                file=out,
            )
            try:
                _build(spec, tag, False, out, update)
            except ScaffoldError as exc:
                print(f"{exc}; building from scratch instead", file=out)
                update = None
        if not update:
            print(f"building {tag} from {spec.context}", file=out)
            _build(spec, tag, no_cache, out)
    print(f"built {tag} (also tagged {spec.name}:latest)", file=out)
    return tag


class LockUpdate(NamedTuple):
    """A build on top of an earlier image of the same context: its Dockerfile, and the update's number."""

    previous: str
    dockerfile: str
    number: int


def lock_update(spec: ImageSpec) -> LockUpdate | None:
    """How to build `spec` on top of the newest local image of the same name and recipe hash, or None unless
    the result is the full build's: the new lock pins every package the old one did (uv does not uninstall),
    the Dockerfile allows it (`lock_install_steps`) and fewer than MAX_UPDATES are layered already."""
    lock = spec.context / LOCK
    steps = lock_install_steps((spec.context / "Dockerfile").read_text()) if lock.is_file() else None
    if steps is None:
        return None
    filters = ["--filter", f"reference={spec.name}", "--filter", f"label={RECIPE_LABEL}={spec.recipe_hash}"]
    listed = _docker("image", "ls", *filters, "--format", "{{.ID}}").split()
    if not listed:
        return None
    image = listed[0]  # the newest
    found = _docker("image", "inspect", "--format", "{{json .Config.Labels}}", image)
    labels = json.loads(found or "null") or {}
    updates = int(labels.get(UPDATES_LABEL) or 0)
    if LOCKED_LABEL not in labels or updates >= MAX_UPDATES:
        return None
    if not set(labels[LOCKED_LABEL].split()) <= set(lockfiles.locked_versions(lock)):
        return None
    return LockUpdate(f"{spec.name}:{labels.get(HASH_LABEL, image)}", f"FROM {image}\n{steps}", updates + 1)


def _docker(*args: str) -> str:
    """A docker command's output, or "" when it fails."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


# After the lock's COPY, only these may follow the install step: none changes what that step sees.
_METADATA = {"LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL", "MAINTAINER", "ARG"}


def lock_install_steps(dockerfile: str) -> str | None:
    """The Dockerfile's instructions from `COPY requirements.lock ...` on (with the ARGs before them), or None
    unless a build on top of the previous lock's image can run them as a full build would: one FROM, no
    ONBUILD, the lock copied alone and by no other COPY or ADD, then one RUN and otherwise only metadata."""
    from dockerfile_parse import DockerfileParser

    parsed = DockerfileParser(fileobj=io.BytesIO(dockerfile.encode()))
    steps = [step for step in parsed.structure if step["instruction"] != "COMMENT"]
    kinds = [step["instruction"] for step in steps]
    if kinds.count("FROM") != 1 or "ONBUILD" in kinds:
        return None
    copied = {  # what each COPY or ADD copies: its words but options and the destination
        i: [word for word in step["value"].split() if not word.startswith("--")][:-1]
        for i, step in enumerate(steps)
        if step["instruction"] in ("COPY", "ADD")
    }
    copies = [
        i
        for i, names in copied.items()
        if any(name in (".", "./", *REQUIREMENTS) or any(c in name for c in "*?[") for name in names)
    ]
    if len(copies) != 1 or copied[copies[0]] != [LOCK]:
        return None
    after = kinds[copies[0] + 1 :]
    if after.count("RUN") != 1 or set(after) - _METADATA - {"RUN"}:
        return None
    start = kinds.index("FROM") + 1
    args = [step["content"] for step in steps[start : copies[0]] if step["instruction"] == "ARG"]
    return "".join(args + [step["content"] for step in steps[copies[0] :]])


# The builder's own bookkeeping lines, which say nothing about why a step failed.
_CHATTER = ("---> ", "Removing intermediate container", "Running in ", "DEPRECATED:")


def _build(spec: ImageSpec, tag: str, no_cache: bool, out, update: LockUpdate | None = None) -> None:
    """`docker build` with the classic builder (as Azure ML builds), its progress streamed; a failure names
    the step and its last output. With `update`, its Dockerfile is given on stdin, with the same context."""
    argv = ["docker", "build", "--rm", "--force-rm", "-t", tag, "-t", f"{spec.name}:latest"]
    argv += ["--no-cache"] if no_cache else []
    argv += ["-f", "-"] if update else []
    for key, value in spec.build_args.items():
        if not update or re.search(rf"^ARG\s+{re.escape(key)}\b", update.dockerfile, re.M):
            argv += ["--build-arg", f"{key}={value}"]
    labels = {**spec.labels, HASH_LABEL: tag.split(":", 1)[1], RECIPE_LABEL: spec.recipe_hash}
    lock = spec.context / LOCK
    if lock.is_file():
        labels[LOCKED_LABEL] = " ".join(sorted(lockfiles.locked_versions(lock)))
        labels[UPDATES_LABEL] = str(update.number if update else 0)
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    step, recent = "", []
    process = subprocess.Popen(
        [*argv, str(spec.context)],
        stdin=subprocess.PIPE if update else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    try:
        if update:
            process.stdin.write(update.dockerfile)
            process.stdin.close()
        for line in process.stdout:
            out.write(line)
            out.flush()
            if line.startswith("Step "):
                step, recent = line.strip(), []
            elif (text := line.strip()) and text != "--->" and not text.startswith(_CHATTER):
                recent = (recent + [text])[-5:]
        code = process.wait()
    finally:
        if process.poll() is None:  # interrupted: the daemon cancels the build when its client goes
            process.terminate()
            process.wait()
    if code != 0:
        detail = recent[-1].removeprefix("Error: ") if recent else f"docker build exited {code}"
        context = f" ({recent[-2]})" if len(recent) > 1 and recent[-2] not in detail else ""
        where = f" at {step}" if step else ""
        raise ScaffoldError(f"build of {spec.name} failed{where}: {detail}{context}")
