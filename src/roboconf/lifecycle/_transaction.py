"""The handling of one event: the records it changes, the effects it emits, the work it leaves.

A :class:`Transaction` owns two work lists. *Internal events* are the exports of this agent's
own instances, applied at once to its other instances (a chain reaction never waits for the
messaging round trip; the echo that comes back later is idempotent). *Dirty paths* are the
instances whose surroundings changed: they may replay a queued request or issue a step that
waited for their descendants. Both are drained until nothing changes (state-triggered rules,
as in h11), so an event leaves every instance either stable or waiting for a step outcome.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from roboconf.lifecycle.effects import (
    Effect,
    Notify,
    PublishExports,
    Refused,
    RunStep,
    WithdrawExports,
)
from roboconf.lifecycle.events import ProviderRemoved, ProviderUpdated
from roboconf.lifecycle.state import AgentState, ImportChange, InstanceState, Step, Transition
from roboconf.model.types import InstanceStatus

STARTED = InstanceStatus.DEPLOYED_STARTED

#: the states an instance may leave for DEPLOYED_STARTED without running ``start`` again.
_MAY_LAND_STARTED = frozenset({InstanceStatus.STARTING, InstanceStatus.PROBLEM})


class Transaction:
    def __init__(self, state: AgentState) -> None:
        self.state = state
        self.effects: list[Effect] = []
        self.internal: deque[ProviderUpdated | ProviderRemoved] = deque()
        self._dirty: deque[str] = deque()
        self._dirty_set: set[str] = set()

    def record(self, path: str) -> InstanceState:
        return self.state.instances[path]

    def put(self, record: InstanceState) -> InstanceState:
        self.state.instances[record.path] = record
        return record

    def move(
        self,
        record: InstanceState,
        status: InstanceStatus,
        *,
        transition: Transition | None = None,
        reason: str | None = None,
        failed_step: Step | None = None,
        queued: tuple[InstanceStatus, ...] | None = None,
    ) -> InstanceState:
        """Give ``record`` a new state, and tell the DM. Entering DEPLOYED_STARTED publishes
        the exports, leaving it withdraws them: exports are published iff started. The import
        changes the instance missed are kept only while it may land DEPLOYED_STARTED without
        a new ``start`` (STARTING, PROBLEM): its next ``start`` reads the current imports."""
        moved = self.put(
            replace(
                record,
                status=status,
                transition=transition,
                reason=reason,
                failed_step=failed_step,
                queued=record.queued if queued is None else queued,
                missed=record.missed if status in _MAY_LAND_STARTED else (),
            )
        )
        before = record.status
        if before is not status or reason is not None:
            self.effects.append(Notify(path=record.path, status=status, reason=reason))
        if before is STARTED and status is not STARTED:
            self._withdraw(moved)
        elif status is STARTED and before is not STARTED:
            self._publish(moved)
        if before is not status:
            self.touch(moved)
        return moved

    def run_step(self, path: str, step: Step, change: ImportChange | None = None) -> None:
        self.effects.append(RunStep(path=path, step=step, change=change))

    def refuse(self, path: str, reason: str) -> None:
        self.effects.append(Refused(path=path, reason=reason))

    def next_dirty(self) -> InstanceState | None:
        """The next instance to re-examine, or None when there is none."""
        while self._dirty:
            path = self._dirty.popleft()
            self._dirty_set.discard(path)
            found = self.state.instances.get(path)
            if found is not None:
                return found
        return None

    def _publish(self, record: InstanceState) -> None:
        self.effects.append(PublishExports(path=record.path))
        for prefix, values in record.exports.items():
            self.internal.append(
                ProviderUpdated(
                    prefix=prefix,
                    provider_path=record.path,
                    values=values,
                    component=record.component,
                )
            )

    def _withdraw(self, record: InstanceState) -> None:
        self.effects.append(WithdrawExports(path=record.path))
        for prefix in record.exports:
            self.internal.append(ProviderRemoved(prefix=prefix, provider_path=record.path))

    def touch(self, record: InstanceState) -> None:
        """Mark what a change of state may unblock: the instance (its queue), children with
        queued requests (deploys waiting for this parent), ancestors waiting for descendants."""
        self._mark(record.path)
        instances = self.state.instances
        for child in record.children:
            if instances[child].queued:
                self._mark(child)
        parent = instances.get(record.parent) if record.parent is not None else None
        while parent is not None:
            if parent.transition is not None and not parent.transition.issued:
                self._mark(parent.path)
            parent = instances.get(parent.parent) if parent.parent is not None else None

    def _mark(self, path: str) -> None:
        if path not in self._dirty_set:
            self._dirty_set.add(path)
            self._dirty.append(path)
