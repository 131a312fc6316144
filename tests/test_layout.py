"""The driver's module layout: commands on top, shared helpers below them, nothing importing upward.

Imports are read from the source with ast (those inside functions too, since the driver imports lazily), so
the check costs no import and sees every path a command can take.
"""

from __future__ import annotations

import ast
from pathlib import Path

SCAFFOLD = Path(__file__).resolve().parents[1] / "scaffold"
MODULES = {path.stem for path in SCAFFOLD.glob("*.py")}


def imports(source: str) -> list[tuple[str, str]]:
    """(scaffold module, name taken from it or "") for each import of a scaffold module in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "scaffold" and len(parts) > 1 and parts[1] in MODULES:
                    found.append((parts[1], ""))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts == ["scaffold"]:
                found += [(alias.name, "") for alias in node.names if alias.name in MODULES]
            elif parts[0] == "scaffold" and parts[1] in MODULES:
                found += [(parts[1], alias.name) for alias in node.names]
    return found


def private_uses(source: str) -> list[str]:
    """`module._name` and `from scaffold.module import _name` for scaffold modules `source` imports."""
    tree = ast.parse(source)
    bound = set()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "scaffold":
            bound |= {alias.asname or alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scaffold."):
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
    return {path.stem: path.read_text() for path in SCAFFOLD.glob("*.py")}


def test_no_import_cycle_between_scaffold_modules():
    found = cycles(graph(scaffold_sources()))
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_no_module_takes_a_private_name_from_another():
    problems = {name: private_uses(text) for name, text in scaffold_sources().items()}
    assert not {name: found for name, found in problems.items() if found}


def test_only_cli_imports_the_command_modules():
    importers = {name for name, targets in graph(scaffold_sources()).items() if "commands" in targets}
    assert importers == {"cli"}


def test_the_checks_see_what_they_refuse():
    """The checks above would fail on the layout they refuse (lazy imports included)."""
    sources = {
        "commands": "def run():\n    from scaffold import testing\n",
        "testing": "def run():\n    from scaffold.commands import _image\n",
        "images": "from scaffold import errors\nerrors._hidden()\n",
        "errors": "",
    }
    assert cycles(graph(sources)) == [["commands", "testing", "commands"]]
    assert private_uses(sources["testing"]) == ["from scaffold.commands import _image"]
    assert private_uses(sources["images"]) == ["errors._hidden"]
    plain = {"config": "import scaffold.commands\n", "commands": "import scaffold.config as c\n"}
    assert cycles(graph(plain)) == [["commands", "config", "commands"]]
