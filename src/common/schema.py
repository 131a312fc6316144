"""The public taxi schema: 20 features plus the target `cost`, with the dtype each column is stored as."""

from __future__ import annotations

TARGET = "cost"

_TIME_PARTS = ("weekday", "month", "monthday", "hour", "minute", "second")

FEATURES: list[str] = [
    "distance",
    "dropoff_latitude",
    "dropoff_longitude",
    "passengers",
    "pickup_latitude",
    "pickup_longitude",
    *[f"pickup_{part}" for part in _TIME_PARTS],
    *[f"dropoff_{part}" for part in _TIME_PARTS],
    "store_forward",
    "vendor",
]

COLUMNS: list[str] = [*FEATURES, TARGET]

FLOAT_COLUMNS = {
    "distance",
    "dropoff_latitude",
    "dropoff_longitude",
    "pickup_latitude",
    "pickup_longitude",
    TARGET,
}

# Integer columns are stored as int64 so that an MLflow signature types them as `long`.
DTYPES: dict[str, str] = {name: ("float64" if name in FLOAT_COLUMNS else "int64") for name in COLUMNS}

# Calendar and categorical ranges that hold in every city.
COMMON_RANGES: dict[str, tuple[float, float]] = {
    "store_forward": (0, 1),
    "vendor": (1, 2),
    **{f"{side}_weekday": (0, 6) for side in ("pickup", "dropoff")},
    **{f"{side}_month": (1, 12) for side in ("pickup", "dropoff")},
    **{f"{side}_monthday": (1, 31) for side in ("pickup", "dropoff")},
    **{f"{side}_hour": (0, 23) for side in ("pickup", "dropoff")},
    **{f"{side}_minute": (0, 59) for side in ("pickup", "dropoff")},
    **{f"{side}_second": (0, 59) for side in ("pickup", "dropoff")},
}
