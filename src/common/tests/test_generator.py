"""Generator: schema, types, ranges, determinism (independent of chunk size), streaming, tariff rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.cities import LONDON, NYC, Trips
from common.generator import BLOCK_ROWS, generate_frame, generate_trips, write_trips
from common.schema import COLUMNS, DTYPES


@pytest.mark.parametrize("city", [NYC, LONDON], ids=lambda c: c.name)
def test_columns_types_and_ranges(city):
    frame = generate_frame(city, 5000, seed=3)
    assert list(frame.columns) == COLUMNS
    assert frame.dtypes.astype(str).to_dict() == DTYPES
    for name, (low, high) in city.ranges().items():
        assert frame[name].between(low, high).all(), name
    assert frame.isna().sum().sum() == 0
    assert frame["pickup_hour"].nunique() == 24 and frame["pickup_weekday"].nunique() == 7


def test_realistic_relations():
    frame = generate_frame(NYC, 20000, seed=1)
    assert 1.0 < frame["distance"].median() < 5.0
    assert 0.8 < np.corrcoef(frame["distance"], frame["cost"])[0, 1] < 1.0
    pickup = frame["pickup_hour"] * 3600 + frame["pickup_minute"] * 60 + frame["pickup_second"]
    dropoff = frame["dropoff_hour"] * 3600 + frame["dropoff_minute"] * 60 + frame["dropoff_second"]
    minutes = ((dropoff - pickup) % 86400) / 60
    assert np.corrcoef(frame["distance"], minutes)[0, 1] > 0.6
    rush = frame[frame["pickup_hour"].between(16, 19) & (frame["pickup_weekday"] < 5)]
    night = frame[frame["pickup_hour"].isin([2, 3, 4])]
    speed = lambda part: (part["distance"] / minutes[part.index]).median()  # noqa: E731
    assert speed(night) > 1.5 * speed(rush)  # traffic by time of day


def test_deterministic_and_independent_of_chunk_size():
    rows = BLOCK_ROWS + 1234
    whole = generate_frame(NYC, rows, seed=11)
    chunks = list(generate_trips(NYC, rows, seed=11, chunk_size=10_000))
    assert [len(c) for c in chunks] == [10_000] * 6 + [rows - 60_000]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    pd.testing.assert_frame_equal(generate_frame(NYC, rows, seed=11), whole)
    assert not generate_frame(NYC, 1000, seed=12).equals(generate_frame(NYC, 1000, seed=11))


def test_streams_to_parquet_and_csv(tmp_path):
    parquet = write_trips(tmp_path / "t.parquet", LONDON, 2500, seed=2, chunk_size=1000)
    csv = write_trips(tmp_path / "t.csv", LONDON, 2500, seed=2, chunk_size=1000)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(parquet).num_row_groups == 3
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), generate_frame(LONDON, 2500, seed=2))
    assert len(pd.read_csv(csv)) == 2500 and not list(tmp_path.glob("*.partial"))


def test_dirty_rows_are_out_of_range():
    frame = generate_frame(NYC, 20000, seed=5, dirty_fraction=0.05)
    ranges = NYC.ranges()
    bad = np.zeros(len(frame), dtype=bool)
    for name, (low, high) in ranges.items():
        bad |= ~frame[name].between(low, high)
    assert 0.04 < bad.mean() < 0.06


def _trips(city, pickup, dropoff, hour, weekday=2, month=6, day=12, miles=10.0):
    one = lambda value: np.array([value])  # noqa: E731
    return Trips(
        pickup_zone=one(city.zone_index(pickup)),
        dropoff_zone=one(city.zone_index(dropoff)),
        distance=one(miles),
        duration_s=one(1800.0),
        slow_s=one(600.0),
        pickup_hour=one(hour),
        pickup_weekday=one(weekday),
        pickup_month=one(month),
        pickup_monthday=one(day),
    )


def _fare(city, trips):
    return float(city.tariff(city, trips, np.random.default_rng(0))[0])


def test_nyc_tariff_rules():
    # JFK <-> Manhattan: $70 flat + MTA tax + improvement + congestion (+ maybe a toll), any distance.
    base = 70 + 0.5 + 1.0 + 2.5
    to_jfk = _fare(NYC, _trips(NYC, "midtown", "jfk", hour=11, miles=17))
    assert base - 1 < to_jfk < base + 6.94 + 1
    assert _fare(NYC, _trips(NYC, "midtown", "jfk", hour=17, miles=17)) - to_jfk == pytest.approx(
        5.0, abs=0.01
    )
    # Newark: meter plus the $20 surcharge and tolls, so dearer than the same metered distance in the city.
    newark = _fare(NYC, _trips(NYC, "midtown", "newark", hour=11, miles=17))
    city = _fare(NYC, _trips(NYC, "midtown", "harlem", hour=11, miles=17))
    assert newark - city > 20
    # $2.50 weekday rush hour, $1.00 overnight, none at 11am.
    assert _fare(NYC, _trips(NYC, "harlem", "harlem", hour=17)) - _fare(
        NYC, _trips(NYC, "harlem", "harlem", hour=11)
    ) == pytest.approx(2.5, abs=0.01)
    assert _fare(NYC, _trips(NYC, "harlem", "harlem", hour=23)) - _fare(
        NYC, _trips(NYC, "harlem", "harlem", hour=11)
    ) == pytest.approx(1.0, abs=0.01)


def test_london_tariff_rules():
    day = _fare(LONDON, _trips(LONDON, "west_end", "city", hour=11, miles=3))
    weekend = _fare(LONDON, _trips(LONDON, "west_end", "city", hour=11, weekday=6, miles=3))
    night = _fare(LONDON, _trips(LONDON, "west_end", "city", hour=23, miles=3))
    christmas = _fare(LONDON, _trips(LONDON, "west_end", "city", hour=11, month=12, day=25, miles=3))
    assert day < weekend < night
    assert christmas - night == pytest.approx(4.0, abs=0.01)  # tariff 3 on a public holiday, plus the extra
    heathrow = _fare(LONDON, _trips(LONDON, "heathrow", "west_end", hour=11, miles=3))
    assert heathrow - day == pytest.approx(3.6, abs=0.01)
    assert LONDON.currency == "GBP" and NYC.currency == "USD"
