"""Azure ML jobs: submission from a staged snapshot, and streaming its logs."""

from __future__ import annotations

import os
import posixpath
import secrets
import sys
import time
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator

from scaffold import experiments, gitinfo, images, snapshot
from scaffold.azure import job_yaml, workspace
from scaffold.config import Config
from scaffold.errors import ScaffoldError
from scaffold.paths import Repo


def job_file(exp_dir: Path, file: str) -> Path:
    """FILE relative to the experiment folder (or to the current folder), and inside the experiment."""
    file = file or "azure-ml-job.yaml"
    for candidate in (exp_dir / file, Path.cwd() / file):  # an absolute FILE is both
        if candidate.is_file():
            resolved = candidate.resolve()
            if not resolved.is_relative_to(exp_dir.resolve()):
                raise ScaffoldError(
                    f"FILE {file} is outside src/{exp_dir.name}: job YAML files live in the experiment"
                )
            return resolved
    raise ScaffoldError(f"no job file {file} in src/{exp_dir.name}")


def default_name(exp: str, git: gitinfo.GitInfo) -> str:
    """<exp>-<UTC timestamp>-<6 random hex digits>-<short sha>; a valid Azure ML job name, and two jobs
    started in the same second do not collide."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return "-".join(part for part in (exp, stamp, secrets.token_hex(3), git.short) if part)


@contextmanager
def staged_job(repo: Repo, exp: str, file: str, set_overrides: list[str], err) -> Iterator[tuple]:
    """(snapshot, job as the SDK loaded it, display name) of src/EXP/FILE, staged as Azure ML gets it."""
    exp_dir = experiments.require(repo, exp)
    yaml_path = job_file(exp_dir, file)
    relative = PurePosixPath(yaml_path.relative_to(exp_dir.resolve()).as_posix())
    display = f"src/{exp}/{relative}"
    data = job_yaml.read_yaml(yaml_path, display)
    given = job_yaml.set_paths(
        job_yaml.parse_set(set_overrides), yaml_path.parent, posixpath.dirname(display)
    )
    overrides = job_yaml.local_input_overrides(data, yaml_path.parent) + given
    force = job_yaml.staged_paths(data, relative, _component_reader(repo, exp_dir))
    with snapshot.staged(exp_dir, repo.common, force) as snap:
        print(f"{snap.summary()} (src/{exp} + common/)", file=err)
        job = job_yaml.load_job(
            snap.root / relative, overrides, display, replace=(str(snap.root), f"src/{exp}")
        )
        job_yaml.check_set_keys(data, job, [key for item in given for key in item], display)
        root = snap.root.resolve()  # code paths are resolved: compare like with like (/tmp may be a link)
        for path in job_yaml.code_paths(job):
            if not path.is_relative_to(root):
                raise ScaffoldError(
                    f"{display}: code must be inside src/{exp} (the snapshot is src/{exp} + common/)"
                )
            if path != root:
                print(f"warning: code is {path.relative_to(root)}/, which does not contain common/", file=err)
        yield snap, job, display


def submit_job(repo: Repo, config: Config, exp: str, file: str, options) -> int:
    """Stage, validate, then (unless --dry-run) submit; see docs/azure.md. `options`: the XARGS of `job`."""
    exp_dir = experiments.require(repo, exp)
    git = gitinfo.describe(repo.root, [exp_dir, repo.common])
    tags = git.tags()
    if (exp_dir / "docker" / "Dockerfile").is_file():  # hashed with no build arguments, as Azure ML builds it
        tags["image_context_hash"] = images.context_hash(exp_dir / "docker", {})
    with staged_job(repo, exp, file, options.overrides, sys.stderr) as (snap, job, _):
        job.name = options.name or job.name or default_name(exp, git)
        job.experiment_name = job.experiment_name or exp
        job.tags = {**(job.tags or {}), **tags}
        if options.dry_run:
            print(f"# dry run: nothing submitted. Snapshot of src/{exp} + common/, staged in {snap.root}")
            print("# (removed on exit; the paths below point there):")
            for line in snap.listing().splitlines():
                print(f"#{line}")
            print(job_yaml.as_yaml(job))
            return 0
        client = workspace.ml_client(repo, config)
        print(f"submitting {job.name} to experiment {job.experiment_name}", file=sys.stderr)
        created = workspace.sdk_call("job submission", lambda: client.jobs.create_or_update(job))

    print(f"job: {created.name}")
    url = getattr(created, "studio_url", None) or ""
    print(f"studio: {url}")
    if options.web and url:
        import webbrowser

        webbrowser.open(url)
    if options.stream:
        return stream(client, created.name, url, sys.stderr)
    return 0


def _component_reader(repo: Repo, exp_dir: Path):
    """Reads a component file named by its snapshot path from where it is staged from (src/common for
    `common/...`); None when there is none. YAML errors name the file in src/."""

    def read(path: str) -> dict | None:
        source = snapshot.source_of(exp_dir, repo.common, path)
        if not source.is_file():
            return None
        display = Path(os.path.relpath(source, repo.root)).as_posix()
        return job_yaml.read_yaml(source, display)

    return read


def stream(client, name: str, url: str, err) -> int:
    """Stream the job's logs; the exit code is 0 only when the job completed. Streaming can outlast the
    sign-in token (a CI token lasts about an hour): that ends the streaming, not the job, so the message
    says where to follow it rather than "no usable Azure credential"."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    try:
        try:
            client.jobs.stream(name)
        except ClientAuthenticationError:
            raise
        except AzureError as exc:  # a failed job also raises here: its status decides the exit code
            print(f"warning: log streaming failed: {workspace.one_line(exc)}", file=err)
        status = client.jobs.get(name).status
    except ClientAuthenticationError as exc:
        where = f"in the studio ({url}) or " if url else ""
        raise ScaffoldError(
            f"the Azure sign-in expired while streaming job {name} ({workspace.one_line(exc)}); "
            f"the job keeps running in Azure ML: follow it {where}with "
            f"`az ml job stream -n {name} -g <resource group> -w <workspace>` once signed in again",
            1,
        ) from None
    except AzureError as exc:
        raise ScaffoldError(f"job status failed: {workspace.one_line(exc)}") from None
    except KeyboardInterrupt:
        print(f"stopped streaming; job {name} keeps running: {url}", file=err)
        return 130
    if status != "Completed":
        raise ScaffoldError(f"job {name} finished with status {status}", 1)
    print(f"job {name} completed", file=err)
    return 0
