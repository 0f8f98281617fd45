"""Runtime-model checks (``RM_*``): one row per rule, on small graphs and instance trees."""

from __future__ import annotations

import pytest

from roboconf.errors import Code, Severity
from roboconf.model.types import Graph, Instance
from roboconf.model.validation import validate_graph, validate_instances
from tests.model.graphs import graph_of, instances_of, one_per_line

C = Code


def _codes_of_graph(text: str) -> list[Code]:
    return [d.code for d in validate_graph(graph_of(one_per_line(text)))]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        pytest.param(
            "VM { installer: target; children: App; } App { installer: script; }",
            [],
            id="a valid graph has no problem",
        ),
        pytest.param(
            "facet F { }", [C.RM_NO_ROOT_COMPONENT, C.RM_ORPHAN_FACET], id="no root component"
        ),
        pytest.param(
            "A { installer: target; children: B; } B { installer: x; children: A; }",
            [C.RM_NO_ROOT_COMPONENT, C.RM_CYCLE_IN_COMPONENTS, C.RM_CYCLE_IN_COMPONENTS],
            id="components that contain each other",
        ),
        pytest.param(
            "A { installer: target; children: A; }",
            [C.RM_NO_ROOT_COMPONENT, C.RM_CYCLE_IN_COMPONENTS],
            id="a component that contains itself",
        ),
        pytest.param(
            "A { installer: script; }",
            [C.RM_ROOT_INSTALLER_MUST_BE_TARGET],
            id="a root that is no target",
        ),
        pytest.param(
            "A { exports: x = 1; }",
            [C.RM_ROOT_INSTALLER_MUST_BE_TARGET],
            id="a root without installer",
        ),
        pytest.param(
            "VM { installer: target; children: A; } A { }",
            [C.RM_EMPTY_COMPONENT_INSTALLER],
            id="a component without installer",
        ),
        pytest.param(
            "VM { installer: target; children: A; } A { installer: s; imports: B.x; }",
            [C.RM_UNRESOLVABLE_VARIABLE],
            id="an import that nobody exports",
        ),
        pytest.param(
            "VM { installer: target; children: A; } A { installer: s; imports: B.*; }",
            [C.RM_UNRESOLVABLE_VARIABLE],
            id="a wildcard import that nobody exports",
        ),
        pytest.param(
            "VM { installer: target; exports: x = 1; children: A; } "
            "A { installer: s; imports: VM.*, external Other.y; }",
            [],
            id="a wildcard matches any variable of its prefix; external imports are not checked",
        ),
        pytest.param(
            "VM { installer: target; children: A; } "
            "A { installer: s; imports: F.x; } facet F { exports: x = 1; }",
            [C.RM_UNRESOLVABLE_FACET_VARIABLE, C.RM_ORPHAN_FACET],
            id="an import that only an unused facet exports",
        ),
        pytest.param(
            "A { installer: target; exports: port = 1; imports: A.port; }",
            [C.RM_COMPONENT_IMPORTS_EXPORTS],
            id="a component importing its own export",
        ),
        pytest.param(
            "A { installer: target; exports: port = 1; imports: A.port (optional); }",
            [],
            id="a component importing its own export as optional (a cluster)",
        ),
        pytest.param(
            "A { installer: target; extends: B; } B { installer: target; extends: A; }",
            [C.RM_CYCLE_IN_COMPONENTS_INHERITANCE, C.RM_CYCLE_IN_COMPONENTS_INHERITANCE],
            id="an inheritance cycle between components",
        ),
        pytest.param(
            "A { installer: target; facets: F; } facet F { extends: F; }",
            [C.RM_CYCLE_IN_FACETS_INHERITANCE],
            id="a facet extending itself",
        ),
        pytest.param(
            "A { installer: target; exports: random[string] p; }",
            [C.RM_INVALID_RANDOM_KIND],
            id="a random kind other than port",
        ),
        pytest.param(
            "A { installer: target; exports: random[port] p = 8; }",
            [C.RM_NO_VALUE_FOR_RANDOM],
            id="a random variable with a value",
        ),
        pytest.param(
            "A { installer: target; } facet F { exports: random[x] p; }",
            [C.RM_INVALID_RANDOM_KIND, C.RM_ORPHAN_FACET],
            id="facets are checked for random variables too",
        ),
        pytest.param(
            "vm { installer: target; children: f; } "
            "facet f { children: t; } t { installer: target; }",
            [C.RM_ORPHAN_FACET_WITH_CHILDREN],
            id="an unused facet with children",
        ),
        pytest.param(
            "vm { installer: target; children: f; } "
            "facet f { children: t; } t { installer: script; }",
            [
                C.RM_ROOT_INSTALLER_MUST_BE_TARGET,
                C.RM_ORPHAN_FACET_WITH_CHILDREN,
                C.RM_UNREACHABLE_COMPONENT,
            ],
            id="a component that only an unused facet lists is unreachable",
        ),
    ],
)
def test_graph_checks(text: str, codes: list[Code]) -> None:
    assert _codes_of_graph(text) == codes


def test_graph_problems_point_at_the_definition() -> None:
    graph = graph_of("# doc\nA {\n\tinstaller: script;\n}\n")
    [problem] = validate_graph(graph)
    assert (problem.file, problem.line, problem.details["component"]) == ("test.graph", 2, "A")
    assert "installer: target" in problem.message


def test_orphan_facets_are_warnings() -> None:
    graph = graph_of(one_per_line("A { installer: target; } facet F { }"))
    assert [d.level for d in validate_graph(graph)] == [Severity.WARNING]


INSTANCE_GRAPH = graph_of(
    one_per_line(
        "VM { installer: target; children: Db, MyDb; } "
        "Db { installer: script; exports: ip, port, random[port] admin; } "
        "MyDb { extends: Db; }"
    )
)


def _codes_of_instances(text: str) -> list[Code]:
    return [
        d.code
        for d in validate_instances(
            INSTANCE_GRAPH, instances_of(one_per_line(text), INSTANCE_GRAPH)
        )
    ]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        pytest.param(
            "instance of VM { name: vm; instance of Db { name: db; port: 1; } }",
            [],
            id="ip and random variables may stay without value",
        ),
        pytest.param(
            "instance of VM { name: vm; instance of Db { name: db; } }",
            [C.RM_MISSING_VARIABLE_VALUE],
            id="other variables need a value",
        ),
        pytest.param(
            "instance of VM { name: vm; instance of Db { name: db; Db.port: 1; other: 2; } }",
            [C.RM_MAGIC_INSTANCE_VARIABLE],
            id="an override of a variable the component does not export",
        ),
        pytest.param(
            "instance of VM { name: vm; instance of MyDb { name: db; port: 1; } }",
            [C.RM_AMBIGUOUS_OVERRIDING],
            id="a local override matching several variables",
        ),
        pytest.param(
            "instance of VM { name: vm; instance of MyDb { name: db; Db.port: 1; } }",
            [C.RM_MISSING_VARIABLE_VALUE],
            id="a full-name override sets only that variable",
        ),
        pytest.param(
            "instance of Db { name: db; port: 1; }",
            [C.RM_INVALID_INSTANCE_ROOT],
            id="a root instance that needs a parent",
        ),
        pytest.param(
            "instance of VM { name: vm; instance of VM { name: inner; } }",
            [C.RM_INVALID_INSTANCE_PARENT],
            id="an instance under an impossible parent",
        ),
    ],
)
def test_instance_checks(text: str, codes: list[Code]) -> None:
    assert _codes_of_instances(text) == codes


def test_an_instance_of_an_unknown_component_is_reported() -> None:
    problems = validate_instances(INSTANCE_GRAPH, (Instance(name="x", component="Nope"),))
    assert [d.code for d in problems] == [C.CO_INEXISTING_COMPONENT]


def test_instance_problems_name_the_instance_and_its_line() -> None:
    graph = Graph(components=INSTANCE_GRAPH.components)
    tree = instances_of(
        "instance of VM {\n\tname: vm;\n\tinstance of Db {\n\t\tname: db;\n\t}\n}\n", graph
    )
    [problem] = validate_instances(graph, tree)
    assert (problem.line, problem.details["instance"], problem.details["variable"]) == (
        3,
        "/vm/db",
        "Db.port",
    )
