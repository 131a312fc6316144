"""London black cab (hackney carriage): Greater London geography and the TfL taximeter tariff (GBP).

Tariff (TfL, 2024 structure): a minimum fare of £3.80 covering the first two units, then 20p per unit.
A unit is a distance or a time, whichever comes first, and depends on when the trip starts:
Tariff 1 (Mon-Fri 05:00-20:00) 117.4 m or 25.2 s; Tariff 2 (Mon-Fri 20:00-22:00, weekends 05:00-22:00)
95.5 m or 20.5 s; Tariff 3 (every night 22:00-05:00 and public holidays) 81.2 m or 17.5 s. Beyond six
miles every tariff switches to 86.9 m or 18.7 s (Tariff 1 and 2 get dearer, Tariff 3 cheaper).
Extras: £3.60 for trips starting at Heathrow ranks, £4.00 over Christmas and New Year
(24 Dec 20:00 - 27 Dec 06:00, 31 Dec 20:00 - 2 Jan 06:00), up to £2 booking fee on some trips.
London taxis pay no congestion charge, ULEZ or tolls, so there are none. `distance` stays in miles.
"""

from __future__ import annotations

import numpy as np

from common.cities.base import City, Trips, Zone

MINIMUM = 3.80
MINIMUM_UNITS = 2
UNIT_PRICE = 0.20
METRES_PER_MILE = 1609.344
SIX_MILES_M = 9656.1
# (metres, seconds) per unit for tariffs 1, 2, 3, and beyond six miles.
UNITS = {1: (117.4, 25.2), 2: (95.5, 20.5), 3: (81.2, 17.5)}
LONG_UNIT = (86.9, 18.7)
HEATHROW_EXTRA = 3.60
HOLIDAY_EXTRA = 4.00
BOOKING_FEE = 2.00
PUBLIC_HOLIDAYS = ((1, 1), (12, 25), (12, 26))

CENTRAL = frozenset({"central"})

ZONES = (
    Zone("west_end", 51.513, -0.136, 0.006, 0.20, "central", 0.80, flags=CENTRAL),
    Zone("city", 51.515, -0.090, 0.006, 0.12, "central", 0.80, flags=CENTRAL),
    Zone("westminster", 51.499, -0.135, 0.006, 0.08, "central", 0.85, flags=CENTRAL),
    Zone("kings_cross", 51.531, -0.124, 0.005, 0.07, "central", 0.85, flags=CENTRAL),
    Zone("waterloo", 51.503, -0.113, 0.005, 0.06, "south", 0.90),
    Zone("kensington", 51.497, -0.190, 0.008, 0.08, "west", 0.90),
    Zone("paddington", 51.516, -0.176, 0.005, 0.06, "west", 0.90),
    Zone("shoreditch", 51.526, -0.078, 0.006, 0.06, "east", 0.90),
    Zone("canary_wharf", 51.505, -0.020, 0.006, 0.06, "east", 1.05),
    Zone("camden", 51.541, -0.143, 0.007, 0.05, "north", 1.00),
    Zone("brixton_clapham", 51.462, -0.125, 0.012, 0.04, "south", 1.00),
    Zone(
        "heathrow",
        51.470,
        -0.4543,
        0.005,
        0.05,
        "heathrow",
        1.50,
        airport=True,
        flags=frozenset({"heathrow"}),
    ),
    Zone("london_city_airport", 51.5048, 0.0495, 0.002, 0.02, "east", 1.20, airport=True),
)


def _tariff_period(trips: Trips) -> np.ndarray:
    """Tariff 1, 2 or 3 for each trip's start time."""
    hour, weekend = trips.pickup_hour, trips.pickup_weekday >= 5
    holiday = np.zeros(len(hour), dtype=bool)
    for month, day in PUBLIC_HOLIDAYS:
        holiday |= (trips.pickup_month == month) & (trips.pickup_monthday == day)
    night = (hour >= 22) | (hour < 5)
    evening_or_weekend = weekend | (hour >= 20)
    return np.where(night | holiday, 3, np.where(evening_or_weekend, 2, 1))


def _festive(trips: Trips) -> np.ndarray:
    """Whether a trip starts in the Christmas or New Year extra period."""
    month, day, hour = trips.pickup_month, trips.pickup_monthday, trips.pickup_hour
    christmas = (month == 12) & (
        ((day == 24) & (hour >= 20)) | (day == 25) | (day == 26) | ((day == 27) & (hour < 6))
    )
    new_year = ((month == 12) & (day == 31) & (hour >= 20)) | (
        (month == 1) & ((day == 1) | ((day == 2) & (hour < 6)))
    )
    return christmas | new_year


def tariff(city: City, trips: Trips, rng: np.random.Generator) -> np.ndarray:
    """The metered fare each trip pays under the TfL rules above, plus small noise."""
    period = _tariff_period(trips)
    unit_m = np.select([period == 1, period == 2], [UNITS[1][0], UNITS[2][0]], UNITS[3][0])
    unit_s = np.select([period == 1, period == 2], [UNITS[1][1], UNITS[2][1]], UNITS[3][1])

    metres = trips.distance * METRES_PER_MILE
    slow_m = trips.slow_s * 4.0 / 3600.0 * METRES_PER_MILE
    fast_m = np.maximum(metres - slow_m, 0.0)
    share_short = np.minimum(SIX_MILES_M / np.maximum(metres, 1.0), 1.0)
    units = share_short * (fast_m / unit_m + trips.slow_s / unit_s) + (1.0 - share_short) * (
        fast_m / LONG_UNIT[0] + trips.slow_s / LONG_UNIT[1]
    )
    fare = MINIMUM + UNIT_PRICE * np.maximum(np.ceil(units) - MINIMUM_UNITS, 0.0)

    fare += np.where(np.isin(trips.pickup_zone, city.zones_with("heathrow")), HEATHROW_EXTRA, 0.0)
    fare += np.where(_festive(trips), HOLIDAY_EXTRA, 0.0)
    fare += np.where(rng.random(len(fare)) < 0.08, BOOKING_FEE, 0.0)
    return fare + rng.normal(0.0, 0.20, len(fare))


LONDON = City(
    name="london",
    currency="GBP",
    lat_range=(51.28, 51.70),
    lon_range=(-0.52, 0.34),
    distance_range=(0.01, 40.0),
    passengers_range=(1, 6),
    cost_range=(3.80, 400.0),
    zones=ZONES,
    hourly_demand=(3.0, 2.4, 1.6, 1.0, 0.7, 0.8, 1.6, 3.0, 4.4, 4.2, 3.9, 4.0)
    + (4.3, 4.4, 4.4, 4.5, 4.6, 5.0, 5.4, 5.3, 5.0, 5.0, 4.8, 3.9),
    hourly_speed_mph=(15.0, 16.0, 17.0, 17.0, 17.0, 16.0, 13.0, 10.0, 8.5, 8.5, 8.8, 8.7)
    + (8.5, 8.4, 8.3, 8.2, 8.0, 8.2, 8.8, 9.8, 11.0, 12.0, 13.0, 14.0),
    passenger_shares=(0.62, 0.22, 0.08, 0.05, 0.02, 0.01),
    detour=1.35,
    tariff=tariff,
)
