"""An application as the DM holds it: a copy of its template's instances, with what agents report.

Instances are kept flat, by path, with an index of each one's children (siblings in the order
they were added), so that walking a subtree costs its size, not the application's: records the
DM updates as notifications arrive. The frozen model
(:class:`roboconf.model.Instance`) is what they are created from and what is sent to agents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from roboconf.errors import RoboconfError
from roboconf.model import ApplicationTemplate, Graph, Instance, InstanceStatus
from roboconf.model.graph import is_target, possible_children, resolved_installer, roots
from roboconf.model.instances import parent_path, path_of, walk


class InstanceError(RoboconfError):
    """A request about an instance cannot be honoured now; the message says why and what to do."""


@dataclass(slots=True, kw_only=True)
class ManagedInstance:
    """The DM's record of one instance: the model's part, then what its agent last reported."""

    path: str
    name: str
    component: str
    parent: str | None
    overrides: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    status: InstanceStatus = InstanceStatus.NOT_DEPLOYED
    reason: str | None = None
    output_tail: str = ""
    #: prefix → provider paths the agent reported
    imports: dict[str, list[str]] = field(default_factory=dict)
    scoped: bool = False
    machine_id: str | None = None
    #: the last state requested for it: what the DM drives towards again after a restart
    desired: InstanceStatus | None = None

    def to_model(self, children: tuple[Instance, ...] = ()) -> Instance:
        return Instance(
            name=self.name,
            component=self.component,
            children=children,
            overrides=dict(self.overrides),
            data=dict(self.data),
            status=self.status,
        )


class Application:
    """One application: name, template, and its instance records."""

    def __init__(
        self,
        name: str,
        template: ApplicationTemplate,
        template_dir: Path,
        *,
        records: Iterable[ManagedInstance] | None = None,
    ) -> None:
        """The template's instances, or ``records`` (parents first) when it is restored."""
        self.name = name
        self.template = template
        self.template_dir = template_dir
        self.instances: dict[str, ManagedInstance] = {}
        self._children: dict[str | None, list[str]] = {}
        self._counts: Counter[InstanceStatus] = Counter()
        if records is None:
            for path, instance in walk(template.instances):
                self._insert(path, instance)
        else:
            for record in records:
                self._add_record(record)

    @property
    def graph(self) -> Graph:
        return self.template.graph

    # -- the tree ---------------------------------------------------------------------------

    def get(self, path: str) -> ManagedInstance:
        record = self.instances.get(path)
        if record is None:
            raise InstanceError(f"application {self.name!r} has no instance {path!r}")
        return record

    def children(self, path: str | None) -> list[ManagedInstance]:
        return [self.instances[child] for child in self._children.get(path, ())]

    def subtree(self, path: str) -> list[ManagedInstance]:
        """``path`` and its descendants, parents first (depth first, siblings in order)."""
        found: list[ManagedInstance] = []
        stack = [path]
        while stack:
            current = stack.pop()
            found.append(self.get(current))
            stack.extend(reversed(self._children.get(current, ())))
        return found

    def roots(self) -> list[ManagedInstance]:
        return self.children(None)

    def scoped_path(self, path: str) -> str:
        """The machine an instance runs on: its nearest scoped ancestor-or-self."""
        current: str | None = path
        while current is not None:
            if self.get(current).scoped:
                return current
            current = parent_path(current)
        raise InstanceError(f"instance {path!r} is on no machine: no ancestor uses a target")

    def set_status(self, record: ManagedInstance, status: InstanceStatus) -> None:
        """Change a record's status (keeps the per-status counts right)."""
        self._counts[record.status] -= 1
        self._counts[status] += 1
        record.status = status

    def count(self, status: InstanceStatus) -> int:
        """How many instances have ``status``: O(1), for waits re-checked after every change."""
        return self._counts[status]

    def all_in(self, status: InstanceStatus) -> bool:
        return self._counts[status] == len(self.instances)

    def machines(self) -> list[ManagedInstance]:
        return [r for r in self.instances.values() if r.scoped]

    def model_of(self, path: str) -> Instance:
        """The frozen model of ``path`` and its subtree (what an agent is sent)."""
        record = self.get(path)
        children = tuple(self.model_of(child.path) for child in self.children(path))
        return record.to_model(children)

    def model(self) -> tuple[Instance, ...]:
        return tuple(self.model_of(r.path) for r in self.roots())

    # -- changes ----------------------------------------------------------------------------

    def add_instance(
        self,
        parent: str | None,
        component: str,
        name: str,
        overrides: dict[str, str] | None = None,
    ) -> ManagedInstance:
        """Add an instance (not deployed) where the graph allows it."""
        if component not in self.graph.components:
            known = ", ".join(sorted(self.graph.components))
            raise InstanceError(f"unknown component {component!r}; the graph has: {known}")
        if not name or "/" in name:
            raise InstanceError(f"invalid instance name {name!r}: it may not be empty or hold '/'")
        if parent is None:
            if component not in roots(self.graph):
                raise InstanceError(f"{component!r} cannot be a root instance: give a parent")
        else:
            allowed = possible_children(self.graph, self.get(parent).component)
            if component not in allowed:
                raise InstanceError(
                    f"{component!r} cannot be a child of {parent!r} "
                    f"(an instance of {self.get(parent).component!r}); possible children: "
                    f"{', '.join(allowed) or 'none'}"
                )
        path = path_of(parent, name)
        if path in self.instances:
            raise InstanceError(f"an instance {path!r} already exists")
        instance = Instance(name=name, component=component, overrides=dict(overrides or {}))
        return self._insert(path, instance)

    def remove_instance(self, path: str) -> None:
        """Remove an instance and its subtree, which must all be NOT_DEPLOYED."""
        subtree = self.subtree(path)
        busy = [r.path for r in subtree if r.status is not InstanceStatus.NOT_DEPLOYED]
        if busy:
            raise InstanceError(
                f"cannot remove {path!r}: undeploy it first ({', '.join(busy)} still deployed)"
            )
        for record in subtree:
            del self.instances[record.path]
            self._counts[record.status] -= 1
            self._children.pop(record.path, None)
        self._children[parent_path(path)].remove(path)

    def _insert(self, path: str, instance: Instance) -> ManagedInstance:
        record = ManagedInstance(
            path=path,
            name=instance.name,
            component=instance.component,
            parent=parent_path(path),
            overrides=dict(instance.overrides),
            data=dict(instance.data),
            scoped=is_target(resolved_installer(self.graph, instance.component)),
        )
        return self._add_record(record)

    def _add_record(self, record: ManagedInstance) -> ManagedInstance:
        if record.parent is not None and record.parent not in self.instances:
            raise InstanceError(f"{record.path!r} comes before its parent {record.parent!r}")
        self.instances[record.path] = record
        self._counts[record.status] += 1
        self._children.setdefault(record.parent, []).append(record.path)
        return record

    def __iter__(self) -> Iterator[ManagedInstance]:
        """Every instance, parents before their children."""
        return iter([r for root in self.roots() for r in self.subtree(root.path)])
