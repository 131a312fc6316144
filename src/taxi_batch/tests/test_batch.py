"""The batch driver end to end through local.py: predictions per row, the append_row output file, unreadable
files and the threshold."""

from __future__ import annotations

import pandas as pd
import pytest

from common.cities import NYC
from common.generator import generate_frame, write_trips
from common.schema import FEATURES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "input"
    write_trips(folder / "a.parquet", NYC, 300, seed=1)
    write_trips(folder / "b.csv", NYC, 200, seed=2)
    reordered = generate_frame(NYC, 100, seed=3)
    reordered[list(reversed(reordered.columns))].to_csv(folder / "c_reordered.csv", index=False)
    return folder


def run_local(tiny_model, folder, tmp_path, *extra):
    import local

    root, _ = tiny_model
    argv = ["--model-dir", str(root), "--input", str(folder), "--output", str(tmp_path / "out"), *extra]
    return local.main(argv), tmp_path / "out" / "predictions.csv"


def test_one_prediction_per_row_in_mini_batches(tiny_model, files, tmp_path, capsys):
    import batch_driver

    code, target = run_local(tiny_model, files, tmp_path, "--mini-batch-size", "2", "--processes", "1")
    assert code == 0
    out = capsys.readouterr().out
    assert "mini-batches of 2 file(s), 1 process(es)" in out
    assert "local: 600 rows from 3 file(s)" in out and "failed files: 0 (threshold 2)" in out
    assert "rows/s" in out
    predictions = batch_driver.read_predictions(target)
    assert list(predictions.columns) == ["file", "row", "prediction"]
    assert predictions.groupby("file").size().to_dict() == {
        "a.parquet": 300,
        "b.csv": 200,
        "c_reordered.csv": 100,
    }
    _, model = tiny_model
    for name in ("a.parquet", "c_reordered.csv"):
        path = files / name
        frame = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
        expected = model.predict(frame[FEATURES])
        got = predictions[predictions.file == name].sort_values("row")["prediction"].to_numpy()
        assert got == pytest.approx(expected)


def test_output_is_what_append_row_writes(tiny_model, files, tmp_path, monkeypatch):
    """Azure ML appends run()'s rows without a header, values joined by a space (Learn: "Use batch endpoints
    for batch scoring" reads predictions.csv with header=None, sep=' '; "Author scoring scripts for batch
    deployments": column names are not included in the output file)."""
    import batch_driver

    code, target = run_local(tiny_model, files, tmp_path, "--mini-batch-size", "2", "--processes", "2")
    assert code == 0
    lines = target.read_text().splitlines()
    assert len(lines) == 600, "one line per scored row and no header line"
    for line in lines:
        name, row, prediction = line.split(" ")
        assert name in {"a.parquet", "b.csv", "c_reordered.csv"} and int(row) >= 0 and float(prediction) > 0

    root, _ = tiny_model
    monkeypatch.setenv(batch_driver.MODEL_DIR_VARIABLE, str(root))
    monkeypatch.setenv(batch_driver.THRESHOLD_VARIABLE, "-1")
    batch_driver.init()
    inputs = sorted(str(path) for path in files.iterdir())
    returned = pd.concat([batch_driver.run(inputs[:2]), batch_driver.run(inputs[2:])], ignore_index=True)
    # The rows run() returned, mini-batch after mini-batch, each in run()'s order.
    pd.testing.assert_frame_equal(batch_driver.read_predictions(target), returned)


def test_unreadable_files_under_the_threshold_are_reported(tiny_model, files, tmp_path, capfd):
    import batch_driver

    (files / "broken.parquet").write_bytes(b"not parquet at all")
    (files / "empty.csv").write_text("")
    code, target = run_local(tiny_model, files, tmp_path, "--error-threshold", "2", "--processes", "2")
    assert code == 0
    captured = capfd.readouterr()
    assert (
        "local: 600 rows from 3 file(s)" in captured.out and "failed files: 2 (threshold 2)" in captured.out
    )
    assert "failed: broken.parquet: cannot read (" in captured.out
    assert "failed: empty.csv: file is empty" in captured.out
    assert "batch: failed broken.parquet" in captured.err
    assert len(batch_driver.read_predictions(target)) == 600


def test_failures_over_the_threshold_fail_the_run(tiny_model, files, tmp_path, capsys):
    (files / "broken.parquet").write_bytes(b"not parquet at all")
    frame = generate_frame(NYC, 50, seed=9)
    frame.drop(columns="vendor").to_csv(files / "d_missing.csv", index=False)
    frame.assign(distance="far").to_csv(files / "e_text.csv", index=False)
    code, target = run_local(tiny_model, files, tmp_path, "--error-threshold", "2", "--mini-batch-size", "10")
    assert code == 1
    captured = capsys.readouterr()
    assert "error: 3 file(s) failed, more than the error threshold (2)" in captured.err
    assert "d_missing.csv: missing column(s): vendor" in captured.out
    assert "e_text.csv: column distance: non-numeric value 'far' in row 0" in captured.out


def test_no_limit_with_minus_one(tiny_model, tmp_path, capsys):
    import batch_driver

    folder = tmp_path / "bad"
    folder.mkdir()
    for number in range(3):
        (folder / f"x{number}.csv").write_text("a,b\n1,2\n")
    code, target = run_local(tiny_model, folder, tmp_path, "--error-threshold", "-1")
    assert code == 0 and target.read_text() == "" and batch_driver.read_predictions(target).empty
    assert "failed files: 3 (threshold -1)" in capsys.readouterr().out


def test_no_registered_model_is_one_line(tmp_path, monkeypatch, capsys):
    import local

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    write_trips(tmp_path / "in" / "a.parquet", NYC, 10, seed=1)
    assert local.main(["--input", str(tmp_path / "in")]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1]
        == "error: no registered model nyc_taxi_fare: run make local EXP=nyc_taxi first"
    )


def test_generates_a_sample_when_data_is_empty(tiny_model, tmp_path, monkeypatch, capsys):
    import local

    monkeypatch.setattr(local, "DATA_DIR", tmp_path / "data")
    root, _ = tiny_model
    assert local.main(["--model-dir", str(root), "--sample-files", "2", "--sample-rows", "500"]) == 0
    out = capsys.readouterr().out
    assert "generating 2 files of 500 NYC trips" in out and "local: 1000 rows from 2 file(s)" in out
    assert (tmp_path / "data" / "taxi_batch" / "outputs" / "predictions.csv").is_file()
