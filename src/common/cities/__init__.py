"""The cities the generator knows, by name."""

from __future__ import annotations

from common.cities.base import City, Trips, Zone
from common.cities.london import LONDON
from common.cities.nyc import NYC
from common.cities.nyc_yellow_2023 import NYC_YELLOW_2023

CITIES: dict[str, City] = {"nyc": NYC, "london": LONDON, "nyc_yellow_2023": NYC_YELLOW_2023}


def get_city(name: str) -> City:
    """The city called `name` (nyc, london or nyc_yellow_2023)."""
    try:
        return CITIES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown city {name!r}; choose one of {', '.join(CITIES)}") from None


__all__ = ["CITIES", "City", "LONDON", "NYC", "NYC_YELLOW_2023", "Trips", "Zone", "get_city"]
