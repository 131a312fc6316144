"""The fare model: a histogram gradient-boosting regressor, fast on millions of rows with few cores."""

from __future__ import annotations

from sklearn.ensemble import HistGradientBoostingRegressor

# Types skops must trust to save and load the model: the fitted trees of our own training, never a download.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]

DEFAULTS: dict[str, float | int] = {
    "learning_rate": 0.1,
    "max_iter": 300,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 40,
    "l2_regularization": 0.0,
    "max_bins": 255,
}


def build_model(
    learning_rate: float = 0.1,
    max_iter: int = 300,
    max_leaf_nodes: int = 63,
    min_samples_leaf: int = 40,
    l2_regularization: float = 0.0,
    max_bins: int = 255,
    random_state: int = 0,
) -> HistGradientBoostingRegressor:
    """A regressor with fixed iterations (no early stopping), so training time is predictable."""
    return HistGradientBoostingRegressor(
        learning_rate=learning_rate,
        max_iter=max_iter,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        l2_regularization=l2_regularization,
        max_bins=max_bins,
        early_stopping=False,
        random_state=random_state,
    )
