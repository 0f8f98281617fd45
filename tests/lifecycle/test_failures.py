"""Consistency under failure (spec 20 §5): health checks, restarts, timeouts, PROBLEM."""

from __future__ import annotations

from roboconf.lifecycle import (
    HealthCheckFailed,
    HealthCheckPassed,
    RestartDue,
    Step,
    StepTimedOut,
    handle,
    restore,
)
from roboconf.lifecycle.load import InstanceSeed
from roboconf.model.types import InstanceStatus
from tests.lifecycle.builders import (
    DB,
    OTHER_DB,
    RULES,
    Row,
    check,
    failed,
    ok,
    rendered,
    req,
    table,
)

WITH_DB = {"Db": {OTHER_DB: DB}}
STARTED = InstanceStatus.DEPLOYED_STARTED
SICK = HealthCheckFailed(path="/m/srv", reason="port 80 closed")
HEALTHY = HealthCheckPassed(path="/m/srv")
#: a failing check cured by a restart that succeeds.
CURED = (SICK, RestartDue(path="/m/srv"), ok("/m/srv", "start"))
#: the default restart limit reached.
FIVE_CURES = CURED * 5


def timed_out(path: str, step: str) -> StepTimedOut:
    return StepTimedOut(path=path, step=Step(step))


HEALTH = [
    Row(
        id="a failing health check is PROBLEM, exports withdrawn, started children waiting, "
        "a restart scheduled",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        event=SICK,
        after="/m/srv PROBLEM, /m/srv/app STOPPING",
        effects=(
            "notify /m/srv/app STOPPING",
            "withdraw /m/srv/app",
            "notify /m/srv PROBLEM: health check failed: port 80 closed",
            "withdraw /m/srv",
            "restart /m/srv #1",
            "run /m/srv/app stop",
        ),
    ),
    Row(
        id="the children of an instance in PROBLEM land WAITING_FOR_ANCESTOR",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        given=(SICK,),
        event=ok("/m/srv/app", "stop"),
        after="/m/srv PROBLEM, /m/srv/app WAITING",
        effects=("notify /m/srv/app WAITING",),
    ),
    Row(
        id="a health check failing on an instance that is not started is ignored",
        state=("/m/srv Server STOPPED",),
        event=SICK,
        after="/m/srv STOPPED",
    ),
    Row(
        id="a restart due runs start again",
        state=("/m/srv Server STARTED",),
        given=(SICK,),
        event=RestartDue(path="/m/srv"),
        after="/m/srv STARTING",
        effects=("notify /m/srv STARTING", "run /m/srv start"),
    ),
    Row(
        id="a successful restart republishes and restarts the waiting children",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        given=(SICK, ok("/m/srv/app", "stop"), RestartDue(path="/m/srv")),
        event=ok("/m/srv", "start"),
        after="/m/srv STARTED, /m/srv/app STARTING",
        effects=(
            "notify /m/srv STARTED",
            "publish /m/srv",
            "notify /m/srv/app STARTING",
            "run /m/srv/app start",
        ),
    ),
    Row(
        id="a failed restart goes back to PROBLEM and schedules the next attempt",
        state=("/m/srv Server STARTED",),
        given=(SICK, RestartDue(path="/m/srv")),
        event=failed("/m/srv", "start"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step start failed: exit 1", "restart /m/srv #2"),
    ),
    Row(
        id="a passing health check brings a PROBLEM instance back and republishes",
        state=("/m/srv Server STARTED",),
        given=(SICK,),
        event=HEALTHY,
        after="/m/srv STARTED",
        effects=("notify /m/srv STARTED", "publish /m/srv"),
    ),
    Row(
        id="a successful restart keeps the restart count: the next failing check schedules "
        "the next attempt",
        state=("/m/srv Server STARTED",),
        given=CURED,
        event=SICK,
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: health check failed: port 80 closed",
            "withdraw /m/srv",
            "restart /m/srv #2",
        ),
    ),
    Row(
        id="a check passing on a restarted instance resets its restart count, with no other effect",
        state=("/m/srv Server STARTED",),
        given=CURED,
        event=HEALTHY,
        after="/m/srv STARTED",
    ),
    Row(
        id="after a check passed on the started instance, a failing one starts the restarts over",
        state=("/m/srv Server STARTED",),
        given=(*CURED, HEALTHY),
        event=SICK,
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: health check failed: port 80 closed",
            "withdraw /m/srv",
            "restart /m/srv #1",
        ),
    ),
    Row(
        id="a check passing on a started instance never restarted changes nothing",
        state=("/m/srv Server STARTED",),
        event=HEALTHY,
        after="/m/srv STARTED",
    ),
    Row(
        id="a check that keeps failing after each restart gives up at the restart limit "
        "and stays in PROBLEM",
        state=("/m/srv Server STARTED",),
        given=FIVE_CURES,
        event=SICK,
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: health check failed: port 80 closed (gave up after 5 restarts)",
            "withdraw /m/srv",
        ),
    ),
    Row(
        id="a request starts the restart count over",
        state=("/m/srv Server STARTED",),
        given=(
            *FIVE_CURES,
            req("/m/srv", "STOPPED"),
            ok("/m/srv", "stop"),
            req("/m/srv", "STARTED"),
            ok("/m/srv", "start"),
        ),
        event=SICK,
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: health check failed: port 80 closed",
            "withdraw /m/srv",
            "restart /m/srv #1",
        ),
    ),
    Row(
        id="a request for DEPLOYED_STARTED after giving up restarts with a fresh count",
        state=("/m/srv Server STARTED",),
        given=(*FIVE_CURES, SICK, req("/m/srv", "STARTED")),
        event=failed("/m/srv", "start"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step start failed: exit 1", "restart /m/srv #1"),
    ),
    Row(
        id="a passing health check after a failed stop changes nothing",
        state=("/m/srv Server STOPPING",),
        given=(failed("/m/srv", "stop"),),
        event=HealthCheckPassed(path="/m/srv"),
        after="/m/srv PROBLEM",
    ),
    Row(
        id="a restart due for an instance no longer in PROBLEM is ignored",
        state=("/m/srv Server STARTED",),
        given=(SICK, req("/m/srv", "STOPPED")),
        event=RestartDue(path="/m/srv"),
        after="/m/srv STOPPING",
    ),
]


@table(HEALTH)
def test_health_checks_and_restarts(row: Row) -> None:
    check(row)


def test_restarts_are_bounded() -> None:
    seeds = [InstanceSeed(path="/m/srv", component="Server", parent="/m", status=STARTED)]
    state = restore(RULES, seeds, scoped_path="/m", restart_limit=1)
    handle(state, SICK)
    handle(state, RestartDue(path="/m/srv"))
    assert rendered(handle(state, failed("/m/srv", "start"))[1]) == [
        "notify /m/srv PROBLEM: step start failed: exit 1 (gave up after 1 restarts)"
    ]


TIMEOUTS = [
    Row(
        id="a deploy that times out is PROBLEM with the reason, not restarted",
        state=("/m/srv Server DEPLOYING",),
        event=timed_out("/m/srv", "deploy"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step deploy timed out",),
    ),
    Row(
        id="a start that times out is PROBLEM and restarted",
        state=("/m/srv Server STARTING",),
        event=timed_out("/m/srv", "start"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step start timed out", "restart /m/srv #1"),
    ),
    Row(
        id="a timeout that says why tells it in the reason",
        state=("/m/srv Server STARTING",),
        event=StepTimedOut(
            path="/m/srv",
            step=Step.START,
            reason="scripts/start.sh timed out after 30 s: waiting for port 80",
        ),
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: step start timed out: scripts/start.sh timed out after 30 s: "
            "waiting for port 80",
            "restart /m/srv #1",
        ),
    ),
    Row(
        id="a stop that times out is PROBLEM",
        state=("/m/srv Server STOPPING",),
        event=timed_out("/m/srv", "stop"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step stop timed out",),
    ),
    Row(
        id="an undeploy that times out is PROBLEM",
        state=("/m/srv Server UNDEPLOYING",),
        event=timed_out("/m/srv", "undeploy"),
        after="/m/srv PROBLEM",
        effects=("notify /m/srv PROBLEM: step undeploy timed out",),
    ),
    Row(
        id="an update that times out is PROBLEM, exports withdrawn, restarted",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=timed_out("/m/web", "update"),
        after="/m/web PROBLEM",
        effects=(
            "notify /m/web PROBLEM: step update timed out",
            "withdraw /m/web",
            "restart /m/web #1",
        ),
    ),
    Row(
        id="a timeout cancels the queued requests",
        state=("/m/srv Server STARTING",),
        given=(req("/m/srv", "ND"),),
        event=timed_out("/m/srv", "start"),
        after="/m/srv PROBLEM",
        effects=(
            "notify /m/srv PROBLEM: step start timed out",
            "refuse /m/srv: request for NOT_DEPLOYED cancelled: step start timed out",
            "restart /m/srv #1",
        ),
    ),
    Row(
        id="a timeout for a step that is not running is ignored",
        state=("/m/srv Server STARTED",),
        event=timed_out("/m/srv", "start"),
        after="/m/srv STARTED",
    ),
    Row(
        id="a failed update keeps the instance started and tells the DM why",
        state=("/m/web Web STARTED",),
        providers=WITH_DB,
        event=failed("/m/web", "update"),
        after="/m/web STARTED",
        effects=("notify /m/web STARTED: step update failed: exit 1",),
    ),
]


@table(TIMEOUTS)
def test_timeouts(row: Row) -> None:
    check(row)


DEPLOY_TIMED_OUT = (timed_out("/m/srv", "deploy"),)

PROBLEM_REQUESTS = [
    Row(
        id="PROBLEM (maybe running) asked NOT_DEPLOYED stops then undeploys",
        state=("/m/srv Server PROBLEM",),
        event=req("/m/srv", "ND"),
        after="/m/srv STOPPING queued ND",
        effects=("notify /m/srv STOPPING", "run /m/srv stop"),
    ),
    Row(
        id="PROBLEM (maybe running) asked DEPLOYED_STOPPED stops",
        state=("/m/srv Server PROBLEM",),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPING",
        effects=("notify /m/srv STOPPING", "run /m/srv stop"),
    ),
    Row(
        id="PROBLEM (maybe running) asked DEPLOYED_STARTED starts",
        state=("/m/srv Server PROBLEM",),
        event=req("/m/srv", "STARTED"),
        after="/m/srv STARTING",
        effects=("notify /m/srv STARTING", "run /m/srv start"),
    ),
    Row(
        id="PROBLEM after a deploy timeout asked NOT_DEPLOYED undeploys",
        state=("/m/srv Server DEPLOYING",),
        given=DEPLOY_TIMED_OUT,
        event=req("/m/srv", "ND"),
        after="/m/srv UNDEPLOYING",
        effects=("notify /m/srv UNDEPLOYING", "run /m/srv undeploy"),
    ),
    Row(
        id="PROBLEM after a deploy timeout asked DEPLOYED_STOPPED deploys again",
        state=("/m/srv Server DEPLOYING",),
        given=DEPLOY_TIMED_OUT,
        event=req("/m/srv", "STOPPED"),
        after="/m/srv DEPLOYING",
        effects=("notify /m/srv DEPLOYING", "run /m/srv deploy"),
    ),
    Row(
        id="PROBLEM after a deploy timeout asked DEPLOYED_STARTED deploys then starts",
        state=("/m/srv Server DEPLOYING",),
        given=DEPLOY_TIMED_OUT,
        event=req("/m/srv", "STARTED"),
        after="/m/srv DEPLOYING queued STARTED",
        effects=("notify /m/srv DEPLOYING", "run /m/srv deploy"),
    ),
    Row(
        id="a child in PROBLEM is stopped with its parent, first",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        given=(HealthCheckFailed(path="/m/srv/app", reason="down"),),
        event=req("/m/srv", "STOPPED"),
        after="/m/srv STOPPING, /m/srv/app STOPPING",
        effects=(
            "notify /m/srv/app STOPPING",
            "notify /m/srv STOPPING",
            "withdraw /m/srv",
            "run /m/srv/app stop",
        ),
    ),
    Row(
        id="a child whose stop failed does not hold back its parent's stop",
        state=("/m/srv Server STARTED", "/m/srv/app App STARTED"),
        given=(req("/m/srv", "STOPPED"),),
        event=failed("/m/srv/app", "stop"),
        after="/m/srv STOPPING, /m/srv/app PROBLEM",
        effects=("notify /m/srv/app PROBLEM: step stop failed: exit 1", "run /m/srv stop"),
    ),
]


@table(PROBLEM_REQUESTS)
def test_requests_in_problem(row: Row) -> None:
    check(row)
