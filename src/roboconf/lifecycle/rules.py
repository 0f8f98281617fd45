"""What the life cycle needs to know about a component, computed once per graph.

The rules of a component are its imports (by prefix, with the variables it wants), the prefixes it
cannot start without (its non-optional imports) and its exports grouped by prefix (with the
graph's default values, replaced at runtime by the instance's resolved values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from roboconf.model.graph import (
    WILDCARD,
    exported_variables,
    imported_variables,
    is_target,
    mandatory_prefixes,
    resolved_installer,
    split_variable,
)
from roboconf.model.types import Graph

#: variable full name → value (None: no value yet, e.g. an ``ip`` before the machine exists).
Values = Mapping[str, str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentRules:
    """The import/export facts of one component.

    ``imports`` maps a prefix to the full names imported from it (``Tomcat.*`` stands for all);
    ``exports`` maps a prefix to the full names exported under it and their default values.
    ``scoped`` components are machines: their instances belong to their own agent.
    ``external_prefixes`` are the imported prefixes that other applications provide (``external
    Lb.*``: ``Lb`` is a template's exports prefix): the shell listens to them on the exchange
    applications share and accepts only the applications bound to them; the rules are the same.
    """

    imports: Mapping[str, frozenset[str]] = field(default_factory=dict)
    mandatory_prefixes: frozenset[str] = frozenset()
    external_prefixes: frozenset[str] = frozenset()
    exports: Mapping[str, Values] = field(default_factory=dict)
    scoped: bool = False

    @property
    def imported_prefixes(self) -> frozenset[str]:
        return frozenset(self.imports)

    @property
    def exported_prefixes(self) -> frozenset[str]:
        return frozenset(self.exports)


def rules_from_graph(graph: Graph) -> dict[str, ComponentRules]:
    """The rules of every component of ``graph``, by component name."""
    return {name: _component_rules(graph, name) for name in graph.components}


def _component_rules(graph: Graph, component: str) -> ComponentRules:
    imports: dict[str, set[str]] = {}
    imported = imported_variables(graph, component)
    for name in imported:
        imports.setdefault(split_variable(name)[0], set()).add(name)
    return ComponentRules(
        imports={prefix: frozenset(names) for prefix, names in imports.items()},
        mandatory_prefixes=mandatory_prefixes(graph, component),
        external_prefixes=frozenset(v.prefix for v in imported.values() if v.external),
        exports=by_prefix(exported_variables(graph, component)),
        scoped=is_target(resolved_installer(graph, component)),
    )


def by_prefix(values: Values) -> dict[str, Values]:
    """``{"Tomcat.ip": …, "Web.port": …}`` → ``{"Tomcat": {"Tomcat.ip": …}, "Web": {…}}``."""
    grouped: dict[str, dict[str, str | None]] = {}
    for name, value in values.items():
        grouped.setdefault(split_variable(name)[0], {})[name] = value
    return dict(grouped)


def tailored(rules: ComponentRules, prefix: str, values: Values) -> Values:
    """What an importer keeps of a provider's values: the variables it imports (all for ``*``)."""
    wanted = rules.imports.get(prefix, frozenset())
    if f"{prefix}.{WILDCARD}" in wanted:
        return dict(values)
    return {name: value for name, value in values.items() if name in wanted}
