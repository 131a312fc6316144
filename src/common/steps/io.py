"""Files passed between steps: splits in the prep folder, a flag and JSON in the evaluation folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from common.errors import DataError
from common.schema import FEATURES, TARGET

SPLITS = ("train", "val", "test")
DEPLOY_FLAG = "deploy_flag"
EVALUATION = "evaluation.json"
REGISTRATION = "registration.json"


def split_path(prep_dir: str | Path, split: str) -> Path:
    """Where prep writes one split."""
    return Path(prep_dir) / f"{split}.parquet"


def read_split(prep_dir: str | Path, split: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features (in schema order) and target of one split written by prep."""
    path = split_path(prep_dir, split)
    if not path.exists():
        raise DataError(f"{path}: missing; run the prep step first")
    frame = pd.read_parquet(path)
    return frame[FEATURES], frame[TARGET]


def write_json(path: Path, payload: dict) -> None:
    """Write a small JSON document, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict:
    """Read a JSON document written by an earlier step."""
    if not path.exists():
        raise DataError(f"{path}: missing; run the earlier steps first")
    return json.loads(path.read_text())


def empty_folder(path: Path) -> None:
    """Empty an output folder without removing it (in Azure ML it is a mount point); create it if needed."""
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
