"""london_taxi reuses the shared steps; what differs is its city: GBP fares, London ranges and tariff."""

from __future__ import annotations

import json

from experiment import EXPERIMENT
from main import main

from common.cities import NYC
from common.generator import generate_frame, write_trips


def test_local_pipeline_registers_a_gbp_model(tmp_path, mlflow_store, monkeypatch, capsys):
    from experiment import EXPERIMENT

    from common.steps.local import main as local_main

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert local_main(EXPERIMENT, ["--rows", "2000", "--max_iter", "20"]) == 0
    out = capsys.readouterr().out
    assert "generating 2000 london sample trips" in out
    assert "test metrics (GBP): r2" in out and "registered model: london_taxi_fare version 1" in out
    evaluation = json.loads((tmp_path / "data/london_taxi/outputs/evaluate/evaluation.json").read_text())
    assert evaluation["currency"] == "GBP" and evaluation["test"]["r2"] > 0.8


def test_london_data_stays_in_london():
    frame = generate_frame(EXPERIMENT.city, 3000, seed=1)
    assert frame["pickup_latitude"].between(51.28, 51.70).all()
    assert frame["cost"].min() >= 3.80  # the TfL minimum fare
    heathrow = (frame["pickup_longitude"] < -0.40).mean()
    assert 0.02 < heathrow < 0.10


def test_nyc_trips_are_rejected_by_name(tmp_path, mlflow_store, capsys):
    raw = write_trips(tmp_path / "nyc.csv", NYC, 100, seed=1)
    assert main(["prep", "--raw_data", str(raw), "--prep_data", str(tmp_path / "prep")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "all 100 rows are out of range" in err and "latitude: 100" in err
    assert not (tmp_path / "prep" / "train.parquet").exists()
