"""What the DM builds messages from: an agent's part of the model, recipe digests, and the JSON
form of graphs and instance trees."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from roboconf.dsl.convert import graph_from_text, instances_from_text, load_graph
from roboconf.messaging import _wire
from roboconf.messaging.messages import recipe_digest, scoped_snapshot
from roboconf.messaging.model_json import (
    graph_from_json,
    graph_to_json,
    instances_from_json,
    instances_to_json,
)
from roboconf.model.instances import walk
from roboconf.model.types import Graph, Instance
from tests.messaging.strategies import GRAPHS, INSTANCES

GRAPH = """
VM {
\tinstaller: target;
\tchildren: App, Box;
}
Box {
\tinstaller: target;
\tchildren: App;
}
App {
\tinstaller: script;
\texports: ip, port = 80;
\tchildren: Module;
}
Module {
\tinstaller: file;
}
"""

INSTANCES_TEXT = """
instance of VM {
\tname: vm 1;
\tinstance of App {
\t\tname: a1;
\t\tinstance of Module {
\t\t\tname: m;
\t\t}
\t}
\tinstance of Box {
\t\tname: box;
\t\tinstance of App {
\t\t\tname: a2;
\t\t}
\t}
}
instance of VM {
\tname: vm 2;
\tinstance of App {
\t\tname: a3;
\t}
}
"""


def model() -> tuple[Graph, tuple[Instance, ...]]:
    graph = graph_from_text(GRAPH).graph
    load = instances_from_text(INSTANCES_TEXT, graph)
    assert not load.diagnostics
    return graph, load.instances


SNAPSHOTS = [
    ("/vm 1", ["/vm 1", "/vm 1/a1", "/vm 1/a1/m"]),
    ("/vm 1/box", ["/vm 1", "/vm 1/box", "/vm 1/box/a2"]),
    ("/vm 2", ["/vm 2", "/vm 2/a3"]),
]


@pytest.mark.parametrize(
    "scoped, paths",
    SNAPSHOTS,
    ids=[f"the agent of {s!r} gets {', '.join(p)}" for s, p in SNAPSHOTS],
)
def test_an_agent_gets_its_ancestors_and_its_subtree_without_other_machines(
    scoped: str, paths: list[str]
) -> None:
    graph, roots = model()
    root = scoped_snapshot(graph, roots, scoped)
    assert root is not None
    assert [path for path, _ in walk([root])] == paths


def test_no_snapshot_for_an_unknown_path() -> None:
    graph, roots = model()
    assert scoped_snapshot(graph, roots, "/vm 3") is None


def test_recipe_digest_depends_on_paths_and_contents() -> None:
    files = {"scripts/deploy.sh": b"echo 1", "scripts/start.sh": b"echo 2"}
    same = dict(reversed(files.items()))
    assert recipe_digest(files) == recipe_digest(same)
    assert recipe_digest(files) != recipe_digest({**files, "scripts/start.sh": b"echo 3"})
    assert recipe_digest({"ab": b"c"}) != recipe_digest({"a": b"bc"})


# -- the JSON form of graphs and instances --------------------------------------------------------


def without_locations(graph: Graph) -> Graph:
    """What the JSON form keeps: no documentation, no source locations."""
    return Graph(
        components={
            name: dataclasses.replace(c, documentation="", location=None)
            for name, c in graph.components.items()
        },
        facets={
            name: dataclasses.replace(f, documentation="", location=None)
            for name, f in graph.facets.items()
        },
    )


def test_the_example_graph_survives_json() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "webstack" / "graph"

    def read(path: str) -> str | None:
        file = root / path
        return file.read_text() if file.is_file() else None

    graph = load_graph("main.graph", read).graph
    assert graph.components
    assert graph_from_json(graph_to_json(graph)) == without_locations(graph)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GRAPHS)
def test_graphs_survive_json(graph: Graph) -> None:
    assert graph_from_json(graph_to_json(graph)) == graph


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INSTANCES, INSTANCES)
def test_instance_forests_survive_json(first: Instance, second: Instance) -> None:
    assert instances_from_json(instances_to_json([first, second])) == (first, second)


def test_instance_defaults_are_left_out() -> None:
    assert instances_to_json([Instance(name="a", component="C")]) == [
        {"name": "a", "component": "C"}
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "a", "component": "C", "status": 3},
        {"name": "a", "component": "C", "status": "RUNNING"},
        {"name": "a", "component": "C", "overrides": {"port": 80}},
        {"name": "a", "component": "C", "channels": "one"},
        {"name": "a"},
    ],
    ids=repr,
)
def test_malformed_instances_are_refused(raw: object) -> None:
    with pytest.raises(_wire.Malformed):
        instances_from_json([raw])
