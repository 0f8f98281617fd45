"""Graphs and instance trees as JSON-ready values, and back, for the messages that carry them.

A graph is an object of components and facets by name, each with what the agent needs
(installer, extends, facets, children, exports, imports); documentation and source locations
are left out. An instance tree is a flat list in depth-first order, each item giving its number
of children, so that trees of any depth are written and read without recursion. Optional parts
(empty overrides, data, channels; the NOT_DEPLOYED state) are omitted.

Reading raises :class:`~roboconf.messaging._wire.Malformed` on anything unexpected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from roboconf.messaging import _wire
from roboconf.model.types import (
    Component,
    ExportedVariable,
    Facet,
    Graph,
    ImportedVariable,
    Instance,
    InstanceStatus,
)

_STATUSES = {status.value: status for status in InstanceStatus}


# -- graphs -------------------------------------------------------------------------------------


def graph_to_json(graph: Graph) -> dict[str, Any]:
    return {
        "components": {name: _component_to_json(c) for name, c in graph.components.items()},
        "facets": {name: _facet_to_json(f) for name, f in graph.facets.items()},
    }


def graph_from_json(raw: object) -> Graph:
    data = _wire.mapping(raw)
    components = _wire.mapping(data.get("components", {}))
    facets = _wire.mapping(data.get("facets", {}))
    return Graph(
        components={name: _component_from_json(name, c) for name, c in components.items()},
        facets={name: _facet_from_json(name, f) for name, f in facets.items()},
    )


def _component_to_json(component: Component) -> dict[str, Any]:
    return {
        "installer": component.installer,
        "extends": component.extends,
        "facets": list(component.facets),
        "children": list(component.children),
        "exports": _exports_to_json(component.exports),
        "imports": {
            name: {"optional": v.optional, "external": v.external}
            for name, v in component.imports.items()
        },
    }


def _component_from_json(name: str, raw: object) -> Component:
    data = _wire.mapping(raw)
    imports = _wire.mapping(data.get("imports", {}))
    return Component(
        name=name,
        installer=_wire.optional_string(data.get("installer")),
        extends=_wire.optional_string(data.get("extends")),
        facets=_wire.strings(data.get("facets", [])),
        children=_wire.strings(data.get("children", [])),
        exports=_exports_from_json(data.get("exports", {})),
        imports={key: _import_from_json(key, value) for key, value in imports.items()},
    )


def _facet_to_json(facet: Facet) -> dict[str, Any]:
    return {
        "extends": list(facet.extends),
        "children": list(facet.children),
        "exports": _exports_to_json(facet.exports),
    }


def _facet_from_json(name: str, raw: object) -> Facet:
    data = _wire.mapping(raw)
    return Facet(
        name=name,
        extends=_wire.strings(data.get("extends", [])),
        children=_wire.strings(data.get("children", [])),
        exports=_exports_from_json(data.get("exports", {})),
    )


def _exports_to_json(exports: Mapping[str, ExportedVariable]) -> dict[str, Any]:
    return {
        name: {"value": v.value, "random": v.random, "random_kind": v.random_kind}
        for name, v in exports.items()
    }


def _exports_from_json(raw: object) -> dict[str, ExportedVariable]:
    result: dict[str, ExportedVariable] = {}
    for name, value in _wire.mapping(raw).items():
        data = _wire.mapping(value)
        result[name] = ExportedVariable(
            name=name,
            value=_wire.optional_string(data.get("value")),
            random=_wire.boolean(data.get("random", False)),
            random_kind=_wire.optional_string(data.get("random_kind")),
        )
    return result


def _import_from_json(name: str, raw: object) -> ImportedVariable:
    data = _wire.mapping(raw)
    return ImportedVariable(
        name=name,
        optional=_wire.boolean(data.get("optional", False)),
        external=_wire.boolean(data.get("external", False)),
    )


# -- instance trees -----------------------------------------------------------------------------


def instances_to_json(roots: Iterable[Instance]) -> list[dict[str, Any]]:
    """The trees under ``roots``, depth first, each item with its number of children."""
    items: list[dict[str, Any]] = []
    stack = list(roots)
    stack.reverse()
    while stack:
        instance = stack.pop()
        items.append(_instance_to_json(instance))
        stack.extend(reversed(instance.children))
    return items


def instances_from_json(raw: object) -> tuple[Instance, ...]:
    """The roots written by :func:`instances_to_json`."""
    if type(raw) is not list:
        raise _wire.Malformed("expected a list of instances")
    built: list[Instance] = []  # finished subtrees, the next sibling on top
    for item in reversed(raw):
        instance, children = _instance_from_json(item)
        if children > len(built):
            raise _wire.Malformed(f"instance {instance.name!r} lacks some of its children")
        if children:
            taken = built[-children:]
            del built[-children:]
            instance = dataclasses.replace(instance, children=tuple(reversed(taken)))
        built.append(instance)
    built.reverse()
    return tuple(built)


def instance_from_json(raw: object) -> Instance:
    """One tree written by :func:`instances_to_json`."""
    roots = instances_from_json(raw)
    if len(roots) != 1:
        raise _wire.Malformed(f"expected one instance tree, got {len(roots)}")
    return roots[0]


def _instance_to_json(instance: Instance) -> dict[str, Any]:
    item: dict[str, Any] = {"name": instance.name, "component": instance.component}
    if instance.status is not InstanceStatus.NOT_DEPLOYED:
        item["status"] = instance.status.value
    if instance.overrides:
        item["overrides"] = dict(instance.overrides)
    if instance.data:
        item["data"] = dict(instance.data)
    if instance.channels:
        item["channels"] = list(instance.channels)
    if instance.children:
        item["children"] = len(instance.children)
    return item


def _instance_from_json(raw: object) -> tuple[Instance, int]:
    data = _wire.mapping(raw)
    status = _STATUSES.get(_wire.string(data.get("status", "NOT_DEPLOYED")))
    if status is None:
        raise _wire.Malformed(f"unknown instance state {data.get('status')!r}")
    instance = Instance(
        name=_wire.string(data.get("name")),
        component=_wire.string(data.get("component")),
        overrides=_wire.string_map(data.get("overrides", {})),
        data=_wire.string_map(data.get("data", {})),
        status=status,
        channels=_wire.strings(data.get("channels", [])),
    )
    return instance, _wire.count(data.get("children", 0))
