"""Parsed ``.graph`` files → a :class:`~roboconf.model.types.Graph` (``CO_*`` problems).

Definitions are global across files: a name defined twice is reported at each definition (the
first one is kept), a component and a facet sharing a name are both reported, and references to
unknown components, facets or children are reported at the line that makes them. Unknown names
stay in the model as written, so a half-broken graph can still be inspected.

The comment lines right above a declaration (no blank line between) are its documentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from roboconf.dsl.blocks import Block, Comment, FileDefinition, Holder, HolderKind, Property
from roboconf.dsl.exports import parse_exports, split_import, split_random
from roboconf.errors import Code, Diagnostic
from roboconf.model.types import (
    RANDOM_PORT,
    Component,
    ExportedVariable,
    Facet,
    Graph,
    ImportedVariable,
    SourceLocation,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reference:
    """A name used by a definition, checked once every file has been read."""

    owner: str
    owner_kind: str  # "component" or "facet"
    prop: str  # "extends", "facets" or "children"
    name: str
    file: str
    line: int


def build_graph(definitions: Iterable[FileDefinition]) -> tuple[Graph, list[Diagnostic]]:
    """The graph of every component and facet of ``definitions`` and the ``CO_*`` problems."""
    components: dict[str, list[Component]] = {}
    facets: dict[str, list[Facet]] = {}
    references: list[_Reference] = []
    for definition in definitions:
        for holder, documentation in _documented_holders(definition.blocks):
            location = SourceLocation(file=definition.file, line=holder.line)
            if holder.kind is HolderKind.COMPONENT:
                component = _component(holder, documentation, location, references)
                components.setdefault(component.name, []).append(component)
            elif holder.kind is HolderKind.FACET:
                facet = _facet(holder, documentation, location, references)
                facets.setdefault(facet.name, []).append(facet)
    graph = Graph(
        components={name: found[0] for name, found in components.items()},
        facets={name: found[0] for name, found in facets.items()},
    )
    problems = list(_duplicates(components, facets))
    problems += _unknown_references(graph, references)
    return graph, problems


def documentation_of(comment: Comment) -> str:
    """``# Line 1\\n#\\n# Line 2`` → ``Line 1\\nLine 2``: the text of a documentation comment."""
    lines = (line.strip().lstrip("#").strip() for line in comment.content.split("\n"))
    return "\n".join(line for line in lines if line)


def _documented_holders(blocks: Iterable[Block]) -> Iterator[tuple[Holder, str]]:
    previous: Block | None = None
    for block in blocks:
        if isinstance(block, Holder):
            doc = documentation_of(previous) if isinstance(previous, Comment) else ""
            yield block, doc
        previous = block


def _component(
    holder: Holder, documentation: str, location: SourceLocation, references: list[_Reference]
) -> Component:
    installer: str | None = None
    extends: str | None = None
    facets: list[str] = []
    children: list[str] = []
    exports: dict[str, ExportedVariable] = {}
    imports: dict[str, ImportedVariable] = {}
    for prop in holder.properties():
        key = prop.name.lower()
        if key == "installer":
            installer = prop.value.strip()
        elif key == "extends":
            extends = prop.value.strip()
            references.append(_reference(holder, "component", prop, extends, location))
        elif key in ("facets", "children"):
            names = _items(prop.value)
            (facets if key == "facets" else children).extend(names)
            references += (_reference(holder, "component", prop, n, location) for n in names)
        elif key == "exports":
            exports.update(_exports(prop))
        elif key == "imports":
            imports.update(_imports(prop))
    return Component(
        name=holder.name,
        installer=installer,
        extends=extends,
        facets=tuple(facets),
        children=tuple(children),
        exports=exports,
        imports=imports,
        documentation=documentation,
        location=location,
    )


def _facet(
    holder: Holder, documentation: str, location: SourceLocation, references: list[_Reference]
) -> Facet:
    extends: list[str] = []
    children: list[str] = []
    exports: dict[str, ExportedVariable] = {}
    for prop in holder.properties():
        key = prop.name.lower()
        if key in ("extends", "children"):
            names = _items(prop.value)
            (extends if key == "extends" else children).extend(names)
            references += (_reference(holder, "facet", prop, n, location) for n in names)
        elif key == "exports":
            exports.update(_exports(prop))
    return Facet(
        name=holder.name,
        extends=tuple(extends),
        children=tuple(children),
        exports=exports,
        documentation=documentation,
        location=location,
    )


def _reference(
    holder: Holder, kind: str, prop: Property, name: str, location: SourceLocation
) -> _Reference:
    return _Reference(
        owner=holder.name,
        owner_kind=kind,
        prop=prop.name.lower(),
        name=name,
        file=location.file,
        line=prop.line or location.line,
    )


def _items(value: str) -> list[str]:
    return [item for item in (part.strip() for part in value.split(",")) if item]


def _exports(prop: Property) -> Iterator[tuple[str, ExportedVariable]]:
    exports, _problems = parse_exports(prop.value)  # problems: reported by the block validator
    for raw, value in exports.items():
        name, random, kind = split_random(raw)
        if kind is not None and kind.lower() == RANDOM_PORT:
            kind = RANDOM_PORT
        yield name, ExportedVariable(name=name, value=value, random=random, random_kind=kind)


def _imports(prop: Property) -> Iterator[tuple[str, ImportedVariable]]:
    for item in _items(prop.value):
        name, optional, external = split_import(item)
        if name:
            yield name, ImportedVariable(name=name, optional=optional, external=external)


def _duplicates(
    components: dict[str, list[Component]], facets: dict[str, list[Facet]]
) -> Iterator[Diagnostic]:
    for kind, code, found in (
        ("component", Code.CO_ALREADY_DEFINED_COMPONENT, components),
        ("facet", Code.CO_ALREADY_DEFINED_FACET, facets),
    ):
        for name, definitions in found.items():
            if len(definitions) < 2:
                continue
            places = ", ".join(_place(d.location) for d in definitions)
            for definition in definitions:
                yield _at(
                    code,
                    definition.location,
                    f"{kind} {name!r} is defined {len(definitions)} times ({places}): keep one "
                    "definition, or rename the others",
                    **{kind: name},
                )
    for name in components.keys() & facets.keys():
        component, facet = components[name][0], facets[name][0]
        for kind, location in (("component", component.location), ("facet", facet.location)):
            other = _place(facet.location if kind == "component" else component.location)
            yield _at(
                Code.CO_CONFLICTING_NAME,
                location,
                f"{name!r} names both a component and a facet (the other one is at {other}): "
                "rename one of them",
                name=name,
                kind=kind,
            )


def _unknown_references(graph: Graph, references: Iterable[_Reference]) -> Iterator[Diagnostic]:
    for ref in references:
        location = SourceLocation(file=ref.file, line=ref.line)
        details = {ref.owner_kind: ref.owner, "name": ref.name, "property": ref.prop}
        if ref.prop == "children":
            if ref.name not in graph.components and ref.name not in graph.facets:
                yield _at(
                    Code.CO_INEXISTING_CHILD,
                    location,
                    f"{ref.owner_kind} {ref.owner!r} lists {ref.name!r} in its children, but "
                    f"no component or facet is named {ref.name!r}: define it or fix the name"
                    f"{_suggestion(ref.name, [*graph.components, *graph.facets])}",
                    **details,
                )
        elif ref.owner_kind == "component" and ref.prop == "extends":
            if ref.name not in graph.components:
                yield _at(
                    Code.CO_INEXISTING_COMPONENT,
                    location,
                    f"component {ref.owner!r} extends {ref.name!r}, which is not a component "
                    "(a component extends at most one component): define it or fix the name"
                    f"{_suggestion(ref.name, graph.components)}",
                    **details,
                )
        elif ref.name not in graph.facets:
            yield _at(
                Code.CO_INEXISTING_FACET,
                location,
                f"{ref.owner_kind} {ref.owner!r} names {ref.name!r} in its '{ref.prop}', but no "
                f"facet is named {ref.name!r}: define 'facet {ref.name} {{ }}' or fix the name"
                f"{_suggestion(ref.name, graph.facets)}",
                **details,
            )


def _suggestion(name: str, known: Iterable[str]) -> str:
    lowered = name.lower()
    match = next((k for k in known if k.lower() == lowered), None)
    return f" (did you mean {match!r}?)" if match else ""


def _place(location: SourceLocation | None) -> str:
    return "?" if location is None else f"{location.file}:{location.line}"


def _at(code: Code, location: SourceLocation | None, message: str, **details: str) -> Diagnostic:
    return Diagnostic(
        code=code,
        message=message,
        file=location.file if location else None,
        line=location.line if location else None,
        details=details,
    )
