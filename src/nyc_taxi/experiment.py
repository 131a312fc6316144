"""nyc_taxi: New York yellow cab fares in USD, trained with the shared taxi steps."""

from common.cities import NYC
from common.experiment import Experiment

EXPERIMENT = Experiment(name="nyc_taxi", city=NYC, model_name="nyc_taxi_fare")
