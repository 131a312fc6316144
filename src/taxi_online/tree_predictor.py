"""All trees of a fitted HistGradientBoostingRegressor walked at once with numpy, for small online requests.

scikit-learn predicts tree by tree: for one row and 120 trees that is 120 native calls plus input checks,
about 0.6 ms, most of an online request's time. Here every tree's nodes are stacked into flat arrays and all
trees descend one level per numpy step, so one row costs about a tenth of that. The result is the same sum
of leaf values; `StackedTrees.from_estimator` returns None for any model it does not cover (categorical
splits, a non-identity link, several trees per iteration), and score.py checks its predictions against
scikit-learn's before using it.
"""

from __future__ import annotations

import numpy as np


class StackedTrees:
    """The regressor's trees as flat node arrays; `predict(matrix)` takes float64 rows in training order."""

    def __init__(self, feature, threshold, missing_left, children, value, roots, depth, baseline, n_features):
        self.feature = feature  # per node: the feature it splits on (0 for leaves)
        self.threshold = threshold  # per node: go left when value <= threshold (+inf for leaves)
        self.missing_left = missing_left  # per node: where NaN goes
        self.children = children  # (nodes, 2): [left, right]; a leaf points at itself, so it stays put
        self.value = value  # per node: the leaf value (0 for split nodes)
        self.roots = roots  # per tree: the index of its root node
        self.depth = depth  # levels to descend so that every tree reaches a leaf
        self.baseline = baseline
        self.n_features = n_features

    @classmethod
    def from_estimator(cls, estimator) -> "StackedTrees | None":
        """Stack a fitted HistGradientBoostingRegressor's trees; None when this fast path does not apply."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        if type(estimator) is not HistGradientBoostingRegressor or not hasattr(estimator, "_predictors"):
            return None
        if getattr(estimator, "_preprocessor", None) is not None or estimator.n_trees_per_iteration_ != 1:
            return None
        if estimator._loss.link.__class__.__name__ != "IdentityLink":
            return None
        trees = [iteration[0].nodes for iteration in estimator._predictors]
        if not trees or any(nodes["is_categorical"].any() for nodes in trees):
            return None
        sizes = np.array([len(nodes) for nodes in trees])
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        nodes = np.concatenate(trees)
        offsets = np.repeat(roots, sizes)
        leaf = nodes["is_leaf"].astype(bool)
        own = np.arange(len(nodes), dtype=np.intp)
        left = np.where(leaf, own, nodes["left"].astype(np.intp) + offsets)
        right = np.where(leaf, own, nodes["right"].astype(np.intp) + offsets)
        return cls(
            feature=np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp),
            threshold=np.where(leaf, np.inf, nodes["num_threshold"]),
            missing_left=nodes["missing_go_to_left"].astype(bool),
            children=np.stack([left, right], axis=1),
            value=np.where(leaf, nodes["value"], 0.0),
            roots=roots,
            depth=int(max(int(t["depth"].max()) for t in trees)),
            baseline=float(np.asarray(estimator._baseline_prediction).ravel()[0]),
            n_features=int(estimator.n_features_in_),
        )

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """One prediction per row of `matrix` (rows × features, float64, in the training column order)."""
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {matrix.shape}")
        rows = np.arange(matrix.shape[0])[:, None]
        node = np.broadcast_to(self.roots, (matrix.shape[0], len(self.roots)))
        for _ in range(self.depth):
            x = matrix[rows, self.feature[node]]
            go_right = ~((x <= self.threshold[node]) | (np.isnan(x) & self.missing_left[node]))
            node = self.children[node, go_right.view(np.uint8)]
        return self.value[node].sum(axis=1) + self.baseline
