"""The life cycle's entry point: ``handle(state, event) -> (state, effects)``.

Event-triggered transitions are dispatched here; state-triggered rules (replaying queues,
running the steps that waited for descendants, the chain reactions of this agent's own
exports) then run until nothing changes. Nothing here raises on a bad request: illegal moves
change nothing and say why in a Refused effect. Stale events (a result for a step that is not
running, a failing health check for an instance that is not started) are ignored.
"""

from __future__ import annotations

from dataclasses import replace

from roboconf.lifecycle import _operations as ops
from roboconf.lifecycle._imports import provider_removed, provider_updated
from roboconf.lifecycle._transaction import Transaction
from roboconf.lifecycle.effects import Effect, RequestImports
from roboconf.lifecycle.events import (
    Event,
    HealthCheckFailed,
    HealthCheckPassed,
    InstanceAdded,
    InstanceRemoved,
    ProviderRemoved,
    ProviderUpdated,
    RestartDue,
    StateRequested,
    StepFailed,
    StepSucceeded,
    StepTimedOut,
)
from roboconf.lifecycle.state import AgentState, InstanceState, Step, new_record

_REQUESTABLE_NAMES = ", ".join(status.value for status in ops.REQUESTABLE)


def handle(state: AgentState, event: Event) -> tuple[AgentState, tuple[Effect, ...]]:
    """Apply ``event`` to ``state`` (updated in place, see :mod:`.state`) and return it with
    the effects the shell must perform, in order."""
    tx = Transaction(state)
    if not _echo(state, event):
        _dispatch(tx, event)
    while True:
        if tx.internal:
            _dispatch(tx, tx.internal.popleft())
            continue
        record = tx.next_dirty()
        if record is None:
            break
        if record.transition is not None:
            if not record.transition.issued:
                ops.issue_waiting_step(tx, record, record.transition)
        elif record.queued:
            ops.replay(tx, record)
    return state, tuple(tx.effects)


def _echo(state: AgentState, event: Event) -> bool:
    """Whether ``event`` reports the exports of one of this agent's own instances: those are
    applied first-hand when they change, so an echo coming back later (maybe after a newer
    change) is ignored."""
    match event:
        case ProviderUpdated() | ProviderRemoved():
            return event.provider_path in state.instances
    return False


def _dispatch(tx: Transaction, event: Event) -> None:
    match event:
        case StateRequested():
            _requested(tx, event)
        case StepSucceeded():
            _succeeded(tx, event)
        case StepFailed():
            _failed(tx, event)
        case StepTimedOut():
            _timed_out(tx, event)
        case ProviderUpdated():
            provider_updated(tx, event)
        case ProviderRemoved():
            provider_removed(tx, event)
        case HealthCheckFailed():
            record = tx.state.instances.get(event.path)
            if record is not None and record.status is ops.STARTED:
                ops.problem(tx, record, f"health check failed: {event.reason}", Step.CHECK)
        case HealthCheckPassed():
            _healthy(tx, event.path)
        case RestartDue():
            record = _restartable(tx, event.path)
            if record is not None:
                ops.start(tx, record)
        case InstanceAdded():
            _added(tx, event)
        case InstanceRemoved():
            _removed(tx, event)


def _healthy(tx: Transaction, path: str) -> None:
    """A passing check: a started instance is healthy (its restarts are over), one in a
    PROBLEM that restarting may cure is running again."""
    record = tx.state.instances.get(path)
    if record is not None and record.status is ops.STARTED:
        if record.restarts:
            tx.put(replace(record, restarts=0))
        return
    record = _restartable(tx, path)
    if record is not None:
        ops.land_started(tx, record)


def _restartable(tx: Transaction, path: str) -> InstanceState | None:
    """The instance at ``path`` if it is in a PROBLEM that restarting may cure."""
    record = tx.state.instances.get(path)
    if record is None or record.status is not ops.PROBLEM:
        return None
    return record if record.failed_step in ops.RESTARTABLE else None


# -- requests --------------------------------------------------------------------------------


def _requested(tx: Transaction, event: StateRequested) -> None:
    record = tx.state.instances.get(event.path)
    if record is None:
        if event.path == tx.state.scoped_path:
            tx.refuse(event.path, f"{event.path} is the agent's machine: the DM manages it")
        else:
            tx.refuse(event.path, f"no instance {event.path} on this agent")
    elif event.target not in ops.REQUESTABLE:
        tx.refuse(
            event.path,
            f"{event.target.value} cannot be requested for {event.path}; "
            f"request one of {_REQUESTABLE_NAMES}",
        )
    else:
        ops.request(tx, record, event.target)


# -- step outcomes ---------------------------------------------------------------------------


def _running(tx: Transaction, path: str, step: Step) -> InstanceState | None:
    """The instance whose ``step`` is running, or None for a stale outcome."""
    record = tx.state.instances.get(path)
    if record is None or record.transition is None:
        return None
    transition = record.transition
    return record if transition.step is step and transition.issued else None


def _succeeded(tx: Transaction, event: StepSucceeded) -> None:
    record = _running(tx, event.path, event.step)
    if record is None or record.transition is None:
        return
    if event.step is Step.START:
        ops.land_started(tx, record)
        return
    record = tx.move(record, record.transition.success)
    resumes = record.status is ops.UNRESOLVED or (
        record.status is ops.WAITING and tx.state.parent_started(record)
    )
    if resumes:
        ops.start(tx, record)


def _failed(tx: Transaction, event: StepFailed) -> None:
    reason = f"step {event.step.value} failed: {event.reason}"
    if event.step is Step.UPDATE:
        record = tx.state.instances.get(event.path)
        if record is not None and record.status is ops.STARTED:
            tx.move(record, ops.STARTED, reason=reason, failed_step=Step.UPDATE)
        return
    record = _running(tx, event.path, event.step)
    if record is not None and record.transition is not None:
        ops.fail(tx, record, record.transition.failure, reason, event.step)


def _timed_out(tx: Transaction, event: StepTimedOut) -> None:
    reason = f"step {event.step.value} timed out"
    if event.reason:
        reason = f"{reason}: {event.reason}"
    record: InstanceState | None
    if event.step is Step.UPDATE:
        record = tx.state.instances.get(event.path)
        if record is None or record.status is not ops.STARTED:
            return
    else:
        record = _running(tx, event.path, event.step)
        if record is None:
            return
    ops.problem(tx, record, reason, event.step)


# -- model changes ---------------------------------------------------------------------------


def _added(tx: Transaction, event: InstanceAdded) -> None:
    state = tx.state
    parent = event.parent
    if event.path in state.instances or event.path == state.scoped_path:
        tx.refuse(event.path, f"{event.path} already exists")
    elif event.component not in state.rules:
        tx.refuse(event.path, f"cannot add {event.path}: unknown component {event.component!r}")
    elif parent is not None and parent != state.scoped_path and parent not in state.instances:
        tx.refuse(event.path, f"cannot add {event.path}: its parent {parent} is not on this agent")
    else:
        imported = state.rules[event.component].imports
        unheard = sorted(prefix for prefix in imported if not state.importers.get(prefix))
        state.add(
            new_record(
                state,
                path=event.path,
                component=event.component,
                parent=parent,
                exports=event.exports,
            )
        )
        tx.effects.extend(RequestImports(prefix=prefix) for prefix in unheard)


def _removed(tx: Transaction, event: InstanceRemoved) -> None:
    state = tx.state
    if event.path not in state.instances:
        tx.refuse(event.path, f"no instance {event.path} on this agent")
        return
    subtree = list(state.subtree(event.path))
    busy = next((r for r in subtree if r.status is not ops.NOT_DEPLOYED or r.queued), None)
    if busy is not None:
        what = "has queued requests" if busy.queued else f"is {busy.status.value}"
        tx.refuse(event.path, f"cannot remove {event.path}: {busy.path} {what}; undeploy it first")
        return
    for record in reversed(subtree):
        state.discard(record)
