"""Running the life cycle synchronously: dry runs, plans, simulations, table tests.

:func:`settle` plays the shell with simulated plug-ins: each RunStep effect is answered at once
by a callback (by default: every step succeeds), and the outcome is fed back, until no event
is left. :func:`bulk_requests` gives the requests of "deploy and start all", "stop all" and
"undeploy all" in the order they must be sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from roboconf.lifecycle.effects import Effect, RunStep
from roboconf.lifecycle.events import Event, StateRequested, StepSucceeded
from roboconf.lifecycle.machine import handle
from roboconf.lifecycle.state import AgentState
from roboconf.model.types import InstanceStatus

#: answers a step: the outcome event, or None to leave the step running.
StepRunner = Callable[[RunStep], Event | None]


def succeed(step: RunStep) -> Event:
    """The simulated plug-in: every step succeeds."""
    return StepSucceeded(path=step.path, step=step.step)


def settle(state: AgentState, events: Iterable[Event], run: StepRunner = succeed) -> list[Effect]:
    """Handle ``events`` in order, then the outcomes of the steps they cause (first in, first
    out); return every effect, in order. ``state`` is updated in place."""
    pending: deque[Event] = deque(events)
    effects: list[Effect] = []
    while pending:
        _, produced = handle(state, pending.popleft())
        effects.extend(produced)
        for effect in produced:
            if isinstance(effect, RunStep):
                outcome = run(effect)
                if outcome is not None:
                    pending.append(outcome)
    return effects


def bulk_requests(
    state: AgentState, target: InstanceStatus, under: str | None = None
) -> list[StateRequested]:
    """The requests that bring every instance (or the subtree at ``under``) to ``target``.

    DEPLOYED_STARTED: every instance, parents first (deploys wait for their parents).
    DEPLOYED_STOPPED: every instance that is deployed and not already stopped, parents first
    (a parent's stop covers its descendants; their own requests then change nothing).
    NOT_DEPLOYED: the topmost instances only (undeploying covers the subtree).
    """
    if under is None:
        tops = [r.path for r in state.instances.values() if r.parent not in state.instances]
    elif under in state.instances:
        tops = [under]
    else:
        return []
    if target is InstanceStatus.NOT_DEPLOYED:
        return [StateRequested(path=path, target=target) for path in tops]
    selection = [record for top in tops for record in state.subtree(top)]
    if target is InstanceStatus.DEPLOYED_STOPPED:
        lower = (InstanceStatus.NOT_DEPLOYED, InstanceStatus.DEPLOYED_STOPPED)
        selection = [record for record in selection if record.status not in lower]
    return [StateRequested(path=record.path, target=target) for record in selection]
