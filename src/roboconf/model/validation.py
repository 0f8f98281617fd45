"""Checks of a built model (``RM_*``): is the graph usable, do the instances fit the graph?

Every problem is returned as a :class:`~roboconf.errors.Diagnostic` located at the definition it
is about (file and line of the component, facet or instance block); nothing stops at the first.
Graph checks, in this order: no root; per component (installer, random variables, imports of its
own exports, inheritance and containment cycles); per facet (inheritance cycles, random
variables); imports that nobody exports; facets that no component uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from roboconf.errors import Code, Diagnostic
from roboconf.model.graph import (
    WILDCARD,
    GraphResolver,
    is_target,
    resolver,
    split_variable,
)
from roboconf.model.instances import walk_with_parents
from roboconf.model.types import (
    RANDOM_PORT,
    ExportedVariable,
    Graph,
    Instance,
    SourceLocation,
)
from roboconf.model.variables import OverrideKind, is_ip_variable, match_override


def _diagnostic(
    code: Code, message: str, location: SourceLocation | None, **details: Any
) -> Diagnostic:
    return Diagnostic(
        code=code,
        message=message,
        file=location.file if location else None,
        line=location.line if location else None,
        details=details,
    )


# -- graphs ------------------------------------------------------------------------------


def validate_graph(graph: Graph) -> list[Diagnostic]:
    index = resolver(graph)
    result: list[Diagnostic] = []
    if not index.roots():
        result.append(
            _diagnostic(
                Code.RM_NO_ROOT_COMPONENT,
                "no component can be deployed at the top level: every component is the child "
                "of another one; add a component with 'installer: target' that no other lists "
                "in its 'children'",
                None,
            )
        )
    cycles = _containment_cycles(index)
    for name in graph.components:
        result += _component_problems(index, name, cycles.get(name))
    for name in graph.facets:
        result += _facet_problems(index, name)
    result += _unresolvable_imports(index)
    result += _orphan_facets(index)
    return result


def _component_problems(index: GraphResolver, name: str, cycle: str | None) -> Iterator[Diagnostic]:
    component = index.graph.components[name]
    where = component.location
    installer = index.resolved_installer(name)
    if not index.possible_ancestors(name) and not is_target(installer):
        written = "no installer" if installer is None else f"'installer: {installer}'"
        yield _diagnostic(
            Code.RM_ROOT_INSTALLER_MUST_BE_TARGET,
            f"component {name!r} has no possible parent, so it is a root, but it has {written}: "
            f"a root is a machine and needs 'installer: target' (or list {name!r} in the "
            "'children' of another component)",
            where,
            component=name,
            installer=installer,
        )
    elif installer is None:
        yield _diagnostic(
            Code.RM_EMPTY_COMPONENT_INSTALLER,
            f"component {name!r} has no installer, nor inherits one: add 'installer: script;' "
            "(or puppet, file, logger, ansible...)",
            where,
            component=name,
        )
    yield from _random_problems("component", name, component.exports, where)
    exported = index.exports(name)
    for variable in index.imports(name).values():
        if not variable.optional and variable.name in exported:
            yield _diagnostic(
                Code.RM_COMPONENT_IMPORTS_EXPORTS,
                f"component {name!r} imports {variable.name!r}, which it exports itself: mark "
                f"the import '{variable.name} (optional)' or remove it",
                where,
                component=name,
                variable=variable.name,
            )
    chain = index.chain(name)
    if index.graph.components[chain[-1]].extends == name:
        path = " -> ".join((*chain, name))
        yield _diagnostic(
            Code.RM_CYCLE_IN_COMPONENTS_INHERITANCE,
            f"component {name!r} extends itself ({path}): break the cycle of 'extends'",
            where,
            component=name,
            cycle=path,
        )
    if cycle is not None:
        yield _diagnostic(
            Code.RM_CYCLE_IN_COMPONENTS,
            f"component {name!r} can contain itself ({cycle}): remove one of these 'children'",
            where,
            component=name,
            cycle=cycle,
        )


def _random_problems(
    kind: str, owner: str, exports: Mapping[str, ExportedVariable], where: SourceLocation | None
) -> Iterator[Diagnostic]:
    for variable in exports.values():
        if not variable.random:
            continue
        if variable.random_kind != RANDOM_PORT:
            yield _diagnostic(
                Code.RM_INVALID_RANDOM_KIND,
                f"{kind} {owner!r} exports 'random[{variable.random_kind or ''}] "
                f"{variable.name}': the only random kind is 'port' (random[port] {variable.name})",
                where,
                **{kind: owner},
                variable=variable.name,
                kind=variable.random_kind,
            )
        if variable.value is not None:
            yield _diagnostic(
                Code.RM_NO_VALUE_FOR_RANDOM,
                f"{kind} {owner!r} gives the random variable {variable.name!r} the value "
                f"{variable.value!r}: random values are allocated at deployment; remove "
                f"'= {variable.value}'",
                where,
                **{kind: owner},
                variable=variable.name,
                value=variable.value,
            )


def _facet_problems(index: GraphResolver, name: str) -> Iterator[Diagnostic]:
    facet = index.graph.facets[name]
    if name in index.extended_facets(name):
        yield _diagnostic(
            Code.RM_CYCLE_IN_FACETS_INHERITANCE,
            f"facet {name!r} extends itself through 'extends' ({name} -> ... -> {name}): "
            "break the cycle",
            facet.location,
            facet=name,
        )
    yield from _random_problems("facet", name, facet.exports, facet.location)


def _unresolvable_imports(index: GraphResolver) -> Iterator[Diagnostic]:
    graph = index.graph
    exported: set[str] = set()
    for name in graph.components:
        for full in index.exports(name):
            exported.add(full)
            exported.add(f"{split_variable(full)[0]}.{WILDCARD}")
    facet_variables: set[str] = set()
    for name in graph.facets:
        facet_variables.update(index.facet_exports(name))
        facet_variables.add(f"{name}.{WILDCARD}")
    for name, component in graph.components.items():
        for variable in index.imports(name).values():
            if variable.external or variable.name in exported:
                continue
            if variable.name in facet_variables:
                yield _diagnostic(
                    Code.RM_UNRESOLVABLE_FACET_VARIABLE,
                    f"component {name!r} imports {variable.name!r}, which only a facet that no "
                    "component uses exports: add the facet to a component's 'facets'",
                    component.location,
                    component=name,
                    variable=variable.name,
                )
            else:
                yield _diagnostic(
                    Code.RM_UNRESOLVABLE_VARIABLE,
                    f"component {name!r} imports {variable.name!r}, but no component exports "
                    "it (names are case-sensitive): export it, fix the name, or mark the import "
                    "'external' if another application provides it",
                    component.location,
                    component=name,
                    variable=variable.name,
                )


def _orphan_facets(index: GraphResolver) -> Iterator[Diagnostic]:
    graph = index.graph
    used = {facet for component in graph.components.values() for facet in component.facets}
    for name, facet in graph.facets.items():
        if name in used:
            continue
        if not facet.children:
            yield _diagnostic(
                Code.RM_ORPHAN_FACET,
                f"no component lists facet {name!r} in its 'facets': add it to a component "
                "or delete it",
                facet.location,
                facet=name,
            )
            continue
        yield _diagnostic(
            Code.RM_ORPHAN_FACET_WITH_CHILDREN,
            f"facet {name!r} has children but no component lists it in its 'facets', so its "
            "children can never be deployed through it",
            facet.location,
            facet=name,
        )
        for child in facet.children:
            reachable = index.possible_ancestors(child) or is_target(
                index.resolved_installer(child)
            )
            if child in graph.components and not reachable:
                yield _diagnostic(
                    Code.RM_UNREACHABLE_COMPONENT,
                    f"component {child!r} can only be a child of facet {name!r}, which no "
                    f"component uses: add {name!r} to a component's 'facets' or list {child!r} "
                    "in a component's 'children'",
                    graph.components[child].location,
                    component=child,
                    facet=name,
                )


def _containment_cycles(index: GraphResolver) -> dict[str, str]:
    """Component → a description of a containment cycle through it (Tarjan's SCC, iterative)."""
    names = list(index.graph.components)
    number: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: dict[str, str] = {}
    for start in names:
        if start in number:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                number[node] = low[node] = len(number)
                stack.append(node)
                on_stack.add(node)
            children = index.possible_children(node)
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in number:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], number[child])
                continue
            if low[node] == number[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in index.possible_children(node):
                    members = ", ".join(reversed(group))
                    single = f"{node} inside {node}"
                    cycle = f"{members} contain each other" if len(group) > 1 else single
                    result.update(dict.fromkeys(group, cycle))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


# -- instances ---------------------------------------------------------------------------


def validate_instances(graph: Graph, instances: Iterable[Instance]) -> list[Diagnostic]:
    """Instances against their graph: parents, overrides, variables left without value."""
    index = resolver(graph)
    result: list[Diagnostic] = []
    unset: dict[str, tuple[str, ...]] = {}  # component → variables without default value
    for path, instance, parent in walk_with_parents(instances):
        name = instance.component
        if name not in graph.components:
            result.append(
                _diagnostic(
                    Code.CO_INEXISTING_COMPONENT,
                    f"instance {path!r} is an instance of {name!r}, which the graph does not "
                    "define: fix the component name",
                    instance.location,
                    instance=path,
                    component=name,
                )
            )
            continue
        placement = _placement_problem(index, path, instance, parent)
        if placement is not None:
            result.append(placement)
        if name not in unset:
            unset[name] = _unset_variables(graph, name)
        missing: Iterable[str] = unset[name]
        if instance.overrides:
            assigned: dict[str, str] = {}
            result += _override_problems(graph, path, instance, assigned)
            missing = [v for v in unset[name] if not assigned.get(v)]
            missing += (v for v, value in assigned.items() if not value and v not in unset[name])
        result += (
            _diagnostic(
                Code.RM_MISSING_VARIABLE_VALUE,
                f"instance {path!r} exports {variable!r} without value: give it one in the "
                f"graph ({name}) or in the instance ('{split_variable(variable)[1]}: ...;')",
                instance.location,
                instance=path,
                component=name,
                variable=variable,
            )
            for variable in missing
            if _needs_value(graph, name, variable)
        )
    return result


def _placement_problem(
    index: GraphResolver, path: str, instance: Instance, parent: Instance | None
) -> Diagnostic | None:
    name = instance.component
    ancestors = index.possible_ancestors(name)
    if parent is None and ancestors:
        return _diagnostic(
            Code.RM_INVALID_INSTANCE_ROOT,
            f"instance {path!r} ({name}) is at the top level, but a {name} must be inside "
            f"one of: {', '.join(ancestors)}",
            instance.location,
            instance=path,
            component=name,
            expected=list(ancestors),
        )
    if parent is not None and parent.component not in ancestors:
        expected = ", ".join(ancestors) if ancestors else "nothing (it is a root)"
        return _diagnostic(
            Code.RM_INVALID_INSTANCE_PARENT,
            f"instance {path!r} ({name}) cannot be inside a {parent.component}; its parent "
            f"must be one of: {expected}",
            instance.location,
            instance=path,
            component=name,
            parent=parent.component,
            expected=list(ancestors),
        )
    return None


def _unset_variables(graph: Graph, component: str) -> tuple[str, ...]:
    """Variables the graph gives no value and that need one (not ``ip``, not random)."""
    exports = resolver(graph).exports(component)
    return tuple(v for v, spec in exports.items() if not spec.value and not spec.random)


def _needs_value(graph: Graph, component: str, variable: str) -> bool:
    if is_ip_variable(variable):
        return False
    spec = resolver(graph).exports(component).get(variable)
    return spec is None or not spec.random


def _override_problems(
    graph: Graph, path: str, instance: Instance, assigned: dict[str, str]
) -> Iterator[Diagnostic]:
    """Warnings about the overrides of ``instance``; fills ``assigned`` (target → value)."""
    for name, value in instance.overrides.items():
        match = match_override(graph, instance.component, name)
        assigned.update(dict.fromkeys(match.targets, value))
        if match.kind is OverrideKind.MAGIC:
            yield _diagnostic(
                Code.RM_MAGIC_INSTANCE_VARIABLE,
                f"instance {path!r} sets {name!r}, which component {instance.component!r} does "
                "not export: it is exported as an extra variable (check the spelling)",
                instance.location,
                instance=path,
                component=instance.component,
                variable=name,
            )
        elif match.kind is OverrideKind.AMBIGUOUS:
            yield _diagnostic(
                Code.RM_AMBIGUOUS_OVERRIDING,
                f"instance {path!r} sets {name!r}, which matches {', '.join(match.targets)}: "
                "all are set; use a full name (Prefix.variable) to set only one",
                instance.location,
                instance=path,
                component=instance.component,
                variable=name,
                targets=list(match.targets),
            )
