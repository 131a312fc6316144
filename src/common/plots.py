"""Evaluation figures (predicted vs actual, residuals), drawn off-screen for containers and jobs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MAX_POINTS = 20_000


def _sample(actual, predicted, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_POINTS pairs, so plots stay small and fast on millions of rows."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if len(actual) > MAX_POINTS:
        index = np.random.default_rng(seed).choice(len(actual), MAX_POINTS, replace=False)
        actual, predicted = actual[index], predicted[index]
    return actual, predicted


def predicted_vs_actual(actual, predicted, currency: str):
    """Scatter of predictions against the truth, with the identity line."""
    actual, predicted = _sample(actual, predicted)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(actual, predicted, s=3, alpha=0.3)
    top = float(max(actual.max(), predicted.max())) if len(actual) else 1.0
    ax.plot([0, top], [0, top], color="black", linewidth=1)
    ax.set(
        xlabel=f"actual cost ({currency})", ylabel=f"predicted cost ({currency})", title="Predicted vs actual"
    )
    fig.tight_layout()
    return fig


def residuals(actual, predicted, currency: str):
    """Residuals against predictions, and their histogram."""
    actual, predicted = _sample(actual, predicted)
    error = actual - predicted
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.scatter(predicted, error, s=3, alpha=0.3)
    left.axhline(0, color="black", linewidth=1)
    left.set(xlabel=f"predicted cost ({currency})", ylabel="actual - predicted", title="Residuals")
    right.hist(error, bins=100)
    right.set(xlabel=f"actual - predicted ({currency})", ylabel="trips", title="Residual distribution")
    fig.tight_layout()
    return fig
