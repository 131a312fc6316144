"""score.py under the real Azure ML inference server: health, request shapes, column order, 4xx errors."""

from __future__ import annotations

import json

import pytest
import server

from common.signature import sample_request

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def rows(tiny_model):
    _, _, features = tiny_model
    return features.head(4)


@pytest.fixture(scope="module")
def expected(tiny_model, rows):
    import mlflow.pyfunc

    _, path, _ = tiny_model
    return [float(v) for v in mlflow.pyfunc.load_model(str(path)).predict(rows)]


def plain(frame):
    """Python ints and floats, as JSON decoding yields them."""
    return json.loads(frame.to_json(orient="split"))


def test_health(inference_server):
    status, body = server.request(inference_server, "GET", "/")
    assert status == 200 and "Healthy" in str(body)


def test_split_orientation(inference_server, rows, expected):
    body = {"input_data": {k: v for k, v in plain(rows).items() if k in ("columns", "index", "data")}}
    status, answer = server.score(inference_server, body)
    assert status == 200, answer
    assert answer == pytest.approx(expected)


def test_reordered_columns_give_the_same_predictions(inference_server, rows, expected):
    reordered = rows[list(reversed(rows.columns))]
    body = {"input_data": {k: v for k, v in plain(reordered).items() if k in ("columns", "index", "data")}}
    assert body["input_data"]["columns"][0] == "vendor"
    status, answer = server.score(inference_server, body)
    assert status == 200, answer
    assert answer == pytest.approx(expected)


def test_records_in_any_key_order(inference_server, rows, expected):
    records = json.loads(rows.to_json(orient="records"))
    records = [dict(reversed(list(record.items()))) for record in records]
    records[0]["extra_field"] = "ignored"
    status, answer = server.score(inference_server, {"input_data": records})
    assert status == 200, answer
    assert answer == pytest.approx(expected)


def test_positional_rows_in_signature_order(inference_server, rows, expected):
    status, answer = server.score(inference_server, {"input_data": plain(rows)["data"]})
    assert status == 200, answer
    assert answer == pytest.approx(expected)


def test_integral_floats_are_accepted_for_integer_columns(inference_server, rows, expected):
    data = plain(rows)
    passengers = data["columns"].index("passengers")
    for row in data["data"]:
        row[passengers] = float(row[passengers])
    status, answer = server.score(inference_server, {"input_data": data})
    assert status == 200, answer
    assert answer == pytest.approx(expected)


def test_sample_request_follows_the_signature(inference_server, tiny_model):
    root, path, features = tiny_model
    request = sample_request(root, rows=2)
    assert request["input_data"]["columns"] == list(features.columns)
    assert len(request["input_data"]["data"]) == 2
    status, answer = server.score(inference_server, request)
    assert status == 200 and len(answer) == 2 and all(isinstance(v, float) for v in answer)


def _bad(rows):
    data = plain(rows)
    return data["columns"], data["data"]


BAD_REQUESTS = {
    "not json": ("{input_data: [1, 2", "not valid JSON"),
    "empty body": ("", "empty request body"),
    "a list": ([1, 2, 3], 'expected a JSON object with an "input_data" key'),
    "no input_data": ({"data": [[1]]}, 'expected a JSON object with an "input_data" key'),
    "input_data a string": ({"input_data": "x"}, "input_data must be"),
    "no rows": ({"input_data": []}, "input_data has no rows"),
    "mixed rows": ({"input_data": [[1], {"a": 1}]}, "all lists (positional) or all objects"),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_malformed_requests_get_400(inference_server, name):
    body, message = BAD_REQUESTS[name]
    status, answer = server.score(inference_server, body if isinstance(body, str) else json.dumps(body))
    assert status == 400, answer
    assert message in answer["message"]


def test_missing_column_is_named(inference_server, rows):
    columns, data = _bad(rows)
    drop = columns.index("distance")
    body = {
        "input_data": {
            "columns": columns[:drop] + columns[drop + 1 :],
            "data": [r[:drop] + r[drop + 1 :] for r in data],
        }
    }
    status, answer = server.score(inference_server, body)
    assert status == 400 and answer["message"] == "missing column(s): distance"


def test_misspelt_column_gets_a_hint(inference_server, rows):
    columns, data = _bad(rows)
    columns[columns.index("pickup_latitude")] = "pickup_latitud"
    status, answer = server.score(inference_server, {"input_data": {"columns": columns, "data": data}})
    assert status == 400 and "pickup_latitude (found 'pickup_latitud'?)" in answer["message"]


def test_missing_key_in_a_record(inference_server, rows):
    records = json.loads(rows.to_json(orient="records"))
    del records[2]["vendor"]
    status, answer = server.score(inference_server, {"input_data": records})
    assert status == 400 and answer["message"] == "record 2: missing column(s): vendor"


@pytest.mark.parametrize(
    "value, message",
    [
        ("abc", 'column distance, row 1: non-numeric value "abc", expected a number'),
        ("2.5", 'column distance, row 1: non-numeric value "2.5", expected a number'),
        (None, "column distance, row 1: null value, expected a number"),
        (True, "column distance, row 1: non-numeric value true, expected a number"),
        ([1], "column distance, row 1: non-numeric value [1], expected a number"),
    ],
)
def test_non_numeric_values_get_400(inference_server, rows, value, message):
    columns, data = _bad(rows)
    data[1][columns.index("distance")] = value
    status, answer = server.score(inference_server, {"input_data": {"columns": columns, "data": data}})
    assert status == 400, answer
    assert answer["message"] == message


def test_fractional_integer_and_infinity_get_400(inference_server, rows):
    columns, data = _bad(rows)
    data[0][columns.index("passengers")] = 1.5
    status, answer = server.score(inference_server, {"input_data": {"columns": columns, "data": data}})
    assert status == 400 and answer["message"] == "column passengers, row 0: 1.5 is not an integer"
    columns, data = _bad(rows)
    data[0][columns.index("distance")] = float("inf")
    status, answer = server.score(
        inference_server, json.dumps({"input_data": {"columns": columns, "data": data}})
    )
    assert status == 400 and "inf is not allowed" in answer["message"]


def test_rows_of_the_wrong_length_get_400(inference_server, rows):
    columns, data = _bad(rows)
    status, answer = server.score(inference_server, {"input_data": [data[0][:-1]]})
    assert status == 400 and answer["message"].startswith(
        "row 0: has 19 values, expected 20 in this order: distance,"
    )
    data[3] = data[3] + [1]
    status, answer = server.score(inference_server, {"input_data": {"columns": columns, "data": data}})
    assert status == 400 and answer["message"].startswith("row 3: expected a list of 20 values")


def test_duplicate_columns_and_bad_index_get_400(inference_server, rows):
    columns, data = _bad(rows)
    status, answer = server.score(
        inference_server, {"input_data": {"columns": columns + ["vendor"], "data": [r + [1] for r in data]}}
    )
    assert status == 400 and answer["message"] == "duplicate column(s): vendor"
    status, answer = server.score(
        inference_server, {"input_data": {"columns": columns, "index": [0], "data": data}}
    )
    assert status == 400 and "index must list one entry per row (4)" in answer["message"]


def test_parse_without_the_server(tiny_model, rows, monkeypatch):
    """Columns in any order come out in signature order; positional rows are taken as they are."""
    import score

    monkeypatch.setattr(score, "columns", list(rows.columns))
    monkeypatch.setattr(score, "integer", [str(t) == "int64" for t in rows.dtypes])
    matrix = score.parse(json.dumps({"input_data": plain(rows[list(reversed(rows.columns))])}))
    assert (matrix == rows.to_numpy(dtype=float)).all()
    assert (score.parse(json.dumps({"input_data": plain(rows)["data"]})) == matrix).all()
    with pytest.raises(score.RequestError, match="record 0: missing column"):
        score.parse(json.dumps({"input_data": [{"distance": 1.0}]}))


def test_a_model_without_signature_is_refused(tmp_path, train_tiny, monkeypatch):
    import mlflow.sklearn
    import score

    model, _ = train_tiny(rows=100)
    mlflow.sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="no signature"):
        score.init()


@pytest.mark.filterwarnings("ignore:.*integer column")
def test_columns_trained_in_another_order_are_refused(tmp_path, train_tiny, monkeypatch):
    """A signature whose order differs from the model's training order would misplace positional rows."""
    import mlflow.sklearn
    import score
    from mlflow.models import infer_signature

    model, features = train_tiny(rows=100)
    reordered = features[list(reversed(features.columns))].head(5)
    mlflow.sklearn.save_model(
        model, tmp_path / "m", signature=infer_signature(reordered), serialization_format="cloudpickle"
    )
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="trained on columns"):
        score.init()


@pytest.mark.filterwarnings("ignore:.*integer column")
def test_treelite_predicts_what_scikit_learn_predicts_on_taxi_trips(tmp_path, monkeypatch):
    """The model as train builds it (default hyperparameters), scored on other trips than its training's."""
    import mlflow.sklearn
    import numpy as np
    import score
    from mlflow.models import infer_signature

    from common.cities import NYC
    from common.generator import generate_frame
    from common.model import SKOPS_TRUSTED_TYPES, build_model
    from common.schema import FEATURES, TARGET

    frame = generate_frame(NYC, 20_000, seed=5)
    model = build_model().fit(frame[FEATURES], frame[TARGET])
    example = frame[FEATURES].head(5)
    mlflow.sklearn.save_model(
        model,
        tmp_path / "m",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    score.init()
    trips = generate_frame(NYC, 20_000, seed=6)[FEATURES]
    expected = model.predict(trips)
    got = score.predict(trips.to_numpy(np.float64))
    assert np.abs(got - expected).max() < 1e-9
    answer = score.run(json.dumps({"input_data": plain(trips.head(3))}))
    assert answer == pytest.approx(expected[:3], abs=1e-9)


def test_a_model_treelite_scores_differently_is_refused(tiny_model, monkeypatch):
    """init() compares Treelite with scikit-learn on the input example: a disagreement stops the server."""
    import score

    _, path, _ = tiny_model
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(path))
    score.init()  # they agree
    correct = score.predict
    monkeypatch.setattr(score, "predict", lambda matrix: correct(matrix) + 0.01)
    with pytest.raises(RuntimeError, match="Treelite predicts .* for the input example, scikit-learn"):
        score.init()
