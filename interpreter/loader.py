"""Safe YAML loading that remembers where every value came from.

The loader composes the document with PyYAML's safe composer and builds plain JSON-like
values itself, so that each mapping key, each value and each scalar's source span is
indexed by its path (a tuple of keys and list indices). Duplicate keys are errors.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from interpreter import limits
from interpreter.errors import Diagnostic, Position

Path = tuple[str | int, ...]


@dataclass
class LoadedDocument:
    """A parsed YAML file: plain values plus the position of every node."""

    file: str
    text: str
    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> Position:
        """Returns the position of ``path``, or of its closest known ancestor."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Position(1, 1))

    def raw(self, path: Path) -> str | None:
        """Returns the exact source text of the scalar at ``path`` (quotes included)."""
        span = self.spans.get(tuple(path))
        return None if span is None else self.text[span[0] : span[1]]

    def value_position(self, path: Path, text: str, offset: int) -> Position:
        """Position of character ``offset`` of the string value ``text`` found at ``path``."""
        raw = self.raw(path)
        if raw is None:
            return self.position(path)
        return self.offset_position(path, raw_offset(text, raw, offset))

    def offset_position(self, path: Path, start: int) -> Position:
        """Maps a character index of the scalar's source text back to a file position."""
        span = self.spans.get(tuple(path))
        if span is None:
            return self.position(path)
        index = span[0] + start
        line = self.text.count("\n", 0, index) + 1
        col = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return Position(line, col)


class SafeCoreLoader(yaml.SafeLoader):
    """The safe loader with YAML 1.2 booleans: only true/false, never yes/no/on/off."""


SafeCoreLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeCoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


_CBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FastComposer(_CBase):  # type: ignore[misc]
    """libyaml's parser when PyYAML has it (ten times faster), with the same resolvers."""


FastComposer.yaml_implicit_resolvers = SafeCoreLoader.yaml_implicit_resolvers


def raw_offset(text: str, raw: str, offset: int) -> int:
    """Maps an offset in a scalar's value onto its source text (quotes, block indicators).

    The n-th ``{{`` of the value is the n-th ``{{`` of the source, and inside one
    expression the two agree character for character.
    """
    anchor = text.rfind("{{", 0, offset + 2)
    if anchor < 0:
        return 0
    nth = text.count("{{", 0, anchor)
    index = -2
    for _ in range(nth + 1):
        index = raw.find("{{", index + 2)
        if index < 0:
            return 0
    return index + (offset - anchor)


class _LimitError(Exception):
    """A limit was passed; ``diagnostic`` says which and where."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.render())
        self.diagnostic = diagnostic


class _Builder:
    def __init__(self, doc: LoadedDocument, diagnostics: list[Diagnostic]) -> None:
        self.doc = doc
        self.diagnostics = diagnostics
        self.constructor = SafeCoreLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        # Aliases can nest a value deeper than the text does (``_expansion`` has bounded
        # how many values there will be, not how deep they sit).
        if len(path) > limits.MAX_YAML_DEPTH:
            self._limit(node, f"values are nested more than {limits.MAX_YAML_DEPTH} levels deep")
        self.doc.positions[path] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        self.doc.spans[path] = (node.start_mark.index, node.end_mark.index)
        value = self._construct(node)
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value

    def _construct(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self._error(node, f"cannot read this value: {getattr(exc, 'problem', None) or exc}")
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._error(key_node, "mapping keys must be plain strings")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                self._error(key_node, "YAML merge keys ('<<') are not supported")
                continue
            key = str(self._construct(key_node))
            if key in result:
                first = self.doc.key_positions[(*path, key)]
                self._error(
                    key_node,
                    f"duplicate key '{key}'",
                    hint=f"first defined at line {first.line}",
                )
                continue
            self.doc.key_positions[(*path, key)] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _error(self, node: yaml.Node, message: str, *, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(self.doc.file, _pos(node.start_mark), message, hint))

    def _limit(self, node: yaml.Node, message: str) -> None:
        hint = "each use of a YAML alias counts in full"
        raise _LimitError(Diagnostic(self.doc.file, _pos(node.start_mark), message, hint))


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _event_pos(event: yaml.Event) -> Position:
    mark: Any = event.start_mark  # the parser always sets it (libyaml's or PyYAML's Mark)
    return Position(mark.line + 1, mark.column + 1)


def load_yaml(text: str, *, file: str) -> tuple[LoadedDocument, list[Diagnostic]]:
    """Parses one YAML document, returning it with every problem found.

    The text's size, nesting and aliases are bounded (see ``interpreter.limits``) before
    any tree is built, so hostile input costs time and memory in proportion to the limits.

    Args:
        text: the YAML source.
        file: the name used in diagnostics.

    Returns:
        The document (``data`` is None when the text could not be parsed) and the
        diagnostics: syntax errors, duplicate keys, unsupported YAML features, limits.
    """
    doc = LoadedDocument(file=file, text=text, data=None)
    limit = limits.MAX_DEFINITION_BYTES
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        message = f"the definition is larger than {limits.MAX_DEFINITION_BYTES} bytes"
        return doc, [Diagnostic(file, Position(1, 1), message)]
    try:
        problem = _scan(text, file)
        if problem is not None:
            return doc, [problem]
        node = yaml.compose(text, Loader=FastComposer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _pos(mark) if mark is not None else Position(1, 1)
        problem_text = exc.problem or exc.context or "invalid YAML"
        return doc, [Diagnostic(file, position, f"YAML syntax error: {problem_text}")]
    except yaml.YAMLError as exc:
        return doc, [Diagnostic(file, Position(1, 1), f"YAML error: {exc}")]
    if node is None:
        return doc, [Diagnostic(file, Position(1, 1), "the file is empty")]
    problem = _expansion(node, file)
    if problem is not None:
        return doc, [problem]
    diagnostics: list[Diagnostic] = []
    try:
        doc.data = _Builder(doc, diagnostics).build(node, ())
    except _LimitError as exc:
        doc.data = None
        return doc, [exc.diagnostic]
    return doc, diagnostics


def _expansion(root: yaml.Node, file: str) -> Diagnostic | None:
    """Counts the values the tree will have once aliases are expanded, on the shared graph
    (each node once, iteratively), so an alias bomb is refused before anything is built."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        kids = _children(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(kid)] for kid in kids)
            if sizes[key] > limits.MAX_YAML_VALUES:
                message = f"the definition expands to more than {limits.MAX_YAML_VALUES} values"
                hint = "each use of a YAML alias counts in full"
                return Diagnostic(file, _pos(node.start_mark), message, hint)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            message = "a YAML alias refers to a value that contains it"
            return Diagnostic(file, _pos(node.start_mark), message)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in kids if id(kid) not in sizes)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _scan(text: str, file: str) -> Diagnostic | None:
    """Bounds nesting and aliases on the event stream, before a tree exists."""
    depth = 0
    aliases = 0
    for event in yaml.parse(text, Loader=FastComposer):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.MAX_YAML_DEPTH:
                message = f"values are nested more than {limits.MAX_YAML_DEPTH} levels deep"
                return Diagnostic(file, _event_pos(event), message)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.MAX_YAML_ALIASES:
                message = f"more than {limits.MAX_YAML_ALIASES} YAML aliases"
                hint = "repeat the value, or split the definition"
                return Diagnostic(file, _event_pos(event), message, hint)
    return None
