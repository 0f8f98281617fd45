"""What happens to an agent: requests, step outcomes, providers, health checks, model changes.

Events are facts the shell reports; :func:`~roboconf.lifecycle.machine.handle` turns each into
state changes and effects. Events about unknown instances or stale steps (a result for a step
that is no longer running) change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from roboconf.lifecycle.rules import Values
from roboconf.lifecycle.state import Step
from roboconf.model.types import InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRequested:
    """A user or command asks for NOT_DEPLOYED, DEPLOYED_STOPPED or DEPLOYED_STARTED."""

    path: str
    target: InstanceStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSucceeded:
    path: str
    step: Step


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFailed:
    """``reason`` says why (exit code, last lines of output)."""

    path: str
    step: Step
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepTimedOut:
    """The shell gave up on a step (and cancelled it). ``reason`` may say more (the time limit,
    the last line of output)."""

    path: str
    step: Step
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderUpdated:
    """A provider published its values for ``prefix`` (first time, or again). ``component`` is
    the provider's component, when the publication says."""

    prefix: str
    provider_path: str
    values: Values
    component: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderRemoved:
    """A provider withdrew its values for ``prefix``."""

    prefix: str
    provider_path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheckFailed:
    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheckPassed:
    """A passing check: it brings a PROBLEM instance back, and tells that a started one is
    healthy (which resets its restart count)."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartDue:
    """The back-off of a ScheduleRestart effect has elapsed."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceAdded:
    """A new instance under ``parent`` (the agent's machine, or one of its instances).

    ``exports`` are its resolved values by full name (``instance_exports``); None means the
    graph's defaults.
    """

    path: str
    component: str
    parent: str | None
    exports: Values | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRemoved:
    """Remove an instance and its subtree: only when all of it is NOT_DEPLOYED and idle."""

    path: str


Event = (
    StateRequested
    | StepSucceeded
    | StepFailed
    | StepTimedOut
    | ProviderUpdated
    | ProviderRemoved
    | HealthCheckFailed
    | HealthCheckPassed
    | RestartDue
    | InstanceAdded
    | InstanceRemoved
)
