"""Why an instance is not started: what it waits for and what went wrong last."""

from __future__ import annotations

from dataclasses import dataclass

from roboconf.lifecycle.state import AgentState, InstanceState, Step
from roboconf.model.types import InstanceStatus

STARTED = InstanceStatus.DEPLOYED_STARTED


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """``missing_prefixes``: mandatory imports with no provider; ``waiting_for``: the ancestor
    (on this agent) that blocks the chain of non-started ancestors; ``reason``/``failed_step``:
    the last failure; ``queued``: requests not yet applied."""

    path: str
    status: InstanceStatus
    missing_prefixes: tuple[str, ...]
    waiting_for: str | None
    reason: str | None
    failed_step: Step | None
    queued: tuple[InstanceStatus, ...]
    step_running: Step | None

    def __str__(self) -> str:
        parts = [f"{self.path} is {self.status.value}"]
        if self.step_running is not None:
            parts.append(f"its {self.step_running.value} step is running")
        if self.waiting_for is not None:
            parts.append(f"it waits for its ancestor {self.waiting_for} to be started")
        if self.missing_prefixes:
            names = ", ".join(self.missing_prefixes)
            parts.append(f"no provider for its mandatory imports {names}")
        if self.reason is not None:
            parts.append(f"last failure: {self.reason}")
        if self.queued:
            parts.append("queued requests: " + ", ".join(s.value for s in self.queued))
        return "; ".join(parts) + "."


def explain(state: AgentState, path: str) -> Explanation | None:
    """What keeps ``path`` from being started (None for an unknown instance)."""
    record = state.instances.get(path)
    if record is None:
        return None
    transition = record.transition
    return Explanation(
        path=path,
        status=record.status,
        missing_prefixes=() if record.status is STARTED else state.missing_prefixes(record),
        waiting_for=_blocking_ancestor(state, record),
        reason=record.reason,
        failed_step=record.failed_step,
        queued=record.queued,
        step_running=transition.step if transition and transition.issued else None,
    )


def _blocking_ancestor(state: AgentState, record: InstanceState) -> str | None:
    """The highest ancestor of an unbroken chain of non-started ancestors above ``record``."""
    blocking = None
    current = state.instances.get(record.parent) if record.parent is not None else None
    while current is not None and current.status is not STARTED:
        blocking = current.path
        current = state.instances.get(current.parent) if current.parent is not None else None
    return blocking
