"""What the trip generator needs to know about a city: geography, traffic, valid ranges and its tariff."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from common.schema import COMMON_RANGES


@dataclass(frozen=True)
class Zone:
    """A pickup/dropoff area: a centre, a spread (degrees), a share of trips and tariff-relevant flags."""

    name: str
    lat: float
    lon: float
    spread: float
    weight: float
    region: str
    speed_factor: float = 1.0
    airport: bool = False
    pickups: bool = True  # False where street hails are not allowed (e.g. yellow cabs at Newark)
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Trips:
    """The physical trips of one block, as numpy arrays, handed to a city's tariff."""

    pickup_zone: np.ndarray
    dropoff_zone: np.ndarray
    distance: np.ndarray  # miles actually driven
    duration_s: np.ndarray
    slow_s: np.ndarray  # seconds spent below the meter's switch speed
    slow_miles: np.ndarray  # miles driven in those seconds (charged by time, not by distance)
    pickup_hour: np.ndarray
    pickup_weekday: np.ndarray
    pickup_month: np.ndarray
    pickup_monthday: np.ndarray


Tariff = Callable[["City", Trips, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class City:
    """A city's geography, traffic pattern, value ranges and tariff; `currency` is the unit of `cost`."""

    name: str
    currency: str
    lat_range: tuple[float, float]
    lon_range: tuple[float, float]
    distance_range: tuple[float, float]
    passengers_range: tuple[int, int]
    cost_range: tuple[float, float]
    zones: tuple[Zone, ...]
    hourly_demand: tuple[float, ...]  # relative pickups per hour of day, 24 values
    hourly_speed_mph: tuple[float, ...]  # typical street speed per hour of day, 24 values
    passenger_shares: tuple[float, ...]  # share of trips with 1, 2, ... passengers
    detour: float  # road distance over great-circle distance
    tariff: Tariff = field(repr=False, compare=False)
    year: int = 2024
    month: int | None = None  # trips start in this month of `year` only; None: the whole year
    local_share: float = 0.4  # share of trips that stay near their pickup
    # (median, sigma) of a lognormal straight-line length, in miles, for those local trips; None: they end
    # at a random point of the pickup zone instead.
    local_trip_miles: tuple[float, float] | None = None
    flag_drop_share: float = 0.0  # trips ended at the curb: under 0.1 mile, the meter's first units only
    vendor_2_share: float = 0.55
    store_forward_share: float = 0.01

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Inclusive valid range per column; rows outside are dropped by prep."""
        return {
            **COMMON_RANGES,
            "distance": self.distance_range,
            "passengers": self.passengers_range,
            "pickup_latitude": self.lat_range,
            "dropoff_latitude": self.lat_range,
            "pickup_longitude": self.lon_range,
            "dropoff_longitude": self.lon_range,
            "cost": self.cost_range,
        }

    def zone_index(self, name: str) -> int:
        """Position of a zone by name (tariffs use it to recognise airports)."""
        return next(i for i, zone in enumerate(self.zones) if zone.name == name)

    def zones_with(self, flag: str) -> np.ndarray:
        """Indices of the zones carrying a tariff flag."""
        return np.array([i for i, zone in enumerate(self.zones) if flag in zone.flags], dtype=np.int64)

    def regions(self) -> np.ndarray:
        """Region name per zone, for tolls between regions."""
        return np.array([zone.region for zone in self.zones])
