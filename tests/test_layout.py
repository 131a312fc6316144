"""The driver's module layout: commands on top, shared helpers below them, nothing importing upward.

Imports are read from the source with ast (those inside functions too, since the driver imports lazily), so
the check costs no import and sees every path a command can take.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

SCAFFOLD = Path(__file__).resolve().parents[1] / "scaffold"


def module_name(path: Path) -> str:
    """scaffold/azure/jobs.py -> "azure.jobs"; a package's __init__.py is the package ("azure")."""
    parts = path.relative_to(SCAFFOLD).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path) for path in SCAFFOLD.rglob("*.py")} - {""}


def target(dotted: str) -> str | None:
    """The scaffold module `dotted` (e.g. "scaffold.azure.jobs") names, or None when it is not one."""
    parts = dotted.split(".")
    name = ".".join(parts[1:])
    return name if parts[0] == "scaffold" and name in MODULES else None


def dynamic_imports(node: ast.Call) -> list[str]:
    """Modules `import_module("scaffold.x." + ...)` can import: all whose name starts with the prefix."""
    if not (isinstance(node.func, ast.Name) and node.func.id == "import_module" and node.args):
        return []
    first = node.args[0]
    if isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
        first = first.values[0]
    if not (isinstance(first, ast.Constant) and str(first.value).startswith("scaffold.")):
        return []
    prefix = str(first.value).removeprefix("scaffold.")
    return [name for name in sorted(MODULES) if name.startswith(prefix)]


def imports(source: str) -> list[tuple[str, str]]:
    """(scaffold module, name taken from it or "") for each import of a scaffold module in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for depth in range(len(parts), 1, -1):  # `import scaffold.azure.jobs` names azure.jobs
                    if module := target(".".join(parts[:depth])):
                        found.append((module, ""))
                        break
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if module := target(f"{node.module}.{alias.name}"):  # `from scaffold.azure import jobs`
                    found.append((module, ""))
                elif module := target(node.module):
                    found.append((module, alias.name))
        elif isinstance(node, ast.Call):
            found += [(module, "") for module in dynamic_imports(node)]
    return found


def private_uses(source: str) -> list[str]:
    """`module._name` and `from scaffold.module import _name` for scaffold modules `source` imports."""
    tree = ast.parse(source)
    bound = set()
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scaffold"):
            continue
        bound |= {alias.asname or alias.name for alias in node.names if target(f"{node.module}.{alias.name}")}
        if node.module.startswith("scaffold."):
            problems += [
                f"from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                problems.append(f"{node.value.id}.{node.attr}")
    return problems


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    return {name: {target for target, _ in imports(text) if target != name} for name, text in sources.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the modules along it (depth-first search for back edges)."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def scaffold_sources() -> dict[str, str]:
    return {module_name(path) or "scaffold": path.read_text() for path in SCAFFOLD.rglob("*.py")}


def test_no_import_cycle_between_scaffold_modules():
    found = cycles(graph(scaffold_sources()))
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_no_module_takes_a_private_name_from_another():
    problems = {name: private_uses(text) for name, text in scaffold_sources().items()}
    assert not {name: found for name, found in problems.items() if found}


def is_command(module: str) -> bool:
    return module.startswith("commands.")


def test_only_cli_imports_the_command_modules():
    """Commands sit on top: no helper and no other command imports one; shared code lives below them."""
    importers = {name for name, targets in graph(scaffold_sources()).items() if any(map(is_command, targets))}
    assert importers == {"cli"}


def test_cli_runs_a_command_module_for_every_command():
    """Each command the parser lists has its module in scaffold/commands/, and each module is a command."""
    from scaffold.cli import build_parser

    listed = re.findall(r"^    ([a-z][a-z-]*)(?:\s|$)", build_parser().format_help(), re.M)
    commands = {name.replace("-", "_") for name in listed}
    assert commands == {name.removeprefix("commands.") for name in MODULES if is_command(name)}
    for name in commands:
        assert callable(import_module(f"scaffold.commands.{name}").run), name


def test_the_checks_see_what_they_refuse():
    """The checks above would fail on the layout they refuse (lazy imports included)."""
    sources = {
        "commands": "def run():\n    from scaffold import runner\n",
        "runner": "def run():\n    from scaffold.commands import _image\n",
        "images": "from scaffold import errors\nerrors._hidden()\n",
        "errors": "",
    }
    assert cycles(graph(sources)) == [["commands", "runner", "commands"]]
    assert private_uses(sources["runner"]) == ["from scaffold.commands import _image"]
    assert private_uses(sources["images"]) == ["errors._hidden"]
    plain = {"config": "import scaffold.commands\n", "commands": "import scaffold.config as c\n"}
    assert cycles(graph(plain)) == [["commands", "config", "commands"]]
    nested = {
        "cli": "def main(name):\n    return import_module(f'scaffold.commands.{name}')\n",
        "local_job.run": "from scaffold.local_job import steps\nsteps._start()\n",
        "runner": "from scaffold.commands.job import define\n",
    }
    assert "commands.job" in graph(nested)["cli"]
    assert graph(nested)["local_job.run"] == {"local_job.steps"}
    assert private_uses(nested["local_job.run"]) == ["steps._start"]
    assert {name for name, targets in graph(nested).items() if any(map(is_command, targets))} == {
        "cli",
        "runner",
    }


def test_scaffold_azure_does_not_hide_the_sdk_from_a_script(tmp_path):
    """With RUNNER=venv, container_entry.py runs from scaffold/: a script's `import azure...` gets the SDK."""
    script = tmp_path / "probe.py"
    script.write_text("import azure.core\nprint(azure.core.__file__)\n")
    entry = SCAFFOLD / "container_entry.py"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    result = subprocess.run(
        [sys.executable, str(entry), str(script)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout
