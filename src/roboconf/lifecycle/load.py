"""Building an agent's state: from its machine's part of the model, or from known statuses.

An agent feeds :func:`model_events` to :func:`~roboconf.lifecycle.machine.handle` when it
receives its model (the effects ask peers for the imports). :func:`restore` builds a state in
one go from statuses the DM already knows, with no effects: the starting point of a plan or a
simulation, and the "state in" of tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from roboconf.lifecycle.events import InstanceAdded
from roboconf.lifecycle.rules import ComponentRules, Values, by_prefix
from roboconf.lifecycle.state import AgentState, Step, Transition, new_record
from roboconf.model.instances import path_of
from roboconf.model.types import Instance, InstanceStatus

NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
STOPPED = InstanceStatus.DEPLOYED_STOPPED
STARTED = InstanceStatus.DEPLOYED_STARTED
PROBLEM = InstanceStatus.PROBLEM

#: the step a restored transitional instance is taken to be running.
_RUNNING: Mapping[InstanceStatus, Transition] = {
    InstanceStatus.DEPLOYING: Transition(
        step=Step.DEPLOY, origin=NOT_DEPLOYED, success=STOPPED, failure=NOT_DEPLOYED, issued=True
    ),
    InstanceStatus.STARTING: Transition(
        step=Step.START, origin=STOPPED, success=STARTED, failure=STOPPED, issued=True
    ),
    InstanceStatus.STOPPING: Transition(
        step=Step.STOP, origin=STARTED, success=STOPPED, failure=PROBLEM, issued=True
    ),
    InstanceStatus.UNDEPLOYING: Transition(
        step=Step.UNDEPLOY, origin=STOPPED, success=NOT_DEPLOYED, failure=PROBLEM, issued=True
    ),
}


def model_events(
    rules: Mapping[str, ComponentRules],
    machine: Instance,
    machine_path: str,
    exports: Callable[[str, Instance], Values] | None = None,
) -> list[InstanceAdded]:
    """InstanceAdded for every instance an agent runs under its machine, parents first.

    Nested machines (scoped components) and their subtrees belong to other agents: skipped.
    ``exports(path, instance)`` gives resolved values (e.g. ``instance_exports`` with the
    machine's ip); the graph's defaults without it.
    """
    events: list[InstanceAdded] = []
    stack = [(machine_path, child) for child in reversed(machine.children)]
    while stack:
        parent, instance = stack.pop()
        rule = rules.get(instance.component)
        if rule is not None and rule.scoped:
            continue
        path = path_of(parent, instance.name)
        events.append(
            InstanceAdded(
                path=path,
                component=instance.component,
                parent=parent,
                exports=None if exports is None else exports(path, instance),
            )
        )
        stack.extend((path, child) for child in reversed(instance.children))
    return events


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceSeed:
    """An instance as the DM knows it. ``exports`` as in InstanceAdded."""

    path: str
    component: str
    parent: str | None
    status: InstanceStatus = NOT_DEPLOYED
    exports: Values | None = None
    reason: str | None = None


def restore(
    rules: Mapping[str, ComponentRules],
    seeds: Iterable[InstanceSeed],
    *,
    scoped_path: str | None = None,
    providers: Mapping[str, Mapping[str, Values]] | None = None,
    restart_limit: int = 5,
) -> AgentState:
    """A state holding ``seeds`` (parents first) in their statuses, with no effects.

    ``providers`` are the known providers outside this state (prefix → path → values); the
    started seeds provide their own exports. A transitional seed is taken to be running its
    step (feed its outcome to move on); a PROBLEM seed counts as "maybe running". Raises
    ValueError for an unknown component or parent (a programming error, not user input).
    """
    seeds = list(seeds)
    state = AgentState(rules=rules, scoped_path=scoped_path, restart_limit=restart_limit)
    for prefix, known in (providers or {}).items():
        state.providers[prefix] = {path: dict(values) for path, values in known.items()}
    for seed in seeds:
        if seed.component not in rules:
            raise ValueError(f"{seed.path}: unknown component {seed.component!r}")
        if seed.status is STARTED:
            own = rules[seed.component].exports if seed.exports is None else by_prefix(seed.exports)
            for prefix, values in own.items():
                state.providers.setdefault(prefix, {})[seed.path] = dict(values)
                state.provider_components[(prefix, seed.path)] = seed.component
    for seed in seeds:
        known_parent = seed.parent is None or seed.parent == scoped_path
        if not known_parent and seed.parent not in state.instances:
            raise ValueError(f"{seed.path}: parent {seed.parent} is not restored before it")
        record = new_record(
            state,
            path=seed.path,
            component=seed.component,
            parent=seed.parent,
            exports=seed.exports,
        )
        state.add(
            replace(
                record,
                status=seed.status,
                reason=seed.reason,
                transition=_RUNNING.get(seed.status),
            )
        )
    return state
