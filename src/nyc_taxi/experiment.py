"""nyc_taxi: New York green taxi fares (the public January 2016 sample) in USD, with the shared taxi steps."""

from common.cities import NYC
from common.experiment import Experiment

EXPERIMENT = Experiment(name="nyc_taxi", city=NYC, model_name="nyc_taxi_fare")
