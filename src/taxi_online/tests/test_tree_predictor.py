"""StackedTrees gives scikit-learn's predictions, refuses models it does not cover, and score.py guards it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from tree_predictor import StackedTrees


def regression_data(rows: int = 800, features: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values: the trees learn where NaN goes
    y = np.nan_to_num(X[:, 0]) * 3 + np.nan_to_num(X[:, 1]) ** 2 + rng.normal(scale=0.1, size=rows)
    return X, y


def fitted(**options):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = regression_data()
    return HistGradientBoostingRegressor(max_iter=30, random_state=0, **options).fit(X, y), X


@pytest.mark.parametrize("rows", [1, 3, 100])
def test_same_predictions_as_scikit_learn(rows):
    model, _ = fitted()
    probe, _ = regression_data(rows=rows, seed=rows)
    probe[0, :] = np.nan  # a row with every value missing
    trees = StackedTrees.from_estimator(model)
    assert trees is not None
    np.testing.assert_allclose(trees.predict(probe), model.predict(probe), rtol=1e-12, atol=1e-12)


def test_values_on_a_threshold_go_left_as_in_scikit_learn():
    model, _ = fitted()
    trees = StackedTrees.from_estimator(model)
    split = np.isfinite(trees.threshold)
    probe = np.zeros((int(split.sum()), 4))
    probe[np.arange(len(probe)), trees.feature[split]] = trees.threshold[split]
    np.testing.assert_allclose(trees.predict(probe), model.predict(probe), rtol=1e-12, atol=1e-12)


def test_wrong_width_is_refused():
    trees = StackedTrees.from_estimator(fitted()[0])
    with pytest.raises(ValueError, match="expected rows of 4 features"):
        trees.predict(np.zeros((1, 3)))


def test_models_it_does_not_cover_are_refused():
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    X, y = regression_data()
    assert StackedTrees.from_estimator(HistGradientBoostingRegressor()) is None  # not fitted
    assert StackedTrees.from_estimator(LinearRegression().fit(np.nan_to_num(X), y)) is None
    poisson = HistGradientBoostingRegressor(max_iter=5, loss="poisson").fit(X, np.abs(y))  # a log link
    assert StackedTrees.from_estimator(poisson) is None
    classes = (y > 0).astype(int)
    assert StackedTrees.from_estimator(HistGradientBoostingClassifier(max_iter=5).fit(X, classes)) is None
    categorical = np.column_stack([np.nan_to_num(X[:, :3]), np.arange(len(X)) % 4])
    model = HistGradientBoostingRegressor(max_iter=5, categorical_features=[3]).fit(categorical, y)
    assert StackedTrees.from_estimator(model) is None


def test_score_uses_stacked_trees_for_small_requests_only(tiny_model):
    import score

    _, path, features = tiny_model
    predict, schema = score.load(path)
    assert predict.stacked is not None
    reference = predict.frame_predict(features)
    for rows in (1, score.STACKED_MAX_ROWS, score.STACKED_MAX_ROWS + 1, 200):
        matrix = features.head(rows).to_numpy(dtype=np.float64)
        np.testing.assert_allclose(predict(matrix), reference[:rows], rtol=1e-9)


def test_score_falls_back_when_stacked_trees_disagree(tiny_model, monkeypatch, caplog):
    import score
    import tree_predictor

    original = tree_predictor.StackedTrees.predict
    monkeypatch.setattr(tree_predictor.StackedTrees, "predict", lambda self, m: original(self, m) + 0.01)
    _, path, features = tiny_model
    with caplog.at_level(logging.WARNING, logger="taxi_online.score"):
        predict, _ = score.load(path)
    assert predict.stacked is None
    assert "disagree" in caplog.text
    matrix = features.head(2).to_numpy(dtype=np.float64)
    np.testing.assert_allclose(predict(matrix), predict.frame_predict(features.head(2)))
