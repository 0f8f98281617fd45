"""The plan of a request (a dry run): what it would do, computed without doing it.

A plan answers "what happens if I ask for this?" with the machines the DM would create or
terminate and the recipe steps the agents would run, in order, each with the imports its recipe
would see. It is computed by the same parts that do the work: the DM's rules for a request
(mirrored from :mod:`roboconf.dm.manager`: a scoped instance is a machine, created before any
request for what it holds and coming up started; undeploying a machine undeploys its nested
machines, then what its agent holds, then terminates it), and the life-cycle core for
everything else, with the whole application in one :class:`~roboconf.lifecycle.AgentState`, as
if every agent ran the core and every export reached every importer (which is what the
messaging does), every step succeeding. Steps already running finish first.

The application is never changed: the simulation starts from a state restored from its observed
statuses (and, for additions and removals, from a copy of it). Values known only once a machine
runs (its ``ip``) or once the DM allocates them (random ports of an added instance) are None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from roboconf.dm.application import Application, InstanceError, ManagedInstance
from roboconf.lifecycle import (
    Event,
    Imports,
    InstanceAdded,
    InstanceSeed,
    ProviderRemoved,
    ProviderUpdated,
    Refused,
    RunStep,
    StateRequested,
    StepSucceeded,
    Values,
    restore,
    rules_from_graph,
    settle,
    succeed,
)
from roboconf.lifecycle.rules import by_prefix
from roboconf.model import InstanceStatus
from roboconf.model.instances import parent_path
from roboconf.model.variables import instance_exports

NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
DEPLOYING = InstanceStatus.DEPLOYING
STOPPED = InstanceStatus.DEPLOYED_STOPPED
STARTED = InstanceStatus.DEPLOYED_STARTED
UNRESOLVED = InstanceStatus.UNRESOLVED
UNDEPLOYING = InstanceStatus.UNDEPLOYING
PROBLEM = InstanceStatus.PROBLEM
REQUESTABLE = (NOT_DEPLOYED, STOPPED, STARTED)

BulkAction = Literal["deploy-and-start-all", "stop-all", "undeploy-all"]

#: what the REST API returns: plain dicts, lists, strings, numbers and None.
JsonObject = dict[str, object]


# -- requests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    """Ask for ``status`` at ``path`` (a machine is either DEPLOYED_STARTED or NOT_DEPLOYED)."""

    path: str
    status: InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkChange:
    """A bulk action on everything, the subtree at ``under``, or every instance of
    ``component`` (which, as in the DM, takes precedence over ``under``)."""

    action: BulkAction
    under: str | None = None
    component: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddInstance:
    """Add an instance. Its plan also starts it when its parent runs: what adding a server to
    a running application is for (under a parent that does not run, it is only added)."""

    parent: str | None
    component: str
    name: str
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveInstance:
    path: str


PlanRequest = StateChange | BulkChange | AddInstance | RemoveInstance


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStep:
    """A recipe step that would run (``order`` from 1) on ``machine``, and the imports its
    recipe would see: prefix → provider path → the variables it imports from that provider."""

    order: int
    machine: str
    path: str
    component: str
    step: str
    imports: Imports

    def to_json(self) -> JsonObject:
        return {
            "order": self.order,
            "machine": self.machine,
            "path": self.path,
            "component": self.component,
            "step": self.step,
            "imports": _plain_imports(self.imports),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a request would do. ``machines_to_create`` lists parents first,
    ``machines_to_terminate`` nested machines first. ``final`` holds the end status of every
    instance (machines included) the request names, changes or runs a step of, parents first;
    ``refused`` says why parts of the request would be refused; ``unresolved`` gives the
    instances of ``final`` left UNRESOLVED with their mandatory prefixes that have no provider.
    """

    machines_to_create: tuple[str, ...] = ()
    machines_to_terminate: tuple[str, ...] = ()
    steps: tuple[PlannedStep, ...] = ()
    final: Mapping[str, InstanceStatus] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    unresolved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def plan_to_json(plan: Plan) -> JsonObject:
    """The plan as the REST API returns it (statuses as their names)."""
    return {
        "machines_to_create": list(plan.machines_to_create),
        "machines_to_terminate": list(plan.machines_to_terminate),
        "steps": [step.to_json() for step in plan.steps],
        "final": {path: status.value for path, status in plan.final.items()},
        "refused": list(plan.refused),
        "unresolved": {path: list(prefixes) for path, prefixes in plan.unresolved.items()},
    }


def plan(application: Application, request: PlanRequest) -> Plan:
    """What ``request`` would do to ``application`` (left untouched)."""
    observed = {record.path: record.status for record in application}
    match request:
        case StateChange(path=path, status=status):
            simulation = _Simulation(application, observed)
            simulation.request(path, status)
            return simulation.result(named=(path,))
        case BulkChange():
            simulation = _Simulation(application, observed)
            simulation.bulk(request)
            return simulation.result()
        case AddInstance(parent=parent):
            changed = _copy(application)
            try:
                added = changed.add_instance(
                    parent, request.component, request.name, dict(request.overrides)
                )
            except InstanceError as error:
                return Plan(refused=(str(error),))
            simulation = _Simulation(changed, observed)
            if simulation.runs(parent):
                simulation.request(added.path, STARTED)
            return simulation.result(named=(added.path,))
        case RemoveInstance(path=path):
            try:
                _copy(application).remove_instance(path)
            except InstanceError as error:
                return Plan(refused=(str(error),))
            return Plan()


def _copy(application: Application) -> Application:
    """An independent application with the same instances and observed statuses."""
    template = replace(application.template, instances=application.model())
    twin = Application(application.name, template, application.template_dir)
    for record in application:
        copied = twin.get(record.path)
        twin.set_status(copied, record.status)
        copied.reason = record.reason
    return twin


def _plain_imports(imports: Imports) -> dict[str, dict[str, dict[str, str | None]]]:
    return {
        prefix: {provider: dict(values) for provider, values in providers.items()}
        for prefix, providers in imports.items()
    }


# -- the simulation --------------------------------------------------------------------------


class _Simulation:
    """The application's instances in one life-cycle state; its machines beside it, as the DM
    keeps them (an agent's machine is not in its state either: it counts as started, and its
    exports reach the instances as any provider's do)."""

    def __init__(self, application: Application, observed: Mapping[str, InstanceStatus]) -> None:
        self.application = application
        self.observed = observed
        self.machines: dict[str, InstanceStatus] = {}
        #: the machine of every instance an agent runs (instances on no machine are left out)
        self.machine_of: dict[str, str] = {}
        self.created: list[str] = []
        self.terminated: list[str] = []
        self.steps: list[PlannedStep] = []
        self.refused: list[str] = []
        seeds: list[InstanceSeed] = []
        providers: dict[str, dict[str, Values]] = {}
        for record in application:
            if record.scoped:
                self.machines[record.path] = record.status
                if record.status is STARTED:
                    for prefix, values in self._machine_exports(record).items():
                        providers.setdefault(prefix, {})[record.path] = values
                continue
            machine = self._machine_above(record.path)
            if machine is None:
                continue
            self.machine_of[record.path] = machine
            # The DM withdrew the exports of a lost machine's instances on their behalf.
            lost = self.machines[machine] is PROBLEM
            seeds.append(
                InstanceSeed(
                    path=record.path,
                    component=record.component,
                    parent=None if record.parent in self.machines else record.parent,
                    status=record.status,
                    exports={} if lost else self._exports(record, machine),
                    reason=record.reason,
                )
            )
        self.state = restore(rules_from_graph(application.graph), seeds, providers=providers)
        self.pending: list[Event] = [
            StepSucceeded(path=r.path, step=r.transition.step)
            for r in self.state.instances.values()
            if r.transition is not None
        ]
        self.flush()

    # -- what the DM does --------------------------------------------------------------------

    def request(self, path: str, status: InstanceStatus) -> None:
        """A state request, as the DM handles it: machines are created or terminated, the
        requests for other instances go to their machine's agent."""
        if status not in REQUESTABLE:
            names = ", ".join(s.value for s in REQUESTABLE)
            self.refused.append(f"{status.value} cannot be requested: ask for one of {names}")
            return
        try:
            record = self.application.get(path)
        except InstanceError as error:
            self.refused.append(str(error))
            return
        if record.scoped:
            if status is NOT_DEPLOYED:
                self.undeploy_machine(path)
            elif status is STARTED:
                self.deploy_machine(path)
            else:
                self.refused.append(
                    f"{path} is a machine: it is either deployed and started, or not deployed; "
                    "stop the instances it holds instead"
                )
            return
        machine = self.machine_of.get(path)
        if machine is None:
            self.refused.append(f"{path} is on no machine: no ancestor uses a target")
            return
        if status is not NOT_DEPLOYED:
            if not self.deploy_machine(machine):
                return
        elif self.machines[machine] is NOT_DEPLOYED:
            return
        elif self.machines[machine] is PROBLEM:
            self.refused.append(
                f"{self._lost(machine)}: the request would wait for its agent to come back; "
                "undeploy the machine to undeploy what it holds"
            )
            return
        self.pending.append(StateRequested(path=path, target=status))

    def bulk(self, change: BulkChange) -> None:
        try:
            selected = self._selection(change)
        except InstanceError as error:
            self.refused.append(str(error))
            return
        if change.action == "deploy-and-start-all":
            for record in selected:
                self.request(record.path, STARTED)
        elif change.action == "stop-all":
            for record in selected:
                if not record.scoped and record.status is not NOT_DEPLOYED:
                    self.request(record.path, STOPPED)
        else:
            chosen = {record.path for record in selected}
            for record in selected:
                if record.parent not in chosen:
                    self.request(record.path, NOT_DEPLOYED)

    def deploy_machine(self, path: str) -> bool:
        """Create the machine (machines above it first) unless it runs or is coming; False
        when it cannot be deployed now."""
        status = self.machines[path]
        if status is PROBLEM:
            self.refused.append(
                f"{self._lost(path)}: undeploy it to create it again, or wait for its agent to "
                "come back"
            )
            return False
        if status is UNDEPLOYING:
            self.refused.append(
                f"machine {path} is being undeployed: deploy it again once it is NOT_DEPLOYED"
            )
            return False
        if status is NOT_DEPLOYED:
            above = self._machine_above(path)
            if above is not None and not self.deploy_machine(above):
                return False
            self.created.append(path)
        if status in (NOT_DEPLOYED, DEPLOYING):
            record = self.application.get(path)
            self.pending.extend(
                ProviderUpdated(
                    prefix=prefix, provider_path=path, values=values, component=record.component
                )
                for prefix, values in self._machine_exports(record).items()
            )
            self.machines[path] = STARTED
        return True

    def _lost(self, machine: str) -> str:
        return f"machine {machine} is in PROBLEM ({self.application.get(machine).reason})"

    def undeploy_machine(self, path: str) -> None:
        """Nested machines first; then the agent undeploys what it holds (if it runs); then
        the machine is terminated."""
        if self.machines[path] is NOT_DEPLOYED:
            return
        self.flush()
        for record in self.application.subtree(path)[1:]:
            if record.scoped:
                self.undeploy_machine(record.path)
        if self.machines[path] is STARTED:
            self.pending.extend(
                StateRequested(path=child.path, target=NOT_DEPLOYED)
                for child in self.application.children(path)
                if child.path in self.machine_of
            )
            self.flush()
        self._terminate(path)

    def _terminate(self, path: str) -> None:
        """The machine is gone. Its exports, and those of the instances its agent could not
        undeploy (it was lost), are withdrawn on their behalf; those instances are
        NOT_DEPLOYED again (forgotten, then added back as new)."""
        state = self.state
        gone = {path}
        added: list[Event] = []
        for child in self.application.children(path):
            if child.path not in self.machine_of:
                continue
            held = list(state.subtree(child.path))
            if all(r.status is NOT_DEPLOYED for r in held):
                continue
            for record in reversed(held):
                state.discard(record)
            gone.update(r.path for r in held)
            added.extend(
                InstanceAdded(
                    path=r.path,
                    component=r.component,
                    parent=r.parent,
                    exports={n: v for values in r.exports.values() for n, v in values.items()},
                )
                for r in held
            )
        self.pending.extend(
            ProviderRemoved(prefix=prefix, provider_path=provider)
            for prefix, known in state.providers.items()
            for provider in known
            if provider in gone
        )
        self.pending.extend(added)
        self.flush()
        self.machines[path] = NOT_DEPLOYED
        self.terminated.append(path)

    def _selection(self, change: BulkChange) -> list[ManagedInstance]:
        application = self.application
        if change.component is not None:
            if change.component not in application.graph.components:
                raise InstanceError(f"the graph has no component {change.component!r}")
            return [r for r in application if r.component == change.component]
        return application.subtree(change.under) if change.under is not None else list(application)

    # -- the life cycle ----------------------------------------------------------------------

    def flush(self) -> None:
        """Handle the pending events and everything they cause, every step succeeding."""
        pending, self.pending = self.pending, []
        for effect in settle(self.state, pending, self._run):
            if isinstance(effect, Refused):
                self.refused.append(effect.reason)

    def _run(self, effect: RunStep) -> Event:
        record = self.state.instances[effect.path]
        self.steps.append(
            PlannedStep(
                order=len(self.steps) + 1,
                machine=self.machine_of[effect.path],
                path=effect.path,
                component=record.component,
                step=effect.step.value,
                imports=_plain_imports(record.imports),
            )
        )
        return succeed(effect)

    def runs(self, path: str | None) -> bool:
        """Whether the instance or machine at ``path`` is started (None: no parent, no)."""
        if path is None:
            return False
        if path in self.machines:
            return self.machines[path] is STARTED
        record = self.state.instances.get(path)
        return record is not None and record.status is STARTED

    def result(self, named: Iterable[str] = ()) -> Plan:
        self.flush()
        statuses = {**self.machines, **self.state.statuses()}
        affected = {path for path, status in statuses.items() if self.observed.get(path) != status}
        affected.update(step.path for step in self.steps)
        affected.update(self.created, self.terminated, named)
        final = {
            r.path: statuses[r.path]
            for r in self.application
            if r.path in affected and r.path in statuses
        }
        unresolved = {
            path: self.state.missing_prefixes(self.state.instances[path])
            for path, status in final.items()
            if status is UNRESOLVED
        }
        return Plan(
            machines_to_create=tuple(self.created),
            machines_to_terminate=tuple(self.terminated),
            steps=tuple(self.steps),
            final=final,
            refused=tuple(dict.fromkeys(self.refused)),
            unresolved=unresolved,
        )

    # -- values ------------------------------------------------------------------------------

    def _machine_above(self, path: str) -> str | None:
        """The nearest machine strictly above ``path`` (parents are seen first)."""
        parent = parent_path(path)
        if parent is None or parent in self.machines:
            return parent
        return self.machine_of.get(parent)

    def _exports(self, record: ManagedInstance, machine: str) -> dict[str, str | None]:
        """The instance's resolved exports; the machine's ip only if the machine has run."""
        known = self.machines[machine] not in (NOT_DEPLOYED, DEPLOYING)
        ip = self.application.get(machine).data.get("ip") if known else None
        return instance_exports(self.application.graph, record.to_model(), record.path, ip=ip)

    def _machine_exports(self, record: ManagedInstance) -> dict[str, Values]:
        return by_prefix(self._exports(record, record.path))
