"""Experiment images: tagged by a hash of their docker/ context, built only when that hash is new."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from scaffold.errors import ScaffoldError

HASH_LABEL = "scaffold.context-hash"


def context_hash(context: Path, build_args: dict[str, str]) -> str:
    """Hash of every file in the build context (path, exec bit, bytes) and the build arguments."""
    if not (context / "Dockerfile").is_file():
        raise ScaffoldError(f"no Dockerfile in {context}")
    digest = hashlib.sha256()
    root = context.resolve()
    for path in sorted(context.rglob("*")):
        if "__pycache__" in path.parts or (path.is_dir() and not path.is_symlink()):
            continue
        relative = path.relative_to(context).as_posix()
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
        executable = os.access(path, os.X_OK)
        digest.update(f"{relative}\0{int(executable)}\0".encode())
        # A link is hashed as its target's name: that is what Docker receives.
        digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        digest.update(b"\0")
    for key in sorted(build_args):
        digest.update(f"arg:{key}={build_args[key]}\0".encode())
    return digest.hexdigest()[:12]


class ImageSpec:
    """What to build: a repository name, its context folder and build arguments."""

    def __init__(self, name: str, context: Path, build_args=None, labels=None):
        self.name = name
        self.context = context
        self.build_args: dict[str, str] = dict(build_args or {})
        self.labels: dict[str, str] = dict(labels or {})

    @property
    def hash(self) -> str:
        return context_hash(self.context, self.build_args)

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.hash}"


def experiment_image(exp_dir: Path, base_image: str, extra_args: dict[str, str] | None = None) -> ImageSpec:
    """The image of an experiment; BASE_IMAGE is a build argument only when it is set."""
    args = dict(extra_args or {})
    if base_image:
        args.setdefault("BASE_IMAGE", base_image)
    return ImageSpec(exp_dir.name, exp_dir / "docker", args, {"scaffold.experiment": exp_dir.name})


def exists(client, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def ensure(client, spec: ImageSpec, no_cache: bool = False, quiet: bool = False, out=None) -> str:
    """Return the image tag, building it first unless an image with that content hash exists.

    `client` may be None: the SDK is then connected only when the fast existence check cannot
    answer or a build is needed.
    """
    from scaffold import docker_api

    out = out or sys.stderr
    tag = spec.tag
    known = None if no_cache else docker_api.image_exists(tag)
    if known is None and not no_cache:
        client = client or _connect()
        known = exists(client, tag)
    if known and not no_cache:
        if not quiet:
            print(f"image {tag} is up to date", file=out)
        return tag
    client = client or _connect()
    from scaffold import locks  # only when building: the up-to-date path above stays import-light

    # Another driver building the same tag right now: wait for it, then use its image.
    with locks.exclusive(f"build {tag}"):
        if not no_cache and exists(client, tag):
            if not quiet:
                print(f"image {tag} is up to date (built meanwhile by another command)", file=out)
            return tag
        print(f"building {tag} from {spec.context}", file=out)
        _build(client, spec, tag, no_cache, out)
        client.images.get(tag).tag(spec.name, "latest")
    print(f"built {tag} (also tagged {spec.name}:latest)", file=out)
    return tag


def _connect():
    from scaffold.docker_client import connect

    return connect()


def _build(client, spec: ImageSpec, tag: str, no_cache: bool, out) -> None:
    """Stream the build's progress; on failure, name the step that failed and its last output."""
    from docker.errors import APIError

    labels = {**spec.labels, HASH_LABEL: tag.split(":", 1)[1]}
    step, recent = "", []
    try:
        stream = client.api.build(
            path=str(spec.context),
            tag=tag,
            buildargs=spec.build_args,
            labels=labels,
            rm=True,
            forcerm=True,
            pull=False,
            nocache=no_cache,
            decode=True,
        )
        for chunk in stream:
            text = chunk.get("stream", "")
            if text:
                out.write(text)
                out.flush()
                for line in text.splitlines():
                    if line.startswith("Step "):
                        step, recent = line.strip(), []
                    elif line.strip() and not _builder_chatter(line):
                        recent = (recent + [line.strip()])[-5:]
            if "error" in chunk:
                detail = chunk.get("error", "").strip().splitlines()[-1]
                context = f" ({recent[-1]})" if recent and recent[-1] not in detail else ""
                where = f" at {step}" if step else ""
                raise ScaffoldError(f"build of {spec.name} failed{where}: {detail}{context}")
    except APIError as exc:
        raise ScaffoldError(f"build of {spec.name} failed: {exc.explanation or exc}") from None


def _builder_chatter(line: str) -> bool:
    """The builder's own bookkeeping lines, which say nothing about why a step failed."""
    text = line.strip()
    return text.startswith(("---> ", "Removing intermediate container", "Running in ")) or text == "--->"
