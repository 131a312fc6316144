"""Azure ML's command-string bindings, resolved on the laptop.

`${{inputs.x}}`, `${{outputs.y}}` and `${{search_space.z}}` are replaced by their values as they are (Azure ML
does not quote them). `$[[ ... ]]` is kept, without the brackets, when every binding inside it has a value,
and dropped otherwise (an optional input not given); a binding with no value outside it is an error. Pipeline
node inputs bind to `${{parent.inputs.x}}` and `${{parent.jobs.<step>.outputs.<output>}}`.

Literals reach the command as the SDK sends them, `str(value)`, so a YAML `true` is `True` (azure-ai-ml
1.35.2, `LiteralJobInput(value=str(input_value))` in `entities/_job/_input_output_helpers.py`; Learn does
not say how the service writes them). The SDK's dump writes booleans as 1/0: `typed_literals` undoes that.
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
    """A literal input as Azure ML puts it on the command line: the string the SDK sends, str(value)."""
    return str(value)


def typed_literals(job, data: dict) -> dict:
    """`data`, the SDK's dump of `job`, with the boolean literals it wrote as 1/0 made booleans again.

    The dump serialises a literal through a union of int, number, bool and string fields, and the int field
    takes a bool. The loaded job still knows: a step's or command job's input has `type` "boolean", a pipeline
    input's `result()` is the bool, a sweep job's input is the bool itself.
    """
    dumped_jobs = data.get("jobs") or {}
    pairs = [(getattr(job, "inputs", None) or {}, data.get("inputs") or {})] + [
        (node.inputs or {}, (dumped_jobs.get(name) or {}).get("inputs") or {})
        for name, node in (getattr(job, "jobs", None) or {}).items()
    ]
    for loaded, dumped in pairs:
        for name, value in dumped.items():
            if type(value) is not int or value not in (0, 1) or name not in loaded:
                continue
            entity = loaded[name]
            result = entity.result() if callable(getattr(entity, "result", None)) else entity
            if isinstance(result, bool) or getattr(entity, "type", None) == "boolean":
                dumped[name] = bool(value)
    return data
