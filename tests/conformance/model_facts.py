"""Checks of the corpus's model facts (README, "facts vocabulary") against our model.

Shared by the DSL and project conformance tests. Keys that are not about graphs or instances
are ignored here (their own tests check them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from roboconf.dsl.convert import instances_from_text
from roboconf.dsl.instances_writer import write_instances
from roboconf.model import graph as g
from roboconf.model.instances import walk
from roboconf.model.types import (
    RANDOM_PORT,
    Component,
    ExportedVariable,
    Facet,
    Graph,
    ImportedVariable,
    Instance,
)
from roboconf.model.variables import instance_exports

Attributes = dict[str, Any]


# -- variable maps ---------------------------------------------------------------------------


def exported_attributes(variable: ExportedVariable) -> Attributes:
    kind = "PORT" if variable.random and variable.random_kind == RANDOM_PORT else None
    return {"value": variable.value, "random": variable.random, "random_kind": kind}


def imported_attributes(variable: ImportedVariable) -> Attributes:
    return {"optional": variable.optional, "external": variable.external}


def values_only(values: Mapping[str, str | None]) -> dict[str, Attributes]:
    return {name: {"value": value} for name, value in values.items()}


def check_variable_map(
    actual: Mapping[str, Attributes], spec: Mapping[str, Any], what: str
) -> None:
    """``{count, present, values, vars, absent, null_or_absent}``, each part optional."""
    if "count" in spec:
        assert len(actual) == spec["count"], f"{what}: {sorted(actual)}"
    for name in spec.get("present", ()):
        assert name in actual, f"{what}: {name} missing from {sorted(actual)}"
    for name, value in spec.get("values", {}).items():
        assert name in actual, f"{what}: {name} missing from {sorted(actual)}"
        assert actual[name]["value"] == value, f"{what}: {name}"
    for name, attributes in spec.get("vars", {}).items():
        assert name in actual, f"{what}: {name} missing from {sorted(actual)}"
        for attribute, value in attributes.items():
            assert actual[name][attribute] == value, f"{what}: {name}.{attribute}"
    for name in spec.get("absent", ()):
        assert name not in actual, f"{what}: {name} present"
    for name in spec.get("null_or_absent", ()):
        assert actual.get(name, {}).get("value") is None, f"{what}: {name} has a value"


# -- graphs ----------------------------------------------------------------------------------


def check_graph_facts(graph: Graph, facts: Mapping[str, Any]) -> None:
    roots = g.roots(graph)
    if "root_components" in facts:
        assert set(roots) == set(facts["root_components"])
    if "root_component_count" in facts:
        assert len(roots) == facts["root_component_count"], roots
    if "first_root_component" in facts:
        assert roots and roots[0] == facts["first_root_component"], roots
    if "component_count" in facts:
        assert len(graph.components) == facts["component_count"], list(graph.components)
    if "facet_count" in facts:
        assert len(graph.facets) == facts["facet_count"], list(graph.facets)
    if "every_root_component" in facts:
        assert roots
        for name in roots:
            check_component(graph, name, facts["every_root_component"])
    for name, spec in facts.get("components", {}).items():
        check_component(graph, name, spec)
    for name, spec in facts.get("facets", {}).items():
        check_facet(graph.facets[name], spec)


def check_component(graph: Graph, name: str, spec: Mapping[str, Any]) -> None:
    assert name in graph.components, f"no component {name!r} in {list(graph.components)}"
    component: Component = graph.components[name]
    simple = {
        "root": lambda: name in g.roots(graph),
        "installer": lambda: component.installer,
        "installer_resolved": lambda: g.resolved_installer(graph, name),
        "extends": lambda: component.extends,
        "facets_count": lambda: len(component.facets),
        "children_count": lambda: len(component.children),
        "exports_count": lambda: len(component.exports),
        "imports_count": lambda: len(component.imports),
        "all_children_count": lambda: len(g.possible_children(graph, name)),
    }
    as_sets = {
        "facets": lambda: component.facets,
        "all_children": lambda: g.possible_children(graph, name),
        "all_ancestors": lambda: g.possible_ancestors(graph, name),
        "all_facets": lambda: g.all_facets(graph, name),
    }
    for key, expected in spec.items():
        if key in simple:
            assert simple[key]() == expected, f"{name}.{key}"
        elif key in as_sets:
            assert set(as_sets[key]()) == set(expected), f"{name}.{key}"
        elif key == "defined_at":
            location = component.location
            assert location is not None and location.line == expected["line"]
            assert expected["file"] == location.file or expected["file"].endswith(
                "/" + location.file
            ), location.file
        elif key in ("exports", "all_exports", "imports", "all_imports"):
            check_variable_map(
                _component_variables(graph, component, key), expected, f"{name}.{key}"
            )


def _component_variables(graph: Graph, component: Component, key: str) -> dict[str, Attributes]:
    if key == "exports":
        return {n: exported_attributes(v) for n, v in component.exports.items()}
    if key == "all_exports":
        specs = g.exported_variable_specs(graph, component.name)
        return {n: exported_attributes(v) for n, v in specs.items()}
    if key == "imports":
        return {n: imported_attributes(v) for n, v in component.imports.items()}
    return {
        n: imported_attributes(v) for n, v in g.imported_variables(graph, component.name).items()
    }


def check_facet(facet: Facet, spec: Mapping[str, Any]) -> None:
    if "exports_count" in spec:
        assert len(facet.exports) == spec["exports_count"], facet.name
    if "children_count" in spec:
        assert len(facet.children) == spec["children_count"], facet.name


def check_annotations(graph: Graph, spec: Mapping[str, Any]) -> None:
    types: dict[str, Component | Facet] = {**graph.facets, **graph.components}
    documented = {name: t.documentation for name, t in types.items() if t.documentation}
    if "count" in spec:
        assert len(documented) == spec["count"], documented
    for name, text in spec.get("values", {}).items():
        assert documented.get(name) == text, name
    for name in spec.get("none", ()):
        assert name in types and name not in documented, name


# -- instances -------------------------------------------------------------------------------


def check_instance_facts(
    graph: Graph, instances: tuple[Instance, ...], facts: Mapping[str, Any]
) -> None:
    by_path = dict(walk(instances))
    if "root_instance_count" in facts:
        assert len(instances) == facts["root_instance_count"], [i.name for i in instances]
    if "instance_count" in facts:
        assert len(by_path) == facts["instance_count"]
    if "instance_paths" in facts:
        assert set(by_path) == set(facts["instance_paths"])
    for path in facts.get("instance_paths_present", ()):
        assert path in by_path, path
    for path in facts.get("instance_paths_absent", ()):
        assert path not in by_path, path
    for spec in facts.get("root_instances", ()):
        matching = [i for i in instances if i.name == spec.get("name", i.name)]
        assert matching, spec
        check_instance(graph, "/" + matching[0].name, matching[0], spec)
    if "every_root_instance" in facts:
        for instance in instances:
            check_instance(graph, "/" + instance.name, instance, facts["every_root_instance"])
    for path, spec in facts.get("instances", {}).items():
        assert path in by_path, f"{path} not in {sorted(by_path)[:20]}"
        check_instance(graph, path, by_path[path], spec)
    if "same_component_and_channels" in facts:
        found = {
            (by_path[p].component, by_path[p].channels)
            for p in facts["same_component_and_channels"]
        }
        assert len(found) == 1, found
    if facts.get("instances_model_round_trip"):
        check_round_trip(graph, instances)


def check_instance(graph: Graph, path: str, instance: Instance, spec: Mapping[str, Any]) -> None:
    for key, expected in spec.items():
        if key == "name":
            assert instance.name == expected, path
        elif key == "component":
            assert instance.component == expected, path
        elif key == "status":
            assert instance.status.value == expected, path
        elif key == "children_count":
            assert len(instance.children) == expected, path
        elif key == "channels":
            assert set(instance.channels) == set(expected), path
        elif key == "children":
            for child_spec in expected:
                child = next(c for c in instance.children if c.name == child_spec["name"])
                check_instance(graph, f"{path}/{child.name}", child, child_spec)
        elif key == "data":
            check_variable_map(values_only(instance.data), expected, f"{path} data")
        elif key == "overridden_exports":
            check_variable_map(values_only(instance.overrides), expected, f"{path} overrides")
        elif key == "all_exports":
            exports = instance_exports(graph, instance, path)
            check_variable_map(values_only(exports), expected, f"{path} all_exports")
        elif key == "component_exports":
            own = graph.components[instance.component].exports
            variables = {n: exported_attributes(v) for n, v in own.items()}
            check_variable_map(variables, expected, f"{path} component_exports")


def check_round_trip(graph: Graph, instances: tuple[Instance, ...]) -> None:
    """Written with their runtime state and read back, the instances are the same."""
    loaded = instances_from_text(write_instances(instances), graph)
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    assert _comparable(loaded.instances) == _comparable(instances)


def _comparable(instances: tuple[Instance, ...]) -> list[tuple[Any, ...]]:
    return [
        (path, i.component, i.status, i.channels, dict(i.data), dict(i.overrides))
        for path, i in walk(instances)
    ]
