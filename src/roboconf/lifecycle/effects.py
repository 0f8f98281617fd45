"""What the shell must do after an event. The life cycle only decides; the agent performs.

The values to publish and the imports to hand to a plug-in are read from the state
(``state.instances[path].exports`` / ``.imports``) when the effect is performed.
"""

from __future__ import annotations

from dataclasses import dataclass

from roboconf.lifecycle.state import ImportChange, Step
from roboconf.model.types import InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStep:
    """Run a recipe step (never CHECK); its outcome comes back as StepSucceeded, StepFailed or
    StepTimedOut. ``change`` is set for ``update`` only."""

    path: str
    step: Step
    change: ImportChange | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishExports:
    """Publish the instance's exports (every prefix of ``record.exports``) and answer requests
    for them from now on."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawExports:
    """Tell peers that the instance's exports are gone; stop answering requests for them."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestImports:
    """Ask peers to publish ``prefix`` (and listen to it from now on)."""

    prefix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify:
    """Tell the DM: the instance's new state, or a failure reason for its current one."""

    path: str
    status: InstanceStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """A request that was refused or a queued request that was cancelled, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRestart:
    """Send RestartDue for ``path`` after a back-off chosen by the shell from ``attempt``
    (1, 2, …; never more than the state's restart limit)."""

    path: str
    attempt: int


Effect = (
    RunStep | PublishExports | WithdrawExports | RequestImports | Notify | Refused | ScheduleRestart
)
