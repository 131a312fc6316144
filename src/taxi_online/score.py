"""Azure ML scoring script for the taxi fare model: `init()` loads the MLflow model, `run()` scores a request.

The same file runs in a managed online deployment and locally under `azmlinfsrv` (the Azure ML inference
server). The model is the MLflow model under $AZUREML_MODEL_DIR; its signature decides the columns, their
order and their types. Accepted request bodies (one JSON object with `input_data`):

    {"input_data": {"columns": [...], "index": [...], "data": [[...], ...]}}   split orientation, any order
    {"input_data": [{"distance": 2.5, ...}, ...]}                              records, matched by name
    {"input_data": [[...], ...]}                                                positional, signature order

The answer is a JSON list with one prediction per row. Anything wrong with the request (not JSON, an
unknown shape, a missing column, a non-numeric, null or fractional-integer value, a row of the wrong length)
is answered with HTTP 400 and `{"message": "..."}` naming the problem; the model never sees misordered
columns. Requests of up to STACKED_MAX_ROWS rows are scored by tree_predictor.StackedTrees (all trees at
once in numpy; checked against the model's own predictions when the model loads), larger ones by the model.
Besides tree_predictor.py and common/signature.py this needs only numpy, pandas and mlflow.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
from pathlib import Path

from common.signature import numeric_columns

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
MAX_ROWS = int(os.environ.get("TAXI_MAX_ROWS", "10000"))
# Threads per server worker for the model's native code (OpenMP). One: requests are small, and several
# workers with spinning OpenMP pools on few cores starve each other. 0 leaves the library default.
THREADS = int(os.environ.get("TAXI_SCORE_THREADS", "1"))
# Requests up to this many rows go through StackedTrees (faster below about 50 rows; see tree_predictor.py).
STACKED_MAX_ROWS = 32

logger = logging.getLogger("taxi_online.score")

model = None
schema = None


class RequestError(ValueError):
    """A problem with the request itself: answered with HTTP 400 and this message."""


class Schema:
    """The model's input columns in signature order, and which of them hold integers."""

    def __init__(self, columns: list[str], integer: list[bool]):
        self.columns = columns
        self.integer = integer
        self.position = {name: i for i, name in enumerate(columns)}

    @classmethod
    def from_model(cls, mlflow_model) -> "Schema":
        columns, integer = numeric_columns(mlflow_model.signature)
        return cls(columns, integer)


def find_model_dir(root: str | Path) -> Path:
    """The folder holding MLmodel: `root` itself or the one folder below it (how Azure ML mounts models)."""
    root = Path(root)
    if (root / "MLmodel").is_file():
        return root
    found = sorted(p.parent for p in root.rglob("MLmodel"))
    if not found:
        raise RuntimeError(f"no MLflow model (MLmodel file) under {root}")
    if len(found) > 1:
        raise RuntimeError(f"several MLflow models under {root}: {', '.join(str(p) for p in found)}")
    return found[0]


def load(model_root: str | Path):
    """Load the MLflow model under `model_root`; return (predict function over a row matrix, Schema)."""
    import mlflow.pyfunc
    from mlflow.models import Model

    model_dir = find_model_dir(model_root)
    loaded_schema = Schema.from_model(Model.load(str(model_dir)))
    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    raw = pyfunc.get_raw_model() if "sklearn" in pyfunc.metadata.flavors else None
    # Columns are already checked, ordered and typed here; the sklearn model is called directly to skip
    # MLflow's second, slower schema enforcement. Other flavors go through pyfunc (which enforces it again).
    frame_predict = raw.predict if raw is not None and hasattr(raw, "predict") else pyfunc.predict
    return (
        Predictor(frame_predict, loaded_schema, _stacked_trees(raw, loaded_schema, frame_predict)),
        loaded_schema,
    )


class Predictor:
    """Predicts a matrix of checked rows: small requests with StackedTrees, larger ones with the model."""

    def __init__(self, frame_predict, schema: Schema, stacked=None):
        self.frame_predict = frame_predict
        self.schema = schema
        self.stacked = stacked  # (StackedTrees, column order it needs) or None

    def __call__(self, matrix):
        if self.stacked is not None and len(matrix) <= STACKED_MAX_ROWS:
            trees, order = self.stacked
            return trees.predict(matrix if order is None else matrix[:, order])
        return self.frame_predict(to_frame(matrix, self.schema))


def _stacked_trees(raw, schema: Schema, frame_predict):
    """StackedTrees for `raw` when it covers it and agrees with the model on probe rows; else None."""
    import numpy as np
    from tree_predictor import StackedTrees

    trees = StackedTrees.from_estimator(raw) if raw is not None else None
    if trees is None:
        return None
    trained = [str(name) for name in getattr(raw, "feature_names_in_", schema.columns)]
    if sorted(trained) != sorted(schema.columns):
        return None
    order = None if trained == schema.columns else np.array([schema.position[name] for name in trained])
    probe = _probe_rows(trees, schema, trained)
    expected = np.asarray(frame_predict(to_frame(probe, schema)), dtype=np.float64)
    got = trees.predict(probe if order is None else probe[:, order])
    if not np.allclose(got, expected, rtol=1e-9, atol=1e-9):
        logger.warning(
            "stacked trees disagree with the model on probe rows: using the model for all requests"
        )
        return None
    return trees, order


def _probe_rows(trees, schema: Schema, trained: list[str]):
    """Rows on, just below and just above every split threshold, plus random ones, in signature order."""
    import numpy as np

    rng = np.random.default_rng(0)
    split = np.isfinite(trees.threshold)
    rows = []
    for index, name in enumerate(trained):
        thresholds = trees.threshold[split & (trees.feature == index)]
        low, high = (thresholds.min(), thresholds.max()) if len(thresholds) else (0.0, 1.0)
        values = np.concatenate([thresholds, np.nextafter(thresholds, np.inf), rng.uniform(low, high, 256)])
        if schema.integer[schema.position[name]]:
            values = np.round(values)
        rows.append(rng.choice(values, 512))
    by_name = dict(zip(trained, rows))
    return np.column_stack([by_name[name] for name in schema.columns]).astype(np.float64)


def init() -> None:
    """Called once by the inference server: load the model from $AZUREML_MODEL_DIR."""
    global model, schema
    root = os.environ.get(MODEL_DIR_VARIABLE)
    if not root:
        raise RuntimeError(f"{MODEL_DIR_VARIABLE} is not set: it must point at the MLflow model folder")
    model, schema = load(root)
    if THREADS > 0:  # after loading: threadpoolctl limits the native libraries already loaded
        from threadpoolctl import threadpool_limits

        threadpool_limits(THREADS)
    logger.info("model loaded from %s: %d input columns", root, len(schema.columns))


def run(raw_data):
    """Called per request with the body as a string: a list of predictions, or an HTTP 400 response."""
    if model is None:
        raise RuntimeError("init() has not loaded a model")
    try:
        matrix = parse_matrix(raw_data, schema)
    except RequestError as exc:
        return _bad_request(str(exc))
    return [float(value) for value in model(matrix)]


def _bad_request(message: str):
    try:
        from azureml_inference_server_http.api.aml_response import AMLResponse
    except ImportError:  # outside the inference server (tests, batch): the caller gets the error itself
        raise RequestError(message) from None
    return AMLResponse({"message": message}, 400, json_str=True)


# --- request parsing ------------------------------------------------------------------------------------


def parse_request(body, schema: Schema):
    """The request's rows as a DataFrame in signature order and types; RequestError names any problem."""
    return to_frame(parse_matrix(body, schema), schema)


def parse_matrix(body, schema: Schema):
    """The request's rows as a float64 matrix in signature order; RequestError names any problem."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("request body is not UTF-8 text") from None
    if isinstance(body, str):
        if not body.strip():
            raise RequestError(
                'empty request body: expected JSON like {"input_data": {"columns": [...], ...}}'
            )
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise RequestError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or "input_data" not in body:
        found = f"an object with keys {sorted(body)[:5]}" if isinstance(body, dict) else type(body).__name__
        raise RequestError(f'expected a JSON object with an "input_data" key, got {found}')
    data = body["input_data"]
    if isinstance(data, dict):
        rows = _split_rows(data, schema)
    elif isinstance(data, list):
        if not data:
            raise RequestError("input_data has no rows")
        if all(isinstance(row, dict) for row in data):
            rows = _record_rows(data, schema)
        elif all(isinstance(row, list) for row in data):
            rows = _positional_rows(data, schema)
        else:
            raise RequestError("input_data rows must be all lists (positional) or all objects (records)")
    else:
        raise RequestError(
            'input_data must be {"columns": [...], "data": [[...]]}, a list of rows or a list of records, '
            f"got {type(data).__name__}"
        )
    return _matrix(rows, schema)


def _split_rows(data: dict, schema: Schema) -> list[list]:
    """Split orientation: named columns in any order, mapped to signature order."""
    columns, rows = data.get("columns"), data.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError("input_data.columns must be a list of column names (split orientation)")
    if not isinstance(rows, list):
        raise RequestError("input_data.data must be a list of rows (split orientation)")
    if not rows:
        raise RequestError("input_data has no rows")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise RequestError(f"duplicate column(s): {', '.join(duplicated)}")
    _check_missing(columns, schema)
    index = data.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(rows)):
        raise RequestError(f"input_data.index must list one entry per row ({len(rows)})")
    _check_count(rows)
    width = len(columns)
    where = {name: i for i, name in enumerate(columns)}
    positions = [where[name] for name in schema.columns]
    ordered = []
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise RequestError(
                f"row {number}: expected a list of {width} values (one per column), got {_brief(row)}"
            )
        ordered.append([row[p] for p in positions])
    return ordered


def _record_rows(records: list[dict], schema: Schema) -> list[list]:
    """Records: one object per row, matched by name; other keys are ignored."""
    _check_count(records)
    columns = schema.columns
    for number, record in enumerate(records):
        if len(record) < len(columns) or any(name not in record for name in columns):
            try:
                _check_missing(list(record), schema)
            except RequestError as exc:
                raise RequestError(f"record {number}: {exc}") from None
    return [[record[name] for name in columns] for record in records]


def _positional_rows(rows: list[list], schema: Schema) -> list[list]:
    """Positional rows: values in the signature's order, exactly one per column."""
    _check_count(rows)
    width = len(schema.columns)
    for number, row in enumerate(rows):
        if len(row) != width:
            order = ", ".join(schema.columns)
            raise RequestError(
                f"row {number}: has {len(row)} values, expected {width} in this order: {order}"
            )
    return rows


def _check_count(rows: list) -> None:
    if len(rows) > MAX_ROWS:
        raise RequestError(f"too many rows: {len(rows)} (at most {MAX_ROWS} per request; split the request)")


def _check_missing(present: list[str], schema: Schema) -> None:
    """RequestError naming the missing columns, with the likely misspelling of each."""
    have = set(present)
    missing = [name for name in schema.columns if name not in have]
    if not missing:
        return
    unknown = [name for name in present if name not in schema.position]
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, unknown, n=1, cutoff=0.75)
        hints.append(f"{name} (found {close[0]!r}?)" if close else name)
    raise RequestError(f"missing column(s): {', '.join(hints)}")


def _brief(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _matrix(rows: list[list], schema: Schema):
    """Check every value (numbers; integers where the signature says so); return the rows as float64."""
    import numpy as np

    columns, integer = schema.columns, schema.integer
    for number, row in enumerate(rows):
        for position, value in enumerate(row):
            kind = type(value)
            if kind is int:
                continue
            if kind is float and math.isfinite(value) and (not integer[position] or value.is_integer()):
                continue
            raise RequestError(_value_problem(value, columns[position], integer[position], number))
    return np.array(rows, dtype=np.float64)


def to_frame(matrix, schema: Schema):
    """A checked matrix as a DataFrame with the signature's column names and integer columns as int64."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            name: (matrix[:, i].astype(np.int64) if schema.integer[i] else matrix[:, i])
            for i, name in enumerate(schema.columns)
        },
        copy=False,
    )


def _value_problem(value, column: str, integer: bool, row: int) -> str:
    expected = "an integer" if integer else "a number"
    if value is None:
        return f"column {column}, row {row}: null value, expected {expected}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"column {column}, row {row}: {value} is not allowed, expected {expected}"
    if isinstance(value, float):
        return f"column {column}, row {row}: {value} is not an integer"
    return f"column {column}, row {row}: non-numeric value {_brief(value)}, expected {expected}"


# --- the sample request ---------------------------------------------------------------------------------


def sample_request(model_root: str | Path, rows: int = 2) -> dict:
    """A request in split orientation built from the model's signature (and its input example, if saved)."""
    from mlflow.models import Model

    model_dir = find_model_dir(model_root)
    mlflow_model = Model.load(str(model_dir))
    sample_schema = Schema.from_model(mlflow_model)
    example = None
    try:
        example = mlflow_model.load_input_example(str(model_dir))
    except Exception:  # noqa: BLE001 - an unreadable example only means we synthesise one
        example = None
    columns = sample_schema.columns
    if example is not None and hasattr(example, "columns") and set(columns) <= set(map(str, example.columns)):
        head = example[columns].head(rows)
        data = [
            [int(v) if flag else float(v) for v, flag in zip(row, sample_schema.integer)]
            for row in head.itertuples(index=False)
        ]
    else:
        data = [[1 if flag else 1.0 for flag in sample_schema.integer] for _ in range(rows)]
    return {"input_data": {"columns": columns, "index": list(range(len(data))), "data": data}}
