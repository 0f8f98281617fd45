"""Text files → a graph or an instance tree, with every diagnostic (``P_*``, ``PM_*``, ``CO_*``).

The entry file and the files it imports (``import path;``, relative to the root folder of the
graph or instances files) are read once each through ``read``, so import cycles are harmless.
Every file is parsed and its blocks validated; when any of that is severe, nothing is built
(Roboconf's behaviour) unless ``flexible`` is set, in which case each file keeps the blocks read
before its first parse error and the rest is built anyway. Files that cannot be read, or are of
the wrong kind, are reported and skipped; the others are built.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from roboconf.dsl.blocks import FileDefinition, FileKind
from roboconf.dsl.graph_builder import build_graph
from roboconf.dsl.instances_builder import build_instances
from roboconf.dsl.parser import parse, truncate_at_first_error
from roboconf.dsl.validator import validate_definition
from roboconf.errors import Category, Code, Diagnostic, has_errors
from roboconf.model.types import Graph, Instance

Reader = Callable[[str], str | None]

_BLOCK_CATEGORIES = frozenset({Category.PARSING, Category.PARSING_MODEL})
_ACCEPTED = {
    "graph": frozenset({FileKind.GRAPH, FileKind.AGGREGATOR, FileKind.EMPTY}),
    "instances": frozenset({FileKind.INSTANCE, FileKind.AGGREGATOR, FileKind.EMPTY}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphLoad:
    graph: Graph
    diagnostics: tuple[Diagnostic, ...]
    #: the files read, entry first (paths relative to the graph root)
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstancesLoad:
    instances: tuple[Instance, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...]


def load_graph(entry: str, read: Reader, *, flexible: bool = False) -> GraphLoad:
    """Read the graph whose entry point is ``entry``.

    ``read(path)`` returns a file's text, or None when it cannot be read. With ``flexible``,
    errors do not prevent building what can be built.
    """
    definitions, diagnostics, files = _read_all(entry, read, "graph", flexible=flexible)
    graph = Graph()
    if flexible or not _blocks_have_errors(diagnostics):
        graph, problems = build_graph(definitions)
        diagnostics += problems
    return GraphLoad(graph=graph, diagnostics=tuple(diagnostics), files=files)


def load_instances(entry: str, read: Reader, graph: Graph) -> InstancesLoad:
    """Read the instances whose entry point is ``entry``, against ``graph``."""
    definitions, diagnostics, files = _read_all(entry, read, "instances", flexible=False)
    instances: tuple[Instance, ...] = ()
    if not _blocks_have_errors(diagnostics):
        instances, problems = build_instances(definitions, graph)
        diagnostics += problems
    return InstancesLoad(instances=instances, diagnostics=tuple(diagnostics), files=files)


def graph_from_text(text: str, file: str = "<input>", *, flexible: bool = False) -> GraphLoad:
    """A graph from one text (its imports cannot be read)."""
    return load_graph(file, {file: text}.get, flexible=flexible)


def instances_from_text(text: str, graph: Graph, file: str = "<input>") -> InstancesLoad:
    """Instances from one text (its imports cannot be read)."""
    return load_instances(file, {file: text}.get, graph)


def _read_all(
    entry: str, read: Reader, kind: str, *, flexible: bool
) -> tuple[list[FileDefinition], list[Diagnostic], tuple[str, ...]]:
    """Parse and validate the entry file and every file it imports, each once."""
    definitions: list[FileDefinition] = []
    diagnostics: list[Diagnostic] = []
    pending: list[tuple[str, str | None, int | None]] = [(entry, None, None)]
    seen = {entry}
    files: list[str] = []
    while pending:
        path, importer, line = pending.pop(0)
        text = read(path) if _inside_root(path) else None
        if text is None:
            diagnostics.append(_unreachable(path, importer, line))
            continue
        files.append(path)
        definition = parse(text, path)
        diagnostics += definition.diagnostics
        diagnostics += validate_definition(definition)
        if definition.kind not in _ACCEPTED[kind]:
            diagnostics.append(_wrong_kind(definition, kind, importer, line))
            continue
        if flexible:
            definition = truncate_at_first_error(definition)
        definitions.append(definition)
        for block in definition.imports():
            target = _normalise(block.uri)
            if target and target not in seen:
                seen.add(target)
                pending.append((target, path, block.line))
    return definitions, diagnostics, tuple(files)


def _blocks_have_errors(diagnostics: list[Diagnostic]) -> bool:
    """Severe parse or block problems: what stops Roboconf from building (an unreadable or
    misplaced import does not: the files that could be read are built)."""
    return has_errors(d for d in diagnostics if d.code.category in _BLOCK_CATEGORIES)


def _normalise(uri: str) -> str:
    uri = uri.strip()
    return posixpath.normpath(uri) if uri else ""


def _inside_root(path: str) -> bool:
    return not (path.startswith("/") or path == ".." or path.startswith("../"))


def _unreachable(path: str, importer: str | None, line: int | None) -> Diagnostic:
    if importer is None:
        message = f"the file {path!r} cannot be read: check that it exists"
    else:
        message = (
            f"the imported file {path!r} cannot be read: check the path (imports are relative "
            "to the root folder of the graph or instances files, and cannot leave it)"
        )
    return Diagnostic(
        code=Code.CO_UNREACHABLE_FILE,
        message=message,
        file=importer or path,
        line=line,
        details={"import": path},
    )


def _wrong_kind(
    definition: FileDefinition, kind: str, importer: str | None, line: int | None
) -> Diagnostic:
    code = Code.CO_NOT_A_GRAPH if kind == "graph" else Code.CO_NOT_INSTANCES
    found = "instances" if definition.kind is FileKind.INSTANCE else "components or facets"
    via = f" (imported at {importer}:{line})" if importer else ""
    return Diagnostic(
        code=code,
        message=f"{definition.file!r}{via} holds {found}, but {kind} files were expected: import "
        f"it from the right kind of file",
        file=definition.file,
        details={"expected": kind, "found": definition.kind.value},
    )
