"""Staging for Azure ML: the experiment's files plus common/ in a temporary folder, removed when `staged` ends
(also on errors, Ctrl-C and SIGTERM); nothing is written under src/. The snapshot is what `code: .` uploads
and holds the environment's build context, so the YAML is loaded from it.

What goes in follows the SDK's own ignore file and matcher (`.amlignore`, else `.gitignore`), applied where
the SDK will see each file (`common/x.py`), plus the rules of docs/azure.md ("make job"): never secrets
(`.env`, `.env.*`) nor `__pycache__` at any depth (the SDK drops those from component code too:
azure.ai.ml.entities._component.code.ComponentIgnoreFile), nor local-only folders at the top (a deeper
`data/` package is code, as with `az ml job create`). Links are not followed out of their folder; `skipped`
says what was left out and why, for the dry-run listing.
"""

import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from scaffold import pause
from scaffold.errors import ScaffoldError, disk_full

# Never uploaded from the top of the experiment folder: local data, tracking stores, environments, git.
TOP_LEVEL_DIRS = {"data", "mlruns", ".venv", ".venvs", ".git", ".pytest_cache", ".ipynb_checkpoints"}
COMMON = "common"


@dataclass
class Snapshot:
    """A staged snapshot: `root` holds the files; paths below are POSIX paths relative to `root`."""

    root: Path
    files: dict[str, int] = field(default_factory=dict)  # path -> size in bytes
    build_only: set[str] = field(default_factory=set)  # staged for the Docker build, not in the code upload
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) worth telling the user
    sources: dict[str, Path] = field(default_factory=dict, repr=False)  # path -> file it is copied from

    @property
    def size(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        return f"snapshot: {len(self.files)} files, {self.size / 1024:.1f} KiB"

    def listing(self) -> str:
        note = "  (build context only: the ignore file keeps it out of the code)"
        lines = [
            f"  {size:>10}  {path}{note if path in self.build_only else ''}"
            for path, size in sorted(self.files.items())
        ]
        lines += [f"  {'skipped':>10}  {path} ({reason})" for path, reason in self.skipped]
        return "\n".join(lines)


def always_excluded(relative: PurePosixPath, is_dir: bool) -> str:
    """Why the project's own rules leave `relative` (a snapshot path) out, or "" to keep it."""
    name = relative.name
    if is_dir and name == "__pycache__":
        return "Python cache"
    if is_dir and name in TOP_LEVEL_DIRS and len(relative.parts) == 1:
        return f"top-level {name}/ never goes to Azure ML"
    if not is_dir and (name == ".env" or name.startswith(".env.")):
        return "secrets never go to Azure ML"
    return ""


def _ignore_file(exp_dir: Path):
    """The SDK's own ignore file for the experiment folder (.amlignore, else .gitignore, else none). Not
    public: pinned by tests/test_job.py::test_sdk_private_names_still_exist (azure-ai-ml 1.35.2)."""
    from azure.ai.ml._utils._asset_utils import get_ignore_file

    return get_ignore_file(exp_dir)


def collect(exp_dir: Path, common_dir: Path | None, force: list[str] | None = None) -> Snapshot:
    """Decide what goes in, without copying anything. `force` paths (the YAML, the Docker build context)
    are kept even when the ignore file excludes them: the SDK still needs them, and still keeps them out
    of the code upload because the staged ignore file says so."""
    exp_dir = exp_dir.resolve()
    if (exp_dir / COMMON).exists() and common_dir is not None:
        raise ScaffoldError(f"src/{exp_dir.name}/{COMMON} would hide src/{COMMON} in the snapshot: rename it")
    ignore = _ignore_file(exp_dir)
    ignored_by = f"excluded by {ignore.path.name}" if ignore.exists() else ""
    forced = [PurePosixPath(p) for p in (force or [])]
    snapshot = Snapshot(root=Path())

    def walk(source_root: Path, prefix: PurePosixPath) -> None:
        for dirpath, dirnames, filenames in os.walk(source_root):
            here = Path(dirpath)
            base = prefix / here.relative_to(source_root).as_posix()
            kept = []
            for name in sorted(dirnames):
                relative = base / name
                if reason := always_excluded(relative, is_dir=True):
                    snapshot.skipped.append((f"{relative.as_posix()}/", reason))
                elif (here / name).is_symlink():
                    outside = "" if (here / name).resolve().is_relative_to(source_root) else " outside"
                    snapshot.skipped.append((relative.as_posix(), f"link to a folder{outside}, not followed"))
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                path, relative = here / name, base / name
                key = relative.as_posix()
                if reason := always_excluded(relative, is_dir=False):
                    snapshot.skipped.append((key, reason))
                    continue
                if path.is_symlink():
                    path = path.resolve()
                    if not path.is_relative_to(source_root) or not path.is_file():
                        snapshot.skipped.append((key, "link pointing outside, not followed"))
                        continue
                elif not path.is_file():
                    continue
                # Matched where the SDK will see it: <snapshot>/<relative>, with the ignore file at the top.
                if ignore.is_file_excluded((exp_dir / relative).as_posix()):
                    if not any(relative == f or f in relative.parents for f in forced):
                        snapshot.skipped.append((key, ignored_by))
                        continue
                    snapshot.build_only.add(key)
                snapshot.sources[key] = path
                snapshot.files[key] = path.stat().st_size

    walk(exp_dir, PurePosixPath())
    if common_dir is not None and common_dir.is_dir():
        walk(common_dir.resolve(), PurePosixPath(COMMON))
    return snapshot


def source_of(exp_dir: Path, common_dir: Path | None, relative: str) -> Path:
    """The file a snapshot path is staged from: `common/...` from src/common, the rest from the experiment."""
    parts = PurePosixPath(relative).parts
    if common_dir is not None and parts[:1] == (COMMON,):
        return common_dir.joinpath(*parts[1:])
    return exp_dir.joinpath(*parts)


@contextmanager
def staged(exp_dir: Path, common_dir: Path | None, force: list[str] | None = None) -> Iterator[Snapshot]:
    """Copy the snapshot into <tmp>/scaffold-<exp>-*/<exp>/ and remove it all when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"scaffold-{exp_dir.name}-", ignore_cleanup_errors=True) as temp:
        planned = collect(exp_dir, common_dir, force)
        root = Path(temp) / exp_dir.name
        root.mkdir()
        try:
            for relative, source in planned.sources.items():
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                # Azure ML reads the snapshot, nothing writes it: keep owner write for clean removal.
                target.chmod(stat.S_IMODE(target.stat().st_mode) | stat.S_IWUSR)
        except OSError as exc:  # one line; a full disk says where and what to do
            where = Path(temp).parent
            if disk_full(exc):
                raise ScaffoldError(
                    f"no space left on the device while staging the snapshot in {where}; "
                    "free some space or set TMPDIR to a larger folder"
                ) from None
            raise ScaffoldError(
                f"cannot stage the snapshot in {where}: {exc.strerror or exc} ({exc.filename or ''})"
            ) from None
        planned.root = root
        pause.point("job:staged")
        yield planned
