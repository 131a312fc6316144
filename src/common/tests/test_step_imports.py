"""`main.py <step>` loads only that step's module: prep and register start without scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[1]

CHECK = """
import sys
from common.cities import NYC
from common.experiment import Experiment
from common.steps import main
try:
    main([sys.argv[1], "--help"], Experiment("nyc_taxi", NYC, "nyc_taxi_fare"))
except SystemExit:
    pass
print(sorted({"sklearn", "matplotlib"} & {name.split(".")[0] for name in sys.modules}))
"""


@pytest.mark.parametrize(
    "step, loaded",
    [("prep", "[]"), ("register", "[]"), ("train", "['sklearn']"), ("evaluate", "['matplotlib', 'sklearn']")],
)
def test_a_step_loads_only_what_it_uses(step, loaded):
    done = subprocess.run(
        [sys.executable, "-c", CHECK, step], cwd=COMMON.parent, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == loaded
