"""The instance tree: paths, walking, lookup, scoped instances, ``count`` expansion.

An instance is identified by its path, ``/`` followed by the names from the root
(``/Tomcat VM 1/Tomcat``). Instances are frozen and do not know their parent, so the functions
here pass paths along; walking is iterative (deep trees do not hit the recursion limit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

from roboconf.model.graph import is_target, resolved_installer
from roboconf.model.types import Graph, Instance


def path_of(parent_path: str | None, name: str) -> str:
    """The path of an instance named ``name`` under ``parent_path`` (None or "" for a root)."""
    return f"{parent_path or ''}/{name}"


def names_of(path: str) -> list[str]:
    """``/a/b c`` → ``['a', 'b c']``."""
    return path.split("/")[1:] if path.startswith("/") else []


def parent_path(path: str) -> str | None:
    """``/a/b`` → ``/a``; a root's parent is None."""
    head = path.rpartition("/")[0]
    return head or None


def walk(instances: Iterable[Instance]) -> Iterator[tuple[str, Instance]]:
    """Every instance with its path, depth first, parents before their children, in order."""
    stack: list[tuple[str, Instance]] = [(path_of(None, i.name), i) for i in instances]
    stack.reverse()
    while stack:
        path, instance = stack.pop()
        yield path, instance
        stack.extend((path_of(path, child.name), child) for child in reversed(instance.children))


def walk_with_parents(
    instances: Iterable[Instance],
) -> Iterator[tuple[str, Instance, Instance | None]]:
    """Like :func:`walk`, with each instance's parent (None for a root)."""
    stack: list[tuple[str, Instance, Instance | None]] = [
        (path_of(None, i.name), i, None) for i in instances
    ]
    stack.reverse()
    while stack:
        path, instance, parent = stack.pop()
        yield path, instance, parent
        stack.extend(
            (path_of(path, child.name), child, instance) for child in reversed(instance.children)
        )


def instance_count(instances: Iterable[Instance]) -> int:
    return sum(1 for _ in walk(instances))


def find(instances: Iterable[Instance], path: str) -> Instance | None:
    """The instance at ``path``, or None."""
    current: Instance | None = None
    level: Iterable[Instance] = instances
    for name in names_of(path):
        current = next((i for i in level if i.name == name), None)
        if current is None:
            return None
        level = current.children
    return current


def lineage(instances: Iterable[Instance], path: str) -> list[Instance]:
    """The instances from the root down to ``path`` (empty if the path does not exist)."""
    found: list[Instance] = []
    level: Iterable[Instance] = instances
    for name in names_of(path):
        current = next((i for i in level if i.name == name), None)
        if current is None:
            return []
        found.append(current)
        level = current.children
    return found


def scoped_instance_path(graph: Graph, instances: Iterable[Instance], path: str) -> str | None:
    """The nearest ancestor-or-self of ``path`` whose component is a target (a machine).

    None when the path does not exist or no instance on the way is a target.
    """
    chain = lineage(instances, path)
    names = names_of(path)
    for depth in range(len(chain) - 1, -1, -1):
        if is_target(resolved_installer(graph, chain[depth].component)):
            return "/" + "/".join(names[: depth + 1])
    return None


def scoped_paths(graph: Graph, instances: Iterable[Instance]) -> dict[str, str | None]:
    """Path → scoped instance path, for the whole tree in one pass."""
    result: dict[str, str | None] = {}
    for path, instance in walk(instances):
        if is_target(resolved_installer(graph, instance.component)):
            result[path] = path
        else:
            parent = parent_path(path)
            result[path] = result.get(parent) if parent is not None else None
    return result


def expanded_names(name: str, count: int) -> list[str]:
    """The names ``count`` gives: ``vm `` × 3 → ``vm 1`` … ``vm 3``; zero-padded to the width of
    ``count`` (``i-`` × 12 → ``i-01`` … ``i-12``). A count of 1 keeps the name."""
    if count <= 1:
        return [name]
    width = len(str(count))
    return [f"{name}{index:0{width}d}" for index in range(1, count + 1)]


def rebuild(
    instances: tuple[Instance, ...], change: Callable[[str, Instance], Instance]
) -> tuple[Instance, ...]:
    """A new tree where each instance is ``change(path, instance)``, children rebuilt first.

    Subtrees that ``change`` leaves identical are shared, not copied.
    """

    def level(items: tuple[Instance, ...], parent: str | None) -> tuple[Instance, ...]:
        result: list[Instance] = []
        for instance in items:
            path = path_of(parent, instance.name)
            children = level(instance.children, path)
            if children is not instance.children:
                instance = dataclasses.replace(instance, children=children)
            result.append(change(path, instance))
        return (
            tuple(result) if any(a is not b for a, b in zip(result, items, strict=True)) else items
        )

    return level(instances, None)


def replace_at(
    instances: tuple[Instance, ...], path: str, change: Callable[[Instance], Instance]
) -> tuple[Instance, ...]:
    """A new tree where the instance at ``path`` is ``change(instance)``; unchanged if absent."""
    names = names_of(path)
    if not names:
        return instances

    def rebuild(level: tuple[Instance, ...], depth: int) -> tuple[Instance, ...]:
        result = list(level)
        for index, instance in enumerate(level):
            if instance.name != names[depth]:
                continue
            if depth == len(names) - 1:
                result[index] = change(instance)
            else:
                result[index] = dataclasses.replace(
                    instance, children=rebuild(instance.children, depth + 1)
                )
            return tuple(result)
        return level

    return rebuild(instances, 0)
