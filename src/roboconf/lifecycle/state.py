"""The records the life cycle works on: one frozen record per instance, one holder per agent.

Efficiency choice: :class:`AgentState` is a small *mutable* holder of frozen records.
:func:`~roboconf.lifecycle.machine.handle` replaces the entries of the instances an event
changes (a dict update per change, never a copy of the whole world), so 3,000 instances cost
what their events cost. The records themselves never change; take :meth:`AgentState.copy`
(shallow, records shared) before handling an event when the old state must be kept (dry runs,
tests comparing before and after).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from roboconf.lifecycle.rules import ComponentRules, Values, by_prefix, tailored
from roboconf.model.types import InstanceStatus

#: imported prefix → provider path → the provider's values this importer keeps.
Imports = Mapping[str, Mapping[str, Values]]


class Step(enum.Enum):
    """A recipe step. ``CHECK`` is scheduled by the shell (never a RunStep effect); it names
    the cause of a failed health check."""

    DEPLOY = "deploy"
    START = "start"
    STOP = "stop"
    UNDEPLOY = "undeploy"
    UPDATE = "update"
    CHECK = "check"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportChange:
    """What an ``update`` step is told: which provider of which prefix came, changed or left,
    and its values (the last known ones when it left). ``component`` is the provider's
    component when known."""

    prefix: str
    provider_path: str
    added_or_changed: bool
    values: Values
    component: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """The step an instance in a transitional state is going through.

    ``issued`` is False while the step waits for the instance's descendants (a parent stops and
    undeploys after its children). ``origin`` is the state it left, where it returns when the
    wait is cancelled; ``success``/``failure`` are where the step's outcome leads.
    """

    step: Step
    origin: InstanceStatus
    success: InstanceStatus
    failure: InstanceStatus
    issued: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceState:
    """One instance as its agent sees it.

    ``queued`` holds requested states waiting for the current transition (or for the parent to
    be deployed), replayed in order. ``reason`` and ``failed_step`` tell the last failure and
    are cleared by the next change of state. ``missed`` holds the import changes the
    instance's process has not been told about: those that arrived while ``start`` ran or while
    it is in a PROBLEM it may come back from without a new ``start`` (a passing health check).
    They are replayed as updates when it lands DEPLOYED_STARTED, and dropped when ``start`` runs
    again (it reads the current imports) or when it goes anywhere else. ``restarts`` counts the
    restarts scheduled since the instance was last known healthy (a health check passing while
    it is started) or since the last request.
    """

    path: str
    component: str
    parent: str | None
    children: tuple[str, ...] = ()
    status: InstanceStatus = InstanceStatus.NOT_DEPLOYED
    exports: Mapping[str, Values] = field(default_factory=dict)
    imports: Imports = field(default_factory=dict)
    queued: tuple[InstanceStatus, ...] = ()
    transition: Transition | None = None
    reason: str | None = None
    failed_step: Step | None = None
    missed: tuple[ImportChange, ...] = ()
    restarts: int = 0


@dataclass(slots=True, kw_only=True, eq=False)
class AgentState:
    """The instances one agent runs, and what it knows of the providers of its imports.

    ``scoped_path`` is the agent's machine (the root of its subtree): it is not in
    ``instances`` and counts as started. Any parent missing from ``instances`` counts the same,
    so a whole application can be held in one state (``scoped_path`` None) for plans and
    simulations. ``providers`` is prefix → provider path → values; ``provider_components`` is
    (prefix, provider path) → the provider's component, when its publication said;
    ``importers`` is prefix → the paths of the instances importing it (insertion-ordered).
    """

    rules: Mapping[str, ComponentRules]
    scoped_path: str | None = None
    restart_limit: int = 5
    instances: dict[str, InstanceState] = field(default_factory=dict)
    providers: dict[str, dict[str, Values]] = field(default_factory=dict)
    provider_components: dict[tuple[str, str], str] = field(default_factory=dict)
    importers: dict[str, dict[str, None]] = field(default_factory=dict)

    def copy(self) -> AgentState:
        """An independent holder sharing the (frozen) records: O(number of instances)."""
        return AgentState(
            rules=self.rules,
            scoped_path=self.scoped_path,
            restart_limit=self.restart_limit,
            instances=dict(self.instances),
            providers={prefix: dict(known) for prefix, known in self.providers.items()},
            provider_components=dict(self.provider_components),
            importers={prefix: dict(paths) for prefix, paths in self.importers.items()},
        )

    def parent_started(self, record: InstanceState) -> bool:
        """Whether the parent runs (the agent's machine, or any parent not held here, does)."""
        parent = self.instances.get(record.parent) if record.parent is not None else None
        return parent is None or parent.status is InstanceStatus.DEPLOYED_STARTED

    def missing_prefixes(self, record: InstanceState) -> tuple[str, ...]:
        """The mandatory prefixes of ``record`` with no known provider, sorted."""
        mandatory = self.rules[record.component].mandatory_prefixes
        return tuple(sorted(p for p in mandatory if not record.imports.get(p)))

    def statuses(self) -> dict[str, InstanceStatus]:
        return {path: record.status for path, record in self.instances.items()}

    def subtree(self, path: str) -> Iterator[InstanceState]:
        """The instance at ``path`` and its descendants, parents before children."""
        stack = [path]
        while stack:
            record = self.instances[stack.pop()]
            yield record
            stack.extend(reversed(record.children))

    def add(self, record: InstanceState) -> None:
        """Index a new record: under its parent, and as an importer of its prefixes."""
        self.instances[record.path] = record
        parent = self.instances.get(record.parent) if record.parent is not None else None
        if parent is not None:
            self.instances[parent.path] = _with_child(parent, record.path)
        for prefix in self.rules[record.component].imports:
            self.importers.setdefault(prefix, {})[record.path] = None

    def discard(self, record: InstanceState) -> None:
        """Forget a record (its children must be forgotten too, by the caller)."""
        del self.instances[record.path]
        parent = self.instances.get(record.parent) if record.parent is not None else None
        if parent is not None:
            kept = tuple(child for child in parent.children if child != record.path)
            self.instances[parent.path] = replace(parent, children=kept)
        for prefix in self.rules[record.component].imports:
            self.importers.get(prefix, {}).pop(record.path, None)


def new_record(
    state: AgentState,
    *,
    path: str,
    component: str,
    parent: str | None,
    exports: Values | None = None,
) -> InstanceState:
    """A NOT_DEPLOYED record whose imports are what the agent already knows of its providers.

    ``exports`` are the instance's resolved values (overrides, ``ip``…); the graph's defaults
    when None.
    """
    rules = state.rules[component]
    return InstanceState(
        path=path,
        component=component,
        parent=parent,
        exports=rules.exports if exports is None else by_prefix(exports),
        imports=known_imports(state, rules, path),
    )


def readdress(state: AgentState, old: str, new: str) -> list[str]:
    """The machine's address changed from ``old`` to ``new`` (a container reconnected to its
    network with another one): every exported ``ip`` variable that held ``old`` now holds
    ``new``. The paths whose exports changed, to publish again."""
    changed = []
    for path, record in list(state.instances.items()):
        exports = {
            prefix: {
                name: new if value == old and name.rpartition(".")[2] == "ip" else value
                for name, value in values.items()
            }
            for prefix, values in record.exports.items()
        }
        if exports != record.exports:
            state.instances[path] = replace(record, exports=exports)
            changed.append(path)
    return changed


def known_imports(state: AgentState, rules: ComponentRules, path: str) -> Imports:
    """The known providers of every prefix ``rules`` imports, never ``path`` itself."""
    result: dict[str, Mapping[str, Values]] = {}
    for prefix in rules.imports:
        known = {
            provider: tailored(rules, prefix, values)
            for provider, values in state.providers.get(prefix, {}).items()
            if provider != path
        }
        if known:
            result[prefix] = known
    return result


def _with_child(parent: InstanceState, child: str) -> InstanceState:
    return replace(parent, children=(*parent.children, child))
