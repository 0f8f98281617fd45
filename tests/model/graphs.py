"""Small graphs written in the DSL, for readable test tables."""

from __future__ import annotations

from roboconf.dsl.convert import graph_from_text, instances_from_text
from roboconf.errors import has_errors
from roboconf.model.types import Graph, Instance


def one_per_line(text: str) -> str:
    """``A { installer: target; } B { }`` → one construct per line, as the DSL wants."""
    for old, new in (("{ ", "{\n"), ("; ", ";\n"), ("} ", "}\n")):
        text = text.replace(old, new)
    return text


def graph_of(text: str) -> Graph:
    """The graph of ``text``, which must build without error (model checks are not run)."""
    loaded = graph_from_text(text, "test.graph")
    assert not has_errors(loaded.diagnostics), [d.render() for d in loaded.diagnostics]
    return loaded.graph


def instances_of(text: str, graph: Graph) -> tuple[Instance, ...]:
    loaded = instances_from_text(text, graph, "test.instances")
    assert not has_errors(loaded.diagnostics), [d.render() for d in loaded.diagnostics]
    return loaded.instances
