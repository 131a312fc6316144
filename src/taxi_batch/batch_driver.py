"""Azure ML batch scoring script for the taxi fare model: init() loads it, run(mini_batch) scores files.

A mini-batch is a list of CSV or Parquet files. `run` returns one row per input row: the file's name, the
row's position in the file and the predicted fare. With `output_action: append_row` Azure ML appends these
rows to predictions.csv, space-separated and without a header; `local.py` writes it the same way, and
`read_predictions` reads either into a DataFrame with the column names.

Columns are matched by name against the model's signature (any order, extra columns ignored) and typed as
it says. A file that cannot be read or scored (unreadable, empty, a missing column, a non-numeric or empty
value) is reported on stderr and counted; its rows are left out, the other files of the mini-batch are
scored. When more files than BATCH_ERROR_THRESHOLD (the deployment's error_threshold; -1 = no limit) have
failed, run() raises, which fails the mini-batch and, past the threshold, the job.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from common.signature import find_model_dir, numeric_columns

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
THRESHOLD_VARIABLE = "BATCH_ERROR_THRESHOLD"
SUFFIXES = {".csv", ".parquet", ".pq"}
# Native threads per scoring process (OpenMP). Azure ML runs max_concurrency_per_instance processes per node;
# one thread each avoids oversubscribed, spinning thread pools (measured 2x faster on 2 cores). 0: default.
THREADS = int(os.environ.get("BATCH_THREADS", "1"))
CHUNK_ROWS = 16_384  # rows per predict call: cache-friendly, and memory stays flat on large files
OUTPUT_COLUMNS = ["file", "row", "prediction"]  # what run() returns; append_row drops the names

logger = logging.getLogger("taxi_batch.driver")

model = None
columns: list[str] = []
integer: list[bool] = []
failures: list[tuple[str, str]] = []  # (file, reason) of every file that failed in this process
error_threshold = -1


class ThresholdExceeded(RuntimeError):
    """More files failed than the error threshold allows."""


def init() -> None:
    """Load the model and its signature once per process; read the error threshold."""
    global model, columns, integer, error_threshold
    import mlflow.pyfunc
    from mlflow.models import Model

    root = os.environ.get(MODEL_DIR_VARIABLE)
    if not root:
        raise RuntimeError(f"{MODEL_DIR_VARIABLE} is not set: it must point at the MLflow model folder")
    model_dir = find_model_dir(root)
    columns, integer = numeric_columns(Model.load(str(model_dir)).signature)
    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    raw = pyfunc.get_raw_model() if "sklearn" in pyfunc.metadata.flavors else None
    # Columns are checked, ordered and typed below; sklearn models are called directly (one enforcement).
    model = raw.predict if raw is not None and hasattr(raw, "predict") else pyfunc.predict
    error_threshold = int(os.environ.get(THRESHOLD_VARIABLE, "-1"))
    if THREADS > 0:  # after loading: threadpoolctl limits the native libraries already loaded
        from threadpoolctl import threadpool_limits

        threadpool_limits(THREADS)
    failures.clear()


def run(mini_batch) -> "pd.DataFrame":  # noqa: F821 - pandas is imported lazily
    """Score every file of the mini-batch; one output row per input row."""
    import numpy as np
    import pandas as pd

    if model is None:
        raise RuntimeError("init() has not loaded a model")
    outputs = []
    for item in mini_batch:
        path = Path(str(item))
        try:
            features = read_features(path)
            predictions = predict(features)
        except Exception as exc:  # noqa: BLE001 - any failure of one file is reported, not fatal
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failures.append((path.name, reason))
            print(f"batch: failed {path.name}: {reason}", file=sys.stderr, flush=True)
            continue
        outputs.append(
            pd.DataFrame({"file": path.name, "row": np.arange(len(predictions)), "prediction": predictions})
        )
    if 0 <= error_threshold < len(failures):
        raise ThresholdExceeded(threshold_message(failures, error_threshold))
    if not outputs:
        return pd.DataFrame({name: [] for name in OUTPUT_COLUMNS})
    return pd.concat(outputs, ignore_index=True)


def read_predictions(path: str | Path) -> "pd.DataFrame":  # noqa: F821 - pandas is imported lazily
    """predictions.csv as Azure ML's append_row writes it (and local.py): space-separated, no header.

    Azure ML appends each mini-batch's rows as that mini-batch finishes, so the order across mini-batches is
    not the input order: sort by file and row when it matters.
    """
    import pandas as pd

    dtypes = {"file": str, "row": "int64", "prediction": "float64"}
    if Path(path).stat().st_size == 0:  # no row was scored
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})
    return pd.read_csv(
        path, sep=" ", header=None, names=OUTPUT_COLUMNS, dtype=dtypes, float_precision="round_trip"
    )


def threshold_message(failed: list[tuple[str, str]], threshold: int) -> str:
    listed = "; ".join(f"{name}: {reason}" for name, reason in failed[:5])
    return f"{len(failed)} file(s) failed, more than the error threshold ({threshold}): {listed}"


def predict(features) -> "np.ndarray":  # noqa: F821 - numpy is imported lazily
    """Predictions for every row, CHUNK_ROWS at a time."""
    import numpy as np

    parts = [model(features.iloc[i : i + CHUNK_ROWS]) for i in range(0, len(features), CHUNK_ROWS)]
    return np.concatenate([np.asarray(part, dtype=np.float64) for part in parts])


def read_features(path: Path):
    """The file's feature columns in signature order and types; ValueError names the problem."""
    import numpy as np
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unsupported file type {suffix or '(none)'}; use .csv or .parquet")
    if path.stat().st_size == 0:
        raise ValueError("file is empty")
    try:
        frame = (
            pd.read_csv(path, low_memory=False) if suffix == ".csv" else pd.read_parquet(path, columns=None)
        )
    except Exception as exc:  # noqa: BLE001 - pandas and pyarrow raise many types for malformed files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot read ({first})") from None
    if frame.empty:
        raise ValueError("no data rows")
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    out = {}
    for name, is_integer in zip(columns, integer):
        values = frame[name]
        if values.dtype.kind not in "iuf":
            numeric = pd.to_numeric(values, errors="coerce")
            bad = numeric.isna() & values.notna()
            if bad.any():
                first = values[bad].iloc[0]
                raise ValueError(
                    f"column {name}: non-numeric value {first!r} in row {int(np.argmax(bad.to_numpy()))}"
                )
            values = numeric
        array = (
            values.to_numpy(dtype=np.float64, na_value=np.nan)
            if values.dtype.kind == "f"
            else values.to_numpy()
        )
        if array.dtype.kind == "f":
            if np.isnan(array).any():
                raise ValueError(f"column {name}: empty value in row {int(np.argmax(np.isnan(array)))}")
            if is_integer:
                if (np.floor(array) != array).any():
                    raise ValueError(f"column {name}: fractional value where the model expects integers")
                array = array.astype(np.int64)
        elif not is_integer:
            array = array.astype(np.float64)
        else:
            array = array.astype(np.int64, copy=False)
        out[name] = array
    return pd.DataFrame(out, copy=False)
