"""What distinguishes one taxi experiment from another: its city, its registered model and its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.cities import City


@dataclass(frozen=True)
class Experiment:
    """An experiment's identity; the shared steps take everything city-specific from here."""

    name: str
    city: City
    model_name: str
    train_defaults: dict[str, float | int] = field(default_factory=dict)
