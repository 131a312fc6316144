"""Experiments: discovery, name rules, and `new-exp` from the template zip or another experiment."""

import keyword
import os
import re
import shutil
import stat
import tempfile
from collections import Counter
from pathlib import Path, PurePosixPath

from scaffold import pause
from scaffold.errors import ScaffoldError, disk_full
from scaffold.paths import Repo

NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")  # used with fullmatch: "$" would also match before a final "\n"
RESERVED = {"common", "data", "tests", "docker", "notebooks"}
PLACEHOLDER = "__EXP__"
COMPUTE_PLACEHOLDER = "__COMPUTE__"
# Never copied from one experiment into another by FROM=.
COPY_IGNORE = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints", "outputs", "mlruns", ".env")


def discover(repo: Repo) -> list[str]:
    """Experiment folders: src/<name>/ with a main.py, minus common and hidden folders."""
    if not repo.src.is_dir():
        return []
    return sorted(
        p.name
        for p in repo.src.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in RESERVED and (p / "main.py").is_file()
    )


def validate_name(name: str) -> None:
    """A new experiment's name must be a lowercase Python identifier usable as an image name."""
    if not name:
        raise ScaffoldError("EXP is required, e.g. make new-exp EXP=my_experiment")
    if keyword.iskeyword(name) or not NAME_RULE.fullmatch(name):
        raise ScaffoldError(
            f"invalid experiment name {name!r}: use a lowercase Python identifier "
            "(letters, digits, underscores; starting with a letter), not a keyword"
        )
    if name in RESERVED:
        raise ScaffoldError(f"invalid experiment name {name!r}: it is reserved for the repository")


def require(repo: Repo, name: str) -> Path:
    """The folder of an existing experiment, or a one-line error listing the known ones."""
    known = discover(repo)
    if not name:
        raise ScaffoldError(
            f"EXP is required, e.g. EXP={known[0] if known else 'my_experiment'}; known: {_listing(known)}"
        )
    if name not in known:
        raise ScaffoldError(f"unknown experiment {name!r}; known: {_listing(known)}")
    return repo.experiment(name)


def _listing(known: list[str]) -> str:
    return ", ".join(known) if known else "none (create one with make new-exp EXP=name)"


def new_experiment(repo: Repo, name: str, source: str = "", compute: str = "cpu-cluster") -> Path:
    """Create src/<name> atomically: build it in a hidden temporary folder, then rename it into place."""
    validate_name(name)
    target = repo.experiment(name)
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"experiment {name!r} already exists at src/{name}")
    if source:
        source_dir = require(repo, source)
    elif not repo.template_zip.is_file():
        raise ScaffoldError(f"template not found: {repo.template_zip.name}")
    else:
        entries = _read_template(repo.template_zip)
    repo.src.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=repo.src))
    try:
        work = staging / name
        try:
            if source:
                _copy_experiment(source_dir, work)
                _rename_derived(work, source, name)
            else:
                _extract_template(repo.template_zip, entries, work)
                _rewrite(
                    work, lambda text: text.replace(PLACEHOLDER, name).replace(COMPUTE_PLACEHOLDER, compute)
                )
        except OSError as exc:
            raise ScaffoldError(_creation_problem(exc, name)) from None
        pause.point("new-exp:staged")
        try:
            os.rename(work, target)
        except OSError:
            raise ScaffoldError(f"experiment {name!r} already exists at src/{name}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _creation_problem(exc: OSError, name: str) -> str:
    """One line for a failed copy (the staging folder is removed, so nothing was created)."""
    if disk_full(exc):
        return f"no space left on the device while creating src/{name}; nothing was created"
    return f"cannot create src/{name}: {exc.strerror or exc}; nothing was created"


def _read_template(zip_path: Path) -> list:
    """Every entry of the template with its safe relative path; refuses the whole zip on one bad entry."""
    import zipfile

    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ScaffoldError(f"{zip_path.name} is not a valid zip file") from None
    entries = []
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ScaffoldError(f"{zip_path.name}: refusing symlink entry {info.filename!r}")
        name = info.filename.replace("\\", "/")
        relative = PurePosixPath(name)  # without "." and empty parts
        if relative.is_absolute() or ".." in relative.parts or re.match(r"^[A-Za-z]:", name):
            raise ScaffoldError(
                f"{zip_path.name}: refusing entry {info.filename!r} outside the experiment folder"
            )
        if relative.parts:
            entries.append((info, relative))
    # Two entries for one path, or a file where a folder must be, would fail halfway through unpacking.
    files = Counter(relative for info, relative in entries if not info.is_dir())
    folders = {relative for info, relative in entries if info.is_dir()}.union(*(r.parents for r in files))
    for relative, count in files.items():
        if count > 1 or relative in folders:
            raise ScaffoldError(
                f"{zip_path.name}: refusing entry {relative.as_posix()!r}: it occurs twice "
                "(or as both a file and a folder)"
            )
    return entries


def _extract_template(zip_path: Path, entries, dest: Path) -> None:
    """Unpack checked entries of the template into `dest`."""
    import zipfile
    import zlib

    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        for info, relative in entries:
            out = dest.joinpath(*relative.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(out, "xb") as dst:
                    shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
                # A damaged, encrypted or oddly compressed entry: the zip is unusable, say which entry.
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ScaffoldError(f"{zip_path.name}: cannot unpack {info.filename!r} ({detail})") from None
            if (info.external_attr >> 16) & 0o111:
                out.chmod(0o755)


def _copy_experiment(source: Path, dest: Path) -> None:
    """Copy an experiment's files, leaving out caches and outputs; links pointing outside it are refused."""
    root = source.resolve()
    for path in source.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise ScaffoldError(
                f"refusing to copy {path.relative_to(source)}: it links outside src/{source.name}"
            )

    def copy(src, dst):  # stops at the first failure: copytree would collect OSErrors and carry on copying
        try:
            return shutil.copy2(src, dst)
        except OSError as exc:
            raise ScaffoldError(_creation_problem(exc, dest.name)) from None

    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True, copy_function=copy
    )


def _text_files(folder: Path):
    """(path, text) of every UTF-8 text file under `folder`, links left alone."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            yield path, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def _rewrite(folder: Path, change) -> None:
    """Apply `change` (text -> text) to every UTF-8 text file under `folder`."""
    for path, text in _text_files(folder):
        updated = change(text)
        if updated != text:
            path.write_text(updated, encoding="utf-8")


def _rename_derived(folder: Path, old: str, new: str) -> None:
    """FROM=: every name derived from the source's (model, data asset, experiment_name, display names,
    paths, file names) takes the new experiment's, so the copy has its own data and registered model."""
    # The old name where it starts a name, in snake or kebab case: `london_taxi_fare`,
    # `azureml:london_taxi_raw@latest`, `london-taxi-endpoint` (Azure endpoint names allow no `_`); not
    # `greater_london_taxi` or `london_taxis`, which are other names.
    # Kebab case first: for a name without `_`, old: new is the entry that stays.
    spellings = {old.replace("_", "-"): new.replace("_", "-"), old: new}
    pattern = re.compile(rf"(?<![A-Za-z0-9_-])({'|'.join(map(re.escape, spellings))})(?![A-Za-z0-9])")

    def rename(text: str) -> str:
        return pattern.sub(lambda match: spellings[match[1]], text)

    _rewrite(folder, rename)
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):  # deepest first
        if (renamed := rename(path.name)) != path.name:
            path.rename(path.with_name(renamed))


def left_alone(repo: Repo, name: str, old: str) -> list[str]:
    """`file:line: text` for each mention of the old name that FROM= did not rename (any case, `_`, `-` or
    nothing between its words), for the user to check."""
    words = [re.escape(word) for word in old.split("_")]
    mention = re.compile("[_-]?".join(words), re.IGNORECASE)
    return _lines(repo, _text_files(repo.experiment(name)), mention)


ENDPOINT_NAME = re.compile(r"^\s*endpoint_name:\s*['\"]?([A-Za-z0-9-]+)", re.MULTILINE)


def endpoints_kept(repo: Repo, name: str, old: str) -> list[str]:
    """`file:line: text` for each line of the copy's YAML files naming an endpoint of the experiment it was
    copied from (the `endpoint_name:` values of its YAML files): deploying it would replace the original's."""
    names = {found for _, text in _yaml_files(repo.experiment(old)) for found in ENDPOINT_NAME.findall(text)}
    if not names:
        return []
    mention = re.compile(rf"(?<![A-Za-z0-9-])({'|'.join(map(re.escape, names))})(?![A-Za-z0-9-])")
    return _lines(repo, _yaml_files(repo.experiment(name)), mention)


def _yaml_files(folder: Path):
    return ((path, text) for path, text in _text_files(folder) if path.suffix in (".yml", ".yaml"))


def _lines(repo: Repo, files, pattern: re.Pattern) -> list[str]:
    """`file:line: text` of each line of `files` ((path, text) pairs) that `pattern` finds something in."""
    return [
        f"{path.relative_to(repo.root)}:{number}: {line.strip()}"
        for path, text in files
        for number, line in enumerate(text.splitlines(), start=1)
        if pattern.search(line)
    ]
