"""The instance tree: paths, walking, lookup, scoped instances, count names, rebuilding."""

from __future__ import annotations

import dataclasses

import pytest

from roboconf.model import instances as tree
from roboconf.model.types import Instance
from tests.model.graphs import graph_of, instances_of, one_per_line

GRAPH = graph_of(
    one_per_line(
        "VM { installer: target; children: Docker, App; } "
        "Docker { installer: target; children: App; } "
        "App { installer: script; children: Module; } "
        "Module { installer: file; }"
    )
)
TREE = instances_of(
    one_per_line(
        "instance of VM { name: vm 1; "
        "instance of App { name: app; instance of Module { name: m; } } "
        "instance of Docker { name: box; instance of App { name: app; } } } "
        "instance of VM { name: vm 2; }"
    ),
    GRAPH,
)


def test_walk_visits_parents_before_children_in_order() -> None:
    assert [path for path, _ in tree.walk(TREE)] == [
        "/vm 1",
        "/vm 1/app",
        "/vm 1/app/m",
        "/vm 1/box",
        "/vm 1/box/app",
        "/vm 2",
    ]
    assert tree.instance_count(TREE) == 6


def test_walk_with_parents_gives_each_parent() -> None:
    parents = {
        p: (parent.name if parent else None) for p, _, parent in tree.walk_with_parents(TREE)
    }
    assert parents["/vm 1/box/app"] == "box"
    assert parents["/vm 2"] is None


@pytest.mark.parametrize(
    ("path", "name"),
    [
        pytest.param("/vm 1/box/app", "app", id="a nested instance"),
        pytest.param("/vm 2", "vm 2", id="a root instance"),
        pytest.param("/vm 1/nothing", None, id="a missing instance"),
        pytest.param("", None, id="an empty path"),
    ],
)
def test_find(path: str, name: str | None) -> None:
    found = tree.find(TREE, path)
    assert (found.name if found else None) == name


@pytest.mark.parametrize(
    ("path", "scoped"),
    [
        pytest.param("/vm 1/app/m", "/vm 1", id="the nearest target ancestor"),
        pytest.param("/vm 1/box/app", "/vm 1/box", id="nested targets are scoped too"),
        pytest.param("/vm 1", "/vm 1", id="a target is its own scope"),
        pytest.param("/nowhere", None, id="none for a missing path"),
    ],
)
def test_scoped_instance_path(path: str, scoped: str | None) -> None:
    assert tree.scoped_instance_path(GRAPH, TREE, path) == scoped
    if scoped is not None:
        assert tree.scoped_paths(GRAPH, TREE)[path] == scoped


@pytest.mark.parametrize(
    ("name", "count", "names"),
    [
        pytest.param("vm ", 3, ["vm 1", "vm 2", "vm 3"], id="the trailing space of a name is kept"),
        pytest.param(
            "i-", 12, ["i-01", "i-02"], id="numbers are zero-padded to the width of count"
        ),
        pytest.param("w", 100, ["w001", "w002"], id="three digits for a hundred"),
        pytest.param("vm", 1, ["vm"], id="a count of one keeps the name"),
    ],
)
def test_expanded_names(name: str, count: int, names: list[str]) -> None:
    expanded = tree.expanded_names(name, count)
    assert expanded[: len(names)] == names
    assert len(expanded) == count


@pytest.mark.parametrize(
    ("path", "parent", "names"),
    [
        pytest.param("/a/b c", "/a", ["a", "b c"], id="a nested path"),
        pytest.param("/a", None, ["a"], id="a root path"),
    ],
)
def test_path_parts(path: str, parent: str | None, names: list[str]) -> None:
    assert tree.parent_path(path) == parent
    assert tree.names_of(path) == names
    assert tree.path_of(parent, names[-1]) == path


def test_rebuild_changes_what_is_asked_and_shares_the_rest() -> None:
    def rename(path: str, instance: Instance) -> Instance:
        return dataclasses.replace(instance, name="mod") if path == "/vm 1/app/m" else instance

    rebuilt = tree.rebuild(TREE, rename)
    assert tree.find(rebuilt, "/vm 1/app/mod") is not None
    assert rebuilt[1] is TREE[1]
    assert rebuilt[0].children[1] is TREE[0].children[1]
    assert tree.rebuild(TREE, lambda _path, instance: instance) is TREE


def test_replace_at_changes_one_instance() -> None:
    changed = tree.replace_at(TREE, "/vm 1/box", lambda i: dataclasses.replace(i, channels=("x",)))
    box = tree.find(changed, "/vm 1/box")
    assert box is not None and box.channels == ("x",)
    assert tree.replace_at(TREE, "/missing", lambda i: i) is TREE
