"""Parsed ``.instances`` files → a tree of :class:`~roboconf.model.types.Instance` (``CO_*``).

In an ``instance of`` block: ``name`` (kept as written, a trailing space included), ``count``
(the block stands for that many instances, ``name`` + a number zero-padded to the width of the
count), ``channels``, ``data.KEY`` (instance data), the runtime lines ``instance-data``
(``key = value, ...``) and ``instance-state``; any other property overrides an exported variable.
A quoted value loses its quotes.

Paths must be unique: two blocks with the same path are both reported
(``CO_ALREADY_DEFINED_INSTANCE``); a ``count`` block making instances whose paths are taken is
reported once (``CO_CONFLICTING_INFERRED_INSTANCE``). Only the first instance of a path is kept
(an explicit block before one made by ``count``), so the tree's paths stay unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from roboconf.dsl.blocks import FileDefinition, Holder, HolderKind, Property
from roboconf.dsl.exports import parse_exports
from roboconf.errors import Code, Diagnostic
from roboconf.model.instances import expanded_names, path_of
from roboconf.model.types import EMPTY, Graph, Instance, InstanceStatus, SourceLocation

DATA_PREFIX = "data."
RUNTIME_DATA = "instance-data"
RUNTIME_STATE = "instance-state"


@dataclass(frozen=True, slots=True)
class _Built:
    instance: Instance
    inferred: bool  # made by ``count``


def build_instances(
    definitions: Iterable[FileDefinition], graph: Graph
) -> tuple[tuple[Instance, ...], list[Diagnostic]]:
    """The root instances of every ``instance of`` block of ``definitions``, and the problems."""
    builder = _Builder(graph)
    built: list[_Built] = []
    for definition in definitions:
        for holder in definition.holders():
            if holder.kind is HolderKind.INSTANCEOF:
                built += builder.build(holder, definition.file, None)
    roots = builder.unique(built, None)
    return tuple(b.instance for b in roots), builder.problems


def unquote(value: str) -> str:
    """``"a; b"`` → ``a; b``; an unquoted value is trimmed."""
    text = value.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


class _Builder:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.problems: list[Diagnostic] = []

    def build(self, holder: Holder, file: str, parent: str | None) -> list[_Built]:
        location = SourceLocation(file=file, line=holder.line)
        if holder.name not in self.graph.components:
            self.report(
                Code.CO_INEXISTING_COMPONENT,
                location,
                f"'instance of {holder.name}': the graph has no component {holder.name!r}; "
                "fix the name or define the component (the instance and its children are "
                "ignored)",
                component=holder.name,
            )
            return []
        name, count = "", 1
        channels: list[str] = []
        data: dict[str, str] = {}
        overrides: dict[str, str] = {}
        status = InstanceStatus.NOT_DEPLOYED
        nested: list[Holder] = []
        for block in holder.blocks:
            if isinstance(block, Holder):
                nested.append(block)
                continue
            if not isinstance(block, Property):
                continue
            key = block.name.lower()
            if key == "name":
                name = block.value
            elif key == "count":
                count = int(block.value) if block.value.strip().isdigit() else 1
            elif key == "channels":
                channels += (c.strip() for c in block.value.split(",") if c.strip())
            elif key == RUNTIME_STATE:
                status = self.status(block.value, SourceLocation(file=file, line=block.line))
            elif key == RUNTIME_DATA:
                values, _problems = parse_exports(block.value)
                data.update((k, v or "") for k, v in values.items())
            elif key.startswith(DATA_PREFIX):
                data[block.name[len(DATA_PREFIX) :]] = unquote(block.value)
            else:
                overrides[block.name] = unquote(block.value)
        names = expanded_names(name, count)
        children: list[_Built] = []
        if nested:
            path = path_of(parent, names[0])
            for child in nested:
                children += self.build(child, file, path)
            children = self.unique(children, path)
        instance = Instance(
            name=names[0],
            component=holder.name,
            children=tuple(c.instance for c in children),
            overrides=overrides or EMPTY,
            data=data or EMPTY,
            status=status,
            channels=tuple(channels),
            location=location,
        )
        if count <= 1:
            return [_Built(instance, False)]
        return [_Built(replace(instance, name=n), True) for n in names]

    def status(self, value: str, location: SourceLocation) -> InstanceStatus:
        text = value.strip().upper()
        try:
            return InstanceStatus[text]
        except KeyError:
            self.report(
                Code.CO_INVALID_INSTANCE_STATE,
                location,
                f"'instance-state: {value.strip()}' is no instance state: use one of "
                f"{', '.join(s.name for s in InstanceStatus)}",
                state=value.strip(),
            )
            return InstanceStatus.NOT_DEPLOYED

    def unique(self, siblings: list[_Built], parent: str | None) -> list[_Built]:
        """Siblings with distinct names (so distinct paths), the first of each name kept.

        Explicit blocks sharing a path are each reported; a ``count`` block whose instances
        take existing paths is reported once, with all of them.
        """
        if len(siblings) < 2:
            return siblings
        by_name: dict[str, list[_Built]] = {}
        for built in siblings:
            by_name.setdefault(built.instance.name, []).append(built)
        if len(by_name) == len(siblings):
            return siblings
        kept: list[_Built] = []
        clashes: dict[SourceLocation | None, list[str]] = {}
        for name, same in by_name.items():
            explicit = [b for b in same if not b.inferred]
            kept.append(explicit[0] if explicit else same[0])
            if len(same) == 1:
                continue
            path = path_of(parent, name)
            if len(explicit) > 1:
                places = ", ".join(_place(b.instance.location) for b in explicit)
                for built in explicit:
                    self.report(
                        Code.CO_ALREADY_DEFINED_INSTANCE,
                        built.instance.location,
                        f"{len(explicit)} instances have the path {path!r} ({places}): give "
                        "them different names",
                        instance=path,
                    )
            for built in same:
                if built.inferred and built is not kept[-1]:
                    clashes.setdefault(built.instance.location, []).append(path)
        for location, paths in clashes.items():
            self.report(
                Code.CO_CONFLICTING_INFERRED_INSTANCE,
                location,
                f"'count' makes instances whose paths are taken by other instances "
                f"({', '.join(paths)}): change the name or the count",
                instance=paths[0],
                instances=", ".join(paths),
            )
        return kept

    def report(
        self, code: Code, location: SourceLocation | None, message: str, **details: str
    ) -> None:
        self.problems.append(
            Diagnostic(
                code=code,
                message=message,
                file=location.file if location else None,
                line=location.line if location else None,
                details=details,
            )
        )


def _place(location: SourceLocation | None) -> str:
    return "?" if location is None else f"{location.file}:{location.line}"
