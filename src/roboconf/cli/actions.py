"""What the remote commands ask the DM for, as values: from command-line arguments to request
bodies, with no I/O (so that the mapping is tested on its own).

An :class:`Action` applies to a :class:`Selection`: one instance (a state request) or a bulk
selection — everything, a subtree or a component's instances (the ``deploy-and-start-all``,
``stop-all`` and ``undeploy-all`` endpoints). ``plan`` sends the same requests as bodies.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from roboconf.errors import RoboconfError
from roboconf.model import InstanceStatus


class BadArguments(RoboconfError):
    """Arguments that do not make a request; the message says which and what to give."""


class Action(enum.Enum):
    """What a user asks for instances; the value is the command's name."""

    DEPLOY = "deploy"
    START = "start"
    STOP = "stop"
    UNDEPLOY = "undeploy"

    @property
    def requested(self) -> InstanceStatus:
        """The state a request for one instance asks for."""
        return _REQUESTED[self]

    @property
    def bulk(self) -> str | None:
        """The bulk endpoint (and plan action) of the action; None when there is none."""
        return _BULK.get(self)


_REQUESTED = {
    Action.DEPLOY: InstanceStatus.DEPLOYED_STOPPED,
    Action.START: InstanceStatus.DEPLOYED_STARTED,
    Action.STOP: InstanceStatus.DEPLOYED_STOPPED,
    Action.UNDEPLOY: InstanceStatus.NOT_DEPLOYED,
}
_BULK = {
    Action.START: "deploy-and-start-all",
    Action.STOP: "stop-all",
    Action.UNDEPLOY: "undeploy-all",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The instances a request is about: one ``path``, or in bulk every instance
    (``everything``), a subtree (``under``) or a component's instances (``component``)."""

    path: str | None = None
    everything: bool = False
    under: str | None = None
    component: str | None = None

    @classmethod
    def of(
        cls,
        path: str | None,
        *,
        everything: bool = False,
        under: str | None = None,
        component: str | None = None,
    ) -> Selection:
        """The selection the arguments make; exactly one way of selecting must be given."""
        given = [
            name
            for name, value in (
                ("PATH", path),
                ("--all", everything or None),
                ("--under", under),
                ("--component", component),
            )
            if value is not None
        ]
        if len(given) != 1:
            which = " and ".join(given) if given else "nothing"
            raise BadArguments(
                f"give exactly one of PATH, --all, --under PATH or --component NAME ({which} given)"
            )
        return cls(path=path, everything=everything, under=under, component=component)

    @property
    def is_bulk(self) -> bool:
        return self.path is None

    def body(self) -> dict[str, Any]:
        """The body of a bulk endpoint."""
        return {"under": self.under, "component": self.component}

    def covers(self, instance: Mapping[str, Any]) -> bool:
        """Whether an instance (API JSON) is selected."""
        if self.everything:
            return True
        if self.component is not None:
            return bool(instance["component"] == self.component)
        if self.under is not None:
            return is_under(instance["path"], self.under)
        return bool(instance["path"] == self.path)


def is_under(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or one of its descendants."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def check(action: Action, selection: Selection) -> None:
    """Refuse a bulk selection for an action without a bulk endpoint."""
    if selection.is_bulk and action.bulk is None:
        raise BadArguments(
            f"{action.value} applies to one instance only: give its PATH "
            "(to deploy and start many, use start --all, --under or --component)"
        )


def request_body(action: Action, selection: Selection) -> dict[str, Any]:
    """The plan request of ``action`` on ``selection``."""
    check(action, selection)
    if not selection.is_bulk:
        return {"action": "state", "path": selection.path, "status": action.requested.value}
    return {"action": action.bulk, **selection.body()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Addition:
    """A new instance: its parent's path (None for a root), component, name, overrides."""

    parent: str | None
    component: str
    name: str
    overrides: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The body of ``POST /applications/{app}/instances``."""
        return {
            "parent": self.parent,
            "component": self.component,
            "name": self.name,
            "overrides": dict(self.overrides),
        }

    @property
    def path(self) -> str:
        return f"{(self.parent or '').rstrip('/')}/{self.name}"


def add_body(addition: Addition) -> dict[str, Any]:
    """The plan request of an addition."""
    return {"action": "add", **addition.body()}


def remove_body(path: str) -> dict[str, Any]:
    """The plan request of a removal."""
    return {"action": "remove", "path": path}


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``name=value`` items as a mapping (the value may hold ``=``; the last one given wins)."""
    overrides: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise BadArguments(f"--override {item!r}: write it as NAME=VALUE (e.g. port=18080)")
        overrides[name.strip()] = value
    return overrides
