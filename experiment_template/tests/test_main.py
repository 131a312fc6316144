"""Tests of __EXP__'s main.py, run in the experiment's own environment (make test EXP=__EXP__)."""

import main
import mlflow
import pytest


@pytest.fixture(autouse=True)
def local_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "test")
    monkeypatch.delenv("SCAFFOLD_ARTIFACT_ROOT", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.create_experiment("test", artifact_location=str(tmp_path / "artifacts"))


def test_logs_metric_param_and_artifact(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("id,value\n1,2.0\n2,4.0\n")
    summary = main.main(["--data", str(data)])
    assert summary["value"]["mean"] == 3.0
    run = mlflow.search_runs(experiment_names=["test"], output_format="list")[0]
    assert run.data.metrics["value_mean"] == 3.0
    assert run.data.params["rows"] == "2"
    assert [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)] == ["summary.json"]


@pytest.mark.parametrize(
    "content, message",
    [(None, "not found"), ("", "is empty"), ("id,value\n", "no rows"), ("id,other\n1,2\n", "column 'value'")],
)
def test_bad_data_is_one_clear_line(tmp_path, capsys, content, message):
    data = tmp_path / "d.csv"
    if content is not None:
        data.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        main.main(["--data", str(data)])
    assert message in str(exit_info.value)
