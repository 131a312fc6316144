"""Loading and validation: clear errors naming files, columns and row counts."""

from __future__ import annotations

import pandas as pd
import pytest

from common.cities import NYC
from common.data import load_frame
from common.errors import DataError
from common.generator import generate_frame, write_trips
from common.validation import validate


@pytest.fixture
def trips():
    return generate_frame(NYC, 200, seed=4)


def test_loads_file_and_folder(tmp_path):
    write_trips(tmp_path / "a" / "one.parquet", NYC, 100, seed=1)
    write_trips(tmp_path / "a" / "nested" / "two.csv", NYC, 50, seed=2)
    assert len(load_frame(tmp_path / "a")) == 150
    assert len(load_frame(tmp_path / "a" / "one.parquet")) == 100


def test_missing_empty_and_unsupported(tmp_path):
    with pytest.raises(DataError, match="no such file or folder: .*nope.csv"):
        load_frame(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv: file is empty"):
        load_frame(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("distance,cost\n")
    with pytest.raises(DataError, match="header.csv: no data rows"):
        load_frame(tmp_path / "header.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="folder has no .csv or .parquet files"):
        load_frame(tmp_path / "folder")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unsupported file type .json"):
        load_frame(tmp_path / "x.json")


def test_missing_and_misspelled_columns_are_named(trips):
    bad = trips.drop(columns=["vendor"]).rename(columns={"dropoff_longitude": "dropof_longitude"})
    with pytest.raises(DataError) as error:
        validate(bad, NYC, "raw.csv")
    message = str(error.value)
    assert message.startswith("raw.csv: missing column(s): ")
    assert "dropoff_longitude (found 'dropof_longitude'?)" in message and "vendor" in message


def test_non_numeric_values_are_named_and_counted(trips):
    bad = trips.astype({"distance": object, "passengers": object})
    bad.loc[[3, 7], "distance"] = "abc"
    bad.loc[5, "passengers"] = "two"
    with pytest.raises(DataError, match=r"distance \(2 rows, e.g. 'abc' in row 5\); passengers \(1 rows"):
        validate(bad, NYC, "raw.csv")


def test_out_of_range_rows_dropped_and_counted(trips):
    bad = trips.copy()
    bad.loc[0:9, "pickup_latitude"] = 0.0
    bad.loc[5:14, "cost"] = -1.0
    bad.loc[20, "passengers"] = None
    clean, report = validate(bad, NYC, "raw.csv")
    assert report.rows_in == 200 and report.rows_kept == 184 and len(clean) == 184
    assert report.dropped_by_column["pickup_latitude"] == 10 and report.dropped_by_column["cost"] == 10
    assert report.dropped_by_column["passengers"] == 1
    assert "dropped 16" in report.summary()
    assert clean.dtypes["passengers"] == "int64"


def test_all_rows_out_of_range(trips):
    bad = trips.assign(distance=0.0)
    with pytest.raises(DataError, match="all 200 rows are out of range or empty \\(distance: 200\\)"):
        validate(bad, NYC, "raw.csv")


def test_extra_columns_are_reported_not_fatal(trips):
    clean, report = validate(trips.assign(tip=1.0), NYC, "raw.csv")
    assert report.extra_columns == ["tip"] and "tip" not in clean.columns


def test_metrics():
    from common.metrics import regression_metrics

    result = regression_metrics(pd.Series([1.0, 2.0, 3.0]), [1.0, 2.0, 5.0])
    assert result == pytest.approx({"r2": -1.0, "mse": 4 / 3, "rmse": (4 / 3) ** 0.5, "mae": 2 / 3})
