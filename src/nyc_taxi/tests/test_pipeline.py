"""The four steps end to end on small data, the champion/challenger gate, the registered model's schema."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from experiment import EXPERIMENT
from main import main
from mlflow.exceptions import MlflowException

from common.generator import write_trips
from common.model import MODEL_PACKAGES

SMALL = ["--max_iter", "30"]
WORSE = ["--max_iter", "2", "--max_leaf_nodes", "3"]


def run_steps(tmp_path, train_args, name="fare"):
    """prep, train, evaluate, register through main.py; returns (evaluation, registration) JSON."""
    raw, out = tmp_path / "raw.parquet", tmp_path / "outputs"
    if not raw.exists():
        write_trips(raw, EXPERIMENT.city, 2000, seed=7, dirty_fraction=0.01)
    prep, model, evaluation, registration = (out / n for n in ("prep", "model", "evaluation", "registration"))
    assert main(["prep", "--raw_data", str(raw), "--prep_data", str(prep)]) == 0
    assert main(["train", "--prep_data", str(prep), "--model_output", str(model), *train_args]) == 0
    assert (
        main(
            ["evaluate", "--prep_data", str(prep), "--model_input", str(model)]
            + ["--evaluation_output", str(evaluation), "--model_name", name]
        )
        == 0
    )
    assert (
        main(
            ["register", "--model_input", str(model), "--evaluation_output", str(evaluation)]
            + ["--model_name", name, "--registration_output", str(registration)]
        )
        == 0
    )
    return (
        json.loads((evaluation / "evaluation.json").read_text()),
        json.loads((registration / "registration.json").read_text()),
    )


def test_steps_end_to_end_register_then_gate(tmp_path, mlflow_store):
    first_eval, first = run_steps(tmp_path, SMALL)
    assert first_eval["deploy"] and first == {"registered": True, "model_name": "fare", "version": "1"}
    assert first_eval["test"]["r2"] > 0.8
    assert set(first_eval["test"]) == {"r2", "mse", "rmse", "mae"}
    assert (tmp_path / "outputs" / "evaluation" / "deploy_flag").read_text().strip() == "1"
    requirements = (tmp_path / "outputs" / "model" / "requirements.txt").read_text().split()
    assert [line.split("==")[0] for line in requirements] == ["mlflow", *MODEL_PACKAGES]  # pinned, no pytest
    check_registered_model_enforces_columns(tmp_path)

    worse_eval, worse = run_steps(tmp_path, WORSE)
    assert worse_eval["champion_version"] == "1"
    assert worse_eval["test"]["r2"] < worse_eval["champion_test"]["r2"]
    assert not worse_eval["deploy"] and worse == {"registered": False, "model_name": "fare", "version": "1"}
    assert (tmp_path / "outputs" / "evaluation" / "deploy_flag").read_text().strip() == "0"

    better_eval, better = run_steps(tmp_path, ["--max_iter", "80"])
    assert better_eval["test"]["r2"] > better_eval["champion_test"]["r2"]
    assert better_eval["deploy"] and better["version"] == "2"

    runs = mlflow.search_runs(experiment_names=["test"])
    evaluate_runs = runs[runs["tags.step"] == "evaluate"]
    assert len(evaluate_runs) == 3 and evaluate_runs["metrics.test_r2"].notna().all()
    client = mlflow.MlflowClient()
    artifacts = [a.path for a in client.list_artifacts(evaluate_runs.iloc[0]["run_id"], "plots")]
    assert sorted(artifacts) == ["plots/predicted_vs_actual.png", "plots/residuals.png"]


def check_registered_model_enforces_columns(tmp_path):
    """Scoring the registered model: reordered named columns change nothing, a missing column is refused."""
    model = mlflow.pyfunc.load_model("models:/fare/1")
    test = pd.read_parquet(tmp_path / "outputs" / "prep" / "test.parquet").drop(columns="cost").head(50)

    expected = model.predict(test)
    shuffled = test[list(reversed(test.columns))]
    assert (model.predict(shuffled) == expected).all()

    with pytest.raises(MlflowException, match="distance"):
        model.predict(test.drop(columns="distance"))


def test_bad_data_prints_error_and_exits_2(tmp_path, mlflow_store, capsys):
    bad = tmp_path / "bad.csv"
    write_trips(bad, EXPERIMENT.city, 50, seed=1)
    pd.read_csv(bad).rename(columns={"pickup_latitude": "pickup_latitud"}).to_csv(bad, index=False)
    assert main(["prep", "--raw_data", str(bad), "--prep_data", str(tmp_path / "prep")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pickup_latitude (found 'pickup_latitud'?)" in err
    assert "Traceback" not in err


def test_local_runs_all_steps_and_generates_sample(tmp_path, mlflow_store, monkeypatch, capsys):
    from experiment import EXPERIMENT

    from common.steps.local import main as local_main

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert local_main(EXPERIMENT, ["--rows", "2000", "--max_iter", "20"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "data" / "nyc_taxi" / "raw" / "sample.parquet").exists()
    assert "generating 2000" in out and "registered model: nyc_taxi_fare version 1" in out
    assert "test metrics (USD): r2" in out and "run id" in out


def test_local_runs_a_step_added_to_the_pipeline_yaml(tmp_path, mlflow_store, monkeypatch, capsys):
    """make local takes its steps from the pipeline YAML: a step added to a copy runs with no other change."""
    import yaml
    from experiment import EXPERIMENT

    from common.steps.local import main as local_main

    pipeline = yaml.safe_load(open("azure-ml-job.yaml").read())
    pipeline["jobs"]["inspect"] = {
        "type": "command",
        "component": {
            "command": "ls ${{inputs.prep_data}} > ${{outputs.listing}}/files.txt",
            "inputs": {"prep_data": {"type": "uri_folder"}},
            "outputs": {"listing": {"type": "uri_folder"}},
        },
        "inputs": {"prep_data": "${{parent.jobs.prep.outputs.prep_data}}"},
    }
    copy = tmp_path / "with-inspect.yaml"
    copy.write_text(yaml.safe_dump(pipeline))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data" / "nyc_taxi" / "outputs" / "inspect").mkdir(parents=True)
    assert local_main(EXPERIMENT, ["--rows", "2000", "--max_iter", "20", "--pipeline", str(copy)]) == 0
    listing = (tmp_path / "data" / "nyc_taxi" / "outputs" / "inspect" / "files.txt").read_text().split()
    assert listing == ["test.parquet", "train.parquet", "val.parquet"]
    assert "registered model: nyc_taxi_fare version 1" in capsys.readouterr().out


def test_local_refuses_an_option_that_is_no_input(tmp_path, monkeypatch, capsys):
    from experiment import EXPERIMENT

    from common.steps.local import main as local_main

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert local_main(EXPERIMENT, ["--rows", "500", "--max_iters", "20"]) == 2
    assert capsys.readouterr().err.strip() == "error: no pipeline or step input called max_iters"
