"""CI/CD for the template's users: GitHub Actions workflows, Azure DevOps pipelines, the devcontainer.

Nothing here reaches GitHub or Azure. The files are checked for what can be checked offline: actionlint
over the workflows, YAML and JSON-with-comments syntax, every `make` call a pipeline makes exists in the
Makefile with the variables it passes, and the changed-experiment selection both platforms share.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PYTHON, REPO, driver

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ADO_PIPELINES = sorted((REPO / ".azure-pipelines").glob("*.yml"))
PIPELINE_FILES = WORKFLOWS + ADO_PIPELINES
DEVCONTAINER = REPO / ".devcontainer" / "devcontainer.json"
CHANGED = REPO / "ci" / "changed_experiments.py"
SCRIPT_KEYS = {"run", "script", "bash", "inlineScript"}  # GitHub `run:`, Azure DevOps steps and task inputs


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    """A workflow's `on:` (YAML 1.1 reads the bare key `on` as True)."""
    return workflow.get("on", workflow.get(True))


def jobs_of(document: dict) -> list[dict]:
    """Every job of a GitHub workflow, or of an Azure DevOps pipeline (in its stages, if it has any)."""
    jobs = document.get("jobs") or []
    if isinstance(jobs, dict):
        return list(jobs.values())
    return list(jobs) + [job for stage in document.get("stages", []) for job in stage.get("jobs", [])]


def steps(document: dict):
    """Every step of every job in a GitHub workflow or an Azure DevOps pipeline (deployment jobs too)."""
    for job in jobs_of(document):
        yield from job.get("steps", [])
        for hook in job.get("strategy", {}).get("runOnce", {}).values():
            yield from hook.get("steps", [])
    yield from document.get("steps", [])


def scripts(node) -> list[str]:
    """Every shell script in a pipeline document: run, script, bash and inlineScript values."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCRIPT_KEYS and isinstance(value, str):
                found.append(value)
            else:
                found.extend(scripts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(scripts(item))
    return found


# --- `make` invocations in shell scripts -------------------------------------------------------------

PUNCTUATION = ";&|()"
KEYWORDS = {"do", "then", "else", "elif", "!", "time", "exec", "command", "{"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPTIONS_WITH_ARGUMENT = {"-C", "-f", "-I", "-o", "-W", "--directory", "--file", "--makefile"}


def make_calls(script: str) -> list[tuple[list[str], dict[str, str]]]:
    """Every `make` command in a shell script as (targets, VAR=value arguments).

    GitHub `${{ ... }}` expressions and Azure DevOps `$(Name)` macros are replaced by placeholders
    first; `make` is recognised where a command starts (line start, after ; && || | ( $( and after
    do/then/else and VAR=value prefixes).
    """
    text = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", script)
    text = re.sub(r"\$\(([A-Za-z_][\w]*\.[\w.]+|[A-Z_][A-Z0-9_]*)\)", r"${\1}", text)
    text = text.replace("\\\n", " ")
    calls = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=PUNCTUATION)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
        at_command, index = True, 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if all(ch in PUNCTUATION for ch in token):
                at_command = True
            elif at_command and (token in KEYWORDS or ASSIGNMENT.match(token)):
                continue
            elif at_command and token == "make":
                targets, variables = [], {}
                while index < len(tokens) and not all(ch in PUNCTUATION for ch in tokens[index]):
                    argument = tokens[index]
                    index += 1
                    if argument in OPTIONS_WITH_ARGUMENT or argument.split("=")[0] in OPTIONS_WITH_ARGUMENT:
                        raise AssertionError(f"make {argument} is not supported in pipelines: {line.strip()}")
                    if argument.startswith("-"):
                        continue
                    if ASSIGNMENT.match(argument):
                        name, value = argument.split("=", 1)
                        variables[name] = value
                    else:
                        targets.append(argument)
                calls.append((targets or ["help"], variables))
                at_command = False
            else:
                at_command = False
    return calls


def makefile_rules(makefile: Path) -> tuple[dict[str, tuple[list[str], set[str]]], dict[str, set[str]]]:
    """Rules as {name: (prerequisites, variables its recipe uses)}, and {variable: variables its value uses}.

    The rule name is kept as written (`$(STAMP)`), which is how prerequisites name it too.
    """
    rules: dict[str, tuple[list[str], set[str]]] = {}
    definitions: dict[str, set[str]] = {}
    current = None
    for line in makefile.read_text().splitlines():
        if line.startswith("\t") and current is not None:
            rules[current][1].update(re.findall(r"\$\((\w+)\)", line))
            continue
        current = None
        definition = re.match(r"^(?:override\s+)?(\w+)\s*(?::=|\?=|=|\+=)\s*(.*)$", line)
        if definition:
            definitions.setdefault(definition.group(1), set()).update(
                re.findall(r"\$\((\w+)\)", definition.group(2))
            )
            continue
        rule = re.match(r"^([^\s:#=][^:=]*?)\s*:(?!=)\s*(.*)$", line)
        if rule and not rule.group(1).startswith("."):
            current = rule.group(1)
            rules[current] = (rule.group(2).split(), set())
    return rules, definitions


def variables_of(target: str, rules, definitions) -> set[str]:
    """Variables `make target` reads: its recipe, its prerequisites' recipes, and what those expand to.

    Expansion makes a variable that feeds another one count (`ASSET_PATH := $(PATH)` accepts PATH).
    """
    seen_rules, pending, variables = set(), [target], set()
    while pending:
        name = pending.pop()
        if name in seen_rules or name not in rules:
            continue
        seen_rules.add(name)
        prerequisites, used = rules[name]
        variables |= used
        pending.extend(prerequisites)
    expanded, pending = set(), list(variables)
    while pending:
        name = pending.pop()
        if name not in expanded:
            expanded.add(name)
            pending.extend(definitions.get(name, ()))
    return expanded


def test_make_call_parser_finds_calls_in_shell_syntax():
    script = (
        "set -e\n"
        "make venv\n"
        'for exp in $(make -s list); do make build-exp EXP="$exp"; done\n'
        "# make not-a-call\n"
        'echo "make quoted-is-not-a-call" && SCAFFOLD_REQUIRE_DOCKER=1 make test XARGS=\'-k "a b"\'\n'
        'make job EXP="${{ matrix.experiment }}" \\\n  XARGS="--stream $(Build.Reason)" || failed=1\n'
        "docker image ls make\n"
        "make\n"
    )
    assert make_calls(script) == [
        (["venv"], {}),
        (["list"], {}),
        (["build-exp"], {"EXP": "$exp"}),
        (["test"], {"XARGS": '-k "a b"'}),
        (["job"], {"EXP": "EXPRESSION", "XARGS": "--stream ${Build.Reason}"}),
        (["help"], {}),
    ]
    with pytest.raises(AssertionError, match="not supported"):
        make_calls("make -C elsewhere test")


def test_makefile_reader_knows_targets_and_their_variables():
    rules, definitions = makefile_rules(REPO / "Makefile")
    for target in ("venv", "list", "build-exp", "test", "job", "lint"):
        assert target in rules
    assert {"EXP", "XARGS"} <= variables_of("build-exp", rules, definitions)
    assert {"EXP", "FILE", "XARGS", "PYTHON"} <= variables_of("job", rules, definitions)
    assert "FILE" not in variables_of("build-exp", rules, definitions)
    assert {"NAME", "PATH"} <= variables_of("data-asset", rules, definitions)


def all_make_calls() -> list[tuple[str, list[str], dict[str, str]]]:
    return [
        (rel(path), targets, variables)
        for path in PIPELINE_FILES
        for script in scripts(load(path))
        for targets, variables in make_calls(script)
    ]


def make_call_problems(calls) -> list[str]:
    """Unknown targets and variables in (where, targets, variables) calls, checked against the Makefile."""
    rules, definitions = makefile_rules(REPO / "Makefile")
    problems = []
    for where, targets, variables in calls:
        for target in targets:
            if target not in rules:
                problems.append(f"{where}: make {target}: no such target in the Makefile")
                continue
            unknown = sorted(set(variables) - variables_of(target, rules, definitions))
            if unknown:
                problems.append(f"{where}: make {target}: the target does not use {', '.join(unknown)}")
    return problems


def test_make_call_check_reports_unknown_targets_and_variables():
    calls = [
        ("x.yml", ["build-exp"], {"EXP": "a", "FILE": "b"}),
        ("x.yml", ["deploy"], {}),
        ("x.yml", ["job"], {}),
    ]
    assert make_call_problems(calls) == [
        "x.yml: make build-exp: the target does not use FILE",
        "x.yml: make deploy: no such target in the Makefile",
    ]


def test_every_make_target_a_pipeline_calls_exists_with_its_arguments():
    calls = all_make_calls()
    problems = make_call_problems(calls)
    assert not problems, "\n".join(problems)
    # The pipelines run the commands a person runs, on both platforms.
    for platform in (".github/", ".azure-pipelines/"):
        used = {target for where, targets, _ in calls if where.startswith(platform) for target in targets}
        assert {"venv", "build-exp", "test", "test-scaffold", "job"} <= used, (platform, used)


def test_every_make_job_streams_so_a_failed_azure_ml_job_fails_the_run():
    jobs = [(where, variables) for where, targets, variables in all_make_calls() if "job" in targets]
    assert {where.split("/")[0] for where, _ in jobs} == {".github", ".azure-pipelines"}
    for where, variables in jobs:
        assert "--stream" in variables.get("XARGS", "").split(), where
        assert variables.get("EXP"), where


# --- YAML, actionlint -----------------------------------------------------------------------------------


def test_pipeline_files_exist_on_both_platforms():
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "azure-ml-job.yml"}
    assert {p.name for p in ADO_PIPELINES} >= {"pull-request.yml", "azure-ml-job.yml"}


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=rel)
def test_every_workflow_and_pipeline_parses_as_yaml(path):
    document = load(path)
    assert isinstance(document, dict) and jobs_of(document), rel(path)
    assert all(isinstance(step, dict) for step in steps(document))


def find_actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.is_file() else shutil.which("actionlint")


def run_actionlint(*paths: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    binary = find_actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed: `make venv` installs it from requirements.txt")
    return subprocess.run([binary, "-no-color", "-oneline", *paths], cwd=cwd, capture_output=True, text=True)


def test_actionlint_passes_on_the_github_workflows():
    result = run_actionlint(*(rel(p) for p in WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The binary really lints: an unknown context property and a missing runs-on are reported."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.no_such_property }}\n")
    result = run_actionlint(str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "runs-on" in result.stdout and "no_such_property" in result.stdout


def test_actions_are_pinned_to_major_versions():
    for path in WORKFLOWS:
        for step in steps(load(path)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), f"{rel(path)}: {step['uses']}"


def test_github_job_workflow_signs_in_with_openid_connect_and_no_secret():
    path = REPO / ".github" / "workflows" / "azure-ml-job.yml"
    workflow = load(path)
    on = triggers(workflow)
    assert on["workflow_dispatch"]["inputs"]["experiment"]["required"] is True
    assert on["push"]["branches"] == ["main"]
    assert not re.search(r"\$\{\{[^}]*\bsecrets\.", path.read_text()), "no stored secret: OIDC only"
    assert workflow["permissions"] == {"contents": "read"}
    for name in ("train", "deploy"):
        job = workflow["jobs"][name]
        assert job["permissions"]["id-token"] == "write"
        uses = [step.get("uses", "") for step in job["steps"]]
        login = uses.index("azure/login@v2")
        assert set(job["steps"][login]["with"]) == {"client-id", "tenant-id", "subscription-id"}
        submit = next(i for i, step in enumerate(job["steps"]) if "make job" in step.get("run", ""))
        assert login == submit - 1, "sign in right before make job: GitHub's token is short-lived"
        assert job["strategy"]["fail-fast"] is False


def test_github_pull_request_workflow_lints_builds_tests_and_caches():
    workflow = load(REPO / ".github" / "workflows" / "pull-request.yml")
    assert "pull_request" in triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    everything = list(steps(workflow))
    runs = "\n".join(step.get("run", "") for step in everything)
    assert ".venv/bin/pre-commit run --all-files" in runs
    pythons = [
        step["with"] for step in everything if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert pythons and all(
        w["cache"] == "pip" and w["cache-dependency-path"] == "requirements.txt" for w in pythons
    )
    caches = [step["with"]["key"] for step in everything if step.get("uses", "").startswith("actions/cache/")]
    assert any("hashFiles('src/*/docker/**'" in key for key in caches)
    test_job = workflow["jobs"]["test"]
    assert test_job["env"]["SCAFFOLD_REQUIRE_DOCKER"] == "1"
    assert test_job["steps"][0]["with"]["fetch-depth"] == 0


def test_azure_devops_pipelines_use_the_service_connection_variable_group_and_pip_cache():
    job = load(REPO / ".azure-pipelines" / "azure-ml-job.yml")
    variables = {v.get("name"): v.get("value") for v in job["variables"] if "name" in v}
    groups = [v["group"] for v in job["variables"] if "group" in v]
    assert groups == ["azure-ml"] and variables["serviceConnection"] == "azure-ml-workspace"
    cli_tasks = [s for s in steps(job) if s.get("task") == "AzureCLI@2"]
    assert len(cli_tasks) == 2  # training, then deploys
    for task in cli_tasks:
        assert task["inputs"]["azureSubscription"] == "${{ variables.serviceConnection }}"
        assert "make job" in task["inputs"]["inlineScript"]
    assert job["trigger"]["branches"]["include"] == ["main"]
    for path in ADO_PIPELINES:
        document = load(path)
        pip_caches = [
            s
            for s in steps(document)
            if s.get("task") == "Cache@2" and "requirements.txt" in s["inputs"]["key"]
        ]
        assert pip_caches and all(s["inputs"]["path"] == "$(PIP_CACHE_DIR)" for s in pip_caches), rel(path)
        assert "PIP_CACHE_DIR" in json.dumps(document["variables"])


# --- training before deploys, one deploy per endpoint at a time ----------------------------------------


def changed_module():
    spec = importlib.util.spec_from_file_location("changed_experiments", CHANGED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_github_deploys_wait_for_training_and_run_one_at_a_time_per_endpoint():
    """GitHub runs jobs in parallel unless `needs` orders them; a concurrency group without
    cancel-in-progress queues a job behind the running one of the same group, across runs
    (https://docs.github.com/actions/using-jobs/using-concurrency)."""
    workflow = load(REPO / ".github" / "workflows" / "azure-ml-job.yml")
    jobs = workflow["jobs"]
    select = " ".join(scripts(jobs["select"]))
    assert "--stage train" in select and "--stage deploy" in select
    by_stage = {
        stage: [
            name
            for name, job in jobs.items()
            if f"needs.select.outputs.{stage})" in str(job.get("strategy", {}).get("matrix", {}))
        ]
        for stage in ("train", "deploy")
    }
    assert by_stage == {"train": ["train"], "deploy": ["deploy"]}, by_stage
    deploy = jobs["deploy"]
    assert "train" in deploy["needs"], "deploys start after the training jobs"
    # After a completed training, or none selected; never after a failed or cancelled one.
    condition = deploy["if"]
    assert "!cancelled()" in condition and "needs.train.result == 'success'" in condition
    assert "needs.train.result == 'skipped'" in condition and "failure" not in condition
    assert "${{ matrix.experiment }}" in deploy["concurrency"]["group"]
    assert deploy["concurrency"].get("cancel-in-progress", False) is False
    assert "concurrency" not in workflow, "a workflow-level group would serialise training too"


def test_azure_devops_deploy_stage_follows_training_under_an_exclusive_lock():
    """Stages wait for the stages they depend on; an Exclusive lock check on the deploy environment with
    `lockBehavior: sequential` lets one deploy stage run at a time and queues the others in order
    (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/stages-stage,
    https://learn.microsoft.com/azure/devops/pipelines/process/approvals#exclusive-lock)."""
    pipeline = load(REPO / ".azure-pipelines" / "azure-ml-job.yml")
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    train, deploy = stages["train"], stages["deploy"]
    select = " ".join(scripts(train))
    assert "--stage train" in select and "--stage deploy" in select
    assert any("experiments.train" in str(job.get("strategy")) for job in train["jobs"])
    assert deploy["dependsOn"] == "train" and "succeeded()" in deploy["condition"]
    assert deploy["lockBehavior"] == "sequential"
    (job,) = deploy["jobs"]
    assert job["environment"] and "experiments.deploy" in job["variables"]["DEPLOYS"]
    assert "make job" in " ".join(scripts(job))
    section = readme_section()
    assert f"`{job['environment']}`" in section and "Exclusive lock" in section


def test_changed_experiments_orders_and_groups_training_before_deploys(tmp_path):
    """A deploy experiment is one with a deployment.yml or batch-deployment.yml, as the local deploy finds
    them: a copy of one is one too, with no table to update."""
    deploys = {"online_copy": "deployment.yml", "batch_copy": "batch-deployment.yml"}
    for name in ("zeta", *deploys, "train", "alpha"):
        (tmp_path / "src" / name).mkdir(parents=True)
        (tmp_path / "src" / name / "main.py").write_text("x = 1\n")
        if name in deploys:
            (tmp_path / "src" / name / deploys[name]).write_text("endpoint_name: x\n")
    common = "src/common/util.py"
    assert names(tmp_path, common) == ["alpha", "train", "zeta", "batch_copy", "online_copy"]
    assert names(tmp_path, "--stage", "train", common) == ["alpha", "train", "zeta"]
    assert names(tmp_path, "--stage", "deploy", common) == ["batch_copy", "online_copy"]
    assert names(tmp_path, "--stage", "train", "--experiment", "online_copy") == []
    assert json.loads(changed(tmp_path, "--stage", "deploy", "--format", "json", "src/zeta/x").stdout) == []


def test_the_deploy_experiments_deploy_a_model_a_training_experiment_registers():
    """The deploys wait for every training job of the run: one of them registers the model each deploys."""
    module = changed_module()
    known = module.discover(REPO)
    deploys = [name for name in known if module.is_deploy(REPO, name)]
    assert deploys == ["taxi_batch", "taxi_online"]
    jobs = {name: load(REPO / "src" / name / "azure-ml-job.yaml").get("inputs", {}) for name in known}
    registered = {jobs[name].get("model_name") for name in known if name not in deploys}
    for deploy in deploys:
        assert re.split(r"[@:]", jobs[deploy]["model"])[0] in registered, deploy


# --- README --------------------------------------------------------------------------------------------


def readme_section() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"^## CI/CD for your team\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README.md has no '## CI/CD for your team' section"
    return match.group(1)


def test_readme_names_everything_the_one_time_set_up_needs():
    section = readme_section()
    workflow_text = "".join(p.read_text() for p in WORKFLOWS)
    for name in sorted(set(re.findall(r"\bvars\.(\w+)", workflow_text))):
        assert f"`{name}`" in section, name
    job = load(REPO / ".github" / "workflows" / "azure-ml-job.yml")["jobs"]["train"]
    assert f"repo:<owner>/<repo>:environment:{job['environment']}" in section
    ado = load(REPO / ".azure-pipelines" / "azure-ml-job.yml")
    names = {v.get("name"): v.get("value") for v in ado["variables"]} | {
        "group": ado["variables"][0]["group"]
    }
    assert f"`{names['serviceConnection']}`" in section and f"`{names['group']}`" in section
    assert "AzureML Data Scientist" in section
    for path in PIPELINE_FILES + [DEVCONTAINER, CHANGED]:
        assert rel(path) in section, rel(path)


# --- devcontainer.json -------------------------------------------------------------------------------


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (the devcontainer.json dialect) to plain JSON.

    `//` and `/* */` comments are removed outside strings; a comma followed (past blanks and comments)
    by `}` or `]` is dropped. Strings, escapes included, are copied untouched.
    """
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            out.append(" ")
            i = end + 2
        else:
            out.append(ch)
            i += 1
    plain = "".join(out)
    # Second pass: trailing commas, again only outside strings.
    result, i, n = [], 0, len(plain)
    while i < n:
        ch = plain[i]
        if ch == '"':
            j = i + 1
            while j < n and plain[j] != '"':
                j += 2 if plain[j] == "\\" else 1
            result.append(plain[i : j + 1])
            i = j + 1
            continue
        if ch == ",":
            k = i + 1
            while k < n and plain[k] in " \t\r\n":
                k += 1
            if k < n and plain[k] in "}]":
                i += 1
                continue
        result.append(ch)
        i += 1
    return "".join(result)


def test_jsonc_stripper_respects_strings():
    text = r"""// leading
    {
      "url": "https://example.org/a//b", /* block, with "quotes" */ "glob": "src/**/*.py",
      "escaped": "say \"// not a comment\" \\", // trailing
      "list": [1, 2, /* gone */ ], "nested": {"a": "/* kept */",},
    }"""
    assert json.loads(strip_jsonc(text)) == {
        "url": "https://example.org/a//b",
        "glob": "src/**/*.py",
        "escaped": 'say "// not a comment" \\',
        "list": [1, 2],
        "nested": {"a": "/* kept */"},
    }
    with pytest.raises(ValueError):
        strip_jsonc('{"a": 1 /* open')


def test_devcontainer_has_the_tools_extensions_and_optional_gpu():
    config = json.loads(strip_jsonc(DEVCONTAINER.read_text()))
    features = [key.rsplit(":", 1)[0] for key in config["features"]]
    assert "ghcr.io/devcontainers/features/docker-outside-of-docker" in features
    assert "ghcr.io/devcontainers/features/azure-cli" in features
    extensions = config["customizations"]["vscode"]["extensions"]
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(extensions)
    assert config["postCreateCommand"] == "make venv"
    assert config["hostRequirements"]["gpu"] == "optional"
    # The host's daemon resolves bind mounts on the host: the repository is at the same path inside.
    assert config["workspaceFolder"] == "${localWorkspaceFolder}"
    assert "target=${localWorkspaceFolder}" in config["workspaceMount"]
    interpreter = config["customizations"]["vscode"]["settings"]["python.defaultInterpreterPath"]
    assert interpreter.endswith("/.venv/bin/python")
    # One Python version for the editor and the pipelines.
    version = re.search(r"python:\d+-(\d+\.\d+)", config["image"]).group(1)
    for path in WORKFLOWS:
        for step in steps(load(path)):
            if step.get("uses", "").startswith("actions/setup-python@"):
                assert step["with"]["python-version"] == version


# --- ci/changed_experiments.py -------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def changed(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(CHANGED), "--root", str(repo), *args], capture_output=True, text=True)


def names(repo: Path, *args: str) -> list[str]:
    result = changed(repo, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def history(tmp_path) -> Path:
    """A repository with experiments a and b, src/common, a non-experiment folder, one commit."""
    repo = tmp_path / "repo"
    for path in ("src/a/main.py", "src/a/docker/requirements.txt", "src/b/main.py", "src/common/util.py"):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x = 1\n")
    (repo / "src/notes").mkdir()
    (repo / "src/notes/README.md").write_text("not an experiment\n")
    (repo / "README.md").write_text("readme\n")
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "start")
    return repo


def commit(repo: Path, message: str, write=(), delete=()) -> str:
    for path in write:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(f"{message}\n")
    for path in delete:
        git(repo, "rm", "-rq", path)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def test_changed_experiments_maps_paths_to_experiments(history):
    start = git(history, "rev-parse", "HEAD")
    commit(history, "a", write=["src/a/docker/requirements.txt"])
    assert names(history, "--base", start) == ["a"]
    after_a = commit(history, "docs", write=["README.md", "src/notes/README.md", "scaffold/x.py"])
    assert names(history, "--base", "HEAD~1") == []
    commit(history, "common", write=["src/common/util.py"])
    assert names(history, "--base", after_a) == ["a", "b"]
    commit(history, "new c", write=["src/c/main.py"])
    assert names(history, "--base", "HEAD~1") == ["c"]
    commit(history, "drop b", delete=["src/b"])
    assert names(history, "--base", "HEAD~1") == []
    assert names(history, "--base", start) == ["a", "c"]


def test_changed_experiments_compares_with_the_merge_base(history):
    git(history, "checkout", "-qb", "feature")
    commit(history, "feature changes a", write=["src/a/main.py"])
    git(history, "checkout", "-q", "main")
    commit(history, "main changes b meanwhile", write=["src/b/main.py"])
    assert names(history, "--base", "main", "--head", "feature") == ["a"]


def test_changed_experiments_without_a_base_selects_all_and_a_bad_base_fails(history):
    assert names(history, "--base", "0" * 40) == ["a", "b"]
    assert names(history, "--base", "") == ["a", "b"]
    result = changed(history, "--base", "no-such-commit")
    assert result.returncode != 0 and "fetch-depth: 0" in result.stderr and result.stdout == ""


def test_changed_experiments_paths_named_experiment_and_formats(history):
    assert names(history, "src/b/main.py", "./src/a/x.py", "src/notes/README.md") == ["a", "b"]
    assert names(history, "src/common/util.py") == ["a", "b"]
    assert json.loads(changed(history, "--format", "json", "src/b/x").stdout) == ["b"]
    assert json.loads(changed(history, "--format", "json", "README.md").stdout) == []
    assert json.loads(changed(history, "--format", "ado-matrix", "--all").stdout) == {
        "a": {"EXP": "a"},
        "b": {"EXP": "b"},
    }
    assert names(history, "--experiment", "b") == ["b"]
    unknown = changed(history, "--experiment", "notes")
    assert unknown.returncode == 2 and "known: a, b" in unknown.stderr


def test_changed_experiments_discovers_what_make_list_lists():
    result = driver(REPO, "list")
    assert result.returncode == 0, result.stderr
    assert names(REPO, "--all") == result.stdout.split()
