"""Synthetic taxi trips in the public taxi schema, whose fares follow a city's real tariff.

Trips are drawn in fixed blocks of BLOCK_ROWS rows, each with its own random stream derived from
(seed, block number); chunks are cut from those blocks. So the output depends only on (city, rows, seed,
dirty_fraction), never on chunk_size, and at most one chunk plus one block is in memory at a time.
Run `python -m common.generator --help` to write a Parquet or CSV file.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from common.cities import City, Trips, get_city
from common.schema import COLUMNS, DTYPES

BLOCK_ROWS = 65_536
EARTH_RADIUS_MILES = 3958.8
MILES_PER_DEGREE = 69.05  # of latitude
SECONDS_PER_DAY = 86_400
SLOW_MPH = 4.0  # typical speed in stop-and-go traffic, below every meter's switch speed


def generate_trips(
    city: City, rows: int, seed: int = 0, chunk_size: int = 250_000, dirty_fraction: float = 0.0
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most chunk_size trips, `rows` in total; dirty_fraction corrupts some rows."""
    if rows < 0 or chunk_size < 1:
        raise ValueError("rows must be >= 0 and chunk_size >= 1")
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    for start in range(0, rows, BLOCK_ROWS):
        size = min(BLOCK_ROWS, rows - start)
        rng = np.random.default_rng([seed, start // BLOCK_ROWS])
        pending.append(_block(city, size, rng, dirty_fraction))
        pending_rows += size
        while pending_rows >= chunk_size or (pending_rows and start + size >= rows):
            frame = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield frame.iloc[:chunk_size].reset_index(drop=True)
            rest = frame.iloc[chunk_size:]
            pending, pending_rows = ([rest], len(rest)) if len(rest) else ([], 0)


def generate_frame(city: City, rows: int, seed: int = 0, dirty_fraction: float = 0.0) -> pd.DataFrame:
    """All trips in one DataFrame (for tests and small samples)."""
    chunks = list(generate_trips(city, rows, seed, chunk_size=max(rows, 1), dirty_fraction=dirty_fraction))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=COLUMNS).astype(DTYPES)


def write_trips(
    path: str | Path,
    city: City,
    rows: int,
    seed: int = 0,
    chunk_size: int = 250_000,
    dirty_fraction: float = 0.0,
) -> Path:
    """Stream trips to a .parquet (one row group per chunk) or .csv file and return its path."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"cannot write {path}: use a .parquet or .csv file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside under a name of its own, then renamed: concurrent runs generating the same sample never
    # share a half-written file, and a reader never sees one.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        _write(tmp, path.suffix, generate_trips(city, rows, seed, chunk_size, dirty_fraction))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write(tmp: Path, suffix: str, chunks: Iterator[pd.DataFrame]) -> None:
    """Write the chunks as CSV or Parquet (one row group per chunk) to `tmp`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if suffix == ".csv":
        with tmp.open("w", newline="") as handle:
            for i, chunk in enumerate(chunks):
                chunk.to_csv(handle, index=False, header=i == 0)
    else:
        writer = None
        try:
            for chunk in chunks:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()


def _block(city: City, n: int, rng: np.random.Generator, dirty_fraction: float) -> pd.DataFrame:
    """One block of trips: places, times, traffic, then the fare from the city's tariff."""
    zones = city.zones
    weight = np.array([z.weight for z in zones])
    pickup_weight = weight * np.array([z.pickups for z in zones])
    airport = np.array([z.airport for z in zones])
    speed_factor = np.array([z.speed_factor for z in zones])

    origin = rng.choice(len(zones), n, p=pickup_weight / pickup_weight.sum())
    dest = rng.choice(len(zones), n, p=weight / weight.sum())
    local = (rng.random(n) < city.local_share) & ~airport[origin]
    dest = np.where(local, origin, dest)
    dest = np.where(airport[origin] & airport[dest], 0, dest)

    p_lat, p_lon = _place(city, origin, rng)
    d_lat, d_lon = _place(city, dest, rng)
    if city.local_trip_miles is not None:
        d_lat, d_lon = _local_dropoffs(city, local, p_lat, p_lon, d_lat, d_lon, rng)
    straight = _haversine_miles(p_lat, p_lon, d_lat, d_lon)
    distance = straight * city.detour * rng.lognormal(0.0, 0.12, n) + rng.exponential(0.15, n)
    distance = np.clip(distance, 0.05, city.distance_range[1])
    if city.flag_drop_share:
        curb = rng.random(n) < city.flag_drop_share
        distance = np.where(curb, rng.uniform(0.01, 0.1, n), distance)
        dest = np.where(curb, origin, dest)
        d_lat, d_lon = np.where(curb, p_lat, d_lat), np.where(curb, p_lon, d_lon)

    start = pd.Timestamp(city.year, city.month or 1, 1)
    days = (start + pd.DateOffset(months=1 if city.month else 12) - start).days
    demand = np.array(city.hourly_demand)
    hour = rng.choice(24, n, p=demand / demand.sum())
    pickup_s = rng.integers(0, days, n) * SECONDS_PER_DAY + hour * 3600 + rng.integers(0, 3600, n)
    pickup = pd.DatetimeIndex(np.datetime64(start, "s") + pickup_s.astype("timedelta64[s]"))

    weekend = pickup.weekday.to_numpy() >= 5
    highway = 1.0 + 0.8 * np.clip((distance - 3.0) / 12.0, 0.0, 1.0)
    speed = (
        np.array(city.hourly_speed_mph)[hour]
        * (speed_factor[origin] + speed_factor[dest])
        / 2.0
        * np.where(weekend, 1.12, 1.0)
        * highway
        * rng.lognormal(0.0, 0.18, n)
    )
    duration_s = distance / speed * 3600.0 + rng.uniform(20.0, 120.0, n)
    slow_s = duration_s * np.clip(1.3 - speed / 12.0, 0.05, 0.9)
    slow_miles = np.minimum(slow_s * SLOW_MPH / 3600.0, distance)
    dropoff = pickup + pd.to_timedelta(np.round(duration_s), unit="s")

    trips = Trips(
        pickup_zone=origin,
        dropoff_zone=dest,
        distance=distance,
        duration_s=duration_s,
        slow_s=slow_s,
        slow_miles=slow_miles,
        pickup_hour=hour,
        pickup_weekday=pickup.weekday.to_numpy(),
        pickup_month=pickup.month.to_numpy(),
        pickup_monthday=pickup.day.to_numpy(),
    )
    cost = np.maximum(city.tariff(city, trips, rng), city.cost_range[0])
    shares = np.array(city.passenger_shares)

    frame = pd.DataFrame(
        {
            "distance": np.round(distance * rng.lognormal(0.0, 0.02, n), 2).clip(*city.distance_range),
            "dropoff_latitude": np.round(d_lat, 6),
            "dropoff_longitude": np.round(d_lon, 6),
            "passengers": rng.choice(len(shares), n, p=shares / shares.sum()) + 1,
            "pickup_latitude": np.round(p_lat, 6),
            "pickup_longitude": np.round(p_lon, 6),
            **_time_parts("pickup", pickup),
            **_time_parts("dropoff", dropoff),
            "store_forward": (rng.random(n) < city.store_forward_share).astype(np.int64),
            "vendor": 1 + (rng.random(n) < city.vendor_2_share).astype(np.int64),
            "cost": np.round(cost, 2),
        }
    )[COLUMNS].astype(DTYPES)
    if dirty_fraction > 0:
        _corrupt(frame, rng, dirty_fraction)
    return frame


def _place(city: City, zone: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A point near each zone's centre, kept inside the city's box."""
    lat = np.array([z.lat for z in city.zones])[zone]
    lon = np.array([z.lon for z in city.zones])[zone]
    spread = np.array([z.spread for z in city.zones])[zone]
    lat = lat + rng.normal(0.0, 1.0, len(zone)) * spread
    lon = lon + rng.normal(0.0, 1.0, len(zone)) * spread / np.cos(np.radians(lat))
    return np.clip(lat, *city.lat_range), np.clip(lon, *city.lon_range)


def _local_dropoffs(city, local, p_lat, p_lon, d_lat, d_lon, rng) -> tuple[np.ndarray, np.ndarray]:
    """Drop-offs of local trips: a lognormal straight-line length from the pickup, in any direction."""
    median, sigma = city.local_trip_miles
    miles = rng.lognormal(np.log(median), sigma, len(local))
    angle = rng.uniform(0.0, 2.0 * np.pi, len(local))
    lat = p_lat + miles * np.cos(angle) / MILES_PER_DEGREE
    lon = p_lon + miles * np.sin(angle) / (MILES_PER_DEGREE * np.cos(np.radians(p_lat)))
    lat, lon = np.clip(lat, *city.lat_range), np.clip(lon, *city.lon_range)
    return np.where(local, lat, d_lat), np.where(local, lon, d_lon)


def _haversine_miles(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in miles."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * np.arcsin(np.sqrt(a))


def _time_parts(side: str, when: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """The schema's six calendar columns for one side of the trip (weekday 0 = Monday)."""
    return {
        f"{side}_weekday": when.weekday.to_numpy(),
        f"{side}_month": when.month.to_numpy(),
        f"{side}_monthday": when.day.to_numpy(),
        f"{side}_hour": when.hour.to_numpy(),
        f"{side}_minute": when.minute.to_numpy(),
        f"{side}_second": when.second.to_numpy(),
    }


def _corrupt(frame: pd.DataFrame, rng: np.random.Generator, fraction: float) -> None:
    """Spoil rows as raw meter data is spoiled: zero coordinates or distance, negative fares, no riders."""
    rows = np.flatnonzero(rng.random(len(frame)) < fraction)
    kind = rng.integers(0, 4, len(rows))
    frame.loc[rows[kind == 0], ["pickup_latitude", "pickup_longitude"]] = 0.0
    frame.loc[rows[kind == 1], "distance"] = 0.0
    frame.loc[rows[kind == 2], "cost"] = -frame.loc[rows[kind == 2], "cost"]
    frame.loc[rows[kind == 3], "passengers"] = 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write a trips file for a city."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--city", default="nyc", help="nyc (green cabs, January 2016), london, nyc_yellow_2023"
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument("--dirty-fraction", type=float, default=0.0)
    parser.add_argument("--out", required=True, help="a .parquet or .csv path")
    args = parser.parse_args(argv)
    path = write_trips(
        args.out, get_city(args.city), args.rows, args.seed, args.chunk_size, args.dirty_fraction
    )
    print(f"wrote {args.rows} {args.city} trips to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
