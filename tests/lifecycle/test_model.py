"""Rules from the graph, building states, model changes, explain, bulk requests, settle."""

from __future__ import annotations

import pytest

from roboconf.lifecycle import (
    ComponentRules,
    InstanceAdded,
    InstanceRemoved,
    InstanceSeed,
    RunStep,
    StepFailed,
    bulk_requests,
    explain,
    handle,
    model_events,
    restore,
    rules_from_graph,
    settle,
)
from roboconf.model.types import InstanceStatus
from tests.lifecycle.builders import (
    DB,
    OTHER_DB,
    RULES,
    Row,
    check,
    failed,
    rendered,
    req,
    statuses,
    table,
    world,
)
from tests.model.graphs import graph_of, instances_of


def test_rules_come_from_the_graph() -> None:
    assert RULES["Web"] == ComponentRules(
        imports={"Db": frozenset({"Db.ip", "Db.port"}), "Cache": frozenset({"Cache.host"})},
        mandatory_prefixes=frozenset({"Db"}),
        exports={"Web": {"Web.ip": None, "Web.port": "8080"}},
    )
    assert RULES["Node"].mandatory_prefixes == frozenset()
    assert RULES["Machine"].scoped
    assert RULES["Front"].imported_prefixes == {"Web"}
    assert RULES["Db"].exported_prefixes == {"Db"}


def test_inherited_exports_are_published_under_every_prefix() -> None:
    graph = graph_of(
        "Base {\n installer: script;\n exports: port = 1;\n}\n"
        "Tomcat {\n extends: Base;\n exports: ip;\n}\n"
    )
    assert set(rules_from_graph(graph)["Tomcat"].exports) == {"Base", "Tomcat"}


@pytest.mark.parametrize(
    ("imports", "external", "mandatory"),
    [
        ("external Lb.*", {"Lb"}, {"Lb"}),
        ("external Lb.ip (optional), Db.port", {"Lb"}, {"Db"}),
        ("Db.port, Db.ip (optional)", set(), {"Db"}),
        ("external Lb.ip, external Cache.* (optional)", {"Lb", "Cache"}, {"Lb"}),
    ],
    ids=[
        "an external import is marked, and mandatory unless optional",
        "an optional external import is marked, not mandatory",
        "internal imports are not marked",
        "each external prefix is marked",
    ],
)
def test_external_prefixes_are_marked(
    imports: str, external: set[str], mandatory: set[str]
) -> None:
    graph = graph_of(f"App {{\n installer: script;\n imports: {imports};\n}}\n")
    rules = rules_from_graph(graph)["App"]
    assert rules.external_prefixes == external
    assert rules.mandatory_prefixes == mandatory


def test_model_events_skip_the_nested_machines() -> None:
    graph = graph_of(
        "VM {\n installer: target;\n children: App, VM;\n}\n"
        "App {\n installer: script;\n children: App;\n}\n"
    )
    text = (
        "instance of VM {\n name: vm;\n"
        " instance of App {\n  name: a;\n  instance of App {\n   name: b;\n  }\n }\n"
        " instance of VM {\n  name: inner;\n  instance of App {\n   name: c;\n  }\n }\n"
        "}\n"
    )
    (machine,) = instances_of(text, graph)
    events = model_events(rules_from_graph(graph), machine, "/vm", lambda p, i: {"App.ip": p})
    assert events == [
        InstanceAdded(path="/vm/a", component="App", parent="/vm", exports={"App.ip": "/vm/a"}),
        InstanceAdded(
            path="/vm/a/b", component="App", parent="/vm/a", exports={"App.ip": "/vm/a/b"}
        ),
    ]


def test_restore_shares_the_exports_of_started_seeds_and_outside_providers() -> None:
    state = world("/m/db Db STARTED", "/m/web Web STOPPED", "/m/front Front")
    assert state.instances["/m/web"].imports == {
        "Db": {"/m/db": {"Db.ip": None, "Db.port": "5432"}}
    }
    assert state.instances["/m/front"].imports == {}
    outside = world("/m/web Web", providers={"Db": {OTHER_DB: DB}})
    assert outside.instances["/m/web"].imports == {"Db": {OTHER_DB: DB}}


def test_restore_takes_transitional_seeds_as_running_their_step() -> None:
    state = world("/m/srv Server STOPPING")
    transition = state.instances["/m/srv"].transition
    assert transition is not None and transition.issued
    assert rendered(handle(state, failed("/m/srv", "stop"))[1]) == [
        "notify /m/srv PROBLEM: step stop failed: exit 1"
    ]


@pytest.mark.parametrize(
    "seed, message",
    [
        (InstanceSeed(path="/m/x", component="Nope", parent="/m"), "unknown component 'Nope'"),
        (InstanceSeed(path="/m/x/y", component="App", parent="/m/x"), "parent /m/x"),
    ],
    ids=["an unknown component is a programming error", "so is a child before its parent"],
)
def test_restore_rejects_impossible_seeds(seed: InstanceSeed, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        restore(RULES, [seed], scoped_path="/m")


MODEL_CHANGES = [
    Row(
        id="an added instance is NOT_DEPLOYED under its parent",
        state=("/m/srv Server STARTED",),
        event=InstanceAdded(path="/m/srv/app", component="App", parent="/m/srv"),
        after="/m/srv STARTED, /m/srv/app ND",
    ),
    Row(
        id="adding an existing instance is refused",
        state=("/m/srv Server",),
        event=InstanceAdded(path="/m/srv", component="Server", parent="/m"),
        after="/m/srv ND",
        effects=("refuse /m/srv: /m/srv already exists",),
    ),
    Row(
        id="adding an instance of an unknown component is refused",
        state=(),
        event=InstanceAdded(path="/m/x", component="Nope", parent="/m"),
        after="",
        effects=("refuse /m/x: cannot add /m/x: unknown component 'Nope'",),
    ),
    Row(
        id="adding an instance under an unknown parent is refused",
        state=(),
        event=InstanceAdded(path="/m/x/y", component="App", parent="/m/x"),
        after="",
        effects=("refuse /m/x/y: cannot add /m/x/y: its parent /m/x is not on this agent",),
    ),
    Row(
        id="removing a NOT_DEPLOYED subtree forgets it",
        state=("/m/srv Server STOPPED", "/m/srv/app App", "/m/srv/app/mod Module"),
        event=InstanceRemoved(path="/m/srv/app"),
        after="/m/srv STOPPED",
    ),
    Row(
        id="removing a subtree with a deployed instance is refused",
        state=("/m/srv Server STOPPED", "/m/srv/app App STOPPED"),
        event=InstanceRemoved(path="/m/srv"),
        after="/m/srv STOPPED, /m/srv/app STOPPED",
        effects=(
            "refuse /m/srv: cannot remove /m/srv: /m/srv is DEPLOYED_STOPPED; undeploy it first",
        ),
    ),
    Row(
        id="removing an instance with queued requests is refused",
        state=("/m/srv Server DEPLOYING", "/m/srv/app App"),
        given=(req("/m/srv/app", "STOPPED"),),
        event=InstanceRemoved(path="/m/srv/app"),
        after="/m/srv DEPLOYING, /m/srv/app ND queued STOPPED",
        effects=(
            "refuse /m/srv/app: cannot remove /m/srv/app: /m/srv/app has queued requests; "
            "undeploy it first",
        ),
    ),
    Row(
        id="removing an unknown instance is refused",
        state=(),
        event=InstanceRemoved(path="/m/x"),
        after="",
        effects=("refuse /m/x: no instance /m/x on this agent",),
    ),
]


@table(MODEL_CHANGES)
def test_model_changes(row: Row) -> None:
    check(row)


def test_a_removed_importer_is_no_longer_told_about_providers() -> None:
    state = world("/m/web Web")
    handle(state, InstanceRemoved(path="/m/web"))
    assert rendered(handle(state, InstanceAdded(path="/m/w", component="Web", parent="/m"))[1]) == [
        "ask Cache",
        "ask Db",
    ]


EXPLAIN = [
    (("/m/srv Server STARTED",), "/m/srv", "/m/srv is DEPLOYED_STARTED."),
    (
        ("/m/web Web UNRESOLVED",),
        "/m/web",
        "/m/web is UNRESOLVED; no provider for its mandatory imports Db.",
    ),
    (
        ("/m/srv Server STOPPED", "/m/srv/app App WAITING", "/m/srv/app/mod Module WAITING"),
        "/m/srv/app/mod",
        "/m/srv/app/mod is WAITING_FOR_ANCESTOR; it waits for its ancestor /m/srv to be started.",
    ),
    (
        ("/m/srv Server STARTING",),
        "/m/srv",
        "/m/srv is STARTING; its start step is running.",
    ),
]


@pytest.mark.parametrize(
    "lines, path, text",
    EXPLAIN,
    ids=[
        "a started instance has nothing to explain",
        "an UNRESOLVED instance names its missing prefixes",
        "a waiting instance names the ancestor that blocks the chain",
        "a transitional instance names the step that runs",
    ],
)
def test_explain(lines: tuple[str, ...], path: str, text: str) -> None:
    found = explain(world(*lines), path)
    assert found is not None and str(found) == text


def test_explain_tells_the_last_failure_and_the_queue() -> None:
    state = world("/m/srv Server STOPPED", given=[req("/m/srv", "STARTED")])
    handle(state, req("/m/srv", "ND"))
    handle(state, failed("/m/srv", "start", "exit 3: address in use"))
    handle(state, req("/m/srv", "STARTED"))
    handle(state, req("/m/srv", "STOPPED"))
    found = explain(state, "/m/srv")
    assert found is not None
    assert found.failed_step is None  # cleared by the new start
    assert (
        str(found)
        == "/m/srv is STARTING; its start step is running; queued requests: DEPLOYED_STOPPED."
    )
    handle(state, failed("/m/srv", "start", "exit 3: address in use"))
    found = explain(state, "/m/srv")
    assert found is not None
    assert str(found) == (
        "/m/srv is DEPLOYED_STOPPED; last failure: step start failed: exit 3: address in use."
    )
    assert explain(state, "/m/nope") is None


def test_bulk_requests_up_every_instance_top_down_and_down_from_the_top() -> None:
    lines = ("/m/srv Server STARTED", "/m/srv/app App STOPPED", "/m/db Db", "/m/web Web UNRESOLVED")
    state = world(*lines)
    started = InstanceStatus.DEPLOYED_STARTED
    assert [r.path for r in bulk_requests(state, started)] == [
        "/m/srv",
        "/m/srv/app",
        "/m/db",
        "/m/web",
    ]
    stopped = InstanceStatus.DEPLOYED_STOPPED
    assert [r.path for r in bulk_requests(state, stopped)] == ["/m/srv", "/m/web"]
    undeployed = InstanceStatus.NOT_DEPLOYED
    assert [r.path for r in bulk_requests(state, undeployed)] == ["/m/srv", "/m/db", "/m/web"]
    assert [r.path for r in bulk_requests(state, started, under="/m/srv")] == [
        "/m/srv",
        "/m/srv/app",
    ]
    assert [r.path for r in bulk_requests(state, undeployed, under="/m/srv")] == ["/m/srv"]
    assert bulk_requests(state, started, under="/m/nope") == []


def test_settle_with_a_failing_plugin_and_a_step_left_running() -> None:
    def run(step: RunStep) -> StepFailed | None:
        if step.path == "/m/srv/app":
            return None
        return StepFailed(path=step.path, step=step.step, reason="boom")

    state = world("/m/srv Server STOPPED", "/m/srv/app App STOPPED")
    effects = settle(state, [req("/m/srv", "STARTED"), req("/m/srv/app", "STARTED")], run)
    assert rendered(effects) == [
        "notify /m/srv STARTING",
        "run /m/srv start",
        "notify /m/srv/app WAITING",
        "notify /m/srv STOPPED: step start failed: boom",
    ]
    assert statuses(state) == "/m/srv STOPPED, /m/srv/app WAITING"


def test_copy_keeps_the_old_state() -> None:
    state = world("/m/srv Server STOPPED")
    before = state.copy()
    handle(state, req("/m/srv", "STARTED"))
    assert statuses(before) == "/m/srv STOPPED"
    assert statuses(state) == "/m/srv STARTING"
