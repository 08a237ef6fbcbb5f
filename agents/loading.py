"""Reading scenario files: YAML → :class:`~adtriad.agents.scenario.Scenario`, with positions.

Contract: :func:`load_scenario` reads one file (:func:`scenario_from_text` takes YAML text,
:func:`scenario_from_data` the parsed fields, e.g. built by a program), validates it with the
pydantic model, resolves its kernel (:mod:`adtriad.agents.registry`), checks that the
arguments match the kernel's parameters and that every expectation is a safe expression, and
returns the scenario with its kernel filled in (``kernel.source`` and ``kernel.entry`` always
set; for an inline source written as a literal block, ``source: |``, also ``kernel.path``,
``line`` and ``column``: where it sits in the file, so the kernel's errors name that line). Any problem raises
:class:`ScenarioError` whose message is ``FILE:LINE: FIELD: what is wrong`` (one line per
problem); the line comes from the YAML node of the field (or of its nearest enclosing field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from adtriad.agents.expressions import ExpressionError, parse_expression
from adtriad.agents.registry import KernelSpecError, resolve
from adtriad.agents.scenario import Scenario
from adtriad.paths import UnreadableFile, read_user_text

__all__ = ["ScenarioError", "load_scenario", "load_scenarios", "scenario_from_data",
           "scenario_from_text"]


class ScenarioError(ValueError):
    """A scenario file is missing, not YAML, or invalid; the message names file, line, field."""


def yaml_positions(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Path of keys/indices → 1-based line of the value's node (and of the key itself)."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = path + (key.value,)
            out[here] = key.start_mark.line + 1
            yaml_positions(value, here, out)
            out[here] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yaml_positions(item, path + (i,), out)
    return out


def line_of(positions: dict[tuple, int], loc: tuple) -> int:
    """The line of field ``loc`` (or of its nearest written parent) in :func:`yaml_positions`."""
    loc = tuple(loc)
    while loc and loc not in positions:
        loc = loc[:-1]
    return positions.get(loc, 1)


def field_name(loc: tuple) -> str:
    """A pydantic error location as the dotted field a person wrote (``arguments.x.value``)."""
    # pydantic adds the union member it tried ("Draw", "float"...); drop those steps.
    noise = {"Number", "List", "Draw", "float", "int"}
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p in noise or "[" in p))]
    return ".".join(parts) or "(top level)"


def _aliases(loc: tuple) -> tuple:
    # ``mode: X`` is read as ``modes: [X]``; point errors back at ``mode``.
    return ("mode",) + tuple(loc[2:]) if loc[:1] == ("modes",) else tuple(loc)


def read_yaml_mapping(path: Path, what: str):
    """(data, node) of a YAML file holding a mapping; ScenarioError with file and line
    otherwise. ``what`` names the fields expected ("scenario", "sweep")."""
    try:
        text = read_user_text(path)
    except UnreadableFile as err:
        raise ScenarioError(str(err)) from None
    return parse_yaml_mapping(text, str(path), what)


def parse_yaml_mapping(text: str, where: str, what: str):
    """(data, node) of YAML text holding a mapping; errors say ``where:LINE``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(f"{where}{line}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}:1: (top level): expected a mapping of {what} fields")
    return data, node


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve one scenario file (see the module contract)."""
    path = Path(path)
    data, node = read_yaml_mapping(path, "scenario")
    scenario = scenario_from_data(data, str(path), path.parent, yaml_positions(node))
    kernel = scenario.kernel
    placed = kernel.source is not None and kernel.path is None and _embedded_at(node, kernel.source)
    if placed:
        kernel = kernel.model_copy(update={"path": str(path), "line": placed[0],
                                           "column": placed[1]})
    return scenario.model_copy(update={"source_path": str(path), "kernel": kernel})


def _embedded_at(node: yaml.Node, source: str) -> tuple[int, int] | None:
    """(line, indent) of the inline ``kernel.source`` in the file, when it is a literal block
    whose every line is the file's line with the indent removed; None otherwise (a folded or
    quoted string does not keep the lines)."""
    value = _child(_child(node, "kernel"), "source")
    if not isinstance(value, yaml.ScalarNode) or value.style != "|" or not value.start_mark.buffer:
        return None
    text = value.start_mark.buffer.rstrip("\0").split("\n")
    first = value.start_mark.line + 1  # the line after the `|` indicator
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the block's final newline
    written = next((i for i, line in enumerate(lines) if line.strip()), None)
    if written is None or first + len(lines) > len(text):
        return None
    indent = (len(text[first + written]) - len(text[first + written].lstrip(" "))
              - (len(lines[written]) - len(lines[written].lstrip(" "))))
    for i, line in enumerate(lines):
        here = text[first + i]
        same = here == " " * indent + line if line.strip() else not here.strip()
        if not same:
            return None
    return first + 1, indent


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    return None


def scenario_from_text(text: str, where: str = "<inline>", base: Path | None = None) -> Scenario:
    """A scenario from YAML text, checked as a file is; errors say ``where:LINE``. A
    ``ref: file.py:f`` is relative to ``base`` (the working directory when None)."""
    data, node = parse_yaml_mapping(text, where, "scenario")
    return scenario_from_data(data, where, base, yaml_positions(node))


def scenario_from_data(data: dict[str, Any], where: str, base: Path | None = None,
                       positions: dict[tuple, int] | None = None) -> Scenario:
    """A scenario from its fields (as parsed from YAML or built by a program), validated and
    resolved as a file is. Errors say ``where:LINE: FIELD`` with ``positions``, else
    ``where: FIELD``."""

    def at(loc: tuple) -> str:
        return f"{where}:{line_of(positions, loc)}" if positions else where

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        lines, seen = [], set()
        for e in err.errors():
            loc = e["loc"]
            if loc[:1] == ("modes",) and "mode" in data:
                loc = _aliases(loc)
            if field_name(loc) in seen:
                continue
            seen.add(field_name(loc))
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{at(loc)}: {field_name(loc)}: {msg}")
        raise ScenarioError("\n".join(dict.fromkeys(lines))) from None
    return _resolve(scenario, base, at)


def _resolve(scenario: Scenario, base: Path | None, at) -> Scenario:
    def fail(loc: tuple, message: str) -> ScenarioError:
        return ScenarioError(f"{at(loc)}: {'.'.join(loc)}: {message}")

    try:
        kernel = resolve(scenario.kernel, base=base)
    except KernelSpecError as err:
        raise fail(("kernel",), str(err)) from None
    if tuple(scenario.arguments) != kernel.params:
        raise fail(
            ("arguments",),
            f"the kernel {kernel.entry}({', '.join(kernel.params)}) takes "
            f"({', '.join(kernel.params)}), the scenario gives ({', '.join(scenario.arguments)})",
        )
    names = set(scenario.arguments) | {f"shadow_{n}" for n in scenario.arguments}
    for key, value in scenario.expect.items():
        inner = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, text in inner:
            try:
                parse_expression(text, names)
            except ExpressionError as err:
                raise fail(("expect", key) + ((sub,) if sub else ()), str(err)) from None
    spec = scenario.kernel.model_copy(
        update={"source": kernel.source, "entry": kernel.entry, "name": kernel.name,
                "path": kernel.path}
    )
    return scenario.model_copy(update={"kernel": spec})


def load_scenarios(paths: Any) -> list[Scenario]:
    """Load several files; every file's problems are reported together."""
    loaded, problems = [], []
    for p in paths:
        try:
            loaded.append(load_scenario(p))
        except ScenarioError as err:
            problems.append(str(err))
    if problems:
        raise ScenarioError("\n".join(problems))
    return loaded
