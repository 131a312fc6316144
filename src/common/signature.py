"""The input columns of an MLflow model's signature: the one source of column names and order for scoring."""

from __future__ import annotations

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
