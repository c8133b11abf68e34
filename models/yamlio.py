"""Reading YAML files with errors that name the file and the place of a syntax error.

The loader is YAML's safe loader with two limits a hostile or broken file could otherwise push
past the machine's memory or stack: the document, with every alias expanded, may hold at most
:data:`MAX_YAML_NODES` nodes (a few hundred bytes of nested aliases, the "billion laughs", would
expand to billions), and nesting deeper than Python's recursion limit is an error, not a crash.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from xpuplan.models.errors import InvalidInput

#: The most nodes a YAML document may expand to (aliases counted at every use). The largest
#: built-in platform or scenario has a few hundred; a profiled model graph a few hundred thousand.
MAX_YAML_NODES = 1_000_000
#: The deepest nesting of lists and mappings a YAML document may have.
MAX_YAML_DEPTH = 100


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than :data:`MAX_YAML_DEPTH` as it composes."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _TooDeep
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _TooDeep(Exception):
    pass


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML (or JSON) file; a missing or malformed file raises :class:`InvalidInput`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise InvalidInput("is a folder, not a file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot be read: {exc}", file=str(path)) from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text, with the limits of the module docstring; errors name ``source``."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, source)
        return loader.construct_document(node)
    except InvalidInput:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"malformed YAML{where}: {problem}", file=source) from None
    except (_TooDeep, RecursionError):
        raise InvalidInput(
            f"is nested more than {MAX_YAML_DEPTH} levels deep (lists or mappings)", file=source
        ) from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise InvalidInput(
            f"holds a value that cannot be read ({str(exc).split(';')[0]})", file=source
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand to more than MAX_YAML_NODES nodes, or that
    contains itself (a recursive alias)."""
    size: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(size[id(child)] for child in _children(node))
            in_progress.discard(key)
            if total > MAX_YAML_NODES:
                raise InvalidInput(
                    f"expands to more than {MAX_YAML_NODES:,} values through its aliases "
                    "(&anchor / *alias); write the data out or use fewer nested aliases",
                    file=source,
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in in_progress:
            raise InvalidInput("contains itself through an alias (&anchor / *alias)", file=source)
        in_progress.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in in_progress:
                raise InvalidInput(
                    "contains itself through an alias (&anchor / *alias)", file=source
                )
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
