"""The request table of spec 20 §2, cell by cell, then queues, parents and subtrees."""

from __future__ import annotations

from roboconf.lifecycle import StateRequested
from roboconf.model.types import InstanceStatus
from tests.lifecycle.builders import (
    DB,
    OTHER_DB,
    Row,
    check,
    check_settled,
    failed,
    ok,
    req,
    table,
)

WITH_DB = {"Db": {OTHER_DB: DB}}

CELLS = [
    Row(
        id="NOT_DEPLOYED asked NOT_DEPLOYED changes nothing",
        state=("/m/srv Server ND",),
        event=req("/m/srv", "ND"),
        after="/m/srv ND",
    ),
    Row(
        id="NOT_DEPLOYED asked DEPLOYED_STOPPED deploys",
        state=("/m/srv Server ND",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv DEPLOYING",
        effects=("notify /m/srv DEPLOYING", "run /m/srv deploy"),
    ),
    Row(
        id="NOT_DEPLOYED asked DEPLOYED_STARTED deploys and queues the start",
        state=("/m/srv Server ND",),
        event=req("/m/srv", "STARTED"),
        after="/m/srv DEPLOYING queued STARTED",
        effects=("notify /m/srv DEPLOYING", "run /m/srv deploy"),
    ),
    Row(
        id="DEPLOYED_STOPPED asked NOT_DEPLOYED undeploys",
        state=("/m/srv Server STOPPED",),
        event=req("/m/srv", "ND"),
        after="/m/srv UNDEPLOYING",
        effects=("notify /m/srv UNDEPLOYING", "run /m/srv undeploy"),
    ),
    Row(
        id="DEPLOYED_STOPPED asked DEPLOYED_STOPPED changes nothing",
        state=("/m/srv Server STOPPED",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPED",
    ),
    Row(
        id="DEPLOYED_STOPPED asked DEPLOYED_STARTED starts",
        state=("/m/srv Server STOPPED",),
        event=req("/m/srv", "STARTED"),
        after="/m/srv STARTING",
        effects=("notify /m/srv STARTING", "run /m/srv start"),
    ),
    Row(
        id="DEPLOYED_STARTED asked NOT_DEPLOYED stops and queues the undeploy",
        state=("/m/srv Server STARTED",),
        event=req("/m/srv", "ND"),
        after="/m/srv STOPPING queued ND",
        effects=("notify /m/srv STOPPING", "withdraw /m/srv", "run /m/srv stop"),
    ),
    Row(
        id="DEPLOYED_STARTED asked DEPLOYED_STOPPED stops and withdraws its exports",
        state=("/m/srv Server STARTED",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPING",
        effects=("notify /m/srv STOPPING", "withdraw /m/srv", "run /m/srv stop"),
    ),
    Row(
        id="DEPLOYED_STARTED asked DEPLOYED_STARTED changes nothing",
        state=("/m/srv Server STARTED",),
        event=req("/m/srv", "STARTED"),
        after="/m/srv STARTED",
    ),
    Row(
        id="UNRESOLVED asked NOT_DEPLOYED undeploys without stopping",
        state=("/m/web Web UNRESOLVED",),
        event=req("/m/web", "ND"),
        after="/m/web UNDEPLOYING",
        effects=("notify /m/web UNDEPLOYING", "run /m/web undeploy"),
    ),
    Row(
        id="UNRESOLVED asked DEPLOYED_STOPPED is set stopped with no recipe, waiting child too",
        state=("/m/web Web UNRESOLVED", "/m/web/mod Module WAITING"),
        event=req("/m/web", "STOPPED"),
        after="/m/web STOPPED, /m/web/mod STOPPED",
        effects=("notify /m/web/mod STOPPED", "notify /m/web STOPPED"),
    ),
    Row(
        id="UNRESOLVED asked DEPLOYED_STARTED changes nothing (it starts with its imports)",
        state=("/m/web Web UNRESOLVED",),
        event=req("/m/web", "STARTED"),
        after="/m/web UNRESOLVED",
    ),
    Row(
        id="WAITING_FOR_ANCESTOR asked NOT_DEPLOYED undeploys",
        state=("/m/srv Server STOPPED", "/m/srv/app App WAITING"),
        event=req("/m/srv/app", "ND"),
        after="/m/srv STOPPED, /m/srv/app UNDEPLOYING",
        effects=("notify /m/srv/app UNDEPLOYING", "run /m/srv/app undeploy"),
    ),
    Row(
        id="WAITING_FOR_ANCESTOR asked DEPLOYED_STOPPED is set stopped, waiting descendants too",
        state=(
            "/m/srv Server STOPPED",
            "/m/srv/app App WAITING",
            "/m/srv/app/mod Module WAITING",
        ),
        event=req("/m/srv/app", "STOPPED"),
        after="/m/srv STOPPED, /m/srv/app STOPPED, /m/srv/app/mod STOPPED",
        effects=("notify /m/srv/app/mod STOPPED", "notify /m/srv/app STOPPED"),
    ),
    Row(
        id="WAITING_FOR_ANCESTOR asked DEPLOYED_STARTED starts once the parent runs",
        state=("/m/srv Server STARTED", "/m/srv/app App WAITING"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv STARTED, /m/srv/app STARTING",
        effects=("notify /m/srv/app STARTING", "run /m/srv/app start"),
    ),
    Row(
        id="WAITING_FOR_ANCESTOR asked DEPLOYED_STARTED keeps waiting for a stopped parent",
        state=("/m/srv Server STOPPED", "/m/srv/app App WAITING"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv STOPPED, /m/srv/app WAITING",
    ),
    Row(
        id="a request during DEPLOYING is queued",
        state=("/m/srv Server DEPLOYING",),
        event=req("/m/srv", "ND"),
        after="/m/srv DEPLOYING queued ND",
    ),
    Row(
        id="a request during STARTING is queued",
        state=("/m/srv Server STARTING",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STARTING queued STOPPED",
    ),
    Row(
        id="a request during STOPPING is queued",
        state=("/m/srv Server STOPPING",),
        event=req("/m/srv", "STARTED"),
        after="/m/srv STOPPING queued STARTED",
    ),
    Row(
        id="a request during UNDEPLOYING is queued",
        state=("/m/srv Server UNDEPLOYING",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv UNDEPLOYING queued STOPPED",
    ),
    Row(
        id="a request for the state a transition leads to is not queued twice",
        state=("/m/srv Server UNDEPLOYING",),
        event=req("/m/srv", "ND"),
        after="/m/srv UNDEPLOYING",
    ),
]


@table(CELLS)
def test_request_table(row: Row) -> None:
    check(row)


START = [
    Row(
        id="start with the parent not started waits for the ancestor",
        state=("/m/srv Server STOPPED", "/m/srv/app App STOPPED"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv STOPPED, /m/srv/app WAITING",
        effects=("notify /m/srv/app WAITING",),
    ),
    Row(
        id="start with a mandatory prefix unprovided is UNRESOLVED and asks peers",
        state=("/m/web Web STOPPED",),
        event=req("/m/web", "STARTED"),
        after="/m/web UNRESOLVED",
        effects=("notify /m/web UNRESOLVED", "ask Db"),
    ),
    Row(
        id="start with every mandatory prefix provided runs start (optional ones not needed)",
        state=("/m/web Web STOPPED",),
        providers=WITH_DB,
        event=req("/m/web", "STARTED"),
        after="/m/web STARTING",
        effects=("notify /m/web STARTING", "run /m/web start"),
    ),
    Row(
        id="start success publishes the exports",
        state=("/m/srv Server STARTING",),
        event=ok("/m/srv", "start"),
        after="/m/srv STARTED",
        effects=("notify /m/srv STARTED", "publish /m/srv"),
    ),
    Row(
        id="start success starts the children waiting for it, top-down",
        state=("/m/srv Server STARTING", "/m/srv/app App WAITING", "/m/srv/app/mod Module WAITING"),
        event=ok("/m/srv", "start"),
        after="/m/srv STARTED, /m/srv/app STARTING, /m/srv/app/mod WAITING",
        effects=(
            "notify /m/srv STARTED",
            "publish /m/srv",
            "notify /m/srv/app STARTING",
            "run /m/srv/app start",
        ),
    ),
    Row(
        id="start failure goes back to the previous state with the reason",
        state=("/m/srv Server STOPPED",),
        given=(req("/m/srv", "STARTED"),),
        event=failed("/m/srv", "start"),
        after="/m/srv STOPPED",
        effects=("notify /m/srv STOPPED: step start failed: exit 1",),
    ),
    Row(
        id="deploy success is DEPLOYED_STOPPED",
        state=("/m/srv Server DEPLOYING",),
        event=ok("/m/srv", "deploy"),
        after="/m/srv STOPPED",
        effects=("notify /m/srv STOPPED",),
    ),
    Row(
        id="deploy failure is NOT_DEPLOYED with the reason and cancels the queued start",
        state=("/m/srv Server ND",),
        given=(req("/m/srv", "STARTED"),),
        event=failed("/m/srv", "deploy", "no space left"),
        after="/m/srv ND",
        effects=(
            "notify /m/srv ND: step deploy failed: no space left",
            "refuse /m/srv: request for DEPLOYED_STARTED cancelled: "
            "step deploy failed: no space left",
        ),
    ),
    Row(
        id="stop success is DEPLOYED_STOPPED",
        state=("/m/srv Server STOPPING",),
        event=ok("/m/srv", "stop"),
        after="/m/srv STOPPED",
        effects=("notify /m/srv STOPPED",),
    ),
    Row(
        id="stop failure is PROBLEM with the reason",
        state=("/m/srv Server STOPPING",),
        event=failed("/m/srv", "stop"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step stop failed: exit 1",),
    ),
    Row(
        id="undeploy success is NOT_DEPLOYED",
        state=("/m/srv Server UNDEPLOYING",),
        event=ok("/m/srv", "undeploy"),
        after="/m/srv ND",
        effects=("notify /m/srv ND",),
    ),
    Row(
        id="undeploy failure is PROBLEM with the reason",
        state=("/m/srv Server UNDEPLOYING",),
        event=failed("/m/srv", "undeploy"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step undeploy failed: exit 1",),
    ),
    Row(
        id="an outcome for a step that is not running is ignored",
        state=("/m/srv Server STARTING",),
        event=ok("/m/srv", "stop"),
        after="/m/srv STARTING",
    ),
]


@table(START)
def test_operations(row: Row) -> None:
    check(row)


QUEUES = [
    Row(
        id="the queued start is replayed when the deploy succeeds",
        state=("/m/srv Server ND",),
        given=(req("/m/srv", "STARTED"),),
        event=ok("/m/srv", "deploy"),
        after="/m/srv STARTING",
        effects=(
            "notify /m/srv STOPPED",
            "notify /m/srv STARTING",
            "run /m/srv start",
        ),
    ),
    Row(
        id="the queued undeploy is replayed when the stop succeeds",
        state=("/m/srv Server STARTED",),
        given=(req("/m/srv", "ND"),),
        event=ok("/m/srv", "stop"),
        after="/m/srv UNDEPLOYING",
        effects=("notify /m/srv STOPPED", "notify /m/srv UNDEPLOYING", "run /m/srv undeploy"),
    ),
    Row(
        id="a request queued while starting is replayed once started",
        state=("/m/srv Server STARTING",),
        given=(req("/m/srv", "STOPPED"),),
        event=ok("/m/srv", "start"),
        after="/m/srv STOPPING",
        effects=(
            "notify /m/srv STARTED",
            "publish /m/srv",
            "notify /m/srv STOPPING",
            "withdraw /m/srv",
            "run /m/srv stop",
        ),
    ),
    Row(
        id="requests that change nothing are replayed through to the next one",
        state=("/m/srv Server DEPLOYING",),
        given=(req("/m/srv", "STOPPED"), req("/m/srv", "ND"), req("/m/srv", "STOPPED")),
        event=ok("/m/srv", "deploy"),
        after="/m/srv UNDEPLOYING queued STOPPED",
        effects=("notify /m/srv STOPPED", "notify /m/srv UNDEPLOYING", "run /m/srv undeploy"),
    ),
    Row(
        id="a failed step cancels every queued request and says so",
        state=("/m/srv Server STARTING",),
        given=(req("/m/srv", "STOPPED"), req("/m/srv", "ND")),
        event=failed("/m/srv", "start"),
        after="/m/srv STOPPED",
        effects=(
            "notify /m/srv STOPPED: step start failed: exit 1",
            "refuse /m/srv: request for DEPLOYED_STOPPED cancelled: step start failed: exit 1",
            "refuse /m/srv: request for NOT_DEPLOYED cancelled: step start failed: exit 1",
        ),
    ),
]


@table(QUEUES)
def test_queued_requests(row: Row) -> None:
    check(row)


def test_queued_requests_are_replayed_in_order_until_settled() -> None:
    check_settled(
        ["/m/srv Server ND"],
        [req("/m/srv", "STARTED"), req("/m/srv", "ND")],
        after="/m/srv ND",
        effects=[
            "notify /m/srv DEPLOYING",
            "run /m/srv deploy",
            "notify /m/srv STOPPED",
            "notify /m/srv STARTING",
            "run /m/srv start",
            "notify /m/srv STARTED",
            "publish /m/srv",
            "notify /m/srv STOPPING",
            "withdraw /m/srv",
            "run /m/srv stop",
            "notify /m/srv STOPPED",
            "notify /m/srv UNDEPLOYING",
            "run /m/srv undeploy",
            "notify /m/srv ND",
        ],
    )


PARENTS = [
    Row(
        id="deploy under a NOT_DEPLOYED idle parent is refused",
        state=("/m/srv Server ND", "/m/srv/app App ND"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv ND, /m/srv/app ND",
        effects=(
            "refuse /m/srv/app: cannot deploy /m/srv/app: its parent /m/srv is NOT_DEPLOYED; "
            "deploy the parent first",
        ),
    ),
    Row(
        id="deploy under a DEPLOYING parent waits in the queue",
        state=("/m/srv Server DEPLOYING", "/m/srv/app App ND"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv DEPLOYING, /m/srv/app ND queued STARTED",
    ),
    Row(
        id="deploy under a parent being undeployed is refused",
        state=("/m/srv Server UNDEPLOYING", "/m/srv/app App ND"),
        event=req("/m/srv/app", "STARTED"),
        after="/m/srv UNDEPLOYING, /m/srv/app ND",
        effects=(
            "refuse /m/srv/app: cannot deploy /m/srv/app: its parent /m/srv is UNDEPLOYING; "
            "deploy the parent first",
        ),
    ),
    Row(
        id="deploy under a parent in PROBLEM waits in the queue",
        state=("/m/srv Server PROBLEM", "/m/srv/app App ND"),
        event=req("/m/srv/app", "STOPPED"),
        after="/m/srv PROBLEM, /m/srv/app ND queued STOPPED",
    ),
    Row(
        id="a deploy waiting for its parent runs when the parent is deployed",
        state=("/m/srv Server DEPLOYING", "/m/srv/app App ND"),
        given=(req("/m/srv/app", "STOPPED"),),
        event=ok("/m/srv", "deploy"),
        after="/m/srv STOPPED, /m/srv/app DEPLOYING",
        effects=(
            "notify /m/srv STOPPED",
            "notify /m/srv/app DEPLOYING",
            "run /m/srv/app deploy",
        ),
    ),
    Row(
        id="a deploy waiting for its parent is refused when the parent fails to deploy",
        state=("/m/srv Server DEPLOYING", "/m/srv/app App ND"),
        given=(req("/m/srv/app", "STOPPED"),),
        event=failed("/m/srv", "deploy"),
        after="/m/srv ND, /m/srv/app ND",
        effects=(
            "notify /m/srv ND: step deploy failed: exit 1",
            "refuse /m/srv/app: cannot deploy /m/srv/app: its parent /m/srv is NOT_DEPLOYED; "
            "deploy the parent first",
        ),
    ),
    Row(
        id="deploy under the agent's machine needs nothing",
        state=("/m/db Db ND",),
        event=req("/m/db", "STOPPED"),
        after="/m/db DEPLOYING",
        effects=("notify /m/db DEPLOYING", "run /m/db deploy"),
    ),
]


@table(PARENTS)
def test_deploy_needs_the_parent_deployed(row: Row) -> None:
    check(row)


SUBTREES = [
    Row(
        id="stop puts the started descendants in STOPPING and runs the deepest stop first",
        state=(
            "/m/srv Server STARTED",
            "/m/srv/app App STARTED",
            "/m/srv/app/mod Module STARTED",
        ),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPING, /m/srv/app STOPPING, /m/srv/app/mod STOPPING",
        effects=(
            "notify /m/srv/app/mod STOPPING",
            "withdraw /m/srv/app/mod",
            "notify /m/srv/app STOPPING",
            "withdraw /m/srv/app",
            "notify /m/srv STOPPING",
            "withdraw /m/srv",
            "run /m/srv/app/mod stop",
        ),
    ),
    Row(
        id="a parent's stop runs when its last running child has stopped",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        given=(req("/m/srv", "STOPPED"),),
        event=ok("/m/srv/app", "stop"),
        after="/m/srv STOPPING, /m/srv/app STOPPED",
        effects=("notify /m/srv/app STOPPED", "run /m/srv stop"),
    ),
    Row(
        id="stop sets the descendants waiting to start DEPLOYED_STOPPED with no recipe",
        state=("/m/web Web STARTED", "/m/web/mod Module WAITING"),
        providers=WITH_DB,
        event=req("/m/web", "STOPPED"),
        after="/m/web STOPPING, /m/web/mod STOPPED",
        effects=(
            "notify /m/web/mod STOPPED",
            "notify /m/web STOPPING",
            "withdraw /m/web",
            "run /m/web stop",
        ),
    ),
    Row(
        id="stop queues a stop for a descendant that is starting and waits for it",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTING"),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPING, /m/srv/app STARTING queued STOPPED",
        effects=("notify /m/srv STOPPING", "withdraw /m/srv"),
    ),
    Row(
        id="a child that finishes starting under a stopping parent stops at once, unpublished",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTING"),
        given=(req("/m/srv", "STOPPED"),),
        event=ok("/m/srv/app", "start"),
        after="/m/srv STOPPING, /m/srv/app STOPPING queued STOPPED",
        effects=("notify /m/srv/app STOPPING", "run /m/srv/app stop"),
    ),
    Row(
        id="undeploy waits for the descendants to be undeployed first",
        state=("/m/srv Server STOPPED", "/m/srv/app App STOPPED"),
        event=req("/m/srv", "ND"),
        after="/m/srv UNDEPLOYING, /m/srv/app UNDEPLOYING",
        effects=(
            "notify /m/srv/app UNDEPLOYING",
            "notify /m/srv UNDEPLOYING",
            "run /m/srv/app undeploy",
        ),
    ),
    Row(
        id="undeploy is cancelled when a descendant cannot be undeployed",
        state=("/m/srv Server STOPPED", "/m/srv/app App STOPPED"),
        given=(req("/m/srv", "ND"),),
        event=failed("/m/srv/app", "undeploy"),
        after="/m/srv STOPPED, /m/srv/app PROBLEM",
        effects=(
            "notify /m/srv/app PROBLEM: step undeploy failed: exit 1",
            "notify /m/srv STOPPED: undeploy cancelled: /m/srv/app is still PROBLEM",
        ),
    ),
]


SUBTREES.append(
    Row(
        id="a deploy waiting for a parent that is then undeployed is refused",
        state=("/m/srv Server STARTED", "/m/srv/app App STOPPED"),
        given=(
            req("/m/srv", "ND"),
            failed("/m/srv/app", "undeploy"),
            req("/m/srv/app", "STOPPED"),
        ),
        event=ok("/m/srv", "stop"),
        after="/m/srv UNDEPLOYING, /m/srv/app UNDEPLOYING",
        effects=(
            "notify /m/srv STOPPED",
            "notify /m/srv UNDEPLOYING",
            "refuse /m/srv/app: cannot deploy /m/srv/app: its parent /m/srv is UNDEPLOYING; "
            "deploy the parent first",
            "notify /m/srv/app UNDEPLOYING",
            "run /m/srv/app undeploy",
        ),
    )
)


@table(SUBTREES)
def test_subtrees(row: Row) -> None:
    check(row)


def test_started_subtree_asked_not_deployed_stops_then_undeploys_children_first() -> None:
    check_settled(
        ["/m/srv Server STARTED", "/m/srv/app App STARTED"],
        [req("/m/srv", "ND")],
        after="/m/srv ND, /m/srv/app ND",
        effects=[
            "notify /m/srv/app STOPPING",
            "withdraw /m/srv/app",
            "notify /m/srv STOPPING",
            "withdraw /m/srv",
            "run /m/srv/app stop",
            "notify /m/srv/app STOPPED",
            "notify /m/srv/app UNDEPLOYING",
            "run /m/srv stop",
            "run /m/srv/app undeploy",
            "notify /m/srv STOPPED",
            "notify /m/srv UNDEPLOYING",
            "notify /m/srv/app ND",
            "run /m/srv undeploy",
            "notify /m/srv ND",
        ],
    )


def test_deploy_and_start_top_down_waits_for_each_parent() -> None:
    check_settled(
        ["/m/srv Server ND", "/m/srv/app App ND"],
        [req("/m/srv", "STARTED"), req("/m/srv/app", "STARTED")],
        after="/m/srv STARTED, /m/srv/app STARTED",
        effects=[
            "notify /m/srv DEPLOYING",
            "run /m/srv deploy",
            "notify /m/srv STOPPED",
            "notify /m/srv STARTING",
            "run /m/srv start",
            "notify /m/srv STARTED",
            "publish /m/srv",
            "notify /m/srv/app DEPLOYING",
            "run /m/srv/app deploy",
            "notify /m/srv/app STOPPED",
            "notify /m/srv/app STARTING",
            "run /m/srv/app start",
            "notify /m/srv/app STARTED",
            "publish /m/srv/app",
        ],
    )


ILLEGAL = [
    Row(
        id="a transitional state cannot be requested",
        state=("/m/srv Server STOPPED",),
        event=StateRequested(path="/m/srv", target=InstanceStatus.STARTING),
        after="/m/srv STOPPED",
        effects=(
            "refuse /m/srv: STARTING cannot be requested for /m/srv; request one of "
            "NOT_DEPLOYED, DEPLOYED_STOPPED, DEPLOYED_STARTED",
        ),
    ),
    Row(
        id="PROBLEM cannot be requested",
        state=("/m/srv Server STARTED",),
        event=StateRequested(path="/m/srv", target=InstanceStatus.PROBLEM),
        after="/m/srv STARTED",
        effects=(
            "refuse /m/srv: PROBLEM cannot be requested for /m/srv; request one of "
            "NOT_DEPLOYED, DEPLOYED_STOPPED, DEPLOYED_STARTED",
        ),
    ),
    Row(
        id="an unknown instance is refused",
        state=("/m/srv Server STOPPED",),
        event=req("/m/nope", "STARTED"),
        after="/m/srv STOPPED",
        effects=("refuse /m/nope: no instance /m/nope on this agent",),
    ),
    Row(
        id="the agent's machine is the DM's to manage",
        state=("/m/srv Server STOPPED",),
        event=req("/m", "ND"),
        after="/m/srv STOPPED",
        effects=("refuse /m: /m is the agent's machine: the DM manages it",),
    ),
]


@table(ILLEGAL)
def test_illegal_requests_change_nothing_and_say_why(row: Row) -> None:
    check(row)
