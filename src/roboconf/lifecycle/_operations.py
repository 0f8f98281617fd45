"""The operations of the life cycle: requests, deploy, start, stop, undeploy, losses, failures.

Decisions (spec 20 leaves them open):

- A request made while an instance is in a transitional state is queued and replayed, in
  order, when the transition ends. A compound request (deploy then start, stop then undeploy)
  puts its second half at the head of the queue. A failed step cancels the queue (each
  cancelled request is reported by a Refused effect): what follows assumed it would succeed.
- *deploy* needs the parent deployed and idle. While the parent is busy (transitional, in
  PROBLEM, or with queued requests of its own) the request waits in the child's queue, so that
  "deploy and start all", sent top-down, just works; a parent that is NOT_DEPLOYED and idle,
  or being undeployed, makes the request refused.
- A request for DEPLOYED_STOPPED or NOT_DEPLOYED applies to the whole subtree, descendants
  first: a started descendant is stopped (its ``stop`` recipe runs, children's first), one that
  waits to start (UNRESOLVED, WAITING_FOR_ANCESTOR) is set DEPLOYED_STOPPED with no recipe, a
  NOT_DEPLOYED descendant is left alone. A parent's ``stop`` recipe runs once its descendants
  are stopped; its ``undeploy`` recipe once they are NOT_DEPLOYED (cancelled, with the
  reason, if one of them cannot get there).
- Losing the imports or the health of a started instance stops its started descendants (their
  ``stop`` recipes run, as in Roboconf) into WAITING_FOR_ANCESTOR; losing its imports also runs
  its own ``stop`` recipe, into UNRESOLVED. A failing health check does not (PROBLEM).
- PROBLEM after a failed or timed-out deploy/undeploy means "files uncertain": a request
  redeploys or undeploys. After anything else it means "maybe running": a request for
  DEPLOYED_STARTED runs ``start``, the others run ``stop`` first.
- Restart policy: a PROBLEM caused by a health check, a ``start`` or an ``update`` schedules
  a restart (``start`` again, back-off chosen by the shell from the attempt number). The
  count survives a successful restart: it starts over only when a health check passes on
  the started instance, or on a request. After ``restart_limit`` restarts the instance
  stays in PROBLEM, its reason ending "(gave up after N restarts)".
- Import changes that reach an instance while ``start`` runs, or while it is in a PROBLEM
  a passing health check may end, are replayed as updates when it lands DEPLOYED_STARTED
  (the latest per provider), and dropped when ``start`` runs again or it goes elsewhere.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import replace

from roboconf.lifecycle._transaction import Transaction
from roboconf.lifecycle.effects import RequestImports, ScheduleRestart
from roboconf.lifecycle.state import AgentState, ImportChange, InstanceState, Step, Transition
from roboconf.model.types import InstanceStatus

NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
DEPLOYING = InstanceStatus.DEPLOYING
STOPPED = InstanceStatus.DEPLOYED_STOPPED
UNRESOLVED = InstanceStatus.UNRESOLVED
WAITING = InstanceStatus.WAITING_FOR_ANCESTOR
STARTING = InstanceStatus.STARTING
STARTED = InstanceStatus.DEPLOYED_STARTED
STOPPING = InstanceStatus.STOPPING
UNDEPLOYING = InstanceStatus.UNDEPLOYING
PROBLEM = InstanceStatus.PROBLEM

#: the only states users and commands may request.
REQUESTABLE = (NOT_DEPLOYED, STOPPED, STARTED)

#: PROBLEM caused by these steps leaves the recipe files uncertain.
FILES_UNCERTAIN = frozenset({Step.DEPLOY, Step.UNDEPLOY})

#: PROBLEM caused by these steps may be cured by restarting (``start`` again).
RESTARTABLE = frozenset({Step.CHECK, Step.START, Step.UPDATE})


class _Readiness(enum.Enum):
    READY = "ready"
    WAIT = "wait"
    REFUSE = "refuse"


# -- requests ------------------------------------------------------------------------------


def request(tx: Transaction, record: InstanceState, target: InstanceStatus) -> None:
    """A requested state: applied now, or queued behind what the instance is doing. A request
    takes the instance out of the restart policy's hands: its restart count starts over."""
    if record.restarts:
        record = tx.put(replace(record, restarts=0))
    if record.transition is not None or record.queued:
        last = record.queued[-1] if record.queued else _heading(record)
        if last is not target:
            tx.put(replace(record, queued=(*record.queued, target)))
        return
    apply(tx, record, target)


def _heading(record: InstanceState) -> InstanceStatus | None:
    return None if record.transition is None else record.transition.success


def apply(tx: Transaction, record: InstanceState, target: InstanceStatus) -> None:
    """The request table of spec 20 §2, for an instance that is not in a transition."""
    status = record.status
    if status is PROBLEM:
        _apply_to_problem(tx, record, target)
    elif target is status:
        return
    elif target is NOT_DEPLOYED:
        record = _lower_descendants(tx, record, target)
        if status is STARTED:
            stop(tx, record, landing=STOPPED, then=NOT_DEPLOYED)
        else:
            undeploy(tx, record)
    elif target is STOPPED:
        if status is NOT_DEPLOYED:
            deploy(tx, record, target)
            return
        record = _lower_descendants(tx, record, target)
        if status is STARTED:
            stop(tx, record, landing=STOPPED)
        else:
            tx.move(record, STOPPED)
    elif status is NOT_DEPLOYED:
        deploy(tx, record, target)
    elif status in (STOPPED, WAITING):
        start(tx, record)


def _apply_to_problem(tx: Transaction, record: InstanceState, target: InstanceStatus) -> None:
    if record.failed_step in FILES_UNCERTAIN:
        if target is NOT_DEPLOYED:
            undeploy(tx, _lower_descendants(tx, record, target))
        else:
            deploy(tx, record, target)
    elif target is STARTED:
        start(tx, record)
    else:
        record = _lower_descendants(tx, record, target)
        stop(tx, record, landing=STOPPED, then=NOT_DEPLOYED if target is NOT_DEPLOYED else None)


def _lower_descendants(
    tx: Transaction, record: InstanceState, target: InstanceStatus
) -> InstanceState:
    """Request ``target`` for the children that are above it (each does the same for its own
    children first); returns ``record`` as it is now."""
    for path in record.children:
        child = tx.record(path)
        if not _at_most(child, target):
            request(tx, child, target)
    return tx.record(record.path)


def _at_most(record: InstanceState, target: InstanceStatus) -> bool:
    if record.status is NOT_DEPLOYED:
        return True
    idle = not record.queued and record.transition is None
    uncertain = record.status is PROBLEM and record.failed_step in FILES_UNCERTAIN
    return target is STOPPED and idle and (record.status is STOPPED or uncertain)


def replay(tx: Transaction, record: InstanceState) -> None:
    """Apply the queued requests of an idle instance until one starts a transition or waits.

    A shorter queue may unblock the children waiting for this parent: they are re-examined.
    """
    original = record.queued
    while record.transition is None and record.queued:
        before = record.queued
        apply(tx, tx.put(replace(record, queued=before[1:])), before[0])
        record = tx.record(record.path)
        if record.queued == before:
            break
    if record.queued != original:
        tx.touch(record)


# -- deploy and undeploy ---------------------------------------------------------------------


def deploy(tx: Transaction, record: InstanceState, target: InstanceStatus) -> None:
    """Deploy (then start, for a DEPLOYED_STARTED request) once the parent is deployed."""
    readiness = _parent_readiness(tx.state, record)
    if readiness is _Readiness.WAIT:
        tx.put(replace(record, queued=(target, *record.queued)))
        return
    if readiness is _Readiness.REFUSE:
        parent = tx.record(record.parent or "")
        tx.refuse(
            record.path,
            f"cannot deploy {record.path}: its parent {parent.path} is {parent.status.value}; "
            "deploy the parent first",
        )
        return
    queued = (STARTED, *record.queued) if target is STARTED else record.queued
    transition = Transition(
        step=Step.DEPLOY, origin=record.status, success=STOPPED, failure=NOT_DEPLOYED, issued=True
    )
    tx.move(record, DEPLOYING, transition=transition, queued=queued)
    tx.run_step(record.path, Step.DEPLOY)


def _parent_readiness(state: AgentState, record: InstanceState) -> _Readiness:
    """READY under a deployed idle parent; WAIT while it is busy; REFUSE when it is
    NOT_DEPLOYED and idle, or being undeployed (which waits for its children: no deadlock)."""
    parent = state.instances.get(record.parent) if record.parent is not None else None
    if parent is None:
        return _Readiness.READY
    if parent.status is UNDEPLOYING or (parent.status is NOT_DEPLOYED and not parent.queued):
        return _Readiness.REFUSE
    if parent.transition is not None or parent.queued or parent.status is PROBLEM:
        return _Readiness.WAIT
    return _Readiness.READY


def undeploy(tx: Transaction, record: InstanceState) -> None:
    """UNDEPLOYING now; the ``undeploy`` recipe runs once the descendants are NOT_DEPLOYED."""
    transition = Transition(
        step=Step.UNDEPLOY,
        origin=record.status,
        success=NOT_DEPLOYED,
        failure=PROBLEM,
        issued=False,
    )
    tx.move(record, UNDEPLOYING, transition=transition)


# -- start and stop --------------------------------------------------------------------------


def start(tx: Transaction, record: InstanceState) -> None:
    """Start if the parent runs and every mandatory prefix has a provider; else wait."""
    if not tx.state.parent_started(record):
        if record.status is not WAITING:
            tx.move(record, WAITING)
        return
    missing = tx.state.missing_prefixes(record)
    if missing:
        if record.status is not UNRESOLVED:
            tx.move(record, UNRESOLVED)
        tx.effects.extend(RequestImports(prefix=prefix) for prefix in missing)
        return
    transition = Transition(
        step=Step.START, origin=record.status, success=STARTED, failure=record.status, issued=True
    )
    tx.move(replace(record, missed=()), STARTING, transition=transition)
    tx.run_step(record.path, Step.START)


def land_started(tx: Transaction, record: InstanceState) -> None:
    """The instance runs (start succeeded, health came back): DEPLOYED_STARTED if its parent
    still runs and its imports are still complete, else it is stopped again. The restart count
    is kept: only a passing health check (or a request) shows that the restarts are over."""
    if not tx.state.parent_started(record):
        stop(tx, record, landing=WAITING)
    elif tx.state.missing_prefixes(record):
        stop(tx, record, landing=UNRESOLVED)
    else:
        missed = record.missed
        record = tx.move(record, STARTED)
        for change in _latest(missed):
            tx.run_step(record.path, Step.UPDATE, change)
        for path in record.children:
            child = tx.record(path)
            if child.status is WAITING:
                start(tx, child)


def _latest(changes: Iterable[ImportChange]) -> Iterable[ImportChange]:
    latest: dict[tuple[str, str], ImportChange] = {}
    for change in changes:
        latest[(change.prefix, change.provider_path)] = change
    return latest.values()


def stop(
    tx: Transaction,
    record: InstanceState,
    *,
    landing: InstanceStatus,
    then: InstanceStatus | None = None,
) -> None:
    """STOPPING now (exports withdrawn); the ``stop`` recipe runs once no descendant runs."""
    queued = record.queued if then is None else (then, *record.queued)
    transition = Transition(
        step=Step.STOP, origin=record.status, success=landing, failure=PROBLEM, issued=False
    )
    tx.move(record, STOPPING, transition=transition, queued=queued)


def lose_descendants(tx: Transaction, record: InstanceState) -> None:
    """The started descendants of an instance that stops running go WAITING_FOR_ANCESTOR."""
    for path in record.children:
        child = tx.record(path)
        if child.status is STARTED:
            lose_descendants(tx, child)
            stop(tx, tx.record(path), landing=WAITING)


def lose_imports(tx: Transaction, record: InstanceState) -> None:
    """A mandatory prefix lost its last provider: stop into UNRESOLVED, descendants waiting."""
    lose_descendants(tx, record)
    stop(tx, tx.record(record.path), landing=UNRESOLVED)


# -- waiting steps ---------------------------------------------------------------------------


def issue_waiting_step(tx: Transaction, record: InstanceState, transition: Transition) -> None:
    """Run the ``stop``/``undeploy`` recipe that waited for the descendants, if they are done."""
    if transition.step is Step.STOP and _stop_blocked(tx.state, record):
        return
    if transition.step is Step.UNDEPLOY:
        children = [tx.record(path) for path in record.children]
        deployed = [child for child in children if child.status is not NOT_DEPLOYED]
        if any(child.transition is not None or child.queued for child in deployed):
            return
        if deployed:
            stuck = deployed[0]
            reason = f"undeploy cancelled: {stuck.path} is still {stuck.status.value}"
            fail(tx, record, transition.origin, reason, Step.UNDEPLOY)
            return
    tx.put(replace(record, transition=replace(transition, issued=True)))
    tx.run_step(record.path, transition.step)


def _stop_blocked(state: AgentState, record: InstanceState) -> bool:
    for path in record.children:
        child = state.instances[path]
        if child.status in (STARTED, STARTING, STOPPING):
            return True
        if child.status is PROBLEM and _stop_blocked(state, child):
            return True
    return False


# -- failures --------------------------------------------------------------------------------


def problem(tx: Transaction, record: InstanceState, reason: str, step: Step) -> None:
    """PROBLEM with a reason; a started instance's descendants go WAITING_FOR_ANCESTOR."""
    if record.status is STARTED:
        lose_descendants(tx, record)
        record = tx.record(record.path)
    fail(tx, record, PROBLEM, reason, step)


def fail(
    tx: Transaction, record: InstanceState, status: InstanceStatus, reason: str, step: Step
) -> None:
    """Land on ``status`` with the reason, cancel the queue, schedule a restart if it helps."""
    restart = status is PROBLEM and step in RESTARTABLE
    limit = tx.state.restart_limit
    if restart and record.restarts >= limit:
        reason = f"{reason} (gave up after {limit} restarts)"
        restart = False
    cancelled = record.queued
    record = tx.move(record, status, reason=reason, failed_step=step, queued=())
    for target in cancelled:
        tx.refuse(record.path, f"request for {target.value} cancelled: {reason}")
    if restart:
        attempt = record.restarts + 1
        tx.put(replace(record, restarts=attempt))
        tx.effects.append(ScheduleRestart(path=record.path, attempt=attempt))
