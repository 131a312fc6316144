"""experiment_template.zip is built from experiment_template/ (the editable source) by `make template`."""

import zipfile
from pathlib import Path

SKIP = {"__pycache__", ".pytest_cache"}


def members(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not SKIP.intersection(p.relative_to(folder).parts)
    )


def build_zip(folder: Path, archive: Path) -> int:
    """Write a byte-for-byte reproducible zip of `folder` (fixed dates, modes); return the number of files."""
    files = members(folder)
    with zipfile.ZipFile(archive, "w") as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return len(files)


def zip_contents(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
