"""The local sweep's logic against Azure ML's documented rules, the SDK's own dump of sweep.yaml and a real
MLflow store; then one real sweep (Docker) for the trial loop's bookkeeping."""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path

import pytest
import yaml

from scaffold import snapshot
from scaffold.azure import job_yaml
from scaffold.errors import ScaffoldError
from scaffold.local_job import sweep

REPO = Path(__file__).resolve().parents[1]
N = 4000


def draws(spec: dict, algorithm="random", count=N, seed=7) -> list:
    return [params["x"] for params in sweep.sample({"x": spec}, algorithm, count, seed)]


# --- sampling -------------------------------------------------------------------------------------------


def test_uniform_stays_in_bounds_and_spreads_evenly():
    values = draws({"type": "uniform", "min_value": 2.0, "max_value": 4.0})
    assert all(2.0 <= v <= 4.0 for v in values)
    assert abs(statistics.fmean(values) - 3.0) < 0.05
    assert 0.45 < sum(v < 3.0 for v in values) / N < 0.55


def test_loguniform_bounds_are_exponents_and_its_log_is_uniform():
    values = draws({"type": "loguniform", "min_value": -3.0, "max_value": -1.0})
    assert all(math.exp(-3.0) <= v <= math.exp(-1.0) for v in values)
    # half the mass below exp(-2): a linear uniform on [e^-3, e^-1] would put ~27% there
    assert 0.45 < sum(v < math.exp(-2.0) for v in values) / N < 0.55


def test_logbase_from_the_sampling_algorithm_sets_the_base():
    values = draws(
        {"type": "loguniform", "min_value": -3, "max_value": -1}, {"type": "random", "logbase": 10}
    )
    assert all(1e-3 <= v <= 1e-1 for v in values)
    assert min(values) < 2e-3 and max(values) > 5e-2


def test_randint_is_zero_to_upper_exclusive():
    values = draws({"type": "randint", "upper": 5})
    assert set(values) == {0, 1, 2, 3, 4} and all(isinstance(v, int) for v in values)


def test_choice_picks_every_value_and_nothing_else():
    values = draws({"type": "choice", "values": ["a", 2, 0.5]})
    assert set(values) == {"a", 2, 0.5}
    assert all(N / 3 * 0.9 < values.count(v) < N / 3 * 1.1 for v in ("a", 2, 0.5))


def test_normal_has_its_mean_and_deviation():
    values = draws({"type": "normal", "mu": 10.0, "sigma": 3.0})
    assert abs(statistics.fmean(values) - 10.0) < 0.2 and abs(statistics.stdev(values) - 3.0) < 0.2


def test_lognormal_is_exp_of_a_normal():
    values = draws({"type": "lognormal", "mu": 0.0, "sigma": 1.0})
    logs = [math.log(v) for v in values]
    assert abs(statistics.fmean(logs)) < 0.1 and abs(statistics.stdev(logs) - 1.0) < 0.1


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "quniform", "min_value": 0, "max_value": 10, "q": 2},
        {"type": "qloguniform", "min_value": 0, "max_value": 3, "q": 2},
        {"type": "qnormal", "mu": 10, "sigma": 5, "q": 3},
        {"type": "qlognormal", "mu": 1, "sigma": 0.5, "q": 2},
    ],
)
def test_q_types_round_to_multiples_of_q(spec):
    values = draws(spec)
    assert all(isinstance(v, int) and v % spec["q"] == 0 for v in values)
    assert len(set(values)) > 3  # a spread of multiples, not one constant


def test_quniform_is_round_of_uniform_over_q():
    values = draws({"type": "quniform", "min_value": 0.05, "max_value": 0.75, "q": 1})
    # Learn's own example: round(Uniform(0.05, 0.75) / 1) * 1 is 0 or 1, about 64% / 36%
    assert set(values) == {0, 1} and 0.31 < values.count(1) / N < 0.41


def test_qloguniform_takes_exp_before_rounding():
    values = draws({"type": "qloguniform", "min_value": 0, "max_value": 3, "q": 2})
    assert set(values) == set(range(2, 21, 2))  # round(e^[0, 3] / 2) * 2, e^3 ~ 20.1


def test_a_seed_repeats_the_samples_and_the_spec_seed_wins():
    space = yaml.safe_load((REPO / "src/nyc_taxi/sweep.yaml").read_text())["search_space"]
    assert sweep.sample(space, "random", 10, seed=3) == sweep.sample(space, "random", 10, seed=3)
    assert sweep.sample(space, "random", 10, seed=3) != sweep.sample(space, "random", 10, seed=4)
    spec_seeded = {"type": "random", "seed": 5}
    assert sweep.sample(space, spec_seeded, 10, seed=9) == sweep.sample(space, "random", 10, seed=5)
    sobol = {"type": "random", "rule": "sobol", "seed": 5}
    assert sweep.sample(space, sobol, 10) == sweep.sample(space, sobol, 10)
    assert sweep.sample(space, sobol, 10) != sweep.sample(space, spec_seeded, 10)


def test_sobol_fills_the_space_evenly():
    """16 Sobol' points put exactly one point in each sixteenth of [0, 1); random draws almost never do."""
    values = draws(
        {"type": "uniform", "min_value": 0.0, "max_value": 1.0}, {"type": "random", "rule": "sobol"}, 16
    )
    assert sorted(int(v * 16) for v in values) == list(range(16))
    assert sorted(
        int(v * 16) for v in draws({"type": "uniform", "min_value": 0, "max_value": 1}, count=16)
    ) != list(range(16))


def test_grid_enumerates_the_product_in_order_up_to_count():
    space = {"a": {"type": "choice", "values": [1, 2]}, "b": {"type": "choice", "values": ["x", "y", "z"]}}
    full = [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]
    assert sweep.sample(space, "grid", 100) == full
    assert sweep.sample(space, {"type": "grid"}, 4) == full[:4]


def test_bayesian_samples_at_random_and_says_so():
    space = {"lr": {"type": "uniform", "min_value": 0.1, "max_value": 0.2}}
    assert sweep.sample(space, "bayesian", 5, seed=1) == sweep.sample(space, "random", 5, seed=1)
    assert "random" in sweep.note("bayesian") and sweep.note({"type": "bayesian"})
    assert sweep.note("random") is None and sweep.note("grid") is None


@pytest.mark.parametrize(
    "space, algorithm, words",
    [
        ({"lr": {"type": "uniform", "min_value": 0, "max_value": 1}}, "grid", "search_space.lr: grid"),
        ({"lr": {"type": "gaussian", "mu": 0}}, "random", "search_space.lr: unknown type 'gaussian'"),
        (
            {"lr": {"type": "uniform", "min_value": 2, "max_value": 1}},
            "random",
            "search_space.lr: min_value 2 >",
        ),
        (
            {"lr": {"type": "loguniform", "min_value": 3, "max_value": 1}},
            "random",
            "search_space.lr: min_value",
        ),
        (
            {"lr": {"type": "loguniform", "min_value": 0, "max_value": 1}},
            "bayesian",
            "search_space.lr: bayesian",
        ),
        (
            {"lr": {"type": "quniform", "min_value": 0, "max_value": 1}},
            "random",
            "search_space.lr: quniform needs q",
        ),
        ({"lr": {"type": "normal", "mu": 0, "sigma": 0}}, "random", "search_space.lr: sigma"),
        ({"lr": {"type": "randint", "upper": 0}}, "random", "search_space.lr: randint upper"),
        ({"lr": {"type": "choice", "values": []}}, "random", "search_space.lr: choice needs"),
        (
            {"lr": {"type": "choice", "values": [1]}},
            "hyperband",
            "sampling_algorithm: unknown type 'hyperband'",
        ),
        (
            {"lr": {"type": "choice", "values": [1]}},
            {"type": "random", "rule": "halton"},
            "unknown rule 'halton'",
        ),
    ],
)
def test_invalid_spaces_fail_in_one_line_naming_the_parameter(space, algorithm, words):
    with pytest.raises(ScaffoldError) as raised:
        sweep.sample(space, algorithm, 3)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def dumped(overrides: list[dict]) -> dict:
    """src/nyc_taxi/sweep.yaml as the engine gets it: loaded by the SDK from a staged snapshot, dumped."""
    with snapshot.staged(REPO / "src/nyc_taxi", REPO / "src/common") as snap:
        job = job_yaml.load_job(snap.root / "sweep.yaml", overrides, "sweep.yaml")
    stream = io.StringIO()
    job.dump(stream)
    return yaml.safe_load(stream.getvalue())


def test_the_real_sweep_yaml_through_the_sdk_gives_valid_samples():
    job = dumped([])
    space = job["search_space"]
    trials = sweep.sample(space, job["sampling_algorithm"], job["limits"]["max_total_trials"], seed=11)
    assert len(trials) == 20 and all(set(t) == set(space) for t in trials)
    for trial in trials:
        for name, value in trial.items():
            spec = space[name]
            if spec["type"] == "choice":
                assert value in spec["values"]
            elif spec["type"] == "loguniform":
                assert math.exp(spec["min_value"]) <= value <= math.exp(spec["max_value"])
            else:
                assert spec["type"] == "uniform" and spec["min_value"] <= value <= spec["max_value"]
    assert sweep.policy(job["early_termination"]) == sweep.MedianStopping(
        evaluation_interval=1, delay_evaluation=5
    )


def test_sdk_dumps_of_other_settings_are_understood_or_refused():
    job = dumped(
        [
            {"early_termination": {"type": "bandit", "slack_factor": 0.1}},
            {"sampling_algorithm": {"type": "random", "rule": "sobol", "seed": 2}},
        ]
    )
    assert sweep.policy(job["early_termination"]) == sweep.Bandit(0, 0, slack_factor=0.1)
    assert len(sweep.sample(job["search_space"], job["sampling_algorithm"], 7)) == 7
    job = dumped([{"early_termination": {"type": "truncation_selection", "truncation_percentage": 20}}])
    assert sweep.policy(job["early_termination"]) == sweep.TruncationSelection(0, 0, truncation_percentage=20)
    grid = dumped([{"sampling_algorithm": "grid"}])  # the SDK lets it through; Azure ML refuses it
    with pytest.raises(
        ScaffoldError, match="search_space.l2_regularization: grid sampling takes only choice"
    ):
        sweep.sample(grid["search_space"], grid["sampling_algorithm"], 5)


# --- early termination ----------------------------------------------------------------------------------


def test_evaluation_interval_and_delay_pick_the_intervals_where_a_policy_looks():
    assert [n for n in range(1, 13) if sweep.MedianStopping(1, 5).applies(n)] == [5, 6, 7, 8, 9, 10, 11, 12]
    assert [n for n in range(1, 13) if sweep.MedianStopping(2, 5).applies(n)] == [6, 8, 10, 12]
    assert [n for n in range(1, 13) if sweep.MedianStopping(3, 0).applies(n)] == [3, 6, 9, 12]
    assert [n for n in range(1, 4) if sweep.MedianStopping(0, 0).applies(n)] == [1, 2, 3]  # 0: every report


def test_bandit_slack_factor_follows_learns_example():
    """Best 0.8 at interval 10, slack_factor 0.2: a trial whose best is below 0.8 / 1.2 = 0.667 stops."""
    policy = sweep.policy({"type": "bandit", "slack_factor": 0.2, "evaluation_interval": 10})
    leader = [0.5] * 9 + [0.8]
    assert policy.should_stop([0.6] * 9 + [0.66], [leader], "maximize")
    assert not policy.should_stop([0.6] * 9 + [0.67], [leader], "maximize")
    assert not policy.should_stop([0.6] * 8 + [0.66], [leader], "maximize")  # interval 9: no evaluation
    assert not policy.should_stop(leader, [[0.6] * 10], "maximize")  # the leader itself
    # minimize: the mirror image, best * (1 + slack_factor)
    assert policy.should_stop([1.0] * 10, [[0.8] * 10], "minimize")
    assert not policy.should_stop([0.95] * 10, [[0.8] * 10], "minimize")


def test_bandit_slack_amount_and_delay_evaluation():
    policy = sweep.policy(
        {"type": "bandit", "slack_amount": 0.2, "evaluation_interval": 1, "delay_evaluation": 5}
    )
    others = [[0.9] * 6]
    assert not policy.should_stop([0.1] * 4, others, "maximize")  # before delay_evaluation
    assert policy.should_stop([0.1] * 5, others, "maximize")
    assert not policy.should_stop([0.1] * 4 + [0.71], others, "maximize")  # its best is within 0.2
    assert policy.should_stop([0.9] * 5, [[0.6] * 6], "minimize") and not policy.should_stop(
        [0.7] * 5, [[0.6] * 6], "minimize"
    )


def test_bandit_compares_with_others_only_up_to_the_same_interval():
    policy = sweep.Bandit(1, 0, slack_amount=0.1)
    later_star = [0.5, 0.5, 0.99]  # at interval 2 its best is still 0.5
    assert not policy.should_stop([0.45, 0.45], [later_star], "maximize")
    assert policy.should_stop([0.45, 0.45, 0.45], [later_star], "maximize")


def test_median_stopping_follows_learns_example():
    """Stopped at interval 5 if its best is worse than the median of the running averages over 1:5."""
    policy = sweep.policy({"type": "median_stopping", "evaluation_interval": 1, "delay_evaluation": 5})
    others = [[0.5] * 5, [0.6] * 5, [0.7] * 5, [0.8] * 5]  # with the trial's own average, median is 0.6
    assert policy.should_stop([0.3, 0.35, 0.4, 0.45, 0.55], others, "maximize")
    assert not policy.should_stop([0.3, 0.35, 0.4, 0.45], others, "maximize")  # interval 4: delayed
    # its running average (0.34) is low but its best (0.65) beats the median: it goes on
    assert not policy.should_stop([0.1, 0.2, 0.3, 0.45, 0.65], others, "maximize")
    assert policy.should_stop([0.9, 0.8, 0.75, 0.7, 0.65], [[0.5] * 5, [0.6] * 5], "minimize")
    assert not policy.should_stop([0.9, 0.8, 0.75, 0.7, 0.55], [[0.5] * 5, [0.6] * 5], "minimize")


def test_median_stopping_leaves_out_trials_that_have_not_reached_the_interval():
    policy = sweep.MedianStopping(1, 3)
    assert not policy.should_stop([0.5, 0.5, 0.5], [[0.9, 0.9], [0.9]], "maximize")
    assert policy.should_stop([0.5, 0.5, 0.5], [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]], "maximize")


def test_truncation_selection_cancels_the_lowest_percentage():
    policy = sweep.policy(
        {"type": "truncation_selection", "truncation_percentage": 20, "evaluation_interval": 1}
    )
    four_others = [[0.2], [0.3], [0.4], [0.5]]
    assert policy.should_stop([0.1], four_others, "maximize")  # lowest of 5: in the lowest 20%
    assert not policy.should_stop([0.25], four_others, "maximize")  # second lowest of 5
    assert not policy.should_stop([0.1], four_others[:3], "maximize")  # lowest of 4: 20% of 4 rounds to 0
    assert policy.should_stop([0.6], four_others, "minimize")
    # the value logged at the interval counts, not the best so far
    assert policy.should_stop([0.9, 0.1], [[0.2, 0.2], [0.3, 0.3], [0.4, 0.4], [0.5, 0.5]], "maximize")


def test_truncation_selection_delay_and_interval():
    policy = sweep.TruncationSelection(2, 3, truncation_percentage=50)
    others = [[0.5] * 4]
    assert not policy.should_stop([0.1] * 2, others, "maximize")  # 2 < delay 3
    assert not policy.should_stop([0.1] * 3, others, "maximize")  # 3 is no multiple of 2
    assert policy.should_stop([0.1] * 4, others, "maximize")


def test_truncation_selection_can_exclude_finished_jobs():
    others = [[0.1], [0.2], [0.5], [0.6], [0.7], [0.8], [0.9], [0.95], [0.99]]
    finished = [True, True] + [False] * 7
    keep = sweep.TruncationSelection(1, 0, truncation_percentage=20)
    drop = sweep.TruncationSelection(1, 0, truncation_percentage=20, exclude_finished_jobs=True)
    assert not keep.should_stop([0.3], others, "maximize", finished)  # third lowest of 10, cut is 2
    assert drop.should_stop([0.3], others, "maximize", finished)  # lowest of 8, cut is 1


def test_policy_specs():
    assert sweep.policy(None) is None and sweep.policy({}) is None
    for spec, words in [
        ({"type": "bandit", "slack_factor": 0.0, "slack_amount": 0.0}, "exactly one of slack_factor"),
        ({"type": "bandit", "slack_factor": 0.1, "slack_amount": 0.1}, "exactly one of slack_factor"),
        ({"type": "truncation_selection", "truncation_percentage": 0}, "truncation_percentage must be 1..99"),
        ({"type": "truncation_selection"}, "truncation_percentage must be 1..99"),
        ({"type": "hyperband"}, "unknown type 'hyperband'"),
    ]:
        with pytest.raises(ScaffoldError, match=words):
            sweep.policy(spec)
    with pytest.raises(ScaffoldError, match="objective.goal"):
        sweep.MedianStopping().should_stop([1.0], [], "best")


# --- best trial and metric history ----------------------------------------------------------------------


def test_best_ignores_trials_without_a_metric():
    trials = [({"a": 1}, 0.5), ({"a": 2}, None), ({"a": 3}, 0.9), ({"a": 4}, float("nan")), ({"a": 5}, 0.9)]
    assert sweep.best(trials, "maximize") == (2, {"a": 3}, 0.9)  # first of a tie
    assert sweep.best(trials, "Minimize") == (0, {"a": 1}, 0.5)
    assert sweep.best([({"a": 1}, None)], "maximize") is None


def test_read_history_orders_by_step_then_timestamp(tmp_path):
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("sweep", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment).info.run_id
    # logged out of order: step 2 first, two values at step 1 told apart by their timestamps
    client.log_batch(
        run,
        metrics=[
            Metric("val_r2", 0.3, timestamp=1000, step=2),
            Metric("val_r2", 0.2, timestamp=3000, step=1),
            Metric("val_r2", 0.1, timestamp=2000, step=1),
            Metric("val_r2", 0.0, timestamp=9000, step=0),
            Metric("other", 7.0, timestamp=1, step=0),
        ],
    )
    client.set_terminated(run)
    assert sweep.read_history(client, run, "val_r2") == [0.0, 0.1, 0.2, 0.3]
    assert sweep.read_history(client, run, "missing") == []


# --- a real sweep: the trial loop's bookkeeping -------------------------------------------------------------

TRIAL = '''\
"""A trial that sleeps, then fails (case 0) or logs `score` = case through MLflow's REST API."""
import json, os, sys, time, urllib.request

case = int(sys.argv[1])
time.sleep(float(sys.argv[2]))
if case == 0:
    sys.exit(3)
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "score", "value": case,
        "timestamp": int(time.time() * 1000), "step": 0}
request = urllib.request.Request(
    os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric", json.dumps(body).encode(),
    {"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=60).read()
'''

# Seconds. The SDK floors trial_timeout at 60 (`_get_floored_timeout`, azure-ai-ml 1.35.2). trial_2 starts
# when trial_0 ends (2 trials at a time), so it ends some 2 * SLEEP s after its submission: over the timeout.
SLEEP, TRIAL_TIMEOUT = 36, 60

SWEEP = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
experiment_name: {{exp}}
compute: azureml:cpu-cluster
trial:
  code: .
  environment:
    build:
      path: docker
  command: python trial.py ${{{{search_space.case}}}} {SLEEP}
search_space:
  case:
    type: choice
    values: [0, 1, 2]
sampling_algorithm: grid
objective:
  goal: maximize
  primary_metric: score
early_termination:  # present, so that metrics are read every poll; never stops a trial
  type: median_stopping
  delay_evaluation: 1000
limits:
  max_total_trials: 3
  max_concurrent_trials: 2
  trial_timeout: {TRIAL_TIMEOUT}
"""


@pytest.fixture(scope="module")
def sweep_exp(module_repo):
    from conftest import driver, remove_images, unique_name

    exp = unique_name("sw")
    assert driver(module_repo, "new-exp", f"--exp={exp}").returncode == 0
    (module_repo / "src" / exp / "trial.py").write_text(TRIAL)
    (module_repo / "src" / exp / "sweep-check.yaml").write_text(SWEEP.replace("{exp}", exp))
    yield exp
    remove_images(exp)


@pytest.mark.docker
def test_a_sweep_judges_trials_by_their_own_index_start_and_one_read_per_poll(
    module_repo, sweep_exp, monkeypatch
):
    """trial_0 fails, trial_1 and trial_2 complete with score 1 and 2; trial_2 starts when trial_0 ends.

    - the best is named by its own index (trial_2), though trial_0 did not complete;
    - trial_timeout counts from each trial's container start: trial_2 runs SLEEP s, under the timeout,
      but has waited SLEEP s before it, so from its submission it is over;
    - each trial's metric history is read once per poll, not once per other trial that the policy checks.
    """
    from conftest import unique_name

    from scaffold.config import Config
    from scaffold.local_job import run as local_job
    from scaffold.local_job import sweep_run
    from scaffold.paths import Repo

    reads: list[list[str]] = [[]]  # run ids whose history was read, one list per poll
    read_history, wait = sweep.read_history, sweep_run.wait

    def counted_read(client, run_id, metric):
        reads[-1].append(run_id)
        return read_history(client, run_id, metric)

    def counted_wait(*args, **kwargs):
        reads.append([])
        return wait(*args, **kwargs)

    monkeypatch.setattr(sweep, "read_history", counted_read)
    monkeypatch.setattr(sweep_run, "wait", counted_wait)
    for variable in ("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"):
        monkeypatch.setenv(variable, "false")  # the local job sets them; restored after the test
    out, err = io.StringIO(), io.StringIO()
    name = unique_name("sweep")
    options = local_job.LocalOptions(name=name, max_trials=3)
    try:
        code = local_job.run(
            Repo(module_repo), Config(module_repo), sweep_exp, "sweep-check.yaml", options, out, err
        )
    except ScaffoldError as exc:
        code = f"error: {exc}"
    shown = out.getvalue() + err.getvalue()
    problems = []
    if code != 0 or "best: trial_2 with score 2.0000" not in shown:
        problems.append(f"the best should be trial_2 with score 2 (exit {code})")
    if "passed trial_timeout" in shown:
        problems.append("a trial was stopped by trial_timeout, counted from its submission")
    twice = [poll for poll in reads if len(poll) != len(set(poll))]
    if twice:
        problems.append(f"{len(twice)} of {len(reads)} polls read a history more than once: {twice[0]}")
    assert max(len(set(poll)) for poll in reads) >= 2, "no poll saw two trials: nothing was compared"
    assert not problems, "\n".join(problems) + "\n" + shown[-3000:]


@pytest.mark.docker
def test_a_bayesian_sweep_says_it_samples_at_random_locally(module_repo, sweep_exp):
    from conftest import driver, unique_name

    exp_dir = module_repo / "src" / sweep_exp
    bayesian = yaml.safe_load(SWEEP.replace("{exp}", sweep_exp))
    bayesian["sampling_algorithm"] = "bayesian"  # Azure ML allows no early termination with it
    del bayesian["early_termination"]
    bayesian["trial"]["command"] = "python trial.py ${{search_space.case}} 0"
    bayesian["search_space"]["case"]["values"] = [1, 2]  # trials that complete
    (exp_dir / "sweep-bayesian.yaml").write_text(yaml.safe_dump(bayesian, sort_keys=False))
    name = unique_name("sweep")
    result = driver(
        module_repo, "job", f"--exp={sweep_exp}", "--file=sweep-bayesian.yaml", "--", "--local",
        "--name", name, "--max-trials", "1",
    )  # fmt: skip
    (exp_dir / "sweep-bayesian.yaml").unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "note: bayesian sampling needs Azure ML's tuning service; the local sweep samples at random"
        in result.stderr.splitlines()
    )
