"""Load taxi trips from a CSV or Parquet file, or from a folder of them (how Azure ML mounts a uri_folder)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from common.errors import DataError

SUFFIXES = (".csv", ".parquet", ".pq")


def data_files(path: str | Path) -> list[Path]:
    """The data files at `path`: the file itself, or every CSV/Parquet file under a folder, sorted."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file or folder: {path}")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .csv or .parquet")
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise DataError(f"{path}: folder has no .csv or .parquet files")
    return files


def load_frame(path: str | Path) -> pd.DataFrame:
    """All rows at `path` as one DataFrame; empty or unreadable files raise DataError naming the file."""
    frames = [_read(file) for file in data_files(path)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    return frame


def _read(file: Path) -> pd.DataFrame:
    """One file, with pandas/pyarrow errors turned into one-line DataErrors."""
    if file.stat().st_size == 0:
        raise DataError(f"{file}: file is empty")
    try:
        if file.suffix.lower() == ".csv":
            return pd.read_csv(file, low_memory=False)
        return pd.read_parquet(file)
    except pd.errors.EmptyDataError:
        raise DataError(f"{file}: file is empty") from None
    except Exception as exc:  # pandas and pyarrow raise many types for malformed files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{file}: cannot read ({first_line})") from None
