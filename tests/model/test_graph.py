"""Resolution rules of a graph: roots, children and ancestors, installers, variables."""

from __future__ import annotations

import pytest

from roboconf.model import graph as g
from roboconf.model.types import Component, ExportedVariable, Facet, Graph, ImportedVariable
from tests.model.graphs import graph_of, one_per_line

WEB = """
VM { installer: target; children: Server; }
Server { installer: script; children: App; }
Tomcat { extends: Server; }
App { installer: file; }
"""

FACETS = """
VM { installer: target; children: Deployable; }
facet Deployable { children: Probe; }
facet Web { extends: Deployable; }
Nginx { installer: script; facets: Web; }
Mysql { installer: script; facets: Deployable; }
MariaDb { extends: Mysql; }
Probe { installer: logger; }
"""

INHERITED_CHILDREN = """
VM { installer: target; children: Box; }
Ec2 { extends: VM; }
facet Box { children: Tool; }
Docker { installer: target; facets: Box; }
Tool { installer: script; }
"""


def _graph(text: str) -> Graph:
    """Blocks may be written on one line here: ``A { installer: target; }``."""
    return graph_of(one_per_line(text))


@pytest.mark.parametrize(
    ("text", "component", "children"),
    [
        pytest.param(
            WEB, "VM", {"Server", "Tomcat"}, id="a component child brings those extending it"
        ),
        pytest.param(WEB, "Tomcat", {"App"}, id="children of a super component are inherited"),
        pytest.param(WEB, "App", set(), id="a component without children has none"),
        pytest.param(
            FACETS,
            "VM",
            {"Nginx", "Mysql", "MariaDb"},
            id="facet children: carriers, carriers of sub-facets, their sub-components",
        ),
        pytest.param(FACETS, "Nginx", {"Probe"}, id="children of facets and of their super facets"),
        pytest.param(
            FACETS, "MariaDb", {"Probe"}, id="children of the facets of a super component"
        ),
        pytest.param(
            INHERITED_CHILDREN,
            "Ec2",
            {"Docker"},
            id="a sub-component keeps the facet children of its super",
        ),
    ],
)
def test_possible_children(text: str, component: str, children: set[str]) -> None:
    assert set(g.possible_children(_graph(text), component)) == children


@pytest.mark.parametrize(
    ("text", "component", "ancestors"),
    [
        pytest.param(WEB, "App", {"Server", "Tomcat"}, id="ancestors are the inverse of children"),
        pytest.param(FACETS, "Probe", {"Nginx", "Mysql", "MariaDb"}, id="through facets too"),
        pytest.param(INHERITED_CHILDREN, "Tool", {"Docker"}, id="through a facet's component"),
        pytest.param(WEB, "VM", set(), id="a root has none"),
    ],
)
def test_possible_ancestors(text: str, component: str, ancestors: set[str]) -> None:
    assert set(g.possible_ancestors(_graph(text), component)) == ancestors


@pytest.mark.parametrize(
    ("text", "roots"),
    [
        pytest.param(WEB, ("VM",), id="components that nothing can contain are roots"),
        pytest.param(INHERITED_CHILDREN, ("VM", "Ec2"), id="in declaration order"),
    ],
)
def test_roots(text: str, roots: tuple[str, ...]) -> None:
    assert g.roots(_graph(text)) == roots


@pytest.mark.parametrize(
    ("component", "installer"),
    [
        pytest.param("Server", "script", id="its own installer"),
        pytest.param("Tomcat", "script", id="else the nearest super component's"),
        pytest.param("Unknown", None, id="none for an unknown component"),
    ],
)
def test_resolved_installer(component: str, installer: str | None) -> None:
    assert g.resolved_installer(_graph(WEB), component) == installer


@pytest.mark.parametrize(
    ("existing", "owner"),
    [
        pytest.param(None, "Server", id="without folders: the one defining the installer"),
        pytest.param({"Tomcat", "Server"}, "Tomcat", id="its own folder first"),
        pytest.param({"Server"}, "Server", id="else the nearest super component's folder"),
        pytest.param(set(), "Tomcat", id="else its own name"),
    ],
)
def test_recipe_component(existing: set[str] | None, owner: str) -> None:
    has = None if existing is None else existing.__contains__
    assert g.recipe_component(_graph(WEB), "Tomcat", has) == owner


@pytest.mark.parametrize(
    ("text", "component", "expected"),
    [
        pytest.param(
            "A { exports: ip, port = 80; }",
            "A",
            {"A.ip": None, "A.port": "80"},
            id="own variables are prefixed with the component name",
        ),
        pytest.param(
            "Db { exports: port = 3306; } My { extends: Db; exports: own = x; }",
            "My",
            {"Db.port": "3306", "My.port": "3306", "My.own": "x"},
            id="inherited variables answer to the super name and the sub name, not the reverse",
        ),
        pytest.param(
            "Db { exports: ip, port = 3306; } My { extends: Db; exports: port = 3307; }",
            "My",
            {"Db.ip": None, "Db.port": "3307", "My.ip": None, "My.port": "3307"},
            id="a local name overrides every inherited variable with that name",
        ),
        pytest.param(
            "Db { exports: port = 3306; } My { extends: Db; exports: Db.port = 3307; }",
            "My",
            {"Db.port": "3307", "My.port": "3307"},
            id="a full name overrides that variable, and the replica follows",
        ),
        pytest.param(
            "Db { exports: port = 1; } My { extends: Db; exports: Db.port = 2, My.port = 3; }",
            "My",
            {"Db.port": "2", "My.port": "3"},
            id="full names keep separate values",
        ),
        pytest.param(
            "facet F { exports: w = 1; } facet G { extends: F; } A { facets: G; }",
            "A",
            {"F.w": "1", "G.w": "1", "A.w": "1"},
            id="facet variables answer to the facet, the facets extending it and the component",
        ),
        pytest.param(
            "A { extends: B; exports: a = 1; } B { extends: A; exports: b = 2; }",
            "A",
            {"A.a": "1", "A.b": "2", "B.b": "2"},
            id="an inheritance cycle does not hang",
        ),
        pytest.param(
            "facet F { extends: G; exports: f = 1; } facet G { extends: F; } A { facets: F; }",
            "A",
            {"F.f": "1", "A.f": "1"},
            id="a facet cycle does not hang",
        ),
        pytest.param(
            "t { exports: db.ip, db.port = 8080; }",
            "t",
            {"t.db.ip": None, "t.db.port": "8080"},
            id="a dotted name that names no inherited variable is prefixed too",
        ),
    ],
)
def test_exported_variables(text: str, component: str, expected: dict[str, str | None]) -> None:
    assert g.exported_variables(_graph(text), component) == expected


def test_random_variables_keep_their_kind_when_resolved() -> None:
    graph = _graph("A { exports: random[port] http; } B { extends: A; }")
    specs = g.exported_variable_specs(graph, "B")
    assert {name: spec.random_kind for name, spec in specs.items()} == {
        "A.http": "port",
        "B.http": "port",
    }


def test_imports_are_the_union_along_extends_and_the_sub_component_wins() -> None:
    graph = _graph(
        "S { imports: Db.ip (optional), Db.port (optional); } M { extends: S; imports: Db.ip; }"
    )
    imports = g.imported_variables(graph, "M")
    assert {n: v.optional for n, v in imports.items()} == {"Db.ip": False, "Db.port": True}


def test_mandatory_prefixes_are_those_with_a_required_import() -> None:
    graph = _graph("A { imports: B.x (optional), C.*, external D.y; }")
    assert g.mandatory_prefixes(graph, "A") == {"C", "D"}


def test_all_facets_include_super_components_and_super_facets() -> None:
    graph = _graph("facet F { extends: G; } facet G { } S { facets: F; } A { extends: S; }")
    assert set(g.all_facets(graph, "A")) == {"F", "G"}
    assert g.super_components(graph, "A") == ("S",)
    assert g.extending_components(graph, "S") == ("A",)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        pytest.param("Tomcat.port", ("Tomcat", "port"), id="prefix and local name"),
        pytest.param("a.b.c", ("a", "b.c"), id="the prefix ends at the first dot"),
        pytest.param("ip", ("", "ip"), id="no prefix"),
    ],
)
def test_split_variable(name: str, parts: tuple[str, str]) -> None:
    assert g.split_variable(name) == parts


def test_answers_follow_a_new_graph_value() -> None:
    first = Graph(components={"A": Component(name="A", installer="target")})
    second = Graph(
        components={
            "A": Component(
                name="A",
                exports={"x": ExportedVariable(name="x", value="1")},
                imports={"B.y": ImportedVariable(name="B.y")},
            )
        },
        facets={"F": Facet(name="F")},
    )
    assert g.exported_variables(first, "A") == {}
    assert g.exported_variables(second, "A") == {"A.x": "1"}
