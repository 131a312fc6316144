"""Azure ML's command-string bindings, resolved on the laptop.

`${{inputs.x}}`, `${{outputs.y}}` and `${{search_space.z}}` are replaced by their values as they are (Azure ML
does not quote them). `$[[ ... ]]` is an optional part: kept, without the brackets, when every binding inside
it has a value, and dropped otherwise (an optional input that was not given). A binding with no value outside
`$[[ ]]` is an error that names it. Pipeline node inputs bind to `${{parent.inputs.x}}` and
`${{parent.jobs.<step>.outputs.<output>}}`.
"""

from __future__ import annotations

import re

from scaffold.errors import ScaffoldError

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
PARENT_INPUT = re.compile(r"^\$\{\{\s*parent\.inputs\.([A-Za-z0-9_]+)\s*\}\}$")
PARENT_OUTPUT = re.compile(r"^\$\{\{\s*parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\s*\}\}$")


def render(command: str, values: dict[str, str], where: str) -> str:
    """The command with its bindings replaced by `values` ({"inputs.x": "...", ...})."""

    def optional(match: re.Match) -> str:
        names = EXPRESSION.findall(match[1])
        return EXPRESSION.sub(lambda m: values[m[1]], match[1]) if all(n in values for n in names) else ""

    command = OPTIONAL.sub(optional, command)

    def required(match: re.Match) -> str:
        if match[1] not in values:
            raise ScaffoldError(f"{where}: the command uses ${{{{{match[1]}}}}}, which has no value")
        return values[match[1]]

    return EXPRESSION.sub(required, command).strip()


def literal(value) -> str:
    """A literal input as Azure ML puts it on the command line."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
