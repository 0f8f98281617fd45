"""Imports and exports at runtime (spec 20 §3), with the fixes over Roboconf."""

from __future__ import annotations

from roboconf.lifecycle import (
    HealthCheckFailed,
    HealthCheckPassed,
    InstanceAdded,
    RestartDue,
    handle,
    settle,
)
from tests.lifecycle.builders import (
    DB,
    OTHER_DB,
    Row,
    check,
    check_settled,
    failed,
    ok,
    provide,
    rendered,
    req,
    statuses,
    table,
    withdraw,
    world,
)

WITH_DB = {"Db": {OTHER_DB: DB}}
DB2 = {"Db.ip": "10.0.0.10", "Db.port": "5432"}
DB3 = {"Db.ip": "10.0.0.11", "Db.port": "5432"}

ADDED = [
    Row(
        id="provider added for an UNRESOLVED importer that is now complete starts it",
        state=("/m/web Web UNRESOLVED",),
        event=provide("Db", OTHER_DB, DB),
        after="/m/web STARTING",
        effects=("notify /m/web STARTING", "run /m/web start"),
    ),
    Row(
        id="an optional provider does not start an UNRESOLVED importer",
        state=("/m/web Web UNRESOLVED",),
        event=provide("Cache", "/o/cache", {"Cache.host": "c1"}),
        after="/m/web UNRESOLVED",
    ),
    Row(
        id="provider added for a started importer runs update with its values",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Db", "/o/db2", DB2),
        after="/m/web STARTED",
        effects=("update /m/web <- Db +/o/db2 Db.ip=10.0.0.10 Db.port=5432",),
    ),
    Row(
        id="optional provider added for a started importer runs update",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Cache", "/o/cache", {"Cache.host": "c1"}),
        after="/m/web STARTED",
        effects=("update /m/web <- Cache +/o/cache Cache.host=c1",),
    ),
    Row(
        id="provider added for a stopped importer is only recorded",
        state=("/m/web Web STOPPED",),
        event=provide("Db", OTHER_DB, DB),
        after="/m/web STOPPED",
    ),
    Row(
        id="a republish with identical values triggers nothing",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Db", OTHER_DB, dict(DB)),
        after="/m/web STARTED",
    ),
    Row(
        id="a republish with different values triggers update with the new values",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Db", OTHER_DB, {"Db.ip": "10.0.0.9", "Db.port": "6543"}),
        after="/m/web STARTED",
        effects=("update /m/web <- Db +/o/db Db.ip=10.0.0.9 Db.port=6543",),
    ),
    Row(
        id="a change of a variable the importer does not import triggers nothing",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Db", OTHER_DB, {**DB, "Db.user": "admin"}),
        after="/m/web STARTED",
    ),
    Row(
        id="the provider's component reaches the update it triggers",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=provide("Db", "/o/db2", DB2, component="MyDb"),
        after="/m/web STARTED",
        effects=("update /m/web <- Db +/o/db2 (MyDb) Db.ip=10.0.0.10 Db.port=5432",),
    ),
    Row(
        id="a republish that does not name the component keeps the last known one",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(provide("Db", "/o/db2", DB2, component="MyDb"),),
        event=provide("Db", "/o/db2", DB3),
        after="/m/web STARTED",
        effects=("update /m/web <- Db +/o/db2 (MyDb) Db.ip=10.0.0.11 Db.port=5432",),
    ),
    Row(
        id="a wildcard import keeps every variable of the prefix",
        state=("/m/front Front STARTED",),
        providers={"Web": {"/o/web": {"Web.ip": "10.0.0.2", "Web.port": "8080"}}},
        event=provide("Web", "/o/web", {"Web.ip": "10.0.0.2", "Web.port": "9090"}),
        after="/m/front STARTED",
        effects=("update /m/front <- Web +/o/web Web.ip=10.0.0.2 Web.port=9090",),
    ),
    Row(
        id="an instance never imports from itself",
        state=("/m/n1 Node STARTING", "/m/n2 Node STARTED"),
        event=ok("/m/n1", "start"),
        after="/m/n1 STARTED, /m/n2 STARTED",
        effects=(
            "notify /m/n1 STARTED",
            "publish /m/n1",
            "update /m/n2 <- Node +/m/n1 (Node) Node.ip=None Node.rank=1",
        ),
    ),
    Row(
        id="an echo of this agent's own exports is ignored (they were applied first-hand)",
        state=("/m/db Db STOPPED", "/m/web Web UNRESOLVED"),
        event=provide("Db", "/m/db", {"Db.ip": None, "Db.port": "5432"}),
        after="/m/db STOPPED, /m/web UNRESOLVED",
    ),
    Row(
        id="a local provider that starts resolves a local importer at once",
        state=("/m/db Db STARTING", "/m/web Web UNRESOLVED"),
        event=ok("/m/db", "start"),
        after="/m/db STARTED, /m/web STARTING",
        effects=(
            "notify /m/db STARTED",
            "publish /m/db",
            "notify /m/web STARTING",
            "run /m/web start",
        ),
    ),
]


@table(ADDED)
def test_provider_added_or_changed(row: Row) -> None:
    check(row)


REMOVED = [
    Row(
        id="provider removed while another remains runs update with the removed values",
        state=("/m/web Web STARTED",),
        providers={"Db": {OTHER_DB: DB, "/o/db2": DB2}},
        event=withdraw("Db", "/o/db2"),
        after="/m/web STARTED",
        effects=("update /m/web <- Db -/o/db2 Db.ip=10.0.0.10 Db.port=5432",),
    ),
    Row(
        id="a removed provider's update tells its last known component",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(provide("Db", "/o/db2", DB2, component="MyDb"),),
        event=withdraw("Db", "/o/db2"),
        after="/m/web STARTED",
        effects=("update /m/web <- Db -/o/db2 (MyDb) Db.ip=10.0.0.10 Db.port=5432",),
    ),
    Row(
        id="last provider of an optional prefix removed runs update",
        state=("/m/web Web STARTED",),
        providers={**WITH_DB, "Cache": {"/o/cache": {"Cache.host": "c1"}}},
        event=withdraw("Cache", "/o/cache"),
        after="/m/web STARTED",
        effects=("update /m/web <- Cache -/o/cache Cache.host=c1",),
    ),
    Row(
        id="last provider of a mandatory prefix removed stops the importer into UNRESOLVED "
        "and its started descendants into WAITING_FOR_ANCESTOR",
        state=("/m/web Web STARTED", "/m/web/mod Module STARTED"),
        providers=WITH_DB,
        event=withdraw("Db", OTHER_DB),
        after="/m/web STOPPING, /m/web/mod STOPPING",
        effects=(
            "notify /m/web/mod STOPPING",
            "withdraw /m/web/mod",
            "notify /m/web STOPPING",
            "withdraw /m/web",
            "run /m/web/mod stop",
        ),
    ),
    Row(
        id="an importer stopped for its imports lands UNRESOLVED and asks again",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(withdraw("Db", OTHER_DB),),
        event=ok("/m/web", "stop"),
        after="/m/web UNRESOLVED",
        effects=("notify /m/web UNRESOLVED", "ask Db"),
    ),
    Row(
        id="a descendant stopped for its ancestor lands WAITING_FOR_ANCESTOR",
        state=("/m/web Web STARTED", "/m/web/mod Module STARTED"),
        providers=WITH_DB,
        given=(withdraw("Db", OTHER_DB),),
        event=ok("/m/web/mod", "stop"),
        after="/m/web STOPPING, /m/web/mod WAITING",
        effects=("notify /m/web/mod WAITING", "run /m/web stop"),
    ),
    Row(
        id="a provider that comes back while the importer stops restarts it",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(withdraw("Db", OTHER_DB), provide("Db", OTHER_DB, DB)),
        event=ok("/m/web", "stop"),
        after="/m/web STARTING",
        effects=("notify /m/web UNRESOLVED", "notify /m/web STARTING", "run /m/web start"),
    ),
    Row(
        id="provider removed for a stopped importer is only recorded",
        state=("/m/web Web STOPPED",),
        providers=WITH_DB,
        event=withdraw("Db", OTHER_DB),
        after="/m/web STOPPED",
    ),
    Row(
        id="removing an unknown provider changes nothing",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=withdraw("Db", "/o/unknown"),
        after="/m/web STARTED",
    ),
]


@table(REMOVED)
def test_provider_removed(row: Row) -> None:
    check(row)


WEB_SICK = HealthCheckFailed(path="/m/web", reason="down")

MISSED = [
    Row(
        id="changes missed by a restart that fails are replayed when a health check then passes",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(
            WEB_SICK,
            RestartDue(path="/m/web"),
            provide("Db", "/o/db2", DB2),
            failed("/m/web", "start"),
        ),
        event=HealthCheckPassed(path="/m/web"),
        after="/m/web STARTED",
        effects=(
            "notify /m/web STARTED",
            "publish /m/web",
            "update /m/web <- Db +/o/db2 Db.ip=10.0.0.10 Db.port=5432",
        ),
    ),
    Row(
        id="a change reaching an instance in PROBLEM after a failed check is replayed "
        "when the check passes",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(WEB_SICK, provide("Cache", "/o/cache", {"Cache.host": "c1"})),
        event=HealthCheckPassed(path="/m/web"),
        after="/m/web STARTED",
        effects=(
            "notify /m/web STARTED",
            "publish /m/web",
            "update /m/web <- Cache +/o/cache Cache.host=c1",
        ),
    ),
    Row(
        id="several changes of one provider missed are replayed as the latest one",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(WEB_SICK, provide("Db", "/o/db2", DB2), provide("Db", "/o/db2", DB3)),
        event=HealthCheckPassed(path="/m/web"),
        after="/m/web STARTED",
        effects=(
            "notify /m/web STARTED",
            "publish /m/web",
            "update /m/web <- Db +/o/db2 Db.ip=10.0.0.11 Db.port=5432",
        ),
    ),
    Row(
        id="a restart drops the changes missed in PROBLEM: its start reads the current imports",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(WEB_SICK, provide("Db", "/o/db2", DB2), RestartDue(path="/m/web")),
        event=ok("/m/web", "start"),
        after="/m/web STARTED",
        effects=("notify /m/web STARTED", "publish /m/web"),
    ),
    Row(
        id="a start that fails back to DEPLOYED_STOPPED drops the changes it missed",
        state=("/m/web Web STOPPED",),
        providers=WITH_DB,
        given=(
            req("/m/web", "STARTED"),
            provide("Db", "/o/db2", DB2),
            failed("/m/web", "start"),
            req("/m/web", "STARTED"),
        ),
        event=ok("/m/web", "start"),
        after="/m/web STARTED",
        effects=("notify /m/web STARTED", "publish /m/web"),
    ),
    Row(
        id="a mandatory provider lost in PROBLEM: a passing check stops the instance for "
        "its imports, its missed changes dropped",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        given=(WEB_SICK, withdraw("Db", OTHER_DB)),
        event=HealthCheckPassed(path="/m/web"),
        after="/m/web STOPPING",
        effects=("notify /m/web STOPPING", "run /m/web stop"),
    ),
]


@table(MISSED)
def test_changes_a_running_process_missed(row: Row) -> None:
    check(row)


def test_recorded_imports_are_replaced_not_kept_stale() -> None:
    state = world("/m/web Web STOPPED", providers=WITH_DB)
    handle(state, provide("Db", OTHER_DB, {"Db.ip": "10.0.0.99", "Db.port": "1"}))
    assert state.instances["/m/web"].imports == {
        "Db": {OTHER_DB: {"Db.ip": "10.0.0.99", "Db.port": "1"}}
    }
    handle(state, withdraw("Db", OTHER_DB))
    assert state.instances["/m/web"].imports == {}


def test_changes_while_starting_are_replayed_as_updates_once_started() -> None:
    state = world("/m/web Web STOPPED", providers=WITH_DB, given=[req("/m/web", "STARTED")])
    assert rendered(handle(state, provide("Db", "/o/db2", DB2))[1]) == []
    assert rendered(handle(state, ok("/m/web", "start"))[1]) == [
        "notify /m/web STARTED",
        "publish /m/web",
        "update /m/web <- Db +/o/db2 Db.ip=10.0.0.10 Db.port=5432",
    ]


def test_a_mandatory_provider_lost_while_starting_stops_the_instance_unpublished() -> None:
    state = world("/m/web Web STOPPED", providers=WITH_DB, given=[req("/m/web", "STARTED")])
    handle(state, withdraw("Db", OTHER_DB))
    assert rendered(handle(state, ok("/m/web", "start"))[1]) == [
        "notify /m/web STOPPING",
        "run /m/web stop",
    ]


def test_newcomers_ask_for_the_prefixes_nobody_here_imports_yet_and_share_what_is_known() -> None:
    state = world()
    added = InstanceAdded(path="/m/web", component="Web", parent="/m")
    assert rendered(handle(state, added)[1]) == ["ask Cache", "ask Db"]
    handle(state, provide("Db", OTHER_DB, DB))
    second = InstanceAdded(path="/m/web2", component="Web", parent="/m")
    assert rendered(handle(state, second)[1]) == []
    assert state.instances["/m/web2"].imports == {"Db": {OTHER_DB: DB}}


def test_chain_reaction_goes_down_and_comes_back_level_by_level() -> None:
    lines = ["/m/web Web STARTED", "/m/web/mod Module STARTED", "/m/front Front STARTED"]
    state = check_settled(
        lines,
        [withdraw("Db", OTHER_DB)],
        providers=WITH_DB,
        after="/m/web UNRESOLVED, /m/web/mod WAITING, /m/front UNRESOLVED",
        effects=[
            "notify /m/web/mod STOPPING",
            "withdraw /m/web/mod",
            "notify /m/web STOPPING",
            "withdraw /m/web",
            "notify /m/front STOPPING",
            "withdraw /m/front",
            "run /m/web/mod stop",
            "run /m/front stop",
            "notify /m/web/mod WAITING",
            "run /m/web stop",
            "notify /m/front UNRESOLVED",
            "ask Web",
            "notify /m/web UNRESOLVED",
            "ask Db",
        ],
    )
    assert rendered(settle(state, [provide("Db", OTHER_DB, DB)])) == [
        "notify /m/web STARTING",
        "run /m/web start",
        "notify /m/web STARTED",
        "publish /m/web",
        "notify /m/web/mod STARTING",
        "run /m/web/mod start",
        "notify /m/front STARTING",
        "run /m/front start",
        "notify /m/web/mod STARTED",
        "publish /m/web/mod",
        "notify /m/front STARTED",
        "publish /m/front",
    ]
    assert statuses(state) == "/m/web STARTED, /m/web/mod STARTED, /m/front STARTED"
