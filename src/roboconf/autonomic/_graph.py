"""What the commands need to know about a graph: where a component may be instantiated and
whether its instances are scoped (they run on a target of their own).

Children are declared by name, either a component (its sub-components qualify too) or a facet
(every component carrying it qualifies); a component inherits the children, facets and installer
of the component it extends, and a facet those of the facets it extends. Cycles are tolerated
(they are reported by the model validation, not here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from roboconf.model.types import Graph

TARGET_INSTALLER = "target"


class GraphQueries:
    """Placement rules of one graph, computed once."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        names = list(graph.components)
        self._supertypes = {name: self._component_chain(name) for name in names}
        self._facets = {
            name: _closure(
                (f for c in self._supertypes[name] for f in graph.components[c].facets),
                lambda f: graph.facets[f].extends if f in graph.facets else (),
            )
            for name in names
        }
        parents: dict[str, set[str]] = {name: set() for name in names}
        for parent in names:
            for child in self._children(parent):
                parents[child].add(parent)
        self._parents = {name: frozenset(found) for name, found in parents.items()}

    def exists(self, component: str) -> bool:
        return component in self._graph.components

    def names(self) -> Iterable[str]:
        return self._graph.components.keys()

    def parents(self, component: str) -> frozenset[str]:
        """Components under whose instances ``component`` may be created (none: root only)."""
        return self._parents.get(component, frozenset())

    def is_scoped(self, component: str) -> bool:
        for name in self._supertypes.get(component, ()):
            installer = self._graph.components[name].installer
            if installer is not None:
                return installer == TARGET_INSTALLER
        return False

    def _component_chain(self, name: str) -> tuple[str, ...]:
        chain: list[str] = []
        current: str | None = name
        while current is not None and current in self._graph.components and current not in chain:
            chain.append(current)
            current = self._graph.components[current].extends
        return tuple(chain)

    def _children(self, parent: str) -> set[str]:
        graph = self._graph
        declared: set[str] = set()
        for name in self._supertypes[parent]:
            declared.update(graph.components[name].children)
        for facet in self._facets[parent]:
            declared.update(graph.facets[facet].children if facet in graph.facets else ())
        return {
            candidate
            for candidate in graph.components
            if declared & (set(self._supertypes[candidate]) | self._facets[candidate])
        }


def _closure(start: Iterable[str], next_of: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(start)
    while pending:
        item = pending.pop()
        if item not in seen:
            seen.add(item)
            pending.extend(next_of(item))
    return seen
