"""Generator: schema, types, ranges, determinism (independent of chunk size), streaming, tariff rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.cities import LONDON, NYC, NYC_YELLOW_2023, Trips
from common.cities.nyc import meter_fare
from common.generator import BLOCK_ROWS, generate_frame, generate_trips, write_trips
from common.schema import COLUMNS, DTYPES


@pytest.mark.parametrize("city", [NYC, LONDON, NYC_YELLOW_2023], ids=lambda c: c.name)
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


def _trips(city, pickup, dropoff, hour, weekday=2, month=6, day=12, miles=10, slow_s=600.0, slow_miles=0.7):
    one = lambda value: np.array([value])  # noqa: E731
    return Trips(
        pickup_zone=one(city.zone_index(pickup)),
        dropoff_zone=one(city.zone_index(dropoff)),
        distance=one(miles),
        duration_s=one(1800.0),
        slow_s=one(slow_s),
        slow_miles=one(slow_miles),
        pickup_hour=one(hour),
        pickup_weekday=one(weekday),
        pickup_month=one(month),
        pickup_monthday=one(day),
    )


def _fare(city, trips):
    return float(city.tariff(city, trips, np.random.default_rng(0))[0])


def test_nyc_yellow_2023_tariff_rules():
    """The 2023 yellow-cab option keeps today's tariff: surcharges, tolls and the $70 JFK fare in `cost`."""
    # JFK <-> Manhattan: $70 flat + MTA tax + improvement + congestion (+ maybe a toll), any distance.
    base = 70 + 0.5 + 1.0 + 2.5
    to_jfk = _fare(NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "midtown", "jfk", hour=11, miles=17))
    assert base - 1 < to_jfk < base + 6.94 + 1
    assert _fare(
        NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "midtown", "jfk", hour=17, miles=17)
    ) - to_jfk == pytest.approx(5.0, abs=0.01)
    # Newark: meter plus the $20 surcharge and tolls, so dearer than the same metered distance in the city.
    newark = _fare(NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "midtown", "newark", hour=11, miles=17))
    city = _fare(NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "midtown", "harlem", hour=11, miles=17))
    assert newark - city > 20
    # $2.50 weekday rush hour, $1.00 overnight, none at 11am.
    assert _fare(NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "harlem", "harlem", hour=17)) - _fare(
        NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "harlem", "harlem", hour=11)
    ) == pytest.approx(2.5, abs=0.01)
    assert _fare(NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "harlem", "harlem", hour=23)) - _fare(
        NYC_YELLOW_2023, _trips(NYC_YELLOW_2023, "harlem", "harlem", hour=11)
    ) == pytest.approx(1.0, abs=0.01)


def test_nyc_2016_meter_by_hand():
    """The TLC 2016 rate card by hand: $2.50 upon entry, then $0.50 per unit, a unit being 1/5 mile at
    12 mph or more or 60 seconds when slower; the unit being accrued is charged in advance (rounded up).
    Source: http://www.nyc.gov/html/tlc/html/passenger/taxicab_rate.shtml (Standard City Rate, 2016)."""
    fare = lambda miles, slow_miles, slow_s: float(meter_fare(miles, slow_miles, slow_s))  # noqa: E731
    # 1 mile in 6 minutes at a steady 10 mph: below 12 mph the meter counts time, 360 s / 60 s = 6 units,
    # $2.50 + 6 x $0.50 = $5.50 (the 1 mile driven slowly is not charged again by distance).
    assert fare(1.0, 1.0, 360.0) == 5.50
    # 1 mile in 6 minutes, 3 minutes standing at lights and 3 minutes at 20 mph: 1 mile / 0.2 = 5 distance
    # units + 180 s / 60 s = 3 time units = 8 units: $2.50 + $4.00 = $6.50.
    assert fare(1.0, 0.0, 180.0) == 6.50
    # 1 mile never below 12 mph: 5 units, $5.00, which is the meter formula 2.50 + 2.50 x 1 mile.
    assert fare(1.0, 0.0, 0.0) == 5.00 == 2.50 + 2.50 * 1.0
    # Half a mile, fast: 2.5 units; the third unit is charged as soon as it starts: $2.50 + 3 x $0.50 = $4.00.
    assert fare(0.5, 0.0, 0.0) == 4.00
    # Flag drop only: $2.50. A 10-mile trip with 12 minutes crawling at 4 mph (0.8 mile):
    # 9.2 / 0.2 = 46 distance units + 12 time units = 58 units: $2.50 + $29.00 = $31.50.
    assert fare(0.0, 0.0, 0.0) == 2.50
    assert fare(10.0, 0.8, 720.0) == 31.50


def test_nyc_2016_jfk_flat_fare_and_no_surcharges():
    """Manhattan <-> JFK is $52 flat (rate code 2) whatever the meter says; Brooklyn -> JFK is metered.
    `cost` has no surcharge: the same trip costs the same at 11 am, 5 pm (rush hour) and 11 pm (night)."""
    rng = np.random.default_rng(0)
    rows = 2000
    many = lambda trips: Trips(**{k: np.repeat(v, rows) for k, v in vars(trips).items()})  # noqa: E731
    harlem = NYC.tariff(NYC, many(_trips(NYC, "central_harlem", "jfk", hour=11, miles=16)), rng)
    brooklyn = NYC.tariff(NYC, many(_trips(NYC, "bed_stuy_bushwick", "jfk", hour=11, miles=11)), rng)
    # Negotiated fares (1.5% of trips, assumed) are the only exception to the rate card.
    assert 0.97 < (harlem == 52.0).mean() < 1.0
    # (11 - 0.7) / 0.2 = 51.5 distance units + 600 s / 60 = 10 time units: 61.5, so 62 units: $33.50.
    meter = 2.50 + 0.50 * 62
    assert 0.97 < (brooklyn == meter).mean() < 1.0
    by_hour = [_fare(NYC, _trips(NYC, "astoria", "astoria", hour=h, miles=2)) for h in (11, 17, 23)]
    assert by_hour == [by_hour[0]] * 3


def _minutes(frame):
    """Trip minutes from the calendar parts (a trip may cross midnight or the end of the month)."""
    parts = (("monthday", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    pickup, dropoff = (
        sum(frame[f"{side}_{part}"] * k for part, k in parts) for side in ("pickup", "dropoff")
    )
    return ((dropoff - pickup) % (31 * 86400)) / 60


def test_nyc_matches_the_published_green_taxi_figures():
    """The default NYC data looks like the public sample (green cabs, January 2016) where figures exist."""
    frame = generate_frame(NYC, 50_000, seed=2)
    minutes = _minutes(frame)
    # Issue 13's facts about the public sample: median trip under 2 miles and about 10 minutes.
    assert 1.2 < frame["distance"].median() < 2.0
    assert 8.0 < minutes.median() < 12.0
    # NYC taxi trips 2013 (sambuz.com slides of TLC trip records, slide 5): the majority of trips are within
    # 3 miles and cost less than $10; the median speed is about 10 mph.
    assert frame["distance"].quantile(0.60) < 3.0 and frame["cost"].median() < 10.0
    assert 8.0 < (frame["distance"] / (minutes / 60)).median() < 13.0
    # Rate card: $2.50 per mile above 12 mph, time below: per mile beyond the flag, at least $2.50, and time
    # in traffic adds a little (the median trip runs near 11 mph).
    longer = frame[frame["distance"] > 1.0]
    per_mile = ((longer["cost"] - 2.50) / longer["distance"]).median()
    assert 2.5 <= per_mile < 3.5
    # fare_amount comes in $0.50 units; only negotiated fares (assumed 1.5%) may fall between.
    on_grid = np.isclose(frame["cost"] * 2, np.round(frame["cost"] * 2)).mean()
    assert 0.98 < on_grid < 0.999
    assert frame["cost"].min() >= 2.50
    # TLC 2016 Factbook, trip trends: 5% of SHL trips start 5-8 AM and 11% 4-6 PM.
    assert 0.04 < frame["pickup_hour"].between(5, 7).mean() < 0.065
    assert 0.095 < frame["pickup_hour"].between(16, 17).mean() < 0.125
    # January 2016: 1 January 2016 was a Friday (weekday 4).
    assert (frame["pickup_month"] == 1).all()
    assert (frame.loc[frame["pickup_monthday"] == 1, "pickup_weekday"] == 4).all()


def test_nyc_green_pickup_zones():
    """Green cabs pick up outside the Manhattan core and not at airports, by the Factbook's borough shares."""
    pickups = [zone for zone in NYC.zones if zone.pickups]
    core = {"midtown", "downtown", "upper_east_side", "upper_west_side"}
    assert not core & {zone.name for zone in pickups} and not any(zone.airport for zone in pickups)
    assert {"laguardia", "jfk", *core} <= {zone.name for zone in NYC.zones}  # drop-offs go anywhere
    total = sum(zone.weight for zone in pickups)
    share = lambda region: sum(z.weight for z in pickups if z.region == region) / total  # noqa: E731
    # TLC 2016 Factbook: Brooklyn 38%, Northern Manhattan 28%, Queens 28%, Bronx 6% of SHL pickups.
    assert [round(share(r), 2) for r in ("brooklyn", "manhattan", "queens", "bronx")] == [
        0.38,
        0.28,
        0.28,
        0.06,
    ]
    # Generated trips: no pickup within half a mile of Times Square, but drop-offs there.
    frame = generate_frame(NYC, 20_000, seed=3)
    near = lambda side: (  # noqa: E731
        np.hypot(frame[f"{side}_latitude"] - 40.758, (frame[f"{side}_longitude"] + 73.9855) * 0.76) < 0.5 / 69
    )
    assert not near("pickup").any() and near("dropoff").sum() > 20


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
