"""The cities the generator knows, by name."""

from __future__ import annotations

from common.cities.base import City, Trips, Zone
from common.cities.london import LONDON
from common.cities.nyc import NYC

CITIES: dict[str, City] = {"nyc": NYC, "london": LONDON}


def get_city(name: str) -> City:
    """The city called `name` (nyc or london)."""
    try:
        return CITIES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown city {name!r}; choose one of {', '.join(CITIES)}") from None


__all__ = ["CITIES", "City", "LONDON", "NYC", "Trips", "Zone", "get_city"]
