"""What a graph means: inheritance, facets, possible children and ancestors, resolved variables.

A :class:`~roboconf.model.types.Graph` only holds names. The functions here resolve them, the way
Roboconf does, tolerating unknown names and cycles (they are reported by
:mod:`roboconf.model.validation`, not here):

- a component *is* itself, its super components (``extends``, transitively) and all their facets
  (with the facets those extend): these are its **types**;
- a declared child names a type: the possible children of ``P`` are the components having that
  type, for every child declared by one of ``P``'s types. Possible ancestors are the inverse;
- the installer is the first one defined along ``extends``;
- exported variables are full names ``Prefix.var``: a variable declared by a type is exported
  under that type's name and replicated under the name of every type inheriting it, down to the
  component; a component's own value overrides inherited ones with the same local name;
- imports are the union along ``extends``, the sub-component's declaration winning.

Answers are memoised per graph (graphs are frozen), so validating 10,000 instances costs one
resolution per component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from roboconf.model.types import Component, ExportedVariable, Facet, Graph, ImportedVariable

#: the installer of components that are machines (VMs, containers, hosts).
TARGET_INSTALLER = "target"

#: a wildcard import, ``Prefix.*``, asks for every variable of ``Prefix``.
WILDCARD = "*"

_CACHE_SIZE = 8


def split_variable(name: str) -> tuple[str, str]:
    """Prefix and local name: ``Tomcat.port`` → ``Tomcat``, ``port``; ``ip`` → "", ``ip``.

    Component and facet names cannot contain dots, so the prefix ends at the first one.
    """
    prefix, dot, local = name.partition(".")
    return (prefix, local) if dot else ("", name)


def full_name(owner: str, name: str) -> str:
    """The name of a variable declared by ``owner``: ``port`` → ``Tomcat.port``.

    A name already prefixed with ``owner`` is kept as written.
    """
    return name if name.startswith(owner + ".") else f"{owner}.{name}"


def is_target(installer: str | None) -> bool:
    return installer is not None and installer.lower() == TARGET_INSTALLER


class GraphResolver:
    """Memoised answers about one graph. Get one with :func:`resolver`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._chains: dict[str, tuple[str, ...]] = {}
        self._facet_closures: dict[str, tuple[str, ...]] = {}
        self._all_facets: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, tuple[str, ...]] | None = None
        self._ancestors: dict[str, tuple[str, ...]] | None = None
        self._extending: dict[str, tuple[str, ...]] | None = None
        self._exports: dict[str, Mapping[str, ExportedVariable]] = {}
        self._facet_exports: dict[str, Mapping[str, ExportedVariable]] = {}
        self._imports: dict[str, Mapping[str, ImportedVariable]] = {}
        self._by_local: dict[str, Mapping[str, tuple[str, ...]]] = {}
        self._designated: dict[tuple[str, str], tuple[str, ...]] = {}
        self._resolving: set[str] = set()

    # -- inheritance ---------------------------------------------------------------------

    def chain(self, name: str) -> tuple[str, ...]:
        """The component then its super components, nearest first; stops at a cycle or unknown."""
        cached = self._chains.get(name)
        if cached is not None:
            return cached
        components = self.graph.components
        chain: list[str] = []
        current: str | None = name
        while current is not None and current in components and current not in chain:
            chain.append(current)
            current = components[current].extends
        result = tuple(chain)
        self._chains[name] = result
        return result

    def facet_closure(self, facet: str) -> tuple[str, ...]:
        """The facet then every facet it extends, transitively (known facets only, once each)."""
        cached = self._facet_closures.get(facet)
        if cached is not None:
            return cached
        facets = self.graph.facets
        seen: dict[str, None] = {}
        pending = [facet] if facet in facets else []
        while pending:
            current = pending.pop(0)
            if current in seen:
                continue
            seen[current] = None
            pending.extend(f for f in facets[current].extends if f in facets and f not in seen)
        result = tuple(seen)
        self._facet_closures[facet] = result
        return result

    def extended_facets(self, facet: str) -> frozenset[str]:
        """The facets ``facet`` extends, transitively; contains ``facet`` itself on a cycle."""
        facets = self.graph.facets
        if facet not in facets:
            return frozenset()
        found: set[str] = set()
        pending = [f for f in facets[facet].extends if f in facets]
        while pending:
            current = pending.pop()
            if current not in found:
                found.add(current)
                pending.extend(f for f in facets[current].extends if f in facets)
        return frozenset(found)

    def all_facets(self, component: str) -> tuple[str, ...]:
        """Facets of the component and of its super components, with the facets they extend."""
        cached = self._all_facets.get(component)
        if cached is not None:
            return cached
        seen: dict[str, None] = {}
        for name in self.chain(component):
            for facet in self.graph.components[name].facets:
                for found in self.facet_closure(facet):
                    seen.setdefault(found)
        result = tuple(seen)
        self._all_facets[component] = result
        return result

    def types(self, component: str) -> tuple[str, ...]:
        """Every name the component answers to: itself, its super components, all its facets."""
        return self.chain(component) + self.all_facets(component)

    def extending_components(self, component: str) -> tuple[str, ...]:
        """Components that extend ``component``, directly or not."""
        if self._extending is None:
            extending: dict[str, list[str]] = {}
            for name in self.graph.components:
                for parent in self.chain(name)[1:]:
                    extending.setdefault(parent, []).append(name)
            self._extending = {k: tuple(v) for k, v in extending.items()}
        return self._extending.get(component, ())

    # -- containment ---------------------------------------------------------------------

    def possible_children(self, component: str) -> tuple[str, ...]:
        if self._children is None:
            self._build_containment()
        assert self._children is not None
        return self._children.get(component, ())

    def possible_ancestors(self, component: str) -> tuple[str, ...]:
        if self._ancestors is None:
            self._build_containment()
        assert self._ancestors is not None
        return self._ancestors.get(component, ())

    def _build_containment(self) -> None:
        graph = self.graph
        order = {name: index for index, name in enumerate(graph.components)}
        carriers: dict[str, list[str]] = {}
        for name in graph.components:
            for type_name in self.types(name):
                carriers.setdefault(type_name, []).append(name)
        children: dict[str, tuple[str, ...]] = {}
        ancestors: dict[str, set[str]] = {}
        for name in graph.components:
            found: set[str] = set()
            for type_name in self.types(name):
                for child in _declared_children(graph, type_name):
                    found.update(carriers.get(child, ()))
            children[name] = tuple(sorted(found, key=order.__getitem__))
            for child in found:
                ancestors.setdefault(child, set()).add(name)
        self._children = children
        self._ancestors = {
            name: tuple(sorted(parents, key=order.__getitem__))
            for name, parents in ancestors.items()
        }

    def roots(self) -> tuple[str, ...]:
        return tuple(name for name in self.graph.components if not self.possible_ancestors(name))

    # -- installers and recipes ------------------------------------------------------------

    def installer_owner(self, component: str) -> str | None:
        """The component, along ``extends``, that defines the installer."""
        for name in self.chain(component):
            if self.graph.components[name].installer is not None:
                return name
        return None

    def resolved_installer(self, component: str) -> str | None:
        owner = self.installer_owner(component)
        return None if owner is None else self.graph.components[owner].installer

    # -- variables -----------------------------------------------------------------------

    def exports(self, component: str) -> Mapping[str, ExportedVariable]:
        """Resolved exports by full name; the value objects carry ``random`` and the value."""
        cached = self._exports.get(component)
        if cached is not None:
            return cached
        if component not in self.graph.components or component in self._resolving:
            return _EMPTY_EXPORTS
        self._resolving.add(component)
        try:
            declared = self.graph.components[component]
            inherited: dict[str, ExportedVariable] = {}
            for facet in declared.facets:
                inherited.update(self.facet_exports(facet))
            if declared.extends is not None:
                inherited.update(self.exports(declared.extends))
            result = _resolve_own(component, declared.exports, inherited, override_local=True)
        finally:
            self._resolving.discard(component)
        frozen = MappingProxyType(result)
        self._exports[component] = frozen
        return frozen

    def facet_exports(self, facet: str) -> Mapping[str, ExportedVariable]:
        cached = self._facet_exports.get(facet)
        if cached is not None:
            return cached
        key = "facet:" + facet
        if facet not in self.graph.facets or key in self._resolving:
            return _EMPTY_EXPORTS
        self._resolving.add(key)
        try:
            declared = self.graph.facets[facet]
            inherited: dict[str, ExportedVariable] = {}
            for parent in declared.extends:
                inherited.update(self.facet_exports(parent))
            result = _resolve_own(facet, declared.exports, inherited, override_local=False)
        finally:
            self._resolving.discard(key)
        frozen = MappingProxyType(result)
        self._facet_exports[facet] = frozen
        return frozen

    def exports_by_local_name(self, component: str) -> Mapping[str, tuple[str, ...]]:
        """Local name (``port``) → the full names exported with it (``A.port``, ``B.port``)."""
        cached = self._by_local.get(component)
        if cached is not None:
            return cached
        index: dict[str, list[str]] = {}
        for key in self.exports(component):
            index.setdefault(split_variable(key)[1], []).append(key)
        result = MappingProxyType({k: tuple(v) for k, v in index.items()})
        self._by_local[component] = result
        return result

    def designated(self, component: str, name: str) -> tuple[str, ...]:
        """The exported full names that ``name`` designates: itself if it is one, else every
        variable with that local name (none when it matches nothing)."""
        key = (component, name)
        cached = self._designated.get(key)
        if cached is None:
            if name in self.exports(component):
                cached = (name,)
            else:
                cached = self.exports_by_local_name(component).get(name, ())
            self._designated[key] = cached
        return cached

    def imports(self, component: str) -> Mapping[str, ImportedVariable]:
        cached = self._imports.get(component)
        if cached is not None:
            return cached
        result: dict[str, ImportedVariable] = {}
        for name in reversed(self.chain(component)):
            result.update(self.graph.components[name].imports)
        frozen = MappingProxyType(result)
        self._imports[component] = frozen
        return frozen


_EMPTY_EXPORTS: Mapping[str, ExportedVariable] = MappingProxyType({})


def _declared_children(graph: Graph, type_name: str) -> tuple[str, ...]:
    owner: Component | Facet | None = graph.components.get(type_name) or graph.facets.get(type_name)
    return () if owner is None else owner.children


def _resolve_own(
    owner: str,
    own: Mapping[str, ExportedVariable],
    inherited: dict[str, ExportedVariable],
    *,
    override_local: bool,
) -> dict[str, ExportedVariable]:
    """Put ``owner``'s own exports over the inherited ones, then replicate under its name."""
    by_local: dict[str, list[str]] = {}
    if override_local:
        for key in inherited:
            by_local.setdefault(split_variable(key)[1], []).append(key)
    result = dict(inherited)
    for name, variable in own.items():
        result[name if name in inherited else full_name(owner, name)] = variable
        for key in by_local.get(name, ()):
            result[key] = variable
    for key, variable in list(result.items()):
        prefix, local = split_variable(key)
        if prefix != owner:
            result.setdefault(f"{owner}.{local}", variable)
    return result


# -- memoisation -------------------------------------------------------------------------

_resolvers: dict[int, GraphResolver] = {}


def resolver(graph: Graph) -> GraphResolver:
    """The memoised resolver of ``graph`` (a few recent graphs are kept)."""
    found = _resolvers.get(id(graph))
    if found is not None and found.graph is graph:
        return found
    created = GraphResolver(graph)
    if len(_resolvers) >= _CACHE_SIZE:
        del _resolvers[next(iter(_resolvers))]
    _resolvers[id(graph)] = created
    return created


# -- the public functions ----------------------------------------------------------------


def roots(graph: Graph) -> tuple[str, ...]:
    """Components with no possible ancestor, in declaration order."""
    return resolver(graph).roots()


def super_components(graph: Graph, component: str) -> tuple[str, ...]:
    """What ``component`` extends, nearest first (itself excluded)."""
    return resolver(graph).chain(component)[1:]


def extending_components(graph: Graph, component: str) -> tuple[str, ...]:
    return resolver(graph).extending_components(component)


def all_facets(graph: Graph, component: str) -> tuple[str, ...]:
    """Facets of the component and its super components, with the facets they extend."""
    return resolver(graph).all_facets(component)


def possible_children(graph: Graph, component: str) -> tuple[str, ...]:
    return resolver(graph).possible_children(component)


def possible_ancestors(graph: Graph, component: str) -> tuple[str, ...]:
    return resolver(graph).possible_ancestors(component)


def resolved_installer(graph: Graph, component: str) -> str | None:
    """The installer of ``component`` or, failing that, of the nearest super component."""
    return resolver(graph).resolved_installer(component)


def recipe_component(
    graph: Graph, component: str, has_recipes: Callable[[str], bool] | None = None
) -> str:
    """The component whose recipe folder (``graph/<name>/``) ``component`` uses.

    With ``has_recipes`` (does ``graph/<name>/`` exist?), the first component along ``extends``
    that has one; otherwise the one that defines the installer. Falls back to ``component``.
    """
    chain = resolver(graph).chain(component)
    if has_recipes is not None:
        return next((name for name in chain if has_recipes(name)), component)
    return resolver(graph).installer_owner(component) or component


def exported_variables(graph: Graph, component: str) -> dict[str, str | None]:
    """Full name → default value (None when the graph gives none) of everything it exports."""
    return {name: v.value for name, v in resolver(graph).exports(component).items()}


def exported_variable_specs(graph: Graph, component: str) -> Mapping[str, ExportedVariable]:
    """Like :func:`exported_variables`, keeping whether each variable is random."""
    return resolver(graph).exports(component)


def imported_variables(graph: Graph, component: str) -> Mapping[str, ImportedVariable]:
    """Imports along ``extends``, by name; the sub-component's declaration wins."""
    return resolver(graph).imports(component)


def mandatory_prefixes(graph: Graph, component: str) -> frozenset[str]:
    """Prefixes of which at least one import is not optional (external ones included)."""
    imports = resolver(graph).imports(component).values()
    return frozenset(split_variable(v.name)[0] for v in imports if not v.optional)
