"""Run the pipeline's steps (azure-ml-job.yaml and its components) locally, in one process: `make local`.

Data: every CSV/Parquet file under <data>/<experiment>/raw/ (e.g. data/london_taxi/raw/ in the repository); if
there is none, a sample is generated there first. Outputs go to <data>/<experiment>/outputs/<step>/. <data>
is $DATA_DIR or ../data (the repository's data/ folder, as mounted in the container). `--name value` sets
the pipeline or step input `name`, e.g. `make local EXP=london_taxi XARGS="--max_iter 500"`. The same
pipeline with one container per step, as Azure ML runs it: `make job EXP=london_taxi XARGS=--local`.
"""

from __future__ import annotations

import sys

from experiment import EXPERIMENT

from common.steps.local import main

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
