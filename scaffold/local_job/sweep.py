"""A sweep job's logic as Azure ML documents it: sample the trials, stop poor ones early, pick the best.

Quotes come from Learn, "Hyperparameter tuning a model (v2)" (how-to-tune-hyperparameters) and "CLI (v2)
sweep job YAML schema" (reference-yaml-job-sweep). Inputs are the dicts that `SweepJob.dump` writes.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from dataclasses import dataclass

from scaffold.errors import ScaffoldError

# type -> required keys, as in the SDK's azure.ai.ml.sweep classes
DISTRIBUTIONS = {
    "choice": ("values",),
    "randint": ("upper",),
    "uniform": ("min_value", "max_value"),
    "loguniform": ("min_value", "max_value"),
    "quniform": ("min_value", "max_value", "q"),
    "qloguniform": ("min_value", "max_value", "q"),
    "normal": ("mu", "sigma"),
    "lognormal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "qlognormal": ("mu", "sigma", "q"),
}
BAYESIAN_TYPES = ("choice", "uniform", "quniform")  # "Bayesian sampling supports `choice`, `uniform`, and"


def sampling(sampling_algorithm: str | dict) -> dict:
    spec = {"type": sampling_algorithm} if isinstance(sampling_algorithm, str) else dict(sampling_algorithm)
    spec["type"] = str(spec.get("type", "")).lower()
    if spec["type"] not in ("random", "grid", "bayesian"):
        raise ScaffoldError(f"sampling_algorithm: unknown type {spec['type']!r} (random, grid or bayesian)")
    if spec.get("rule") not in (None, "random", "sobol"):
        raise ScaffoldError(f"sampling_algorithm: unknown rule {spec['rule']!r} (random or sobol)")
    return spec


def _check(name: str, spec: dict, algorithm: str) -> None:
    """What Azure ML refuses, as one line naming the parameter."""
    kind, where = spec.get("type"), f"search_space.{name}"
    if kind not in DISTRIBUTIONS:
        raise ScaffoldError(f"{where}: unknown type {kind!r} ({', '.join(DISTRIBUTIONS)})")
    if algorithm == "grid" and kind != "choice":  # "Grid sampling can only be used with `choice` ..."
        raise ScaffoldError(f"{where}: grid sampling takes only choice, not {kind}")
    if algorithm == "bayesian" and kind not in BAYESIAN_TYPES:
        raise ScaffoldError(f"{where}: bayesian sampling takes choice, uniform or quniform, not {kind}")
    keys = DISTRIBUTIONS[kind]
    if missing := [key for key in keys if spec.get(key) is None]:
        raise ScaffoldError(f"{where}: {kind} needs {', '.join(missing)}")
    if kind == "choice" and not (isinstance(spec["values"], list) and spec["values"]):
        raise ScaffoldError(f"{where}: choice needs a non-empty list of values")
    if kind == "randint" and not (isinstance(spec["upper"], int) and spec["upper"] >= 1):
        raise ScaffoldError(f"{where}: randint upper must be an integer >= 1, not {spec['upper']!r}")
    if "min_value" in keys and spec["min_value"] > spec["max_value"]:
        raise ScaffoldError(f"{where}: min_value {spec['min_value']} > max_value {spec['max_value']}")
    for key in ("sigma", "q"):
        if key in keys and spec[key] <= 0:
            raise ScaffoldError(f"{where}: {key} must be > 0, not {spec[key]}")


def _value(spec: dict, u: float, base: float):
    """The value at quantile u in [0, 1): "LogUniform ... exp(Uniform(min_value, max_value))", "QUniform ...
    round(Uniform(min_value, max_value) / q) * q" and so on; randint has "The exclusive upper bound"."""
    kind = spec["type"]
    if kind == "choice":
        return spec["values"][min(int(u * len(spec["values"])), len(spec["values"]) - 1)]
    if kind == "randint":
        return min(int(u * spec["upper"]), spec["upper"] - 1)
    if kind.endswith("uniform"):
        x = spec["min_value"] + u * (spec["max_value"] - spec["min_value"])
    else:
        x = statistics.NormalDist(spec["mu"], spec["sigma"]).inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
    if "log" in kind:
        x = base**x
    return round(x / spec["q"]) * spec["q"] if kind.startswith("q") else x


def sample(
    search_space: dict, sampling_algorithm: str | dict, count: int, seed: int | None = None
) -> list[dict]:
    """`count` parameter sets; grid gives the first `count` of the product, the last parameter fastest.

    A `seed` in the spec wins over `seed`. Rule `sobol` is SciPy's scrambled Sobol' sequence (scipy.stats.qmc,
    installed with mlflow), mapped through each distribution's quantiles as random draws are. `logbase` ("e"
    or a number) is the base of the log types. Bayesian sampling runs as random sampling (see `note`).
    """
    algorithm = sampling(sampling_algorithm)
    for name, spec in search_space.items():
        _check(name, spec, algorithm["type"])
    names = list(search_space)
    if algorithm["type"] == "grid":
        product = itertools.product(*(search_space[name]["values"] for name in names))
        return [dict(zip(names, values)) for values in itertools.islice(product, count)]
    seed = seed if algorithm.get("seed") is None else algorithm["seed"]
    base = math.e if algorithm.get("logbase", "e") == "e" else float(algorithm["logbase"])
    if algorithm.get("rule") == "sobol" and algorithm["type"] == "random":
        import warnings

        from scipy.stats import qmc

        with warnings.catch_warnings():  # counts that are not powers of two are fine here
            warnings.simplefilter("ignore", UserWarning)
            rows = qmc.Sobol(d=len(names), scramble=True, rng=seed).random(count).tolist()
    else:
        rng = random.Random(seed)
        rows = [[rng.random() for _ in names] for _ in range(count)]
    return [{name: _value(search_space[name], u, base) for name, u in zip(names, row)} for row in rows]


def note(sampling_algorithm: str | dict) -> str | None:
    """What the local sweep cannot reproduce, for the engine to print."""
    if sampling(sampling_algorithm)["type"] == "bayesian":
        return "note: bayesian sampling needs Azure ML's tuning service; the local sweep samples at random"
    return None


def _goal(goal: str) -> str:
    if str(goal).lower() not in ("maximize", "minimize"):
        raise ScaffoldError(f"objective.goal: {goal!r} is neither maximize nor minimize")
    return str(goal).lower()


def _top(values: list[float], goal: str) -> float:
    return max(values) if goal == "maximize" else min(values)


@dataclass
class Policy:
    """When a policy looks. Learn: "Each time the training script logs the primary metric counts as one
    interval"; "the policy applies every multiple of evaluation_interval that is greater than or equal to
    delay_evaluation". Learn says evaluation_interval "is set to 0 by default" (the SDK dumps 0), the YAML
    reference says 1: 0 is read as 1. At interval N, other trials that logged fewer than N values sit out."""

    evaluation_interval: int = 1
    delay_evaluation: int = 0

    def applies(self, interval: int) -> bool:
        return interval >= max(1, self.delay_evaluation) and interval % (self.evaluation_interval or 1) == 0

    def should_stop(
        self, history: list[float], others: list[list[float]], goal: str, finished: list[bool] | None = None
    ) -> bool:
        """Stop the trial after its latest report? `finished[i]` tells whether others[i] has ended."""
        interval, goal = len(history), _goal(goal)
        if not self.applies(interval):
            return False
        ended = finished if finished is not None else [False] * len(others)
        peers = [(h[:interval], end) for h, end in zip(others, ended) if len(h) >= interval]
        return self._stop(history, peers, goal)

    def _stop(self, history: list[float], peers: list[tuple[list[float], bool]], goal: str) -> bool:
        raise NotImplementedError


@dataclass
class Bandit(Policy):
    """Learn: "any training jobs whose best metric at interval 10 is less than 0.66 (0.8/(1+`slack_factor`))
    will be terminated", 0.8 being what "the best performing job at interval 10 reported"; "`slack_amount` is
    an absolute value". Read as: every job's best up to interval N; best * (1 + slack_factor) to minimize.
    A ratio assumes a positive metric, as in Azure ML."""

    slack_factor: float = 0.0
    slack_amount: float = 0.0

    def _stop(self, history, peers, goal):
        mine = _top(history, goal)
        top = _top([mine] + [_top(h, goal) for h, _ in peers], goal)
        if goal == "maximize":
            return mine < (top / (1 + self.slack_factor) if self.slack_factor else top - self.slack_amount)
        return mine > (top * (1 + self.slack_factor) if self.slack_factor else top + self.slack_amount)


@dataclass
class MedianStopping(Policy):
    """Learn: "A job is stopped at interval 5 if its best primary metric is worse than the median of the
    running averages over intervals 1:5 across all training jobs." "All" is read as this one included."""

    def _stop(self, history, peers, goal):
        median = statistics.median([statistics.fmean(history)] + [statistics.fmean(h) for h, _ in peers])
        mine = _top(history, goal)
        return mine < median if goal == "maximize" else mine > median


@dataclass
class TruncationSelection(Policy):
    """Learn: "A job terminates at interval 5 if its performance at interval 5 is in the lowest 20% of
    performance of all jobs at interval 5 and will exclude finished jobs when applying the policy." Read as:
    the value logged at interval N; the lowest p% of K jobs holds at most floor(K * p / 100) of them, so ties
    at the cut are spared. (SDK 1.35.2's YAML schema refuses exclude_finished_jobs; a dict may carry it.)"""

    truncation_percentage: int = 0
    exclude_finished_jobs: bool = False

    def _stop(self, history, peers, goal):
        pool = [history[-1]] + [h[-1] for h, end in peers if not (self.exclude_finished_jobs and end)]
        mine, sign = history[-1], 1 if goal == "maximize" else -1
        as_bad = sum(1 for value in pool if sign * value <= sign * mine)  # this one included
        return as_bad <= len(pool) * self.truncation_percentage // 100


def policy(spec: dict | None) -> Policy | None:
    """The policy an `early_termination` dump describes; None: "all training jobs execute to completion"."""
    if not spec:
        return None
    kind = spec.get("type")
    timing = {key: int(spec.get(key) or 0) for key in ("evaluation_interval", "delay_evaluation")}
    if kind == "bandit":
        factor, amount = float(spec.get("slack_factor") or 0), float(spec.get("slack_amount") or 0)
        if bool(factor) == bool(amount):
            raise ScaffoldError("early_termination: bandit needs exactly one of slack_factor, slack_amount")
        return Bandit(**timing, slack_factor=factor, slack_amount=amount)
    if kind == "median_stopping":
        return MedianStopping(**timing)
    if kind == "truncation_selection":
        percentage = spec.get("truncation_percentage")
        if not (isinstance(percentage, int) and 1 <= percentage <= 99):  # "An integer value between 1 and 99"
            raise ScaffoldError(f"early_termination: truncation_percentage must be 1..99, not {percentage!r}")
        exclude = bool(spec.get("exclude_finished_jobs", False))
        return TruncationSelection(**timing, truncation_percentage=percentage, exclude_finished_jobs=exclude)
    raise ScaffoldError(
        f"early_termination: unknown type {kind!r} (bandit, median_stopping, truncation_selection)"
    )


def best(trials: list[tuple[dict, float | None]], goal: str) -> tuple[int, dict, float] | None:
    """(index, params, value) of the best trial; trials without a value are ignored; the first wins a tie."""
    scored = [(i, params, v) for i, (params, v) in enumerate(trials) if v is not None and not math.isnan(v)]
    return (max if _goal(goal) == "maximize" else min)(scored, key=lambda trial: trial[2], default=None)


def read_history(client, run_id: str, metric: str) -> list[float]:
    """The values of `metric` a run logged, by step then timestamp; `client` is an mlflow MlflowClient."""
    points = client.get_metric_history(run_id, metric)
    return [point.value for point in sorted(points, key=lambda point: (point.step, point.timestamp))]
