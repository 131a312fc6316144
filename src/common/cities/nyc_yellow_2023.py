"""New York City yellow cab, 2023 tariff (USD): an option (`--city nyc_yellow_2023`), not the default.

`cost` here is what a yellow-cab rider pays today, surcharges and tolls included, so it is NOT the
public sample's `cost` (see common.cities.nyc for that). Use it for data priced under today's tariff.

Tariff (standard city rate, rate code 1, as published by the NYC TLC since December 2022): $3.00 initial
charge plus $0.70 per unit, a unit being 1/5 mile above 12 mph or 60 seconds when slower or stopped;
$1.00 overnight surcharge (8pm-6am), $2.50 weekday rush-hour surcharge (4pm-8pm), $0.50 MTA state tax,
$1.00 improvement surcharge, $2.50 congestion surcharge for trips starting or ending in Manhattan south of
96th Street, $1.75 airport access fee for LaGuardia and JFK pickups. Trips between JFK and Manhattan pay
the $70 flat fare (plus $5 on weekday afternoons 4pm-8pm) instead of the meter; trips to Newark Liberty pay
the meter plus the $20 Newark surcharge. Tolls are approximate E-ZPass rates for river crossings.
Tips are not part of `cost`.
"""

from __future__ import annotations

import numpy as np

from common.cities.base import City, Trips, Zone

INITIAL = 3.00
UNIT_PRICE = 0.70
UNIT_MILES = 0.2
UNIT_SECONDS = 60.0
OVERNIGHT = 1.00
RUSH_HOUR = 2.50
MTA_TAX = 0.50
IMPROVEMENT = 1.00
CONGESTION = 2.50
AIRPORT_FEE = 1.75
JFK_FLAT = 70.00
JFK_RUSH = 5.00
NEWARK = 20.00
CROSSING_TOLL = 6.94
NEWARK_TOLL = 17.63

CBD = frozenset({"cbd"})

ZONES = (
    Zone("midtown", 40.754, -73.984, 0.010, 0.30, "manhattan", 0.80, flags=CBD),
    Zone("downtown", 40.715, -74.005, 0.009, 0.13, "manhattan", 0.85, flags=CBD),
    Zone("upper_east", 40.773, -73.958, 0.008, 0.12, "manhattan", 0.90, flags=CBD),
    Zone("upper_west", 40.784, -73.977, 0.007, 0.09, "manhattan", 0.90, flags=CBD),
    Zone("harlem", 40.812, -73.947, 0.009, 0.04, "manhattan", 1.00),
    Zone("downtown_brooklyn", 40.688, -73.978, 0.014, 0.07, "brooklyn", 1.10),
    Zone("williamsburg", 40.714, -73.955, 0.008, 0.04, "brooklyn", 1.05),
    Zone("astoria_lic", 40.755, -73.925, 0.012, 0.04, "queens", 1.10),
    Zone("south_bronx", 40.830, -73.910, 0.012, 0.02, "bronx", 1.15),
    Zone(
        "laguardia",
        40.7769,
        -73.8740,
        0.003,
        0.05,
        "queens",
        1.30,
        airport=True,
        flags=frozenset({"airport_fee"}),
    ),
    Zone(
        "jfk", 40.6413, -73.7781, 0.004, 0.035, "queens", 1.50, airport=True, flags=frozenset({"airport_fee"})
    ),
    Zone("newark", 40.6895, -74.1745, 0.004, 0.012, "new_jersey", 1.50, airport=True, pickups=False),
)


def tariff(city: City, trips: Trips, rng: np.random.Generator) -> np.ndarray:
    """The fare each trip pays under the TLC rules above, plus small meter noise."""
    regions = city.regions()
    pickup_region, dropoff_region = regions[trips.pickup_zone], regions[trips.dropoff_zone]
    hour, weekday = trips.pickup_hour, trips.pickup_weekday < 5

    fast_miles = np.maximum(trips.distance - trips.slow_s * 4.0 / 3600.0, 0.0)
    units = np.ceil(fast_miles / UNIT_MILES + trips.slow_s / UNIT_SECONDS)
    metered = INITIAL + UNIT_PRICE * units
    rush = weekday & (hour >= 16) & (hour < 20)
    overnight = (hour >= 20) | (hour < 6)
    metered += np.where(rush, RUSH_HOUR, 0.0) + np.where(overnight, OVERNIGHT, 0.0)

    jfk = city.zone_index("jfk")
    jfk_manhattan = ((trips.pickup_zone == jfk) & (dropoff_region == "manhattan")) | (
        (trips.dropoff_zone == jfk) & (pickup_region == "manhattan")
    )
    flat = JFK_FLAT + np.where(rush, JFK_RUSH, 0.0)
    fare = np.where(jfk_manhattan, flat, metered) + MTA_TAX + IMPROVEMENT

    cbd = city.zones_with("cbd")
    fare += np.where(np.isin(trips.pickup_zone, cbd) | np.isin(trips.dropoff_zone, cbd), CONGESTION, 0.0)
    fare += np.where(np.isin(trips.pickup_zone, city.zones_with("airport_fee")), AIRPORT_FEE, 0.0)
    newark = trips.dropoff_zone == city.zone_index("newark")
    fare += np.where(newark, NEWARK + NEWARK_TOLL, 0.0)

    river = (pickup_region == "manhattan") != (dropoff_region == "manhattan")
    tunnel = river & ~newark & (rng.random(len(fare)) < 0.3)
    fare += np.where(tunnel, CROSSING_TOLL, 0.0)
    return fare + rng.normal(0.0, 0.25, len(fare))


NYC_YELLOW_2023 = City(
    name="nyc_yellow_2023",
    currency="USD",
    # The public data's box (lat 40.53-40.88, lon -74.09 to -73.72), widened to take in Newark Liberty.
    lat_range=(40.50, 40.92),
    lon_range=(-74.20, -73.70),
    distance_range=(0.01, 33.0),
    passengers_range=(1, 7),
    cost_range=(3.0, 500.0),
    zones=ZONES,
    hourly_demand=(2.5, 1.8, 1.3, 0.9, 0.7, 0.8, 1.8, 3.2, 4.2, 4.4, 4.2, 4.3)
    + (4.6, 4.6, 4.8, 4.9, 4.6, 5.3, 6.0, 6.0, 5.6, 5.4, 5.0, 3.8),
    hourly_speed_mph=(17.0, 18.0, 19.0, 20.0, 20.0, 19.0, 15.0, 12.0, 10.5, 10.5, 10.8, 10.5)
    + (10.3, 10.2, 10.0, 9.8, 9.6, 10.0, 10.8, 12.0, 13.5, 14.5, 15.5, 16.5),
    passenger_shares=(0.71, 0.14, 0.04, 0.02, 0.05, 0.035, 0.005),
    detour=1.30,
    tariff=tariff,
    year=2023,
)
