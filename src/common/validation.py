"""Schema checks for raw trips: name bad columns, count bad rows, and keep only rows in a city's ranges."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.cities import City
from common.errors import DataError
from common.schema import COLUMNS, DTYPES


@dataclass
class Report:
    """What validation found: rows in and kept, and rows dropped per reason (a row may fail several)."""

    rows_in: int
    rows_kept: int
    dropped_by_column: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return self.rows_in - self.rows_kept

    def summary(self) -> str:
        """One line for logs."""
        reasons = ", ".join(f"{name}: {count}" for name, count in self.dropped_by_column.items() if count)
        return f"kept {self.rows_kept} of {self.rows_in} rows, dropped {self.rows_dropped}" + (
            f" ({reasons})" if reasons else ""
        )


def missing_columns(present: list[str], columns: list[str]) -> str:
    """'' when `present` holds every one of `columns`; else a message naming the missing ones, with hints."""
    have = set(present)
    missing = [c for c in columns if c not in have]
    if not missing:
        return ""
    unknown = [c for c in present if c not in columns]
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.75)
        hints.append(f"{name} (found {close[0]!r}?)" if close else name)
    return f"missing column(s): {', '.join(hints)}"


def check_columns(frame: pd.DataFrame, source: str, columns: list[str] = COLUMNS) -> None:
    """Raise DataError naming missing columns, with the likely misspelling for each."""
    problem = missing_columns([str(c) for c in frame.columns], columns)
    if problem:
        raise DataError(f"{source}: {problem}")


def to_numeric(frame: pd.DataFrame, source: str, columns: list[str] = COLUMNS) -> pd.DataFrame:
    """The schema's columns as float64; raise DataError naming columns that hold non-numeric values."""
    out = {}
    problems = []
    for name in columns:
        values = frame[name]
        if values.dtype == bool:
            values = values.astype(np.int64)
        numeric = pd.to_numeric(values, errors="coerce")
        bad = numeric.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            first = values[bad].iloc[0]
            problems.append(f"{name} ({int(bad.sum())} rows, e.g. {first!r} in row {int(bad.idxmax()) + 2})")
        out[name] = numeric.astype(np.float64)
    if problems:
        raise DataError(f"{source}: non-numeric values in column(s): {'; '.join(problems)}")
    return pd.DataFrame(out, index=frame.index)


def validate(frame: pd.DataFrame, city: City, source: str) -> tuple[pd.DataFrame, Report]:
    """Rows of `frame` that fit the schema and the city's ranges, typed per the schema, and a Report.

    Missing columns and non-numeric values raise DataError (the file is wrong); empty cells and
    out-of-range values drop the row (the trip is wrong). If no row survives, DataError says why.
    """
    check_columns(frame, source)
    numeric = to_numeric(frame, source)
    ranges = city.ranges()
    keep = np.ones(len(numeric), dtype=bool)
    dropped = {}
    for name in COLUMNS:
        low, high = ranges[name]
        values = numeric[name].to_numpy()
        ok = (values >= low) & (values <= high)  # NaN compares False
        if DTYPES[name] == "int64":
            ok &= np.floor(values) == values
        dropped[name] = int((~ok).sum())
        keep &= ok
    report = Report(
        rows_in=len(frame),
        rows_kept=int(keep.sum()),
        dropped_by_column=dropped,
        extra_columns=[str(c) for c in frame.columns if c not in COLUMNS],
    )
    if report.rows_kept == 0:
        worst = sorted(((n, c) for c, n in dropped.items() if n), reverse=True)[:5]
        detail = ", ".join(f"{c}: {n}" for n, c in worst)
        raise DataError(f"{source}: all {report.rows_in} rows are out of range or empty ({detail})")
    clean = numeric[keep].astype(DTYPES).reset_index(drop=True)
    return clean, report
