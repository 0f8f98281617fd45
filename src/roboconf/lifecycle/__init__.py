"""The instance life cycle as pure functions: (state, event) -> (new state, effects). No I/O.

The agent holds an :class:`AgentState`, feeds it events with :func:`handle` and performs the
effects it gets back; the DM and the simulations drive it with :func:`settle`. The rules are
those of spec 20 (the decisions it leaves open are documented in ``_operations``).
"""

from roboconf.lifecycle.driver import StepRunner, bulk_requests, settle, succeed
from roboconf.lifecycle.effects import (
    Effect,
    Notify,
    PublishExports,
    Refused,
    RequestImports,
    RunStep,
    ScheduleRestart,
    WithdrawExports,
)
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
from roboconf.lifecycle.explain import Explanation, explain
from roboconf.lifecycle.load import InstanceSeed, model_events, restore
from roboconf.lifecycle.machine import handle
from roboconf.lifecycle.rules import ComponentRules, Values, rules_from_graph, tailored
from roboconf.lifecycle.state import (
    AgentState,
    ImportChange,
    Imports,
    InstanceState,
    Step,
    Transition,
    readdress,
)

__all__ = [
    "AgentState",
    "ComponentRules",
    "Effect",
    "Event",
    "Explanation",
    "HealthCheckFailed",
    "HealthCheckPassed",
    "ImportChange",
    "Imports",
    "InstanceAdded",
    "InstanceRemoved",
    "InstanceSeed",
    "InstanceState",
    "Notify",
    "ProviderRemoved",
    "ProviderUpdated",
    "PublishExports",
    "Refused",
    "RequestImports",
    "RestartDue",
    "RunStep",
    "ScheduleRestart",
    "StateRequested",
    "Step",
    "StepFailed",
    "StepRunner",
    "StepSucceeded",
    "StepTimedOut",
    "Transition",
    "Values",
    "WithdrawExports",
    "bulk_requests",
    "explain",
    "handle",
    "model_events",
    "readdress",
    "restore",
    "rules_from_graph",
    "settle",
    "succeed",
    "tailored",
]
