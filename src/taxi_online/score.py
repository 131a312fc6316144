"""Azure ML scoring script for the taxi fare model: `init()` loads it once, `run()` scores one request.

The model is the MLflow (scikit-learn) model under $AZUREML_MODEL_DIR; its signature decides the columns,
their order and their types. `init()` imports its trees into Treelite, whose predictor scores one row in
about 0.1 ms instead of scikit-learn's 2-10 ms, with the same float64 splits (checked on the model's input
example at start-up). Request bodies (one JSON object with `input_data`):

    {"input_data": {"columns": [...], "index": [...], "data": [[...], ...]}}   split orientation, any order
    {"input_data": [{"distance": 2.5, ...}, ...]}                              records, matched by name
    {"input_data": [[...], ...]}                                                positional, signature order

The answer is one prediction per row. A bad request gets HTTP 400 and {"message": ...} naming the problem.
"""

from __future__ import annotations

import json
import logging
import math
import os

import numpy as np
import treelite.gtil
import treelite.sklearn

from common.signature import find_model_dir, numeric_columns
from common.validation import missing_columns

MAX_ROWS = int(os.environ.get("TAXI_MAX_ROWS", "10000"))
# Treelite's threads per server worker: several workers with many threads each on few cores starve each other.
THREADS = int(os.environ.get("TAXI_SCORE_THREADS", "1")) or -1  # 0: every core

model = columns = integer = None


class RequestError(ValueError):
    """A problem with the request: answered with HTTP 400 and this message."""


def init():
    """Load the model and its signature from $AZUREML_MODEL_DIR; import its trees into Treelite."""
    global model, columns, integer
    import mlflow.sklearn
    from mlflow.models import Model

    root = os.environ.get("AZUREML_MODEL_DIR")
    if not root:
        raise RuntimeError("AZUREML_MODEL_DIR is not set: it must point at the MLflow model folder")
    model_dir = find_model_dir(root)
    mlmodel = Model.load(str(model_dir))
    columns, integer = numeric_columns(mlmodel.signature)
    estimator = mlflow.sklearn.load_model(str(model_dir))
    trained = [str(name) for name in getattr(estimator, "feature_names_in_", columns)]
    if trained != columns:
        raise RuntimeError(f"the model was trained on columns {trained}, but its signature says {columns}")
    model = treelite.sklearn.import_model(estimator)
    example = mlmodel.load_input_example(str(model_dir))
    if example is not None:  # Treelite must give scikit-learn's predictions, or the server does not start
        expected, got = estimator.predict(example[columns]), predict(example[columns].to_numpy(np.float64))
        if not np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            raise RuntimeError(f"Treelite predicts {got} for the input example, scikit-learn {expected}")
    logging.info("taxi fare model loaded from %s: %d input columns", model_dir, len(columns))


def predict(matrix: np.ndarray) -> np.ndarray:
    """One prediction per row of a float64 matrix in signature order."""
    return treelite.gtil.predict(model, matrix, nthread=THREADS).reshape(-1)


def run(raw_data):
    """Called per request with the body: a list of predictions, or an HTTP 400 response."""
    try:
        matrix = parse(raw_data)
    except RequestError as exc:
        from azureml_inference_server_http.api.aml_response import AMLResponse

        return AMLResponse({"message": str(exc)}, 400, json_str=True)
    return predict(matrix).tolist()


def parse(body) -> np.ndarray:
    """The request's rows as float64 in signature order; RequestError names the first problem."""
    if not body or not body.strip():
        raise RequestError('empty request body: expected JSON like {"input_data": {"columns": [...], ...}}')
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or "input_data" not in data:
        raise RequestError('expected a JSON object with an "input_data" key')
    data = data["input_data"]
    if isinstance(data, dict):  # split orientation
        rows = split_rows(data)
    elif isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        for number, record in enumerate(data):
            if problem := missing_columns(list(record), columns):
                raise RequestError(f"record {number}: {problem}")
        rows = [[record[name] for name in columns] for record in data]
    elif isinstance(data, list) and all(isinstance(row, list) for row in data):
        for number, row in enumerate(data):
            if len(row) != len(columns):
                raise RequestError(
                    f"row {number}: has {len(row)} values, expected {len(columns)} in this order: "
                    + ", ".join(columns)
                )
        rows = data
    elif isinstance(data, list):
        raise RequestError("input_data rows must be all lists (positional) or all objects (records)")
    else:
        raise RequestError(
            'input_data must be {"columns": [...], "data": [[...]]}, a list of rows or records'
        )
    if not rows:
        raise RequestError("input_data has no rows")
    if len(rows) > MAX_ROWS:
        raise RequestError(f"too many rows: {len(rows)} (at most {MAX_ROWS} per request; split the request)")
    for number, row in enumerate(rows):
        for value, name, is_integer in zip(row, columns, integer):
            if type(value) is not int and not (
                type(value) is float and math.isfinite(value) and (value.is_integer() or not is_integer)
            ):
                raise RequestError(f"column {name}, row {number}: {value_problem(value, is_integer)}")
    try:
        return np.array(rows, dtype=np.float64)
    except OverflowError:
        raise RequestError("a value is too large") from None


def split_rows(data: dict) -> list[list]:
    """Split orientation: named columns in any order, picked out in signature order."""
    names, rows, index = data.get("columns"), data.get("data"), data.get("index")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise RequestError("input_data.columns must be a list of column names (split orientation)")
    if not isinstance(rows, list):
        raise RequestError("input_data.data must be a list of rows (split orientation)")
    if duplicated := sorted({name for name in names if names.count(name) > 1}):
        raise RequestError(f"duplicate column(s): {', '.join(duplicated)}")
    if problem := missing_columns(names, columns):
        raise RequestError(problem)
    if index is not None and (not isinstance(index, list) or len(index) != len(rows)):
        raise RequestError(f"input_data.index must list one entry per row ({len(rows)})")
    positions = [names.index(name) for name in columns]
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise RequestError(f"row {number}: expected a list of {len(names)} values (one per column)")
    return [[row[p] for p in positions] for row in rows]


def value_problem(value, is_integer: bool) -> str:
    expected = "an integer" if is_integer else "a number"
    if value is None:
        return f"null value, expected {expected}"
    if type(value) is float and not math.isfinite(value):
        return f"{value} is not allowed, expected {expected}"
    if type(value) is float:
        return f"{value} is not an integer"
    return f"non-numeric value {json.dumps(value)[:60]}, expected {expected}"
