"""The fare model: a histogram gradient-boosting regressor, fast on millions of rows with few cores."""

from __future__ import annotations

from sklearn.ensemble import HistGradientBoostingRegressor

# Types skops must trust to save and load the model: the fitted trees of our own training, never a download.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]

# What loading and scoring the saved model needs, pinned to the versions that trained it (MLflow adds itself).
# Listed, not inferred: MLflow's inference loads the model in a subprocess (about 5 s a save) and records
# whatever that process imported, test tools included.
MODEL_PACKAGES = ("scikit-learn", "skops", "scipy", "numpy", "pandas")

# Fewer, larger boosting steps: a few thousandths of R2 below 300 steps at 0.1, in about a third of the time.
DEFAULTS: dict[str, float | int] = {
    "learning_rate": 0.2,
    "max_iter": 120,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 40,
    "l2_regularization": 0.0,
    "max_bins": 255,
}


def pip_requirements() -> list[str]:
    """MODEL_PACKAGES pinned to the installed versions, as `save_model(pip_requirements=...)` takes them."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in MODEL_PACKAGES]


def build_model(random_state: int = 0, **hyperparameters: float | int) -> HistGradientBoostingRegressor:
    """A regressor with DEFAULTS overridden by `hyperparameters`; fixed iterations keep time predictable."""
    unknown = set(hyperparameters) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown hyperparameter(s): {', '.join(sorted(unknown))}")
    return HistGradientBoostingRegressor(
        **{**DEFAULTS, **hyperparameters}, early_stopping=False, random_state=random_state
    )
