"""An MLflow model's signature: the one source of column names and order for scoring, and sample requests."""

from __future__ import annotations

from pathlib import Path

INTEGER_TYPES = {"long", "integer"}
FLOAT_TYPES = {"double", "float"}


def numeric_columns(signature) -> tuple[list[str], list[bool]]:
    """Column names in signature order and, for each, whether it holds integers.

    Refuses a model without named inputs or with a non-numeric column: scoring must never guess the order.
    """
    if signature is None or not signature.inputs.has_input_names():
        raise RuntimeError(
            "the model has no signature with named input columns; refusing to guess their order"
        )
    columns, integer = [], []
    for spec in signature.inputs.inputs:
        kind = getattr(spec.type, "name", str(spec.type))
        if kind not in INTEGER_TYPES | FLOAT_TYPES:
            raise RuntimeError(f"column {spec.name}: unsupported signature type {kind!r} (numeric only)")
        columns.append(spec.name)
        integer.append(kind in INTEGER_TYPES)
    return columns, integer


def find_model_dir(root: str | Path) -> Path:
    """The folder holding MLmodel: `root` itself or the one folder below it (how Azure ML mounts models)."""
    root = Path(root)
    if (root / "MLmodel").is_file():
        return root
    found = sorted(p.parent for p in root.rglob("MLmodel"))
    if len(found) != 1:
        raise RuntimeError(f"expected one MLflow model (MLmodel file) under {root}, found {len(found)}")
    return found[0]


def sample_request(model_root: str | Path, rows: int = 2) -> dict:
    """An online request in split orientation, in the signature's order, from the model's input example.

    Without a readable input example the values are ones: the request still has the right shape and types.
    """
    from mlflow.models import Model

    model_dir = find_model_dir(model_root)
    model = Model.load(str(model_dir))
    columns, integer = numeric_columns(model.signature)
    try:
        example = model.load_input_example(str(model_dir))
    except Exception:  # noqa: BLE001 - an unreadable example only means we make one up
        example = None
    if example is not None and set(columns) <= set(map(str, getattr(example, "columns", []))):
        values = example[columns].head(rows).to_numpy(dtype=float).tolist()
    else:
        values = [[1.0] * len(columns)] * rows
    data = [[int(v) if is_int else float(v) for v, is_int in zip(row, integer)] for row in values]
    return {"input_data": {"columns": columns, "index": list(range(len(data))), "data": data}}
