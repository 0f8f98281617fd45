"""Checks of instructions against the application, and their simulated effect on its instances.

Instructions are checked in order against the instances *as the previous instructions leave
them*: after ``Create vm as vm 1``, ``Deploy and start all /vm 1`` is valid, and after
``Delete /vm 1`` it is not. Only instance paths and components are simulated (path → component).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from roboconf.autonomic._issues import Issue, did_you_mean
from roboconf.autonomic.instructions import (
    Associate,
    BulkAction,
    BulkKind,
    ChangeStatus,
    Create,
    Instruction,
    Rename,
    Replicate,
)
from roboconf.errors import Code
from roboconf.model.graph import is_target, possible_ancestors, resolved_installer
from roboconf.model.types import Graph

#: Roboconf's "flexible id": instance names may hold spaces
INSTANCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-. ]*")


class Simulation:
    """The instances (path → component name) as the instructions read so far leave them."""

    def __init__(self, instances: Mapping[str, str]) -> None:
        self.paths: dict[str, str] = dict(instances)

    def subtree(self, path: str) -> list[str]:
        return [p for p in self.paths if p == path or p.startswith(path + "/")]

    def copy_tree(self, source: str, target: str) -> None:
        for path in self.subtree(source):
            self.paths[target + path[len(source) :]] = self.paths[path]

    def move_tree(self, source: str, target: str) -> None:
        moved = {target + p[len(source) :]: self.paths.pop(p) for p in self.subtree(source)}
        self.paths.update(moved)

    def remove_tree(self, path: str) -> None:
        for found in self.subtree(path):
            del self.paths[found]


def check(instruction: Instruction, instances: Simulation, graph: Graph) -> list[Issue]:
    """What is wrong with a resolved, enabled instruction in the current state of instances."""
    text = instruction.text
    issues: list[Issue] = []
    match instruction:
        case Create(component=component, name=name, parent=parent):
            issues += _name(name, text)
            issues += _component(component, text, graph)
            if parent is not None:
                issues += _instance(parent, text, instances)
            if component in graph.components and not issues:
                issues += _placement(instruction, instances, graph)
            issues += _conflict(instruction.path, text, instances)
        case Replicate(source=source, name=name):
            issues += _name(name, text)
            issues += _instance(source, text, instances)
            if not issues and source.count("/") > 1:
                issues.append(
                    Issue(
                        Code.CMD_NOT_A_ROOT_INSTANCE,
                        f"'{source}' is not a root instance: only root instances (paths with a"
                        " single '/') can be replicated.",
                        {"instance": source, "instruction": text},
                    )
                )
            issues += _conflict(instruction.path, text, instances)
        case Rename(path=path, name=name):
            issues += _name(name, text)
            issues += _instance(path, text, instances)
            if instruction.new_path != path:
                issues += _conflict(instruction.new_path, text, instances)
        case Associate(path=path):
            issues += _instance(path, text, instances)
            of = instances.paths.get(path)
            if of is not None and not is_target(resolved_installer(graph, of)):
                issues.append(
                    Issue(
                        Code.CMD_NOT_A_SCOPED_INSTANCE,
                        f"'{path}' is an instance of '{of}', which is not installed by"
                        " 'target': only scoped instances can be associated with a target.",
                        {"instance": path, "component": of, "instruction": text},
                    )
                )
        case ChangeStatus(path=path):
            issues += _instance(path, text, instances)
        case BulkAction(path=str(path)):
            issues += _instance(path, text, instances)
        case BulkAction(component=str(component)):
            issues += _component(component, text, graph)
    return issues


def apply(instruction: Instruction, instances: Simulation) -> None:
    """The effect of a valid instruction on the simulated instances."""
    match instruction:
        case Create(component=component):
            instances.paths[instruction.path] = component
        case Replicate(source=source):
            instances.copy_tree(source, instruction.path)
        case Rename(path=path):
            instances.move_tree(path, instruction.new_path)
        case BulkAction(action=BulkKind.DELETE, path=str(path)):
            instances.remove_tree(path)
        case BulkAction(action=BulkKind.DELETE, component=str(component)):
            for path, of in list(instances.paths.items()):
                if of == component:
                    instances.remove_tree(path)


def _name(name: str, text: str) -> list[Issue]:
    if INSTANCE_NAME.fullmatch(name):
        return []
    return [
        Issue(
            Code.CMD_INVALID_INSTANCE_NAME,
            f"'{name}' is not a valid instance name: it must start with a letter or '_' and"
            " hold only letters, digits, spaces and '_', '-', '.'.",
            {"name": name, "instruction": text},
        )
    ]


def _component(component: str, text: str, graph: Graph) -> list[Issue]:
    if component in graph.components:
        return []
    return [
        Issue(
            Code.CMD_INEXISTING_COMPONENT,
            f"'{component}' is not a component of the graph."
            + did_you_mean(component, graph.components),
            {"component": component, "instruction": text},
        )
    ]


def _instance(path: str, text: str, instances: Simulation) -> list[Issue]:
    if path in instances.paths:
        return []
    return [
        Issue(
            Code.CMD_NO_MATCHING_INSTANCE,
            f"no instance has the path '{path}' at this point."
            + did_you_mean(path, instances.paths),
            {"instance": path, "instruction": text},
        )
    ]


def _conflict(path: str, text: str, instances: Simulation) -> list[Issue]:
    if path not in instances.paths:
        return []
    return [
        Issue(
            Code.CMD_CONFLICTING_INSTANCE_NAME,
            f"an instance with the path '{path}' already exists: choose another name"
            " (or use $(SMART_INDEX) in a variable).",
            {"instance": path, "instruction": text},
        )
    ]


def _placement(create: Create, instances: Simulation, graph: Graph) -> list[Issue]:
    parents = possible_ancestors(graph, create.component)
    details = {"component": create.component, "instruction": create.text}
    accepted = ", ".join(sorted(parents))
    if create.parent is None:
        if not parents:
            return []
        return [
            Issue(
                Code.CMD_MISSING_PARENT_INSTANCE,
                f"'{create.component}' cannot be a root instance: add 'under /path' with the"
                f" path of an instance of {accepted}.",
                details,
            )
        ]
    if not parents:
        return [
            Issue(
                Code.CMD_CANNOT_HAVE_ANY_PARENT,
                f"'{create.component}' can only be a root instance:"
                f" remove 'under {create.parent}'.",
                details,
            )
        ]
    parent_component = instances.paths[create.parent]
    if parent_component in parents:
        return []
    return [
        Issue(
            Code.CMD_NOT_AN_ACCEPTABLE_PARENT,
            f"'{create.component}' cannot be created under '{create.parent}' (an instance of"
            f" '{parent_component}'); its parent must be an instance of {accepted}.",
            {**details, "parent": create.parent},
        )
    ]
