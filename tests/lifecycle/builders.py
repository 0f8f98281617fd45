"""Compact builders for life cycle tables: one small graph, states written as lines, effects
rendered as short exact sentences (so that a row reads like the rule it tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pytest

from roboconf.lifecycle import (
    AgentState,
    Effect,
    Event,
    InstanceSeed,
    Notify,
    ProviderRemoved,
    ProviderUpdated,
    PublishExports,
    Refused,
    RequestImports,
    RunStep,
    ScheduleRestart,
    StateRequested,
    Step,
    StepFailed,
    StepSucceeded,
    Values,
    WithdrawExports,
    handle,
    restore,
    rules_from_graph,
    settle,
)
from roboconf.model.instances import parent_path
from roboconf.model.types import InstanceStatus
from tests.model.graphs import graph_of

GRAPH = graph_of(
    """
Machine {
    installer: target;
    children: Server, Db, Cache, Web, Front, Node;
}
Server {
    installer: script;
    exports: port = 80;
    children: App;
}
App {
    installer: script;
    children: Module;
}
Module {
    installer: script;
}
Db {
    installer: script;
    exports: ip, port = 5432;
}
Cache {
    installer: script;
    exports: host = cache.local;
}
Web {
    installer: script;
    exports: ip, port = 8080;
    imports: Db.ip, Db.port, Cache.host (optional);
    children: Module;
}
Front {
    installer: script;
    imports: Web.*;
}
Node {
    installer: script;
    exports: ip, rank = 1;
    imports: Node.* (optional);
}
"""
)
RULES = rules_from_graph(GRAPH)

#: the agent's machine: the root of every state below.
MACHINE = "/m"

#: a Db published by another agent.
DB: Values = {"Db.ip": "10.0.0.9", "Db.port": "5432"}
OTHER_DB = "/o/db"

SHORT = {
    "ND": InstanceStatus.NOT_DEPLOYED,
    "STOPPED": InstanceStatus.DEPLOYED_STOPPED,
    "STARTED": InstanceStatus.DEPLOYED_STARTED,
    "WAITING": InstanceStatus.WAITING_FOR_ANCESTOR,
}


def status(name: str) -> InstanceStatus:
    return SHORT.get(name) or InstanceStatus[name]


def short(value: InstanceStatus) -> str:
    return next((k for k, v in SHORT.items() if v is value), value.value)


def world(
    *lines: str,
    providers: Mapping[str, Mapping[str, Values]] | None = None,
    given: Sequence[Event] = (),
) -> AgentState:
    """A state from lines ``"/m/web Web STARTED"`` (parents first; status ND when omitted),
    external ``providers`` (prefix → path → values), then the ``given`` events handled."""
    seeds = []
    for line in lines:
        path, component, *rest = line.split()
        seeds.append(
            InstanceSeed(
                path=path,
                component=component,
                parent=parent_path(path),
                status=status(rest[0]) if rest else InstanceStatus.NOT_DEPLOYED,
            )
        )
    state = restore(RULES, seeds, scoped_path=MACHINE, providers=providers)
    for event in given:
        handle(state, event)
    return state


def statuses(state: AgentState) -> str:
    """``"/m/web STARTED, /m/web/mod WAITING queued ND"``, in the state's order."""
    return ", ".join(
        f"{path} {short(r.status)}" + "".join(f" queued {short(q)}" for q in r.queued)
        for path, r in state.instances.items()
    )


def render(effect: Effect) -> str:
    match effect:
        case RunStep(change=None):
            return f"run {effect.path} {effect.step.value}"
        case RunStep(change=change) if change is not None:
            sign = "+" if change.added_or_changed else "-"
            provider = f"{sign}{change.provider_path}"
            if change.component is not None:
                provider = f"{provider} ({change.component})"
            values = " ".join(f"{k}={v}" for k, v in sorted(change.values.items()))
            return f"update {effect.path} <- {change.prefix} {provider} {values}"
        case Notify(reason=None):
            return f"notify {effect.path} {short(effect.status)}"
        case Notify():
            return f"notify {effect.path} {short(effect.status)}: {effect.reason}"
        case PublishExports():
            return f"publish {effect.path}"
        case WithdrawExports():
            return f"withdraw {effect.path}"
        case RequestImports():
            return f"ask {effect.prefix}"
        case Refused():
            return f"refuse {effect.path}: {effect.reason}"
        case ScheduleRestart():
            return f"restart {effect.path} #{effect.attempt}"
    raise AssertionError(effect)


def rendered(effects: Iterable[Effect]) -> list[str]:
    return [render(effect) for effect in effects]


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One rule: a state in (lines, providers, events already handled), an event, the statuses
    out (every instance, queues included) and the exact effects out."""

    id: str
    state: tuple[str, ...]
    event: Event
    after: str
    effects: tuple[str, ...] = ()
    providers: Mapping[str, Mapping[str, Values]] | None = None
    given: tuple[Event, ...] = ()


def table(rows: Sequence[Row]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("row", rows, ids=[row.id for row in rows])


def check(row: Row) -> AgentState:
    state = world(*row.state, providers=row.providers, given=row.given)
    returned, effects = handle(state, row.event)
    assert returned is state
    assert statuses(state) == row.after
    assert rendered(effects) == list(row.effects)
    return state


def check_settled(
    lines: Sequence[str],
    events: Sequence[Event],
    after: str,
    effects: Sequence[str],
    providers: Mapping[str, Mapping[str, Values]] | None = None,
) -> AgentState:
    """Like :func:`check`, every step succeeding (``settle``)."""
    state = world(*lines, providers=providers)
    assert rendered(settle(state, events)) == list(effects)
    assert statuses(state) == after
    return state


def req(path: str, target: str) -> StateRequested:
    return StateRequested(path=path, target=status(target))


def ok(path: str, step: str) -> StepSucceeded:
    return StepSucceeded(path=path, step=Step(step))


def failed(path: str, step: str, reason: str = "exit 1") -> StepFailed:
    return StepFailed(path=path, step=Step(step), reason=reason)


def provide(
    prefix: str, provider: str, values: Values, component: str | None = None
) -> ProviderUpdated:
    return ProviderUpdated(
        prefix=prefix, provider_path=provider, values=values, component=component
    )


def withdraw(prefix: str, provider: str) -> ProviderRemoved:
    return ProviderRemoved(prefix=prefix, provider_path=provider)
