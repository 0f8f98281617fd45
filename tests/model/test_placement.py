"""Where a component may be instantiated (what commands rely on): children declared by
component or facet names, inherited through ``extends`` (components and facets)."""

from __future__ import annotations

import pytest

from roboconf.model.graph import is_target, possible_ancestors, resolved_installer
from roboconf.model.types import Component, Facet, Graph

GRAPH = Graph(
    components={
        "VM": Component(name="VM", installer="target", children=("server",)),
        "BigVM": Component(name="BigVM", extends="VM"),
        "Tomcat": Component(name="Tomcat", installer="puppet", facets=("server",)),
        "Tomcat8": Component(name="Tomcat8", extends="Tomcat"),
        "Jetty": Component(name="Jetty", installer="script", facets=("special-server",)),
        "War": Component(name="War", installer="script", facets=("webapp",)),
        "Loop1": Component(name="Loop1", extends="Loop2"),
        "Loop2": Component(name="Loop2", extends="Loop1", children=("Loop1",)),
    },
    facets={
        "server": Facet(name="server", children=("webapp",)),
        "special-server": Facet(name="special-server", extends=("server",)),
        "webapp": Facet(name="webapp"),
    },
)

PARENTS = [
    ("a root component has no parent", "VM", set()),
    (
        "a child named by a facet, under a component and its sub-component",
        "Tomcat",
        {"VM", "BigVM"},
    ),
    ("a sub-component carries the facets it inherits", "Tomcat8", {"VM", "BigVM"}),
    ("a facet extending a named facet qualifies", "Jetty", {"VM", "BigVM"}),
    ("children are inherited from facets and components", "War", {"Tomcat", "Tomcat8", "Jetty"}),
    ("cycles of inheritance do not hang", "Loop1", {"Loop1", "Loop2"}),
    ("an unknown component has no parent", "Nope", set()),
]


@pytest.mark.parametrize("component, parents", [pytest.param(c, p, id=i) for i, c, p in PARENTS])
def test_the_parents_of_a_component(component: str, parents: set[str]) -> None:
    assert set(possible_ancestors(GRAPH, component)) == parents


@pytest.mark.parametrize(
    "component, scoped",
    [
        pytest.param("VM", True, id="a target component is scoped"),
        pytest.param("BigVM", True, id="the installer is inherited"),
        pytest.param("Tomcat8", False, id="an inherited puppet installer is not scoped"),
        pytest.param("Loop1", False, id="no installer at all is not scoped"),
    ],
)
def test_scoped_components(component: str, scoped: bool) -> None:
    assert is_target(resolved_installer(GRAPH, component)) is scoped
