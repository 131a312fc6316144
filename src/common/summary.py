"""Small, dependency-light helpers for describing a table, shared by the template experiment."""

from __future__ import annotations


def numeric_summary(frame) -> dict[str, dict[str, float]]:
    """Mean, min and max of every numeric column of a pandas DataFrame, as plain floats."""
    numeric = frame.select_dtypes("number")
    return {
        column: {
            "mean": float(numeric[column].mean()),
            "min": float(numeric[column].min()),
            "max": float(numeric[column].max()),
        }
        for column in numeric.columns
    }
