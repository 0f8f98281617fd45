"""Random event sequences: nothing raises, invariants always hold, and everything settles
once every step succeeds.

The test plays the shell: it answers only the steps the life cycle asked for (success, failure
or timeout, in any order), mixes in stale outcomes, providers of another agent, health checks,
restarts, requests of any state and model changes.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from roboconf.lifecycle import (
    Effect,
    Event,
    HealthCheckFailed,
    HealthCheckPassed,
    InstanceAdded,
    InstanceRemoved,
    ProviderRemoved,
    ProviderUpdated,
    PublishExports,
    RestartDue,
    RunStep,
    ScheduleRestart,
    StateRequested,
    Step,
    StepFailed,
    StepSucceeded,
    StepTimedOut,
    Values,
    WithdrawExports,
    handle,
)
from roboconf.lifecycle.state import known_imports
from roboconf.model.instances import parent_path
from roboconf.model.types import InstanceStatus
from tests.lifecycle.builders import RULES, world

LINES = (
    "/m/srv Server",
    "/m/srv/app App",
    "/m/srv/app/mod Module",
    "/m/db Db",
    "/m/cache Cache",
    "/m/web Web",
    "/m/web/mod Module",
    "/m/front Front",
    "/m/n1 Node",
    "/m/n2 Node",
)
COMPONENTS = dict(line.split() for line in LINES)
PATHS = st.sampled_from([*COMPONENTS, "/m", "/m/unknown"])
STEPS = st.sampled_from(list(Step))
REQUESTABLE = [
    InstanceStatus.NOT_DEPLOYED,
    InstanceStatus.DEPLOYED_STOPPED,
    InstanceStatus.DEPLOYED_STARTED,
]
WANTED = st.sampled_from(REQUESTABLE * 3 + list(InstanceStatus))
TRANSIT = {
    InstanceStatus.DEPLOYING,
    InstanceStatus.STARTING,
    InstanceStatus.STOPPING,
    InstanceStatus.UNDEPLOYING,
}
STARTED = InstanceStatus.DEPLOYED_STARTED
OUTSIDE = st.sampled_from(["/o/a", "/o/b"])
DB_VALUES = [{"Db.ip": "10.0.0.1", "Db.port": "1"}, {"Db.ip": "10.0.0.2", "Db.port": "1"}]
PREFIX_VALUES = {
    "Db": DB_VALUES,
    "Cache": [{"Cache.host": "a"}, {"Cache.host": "b"}],
    "Web": [{"Web.ip": "w", "Web.port": "1"}, {"Web.ip": "w", "Web.port": "2"}],
    "Node": [{"Node.ip": "n", "Node.rank": "1"}],
}


class LifeCycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = world(*LINES)
        self.published: set[str] = set()
        self.pending: list[RunStep] = []
        #: what each instance's process was told of its imports: at start, then by updates.
        self.told: dict[str, dict[str, dict[str, Values]]] = {}

    # -- playing the shell -----------------------------------------------------------------

    def feed(self, event: Event) -> None:
        _, effects = handle(self.state, event)
        for effect in effects:
            self.perform(effect)

    def perform(self, effect: Effect) -> None:
        match effect:
            case PublishExports():
                assert effect.path not in self.published
                self.published.add(effect.path)
            case WithdrawExports():
                assert effect.path in self.published
                self.published.discard(effect.path)
            case RunStep():
                assert effect.step is not Step.CHECK
                self.pending.append(effect)
                self.tell(effect)
            case ScheduleRestart():
                assert 1 <= effect.attempt <= self.state.restart_limit

    def tell(self, step: RunStep) -> None:
        """A recipe reads the imports when it runs (``start``) or hears of one change
        (``update``)."""
        if step.step is Step.START:
            imports = self.state.instances[step.path].imports
            self.told[step.path] = {prefix: dict(known) for prefix, known in imports.items()}
        elif step.change is not None:
            change = step.change
            known = self.told.setdefault(step.path, {}).setdefault(change.prefix, {})
            if change.added_or_changed:
                known[change.provider_path] = change.values
            else:
                known.pop(change.provider_path, None)
            if not known:
                del self.told[step.path][change.prefix]

    def answer(self, index: int, outcome: str) -> None:
        step = self.pending.pop(index % len(self.pending))
        if outcome == "ok":
            self.feed(StepSucceeded(path=step.path, step=step.step))
        elif outcome == "failed":
            self.feed(StepFailed(path=step.path, step=step.step, reason="boom"))
        else:
            self.feed(StepTimedOut(path=step.path, step=step.step))

    # -- rules -----------------------------------------------------------------------------

    @initialize(running=st.booleans())
    def begin(self, running: bool) -> None:
        """Half of the runs start from a running application."""
        if running:
            self.feed(ProviderUpdated(prefix="Db", provider_path="/o/a", values=DB_VALUES[0]))
            for path in COMPONENTS:
                self.feed(StateRequested(path=path, target=STARTED))
            self.succeed_all()

    @rule()
    def succeed_all(self) -> None:
        while self.pending:
            self.answer(0, "ok")

    @rule(path=PATHS, wanted=WANTED)
    def request(self, path: str, wanted: InstanceStatus) -> None:
        self.feed(StateRequested(path=path, target=wanted))

    @precondition(lambda self: bool(self.pending))
    @rule(
        index=st.integers(min_value=0, max_value=50),
        outcome=st.sampled_from(["ok", "ok", "ok", "failed", "timeout"]),
    )
    def answer_a_step(self, index: int, outcome: str) -> None:
        self.answer(index, outcome)

    @rule(path=PATHS, step=STEPS, outcome=st.sampled_from(["ok", "failed", "timeout"]))
    def stale_outcome(self, path: str, step: Step, outcome: str) -> None:
        if any(p.path == path and p.step is step for p in self.pending):
            return
        if outcome == "ok":
            self.feed(StepSucceeded(path=path, step=step))
        elif outcome == "failed":
            self.feed(StepFailed(path=path, step=step, reason="stale"))
        else:
            self.feed(StepTimedOut(path=path, step=step))

    @rule(prefix=st.sampled_from(sorted(PREFIX_VALUES)), provider=OUTSIDE, data=st.data())
    def outside_provider_publishes(self, prefix: str, provider: str, data: st.DataObject) -> None:
        values = data.draw(st.sampled_from(PREFIX_VALUES[prefix]))
        self.feed(ProviderUpdated(prefix=prefix, provider_path=provider, values=values))

    @rule(prefix=st.sampled_from(sorted(PREFIX_VALUES)), provider=OUTSIDE)
    def outside_provider_leaves(self, prefix: str, provider: str) -> None:
        self.feed(ProviderRemoved(prefix=prefix, provider_path=provider))

    @rule(path=st.sampled_from(["/m/db", "/m/web", "/m/n1"]), publish=st.booleans())
    def echo_of_own_exports(self, path: str, publish: bool) -> None:
        prefix = COMPONENTS[path]
        if publish:
            values = PREFIX_VALUES[prefix][0]
            self.feed(ProviderUpdated(prefix=prefix, provider_path=path, values=values))
        else:
            self.feed(ProviderRemoved(prefix=prefix, provider_path=path))

    @rule(path=PATHS)
    def health_check_fails(self, path: str) -> None:
        self.feed(HealthCheckFailed(path=path, reason="sick"))

    @rule(path=PATHS)
    def health_check_passes(self, path: str) -> None:
        self.feed(HealthCheckPassed(path=path))

    @rule(path=PATHS)
    def restart_due(self, path: str) -> None:
        self.feed(RestartDue(path=path))

    @rule(path=PATHS)
    def remove(self, path: str) -> None:
        self.feed(InstanceRemoved(path=path))

    @rule(path=st.sampled_from(list(COMPONENTS)))
    def add(self, path: str) -> None:
        self.feed(InstanceAdded(path=path, component=COMPONENTS[path], parent=parent_path(path)))

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def started_instances_have_a_started_parent_and_their_imports(self) -> None:
        for record in self.state.instances.values():
            if record.status is STARTED:
                assert self.state.parent_started(record), record.path
                assert not self.state.missing_prefixes(record), record.path

    @invariant()
    def exports_are_published_iff_started(self) -> None:
        started = {p for p, r in self.state.instances.items() if r.status is STARTED}
        assert self.published == started

    @invariant()
    def deployed_instances_have_a_deployed_parent(self) -> None:
        for record in self.state.instances.values():
            parent = self.state.instances.get(record.parent or "")
            if record.status is not InstanceStatus.NOT_DEPLOYED and parent is not None:
                assert parent.status is not InstanceStatus.NOT_DEPLOYED, record.path

    @invariant()
    def transitional_states_run_or_wait_for_a_step(self) -> None:
        asked = {(p.path, p.step) for p in self.pending}
        for record in self.state.instances.values():
            transition = record.transition
            assert (transition is not None) == (record.status in TRANSIT), record.path
            if transition is not None and transition.issued:
                assert (record.path, transition.step) in asked, record.path

    @invariant()
    def started_instances_were_told_their_current_imports(self) -> None:
        """No import change is lost for a running process, none is replayed wrongly."""
        for path, record in self.state.instances.items():
            if record.status is STARTED:
                assert self.told.get(path) == record.imports, path

    @invariant()
    def only_an_instance_that_may_land_started_without_start_holds_missed_changes(self) -> None:
        """STARTING, or in a PROBLEM a passing health check may end."""
        for record in self.state.instances.values():
            if record.missed:
                starting = record.status is InstanceStatus.STARTING
                curable = record.status is InstanceStatus.PROBLEM and record.failed_step in (
                    Step.CHECK,
                    Step.START,
                    Step.UPDATE,
                )
                assert starting or curable, record.path

    @invariant()
    def imports_match_what_the_agent_knows(self) -> None:
        for path, record in self.state.instances.items():
            assert record.imports == known_imports(self.state, RULES[record.component], path)

    def teardown(self) -> None:
        """With every step succeeding, restarts and requests out of PROBLEM, all settles."""
        for _ in range(100):
            self.succeed_all()
            problems = [r for r in self.state.instances.values() if r.status.value == "PROBLEM"]
            if not problems:
                break
            for record in problems:
                self.feed(RestartDue(path=record.path))
                if self.state.instances[record.path].status.value == "PROBLEM":
                    self.feed(StateRequested(path=record.path, target=InstanceStatus.NOT_DEPLOYED))
        for record in self.state.instances.values():
            assert record.status.is_stable, record
            assert not record.queued, record
        assert not self.pending


LifeCycle.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
TestLifeCycle = LifeCycle.TestCase
