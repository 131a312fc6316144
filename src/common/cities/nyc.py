"""New York City green ("boro") taxis, January 2016: the public TLC sample behind the Azure ML taxi examples.

`cost` is the record's `fare_amount`: the metered fare alone, in $0.50 steps, with no MTA tax, improvement
surcharge, night or rush-hour extra, tolls or tips (those are separate columns of the trip record).

Calibration: each parameter and the published figure it comes from.

- Tariff, `tariff()`: the TLC Standard City Rate (rate code 1) in force in 2016, which green cabs also
  charge: $2.50 upon entry, then $0.50 per unit, a unit being 1/5 mile at 12 mph or more or 60 seconds
  when slower or stopped; fractions of distance and time add up to units, and the unit being accrued is
  charged in advance (so the fare is $2.50 + $0.50 x the units rounded up). Trips between Manhattan and
  JFK pay the $52 flat fare (rate code 2). Source: TLC "Rate of Fare" page, 2016,
  http://www.nyc.gov/html/tlc/html/passenger/taxicab_rate.shtml (the $52 JFK fare dates from the
  September 2012 fare change; the $2.50 / $0.50 rate held until December 2022).
- What `cost` holds: "Fare_amount: the time-and-distance fare calculated by the meter"; extra, MTA tax,
  the $0.30 improvement surcharge, tolls and tips are their own columns. Sources: TLC green trip record
  data dictionary (LPEP), as republished by Azure Open Datasets,
  https://learn.microsoft.com/azure/open-datasets/dataset-taxi-green .
- Pickup zones, `ZONES` (`pickups=True`): green cabs may pick up street hails only in Manhattan north of
  West 110th and East 96th Street and in the outer boroughs, not at the airports; they drop off anywhere
  (TLC Street Hail Livery program). Pickup weights follow the TLC 2016 Factbook's SHL pickups by borough:
  Brooklyn 38%, Northern Manhattan 28%, Queens 28%, Bronx 6% (TLC 2016 Factbook, "Trip Trends",
  nyc.gov/tlcfactbook; text at https://mastercabbie.com/factbook-p2-trip-trends/). Manhattan below 96th
  /110th Street, LaGuardia and JFK are drop-off-only zones.
- Hour of day, `hourly_demand`: same Factbook page: SHL trips peak 6-8 PM on workdays and on Saturday
  nights 8 PM-midnight; 11% of SHL trips start 4-6 PM and 5% start 5-8 AM (this profile gives 10.6% and
  5.4%).
- Month, `year`/`month`: January 2016, the month of the public sample.
- Trip lengths, `local_share`/`local_trip_miles` and `detour`: most green trips stay in the neighbourhood:
  the public sample's median trip is under 2 miles and about 10 minutes (issue 13's facts about the public
  sample; the test names the ranges). 80% of trips end a lognormal 1.05-mile straight line (sigma 0.7)
  from the pickup, the others at a zone elsewhere (Manhattan core, the airports, other boroughs); roads
  add 30%. This gives a median of 1.8 miles and 9.7 minutes, and a mean fare of $11.4 (the public trips
  average about $12).
- Speeds, `hourly_speed_mph`: outer-borough traffic about 10-12 mph by day, faster at night, chosen so
  the median trip lasts about 10 minutes; NYC taxi trips' median speed is about 10 mph (TLC trip records
  2013, https://www.sambuz.com/doc/outline-ppt-presentation-1050479 , slide 5).
- Box, `lat_range`/`lon_range`: the public sample's coordinates (lat 40.53-40.88, lon -74.09 to -73.72).
- Passengers and vendors, `passenger_shares`/`vendor_2_share`: about 84% of green trips carry one rider
  and 8% two, with 5- and 6-seat trips (minivans) more common than 3 and 4; VeriFone (vendor 2) records
  about 4 in 5 green trips. We found no published summary of January 2016 to cite for these: they are
  assumptions, and only the schema's ranges are checked.
- Odd trips, kept by prep because they are real fares in range: negotiated fares (rate code 5, an agreed
  price quoted to the quarter dollar, `NEGOTIATED_SHARE`, assumed 1.5%) and trips ended at the curb
  (`flag_drop_share`, 1%: under 0.1 mile, the first meter units). Data-entry errors (zero coordinates
  or distance, negative fares, no passengers) come from the generator's `dirty_fraction` and prep drops
  them (see common.steps.prep).
"""

from __future__ import annotations

import numpy as np

from common.cities.base import City, Trips, Zone

INITIAL = 2.50
UNIT_PRICE = 0.50
UNIT_MILES = 0.2  # above the switch speed: 1/5 mile per unit
UNIT_SECONDS = 60.0  # below it: 60 seconds per unit (12 mph = 1/5 mile per minute: the two agree)
JFK_FLAT = 52.00
NEGOTIATED_SHARE = 0.015

ZONES = (
    # Green pickup zones: Northern Manhattan 28%, Brooklyn 38%, Queens 28%, Bronx 6%.
    Zone("east_harlem", 40.797, -73.940, 0.007, 0.09, "manhattan", 0.95),
    Zone("central_harlem", 40.811, -73.946, 0.008, 0.12, "manhattan", 0.95),
    Zone("washington_heights", 40.845, -73.937, 0.009, 0.07, "manhattan", 1.00),
    Zone("williamsburg_greenpoint", 40.718, -73.953, 0.009, 0.11, "brooklyn", 1.00),
    Zone("downtown_brooklyn_park_slope", 40.682, -73.980, 0.010, 0.08, "brooklyn", 1.00),
    Zone("bed_stuy_bushwick", 40.690, -73.930, 0.010, 0.09, "brooklyn", 1.00),
    Zone("crown_heights_flatbush", 40.660, -73.950, 0.010, 0.06, "brooklyn", 1.00),
    Zone("sunset_park_bay_ridge", 40.638, -74.015, 0.010, 0.04, "brooklyn", 1.05),
    Zone("astoria", 40.766, -73.922, 0.008, 0.08, "queens", 1.05),
    Zone("lic_sunnyside", 40.745, -73.935, 0.008, 0.05, "queens", 1.05),
    Zone("jackson_heights_elmhurst", 40.748, -73.882, 0.009, 0.08, "queens", 1.05),
    Zone("flushing", 40.759, -73.830, 0.009, 0.03, "queens", 1.05),
    Zone("jamaica", 40.702, -73.795, 0.010, 0.04, "queens", 1.10),
    Zone("south_bronx", 40.817, -73.915, 0.009, 0.04, "bronx", 1.05),
    Zone("fordham", 40.860, -73.893, 0.008, 0.02, "bronx", 1.05),
    # Drop-off only: the Manhattan core (south of E 96th / W 110th Street) and the airports.
    Zone("midtown", 40.754, -73.984, 0.010, 0.07, "manhattan", 0.80, pickups=False),
    Zone("downtown", 40.715, -74.005, 0.009, 0.03, "manhattan", 0.85, pickups=False),
    Zone("upper_east_side", 40.773, -73.958, 0.007, 0.05, "manhattan", 0.90, pickups=False),
    Zone("upper_west_side", 40.787, -73.975, 0.007, 0.03, "manhattan", 0.90, pickups=False),
    Zone("laguardia", 40.7769, -73.8740, 0.003, 0.025, "queens", 1.30, airport=True, pickups=False),
    Zone("jfk", 40.6413, -73.7781, 0.004, 0.015, "queens", 1.50, airport=True, pickups=False),
)


def meter_fare(distance: np.ndarray, slow_miles: np.ndarray, slow_s: np.ndarray) -> np.ndarray:
    """The 2016 standard rate: $2.50 + $0.50 per unit started (1/5 mile when fast, 60 s when slow)."""
    fast_miles = np.maximum(distance - slow_miles, 0.0)
    units = fast_miles / UNIT_MILES + slow_s / UNIT_SECONDS
    return INITIAL + UNIT_PRICE * np.ceil(np.round(units, 6))  # round first: 1.0 / 0.2 must be 5 units


def tariff(city: City, trips: Trips, rng: np.random.Generator) -> np.ndarray:
    """`fare_amount` of each trip: the meter, the JFK flat fare, or now and then a negotiated price."""
    fare = meter_fare(trips.distance, trips.slow_miles, trips.slow_s)
    manhattan = city.regions()[trips.pickup_zone] == "manhattan"
    fare = np.where(manhattan & (trips.dropoff_zone == city.zone_index("jfk")), JFK_FLAT, fare)
    negotiated = rng.random(len(fare)) < NEGOTIATED_SHARE
    agreed = np.round(fare * rng.uniform(0.8, 1.1, len(fare)) * 4.0) / 4.0
    return np.where(negotiated, np.maximum(agreed, INITIAL), fare)


NYC = City(
    name="nyc",
    currency="USD",
    lat_range=(40.53, 40.88),
    lon_range=(-74.09, -73.72),
    distance_range=(0.01, 33.0),
    passengers_range=(1, 7),
    # $2.50 is the least the meter charges; zero and negative amounts are voids and refunds, not fares.
    cost_range=(2.50, 250.0),
    zones=ZONES,
    hourly_demand=(4.0, 3.3, 2.6, 2.0, 1.5, 1.0, 1.3, 2.1, 2.9, 2.9, 2.8, 2.9)
    + (3.0, 3.1, 3.4, 3.8, 4.2, 4.6, 5.2, 5.3, 5.0, 4.8, 4.8, 4.6),
    hourly_speed_mph=(15.5, 16.5, 17.0, 17.5, 17.5, 17.0, 14.5, 12.0, 10.5, 10.5, 10.8, 10.6)
    + (10.5, 10.4, 10.2, 10.0, 9.8, 10.0, 10.6, 11.5, 12.5, 13.5, 14.0, 15.0),
    passenger_shares=(0.84, 0.08, 0.015, 0.005, 0.04, 0.02),
    detour=1.30,
    tariff=tariff,
    year=2016,
    month=1,
    local_share=0.8,
    local_trip_miles=(1.05, 0.7),
    flag_drop_share=0.01,
    vendor_2_share=0.8,
    store_forward_share=0.005,
)
