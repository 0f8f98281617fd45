"""Plans (dry runs): what a request would do, computed by the life-cycle core in simulation.

The application is a web stack: machines (VM) holding a database, two app servers importing the
database's exports (and a cache's, optionally) and a load balancer importing the app servers'.
A row gives the observed statuses, the request, and what the plan must say: steps as
``"<step> <path>"`` in order, machines, refusals (a fragment of the sentence), instances left
UNRESOLVED.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from roboconf.dm.application import Application
from roboconf.dm.plan import (
    AddInstance,
    BulkChange,
    Plan,
    PlanRequest,
    RemoveInstance,
    StateChange,
    plan,
    plan_to_json,
)
from roboconf.model import ApplicationDescriptor, ApplicationTemplate, InstanceStatus
from tests.model.graphs import graph_of, instances_of

S = InstanceStatus

GRAPH = graph_of(
    """
VM {
    installer: target;
    children: Database, AppServer, LoadBalancer, Cache, Box;
}
Box {
    installer: target;
    children: AppServer;
}
Database {
    installer: script;
    exports: ip, port = 5432;
}
Cache {
    installer: script;
    exports: host = cache.local;
}
AppServer {
    installer: script;
    exports: ip, port = 8080;
    imports: Database.ip, Database.port, Cache.host (optional);
}
LoadBalancer {
    installer: script;
    imports: AppServer.ip, AppServer.port;
}
"""
)

INSTANCES = """
instance of VM {
    name: vm-db;
    instance of Database {
        name: db;
    }
}
instance of VM {
    name: vm-app1;
    instance of AppServer {
        name: app;
    }
}
instance of VM {
    name: vm-app2;
    instance of AppServer {
        name: app;
    }
}
instance of VM {
    name: vm-lb;
    instance of LoadBalancer {
        name: lb;
    }
}
"""

NESTED = """
instance of VM {
    name: host;
    instance of Box {
        name: box;
        instance of AppServer {
            name: app;
        }
    }
}
"""

APP1, APP2, DB, LB = "/vm-app1/app", "/vm-app2/app", "/vm-db/db", "/vm-lb/lb"


def application(instances: str = INSTANCES) -> Application:
    template = ApplicationTemplate(
        descriptor=ApplicationDescriptor(name="web", version="1.0"),
        graph=GRAPH,
        instances=instances_of(instances, GRAPH),
    )
    return Application("web", template, Path("unused"))


def observe(app: Application, statuses: Mapping[str, InstanceStatus]) -> None:
    """What agents would have reported."""
    for path, status in statuses.items():
        app.set_status(app.get(path), status)


def all_started(app: Application) -> Application:
    observe(app, plan(app, BulkChange(action="deploy-and-start-all")).final)
    assert app.all_in(S.DEPLOYED_STARTED)
    return app


def steps_of(result: Plan) -> list[str]:
    return [f"{step.step} {step.path}" for step in result.steps]


def index(result: Plan, step: str, path: str) -> int:
    return steps_of(result).index(f"{step} {path}")


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    request: PlanRequest
    started: bool = False
    given: Mapping[str, InstanceStatus] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    steps: tuple[str, ...] = ()
    create: tuple[str, ...] = ()
    terminate: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    unresolved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    final: Mapping[str, InstanceStatus] = field(default_factory=dict)


ROWS = {
    "a state request on an instance whose machine is not deployed creates the machine first": Row(
        request=StateChange(path=DB, status=S.DEPLOYED_STARTED),
        create=("/vm-db",),
        steps=(f"deploy {DB}", f"start {DB}"),
        final={"/vm-db": S.DEPLOYED_STARTED, DB: S.DEPLOYED_STARTED},
    ),
    "an app server started without a database is deployed and stays UNRESOLVED": Row(
        request=StateChange(path=APP1, status=S.DEPLOYED_STARTED),
        create=("/vm-app1",),
        steps=(f"deploy {APP1}",),
        unresolved={APP1: ("Database",)},
    ),
    "deploying (stopped) runs the deploy step only": Row(
        request=StateChange(path=DB, status=S.DEPLOYED_STOPPED),
        create=("/vm-db",),
        steps=(f"deploy {DB}",),
        final={"/vm-db": S.DEPLOYED_STARTED, DB: S.DEPLOYED_STOPPED},
    ),
    "stopping the database stops its importers, and theirs": Row(
        request=StateChange(path=DB, status=S.DEPLOYED_STOPPED),
        started=True,
        steps=(f"update {LB}", f"stop {DB}", f"stop {APP1}", f"stop {APP2}", f"stop {LB}"),
        unresolved={APP1: ("Database",), APP2: ("Database",), LB: ("AppServer",)},
        final={
            DB: S.DEPLOYED_STOPPED,
            APP1: S.UNRESOLVED,
            APP2: S.UNRESOLVED,
            LB: S.UNRESOLVED,
        },
    ),
    "stopping one app server tells the balancer, which keeps the other one": Row(
        request=StateChange(path=APP1, status=S.DEPLOYED_STOPPED),
        started=True,
        steps=(f"update {LB}", f"stop {APP1}"),
        final={APP1: S.DEPLOYED_STOPPED},
    ),
    "undeploying an instance stops it first": Row(
        request=StateChange(path=LB, status=S.NOT_DEPLOYED),
        started=True,
        steps=(f"stop {LB}", f"undeploy {LB}"),
        final={LB: S.NOT_DEPLOYED},
    ),
    "undeploying an instance whose machine is not deployed does nothing": Row(
        request=StateChange(path=LB, status=S.NOT_DEPLOYED),
        final={LB: S.NOT_DEPLOYED},
    ),
    "deploy-and-start-all under one machine selects its subtree only": Row(
        request=BulkChange(action="deploy-and-start-all", under="/vm-db"),
        create=("/vm-db",),
        steps=(f"deploy {DB}", f"start {DB}"),
    ),
    "deploy-and-start-all of a component creates the machines of its instances": Row(
        request=BulkChange(action="deploy-and-start-all", component="AppServer"),
        create=("/vm-app1", "/vm-app2"),
        steps=(f"deploy {APP1}", f"deploy {APP2}"),
        unresolved={APP1: ("Database",), APP2: ("Database",)},
    ),
    "stop-all of a component stops its instances and what imports them": Row(
        request=BulkChange(action="stop-all", component="AppServer"),
        started=True,
        steps=(f"update {LB}", f"stop {APP1}", f"stop {APP2}", f"stop {LB}"),
        unresolved={LB: ("AppServer",)},
        final={APP1: S.DEPLOYED_STOPPED, APP2: S.DEPLOYED_STOPPED, LB: S.UNRESOLVED},
    ),
    "stop-all leaves the machines started": Row(
        request=BulkChange(action="stop-all", under="/vm-lb"),
        started=True,
        steps=(f"stop {LB}",),
        final={LB: S.DEPLOYED_STOPPED},
    ),
    "undeploy-all under a machine undeploys what it holds, then terminates it": Row(
        request=BulkChange(action="undeploy-all", under="/vm-lb"),
        started=True,
        terminate=("/vm-lb",),
        steps=(f"stop {LB}", f"undeploy {LB}"),
        final={"/vm-lb": S.NOT_DEPLOYED, LB: S.NOT_DEPLOYED},
    ),
    "undeploying a lost machine runs no recipe on it and tells nobody twice": Row(
        request=StateChange(path="/vm-app1", status=S.NOT_DEPLOYED),
        started=True,
        given={"/vm-app1": S.PROBLEM},
        reasons={"/vm-app1": "agent silent"},
        terminate=("/vm-app1",),
        final={"/vm-app1": S.NOT_DEPLOYED, APP1: S.NOT_DEPLOYED},
    ),
    "an instance on a lost machine cannot be deployed": Row(
        request=StateChange(path=APP1, status=S.DEPLOYED_STARTED),
        given={"/vm-app1": S.PROBLEM},
        reasons={"/vm-app1": "agent silent"},
        refused=("machine /vm-app1 is in PROBLEM (agent silent)",),
    ),
    "deploy-and-start-all refuses a lost machine once, for all it holds": Row(
        request=BulkChange(action="deploy-and-start-all", under="/vm-app1"),
        given={"/vm-app1": S.PROBLEM},
        refused=("machine /vm-app1 is in PROBLEM",),
    ),
    "a machine cannot be requested DEPLOYED_STOPPED": Row(
        request=StateChange(path="/vm-db", status=S.DEPLOYED_STOPPED),
        refused=("/vm-db is a machine",),
    ),
    "a transitional status cannot be requested": Row(
        request=StateChange(path=DB, status=S.STARTING),
        refused=("STARTING cannot be requested",),
    ),
    "an unknown path is refused": Row(
        request=StateChange(path="/nowhere", status=S.DEPLOYED_STARTED),
        refused=("no instance '/nowhere'",),
    ),
    "an unknown subtree is refused": Row(
        request=BulkChange(action="stop-all", under="/nowhere"),
        refused=("no instance '/nowhere'",),
    ),
    "an unknown component is refused": Row(
        request=BulkChange(action="deploy-and-start-all", component="Nope"),
        refused=("no component 'Nope'",),
    ),
    "removing a deployed instance is refused": Row(
        request=RemoveInstance(path=DB),
        started=True,
        refused=("undeploy it first",),
    ),
    "removing an undeployed instance runs nothing": Row(
        request=RemoveInstance(path="/vm-lb"),
    ),
    "an instance added under a machine that does not run is only added": Row(
        request=AddInstance(parent="/vm-db", component="AppServer", name="app", overrides={}),
        final={"/vm-db/app": S.NOT_DEPLOYED},
    ),
    "an instance the graph does not allow there is refused": Row(
        request=AddInstance(parent=DB, component="AppServer", name="app", overrides={}),
        refused=("cannot be a child of '/vm-db/db'",),
    ),
    "an instance of an unknown component is refused": Row(
        request=AddInstance(parent="/vm-db", component="Nope", name="x", overrides={}),
        refused=("unknown component 'Nope'",),
    ),
    "an optional import comes with an update, never blocks": Row(
        request=AddInstance(parent="/vm-db", component="Cache", name="cache", overrides={}),
        started=True,
        steps=(
            "deploy /vm-db/cache",
            "start /vm-db/cache",
            f"update {APP1}",
            f"update {APP2}",
        ),
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_plan(row: Row) -> None:
    app = application()
    if row.started:
        all_started(app)
    observe(app, row.given)
    for path, reason in row.reasons.items():
        app.get(path).reason = reason

    result = plan(app, row.request)

    assert steps_of(result) == list(row.steps)
    assert result.machines_to_create == row.create
    assert result.machines_to_terminate == row.terminate
    assert len(result.refused) == len(row.refused), result.refused
    for sentence, fragment in zip(result.refused, row.refused, strict=True):
        assert fragment in sentence
    assert dict(result.unresolved) == dict(row.unresolved)
    for path, status in row.final.items():
        assert result.final[path] is status, path


# -- whole scenarios -------------------------------------------------------------------------


def test_deploy_and_start_all_from_nothing_creates_machines_then_runs_in_dependency_order() -> None:
    result = plan(application(), BulkChange(action="deploy-and-start-all"))

    assert result.machines_to_create == ("/vm-db", "/vm-app1", "/vm-app2", "/vm-lb")
    assert index(result, "start", DB) < index(result, "start", APP1)
    assert index(result, "start", DB) < index(result, "start", APP2)
    assert index(result, "start", APP1) < index(result, "start", LB)
    app_start = result.steps[index(result, "start", APP1)]
    assert app_start.machine == "/vm-app1"
    assert app_start.component == "AppServer"
    assert app_start.imports == {"Database": {DB: {"Database.ip": None, "Database.port": "5432"}}}
    balancer_start = result.steps[index(result, "start", LB)]
    seen = set(balancer_start.imports["AppServer"])
    assert seen and seen <= {APP1, APP2}
    last = [step for step in result.steps if step.path == LB][-1]
    assert set(last.imports["AppServer"]) == {APP1, APP2}
    assert [step.order for step in result.steps] == list(range(1, len(result.steps) + 1))
    assert set(result.final.values()) == {S.DEPLOYED_STARTED}
    assert len(result.final) == 8
    assert result.refused == ()
    assert result.unresolved == {}


def test_an_app_server_added_to_a_running_stack_is_started_then_the_balancer_updated() -> None:
    app = all_started(application())
    app.get("/vm-db").data["ip"] = "10.0.0.5"

    result = plan(
        app,
        AddInstance(parent="/vm-app1", component="AppServer", name="app2", overrides={}),
    )

    assert steps_of(result) == ["deploy /vm-app1/app2", "start /vm-app1/app2", f"update {LB}"]
    start, update = result.steps[1], result.steps[2]
    assert start.imports["Database"] == {DB: {"Database.ip": "10.0.0.5", "Database.port": "5432"}}
    assert set(update.imports["AppServer"]) == {APP1, APP2, "/vm-app1/app2"}
    assert update.machine == "/vm-lb"
    assert result.machines_to_create == ()
    assert dict(result.final) == {"/vm-app1/app2": S.DEPLOYED_STARTED, LB: S.DEPLOYED_STARTED}


def test_nested_machines_are_created_parents_first_and_terminated_children_first() -> None:
    app = application(NESTED)

    deploy = plan(app, StateChange(path="/host/box/app", status=S.DEPLOYED_STARTED))
    assert deploy.machines_to_create == ("/host", "/host/box")
    assert [(s.step, s.machine) for s in deploy.steps] == [("deploy", "/host/box")]
    assert deploy.unresolved == {"/host/box/app": ("Database",)}

    observe(app, {"/host": S.DEPLOYED_STARTED, "/host/box": S.DEPLOYED_STARTED})
    observe(app, {"/host/box/app": S.DEPLOYED_STOPPED})
    undeploy = plan(app, BulkChange(action="undeploy-all"))
    assert undeploy.machines_to_terminate == ("/host/box", "/host")
    assert steps_of(undeploy) == ["undeploy /host/box/app"]


def test_a_step_already_running_finishes_before_the_request() -> None:
    app = application()
    observe(app, {"/vm-db": S.DEPLOYED_STARTED, DB: S.STARTING})

    result = plan(app, StateChange(path=APP1, status=S.DEPLOYED_STARTED))

    assert steps_of(result) == [f"deploy {APP1}", f"start {APP1}"]
    assert set(result.steps[1].imports["Database"]) == {DB}
    assert result.final[DB] is S.DEPLOYED_STARTED


def test_the_json_form_is_plain_data_with_status_names() -> None:
    result = plan(application(), StateChange(path=APP1, status=S.DEPLOYED_STARTED))

    data = plan_to_json(result)

    assert json.loads(json.dumps(data)) == data
    assert data == {
        "machines_to_create": ["/vm-app1"],
        "machines_to_terminate": [],
        "steps": [
            {
                "order": 1,
                "machine": "/vm-app1",
                "path": APP1,
                "component": "AppServer",
                "step": "deploy",
                "imports": {},
            }
        ],
        "final": {"/vm-app1": "DEPLOYED_STARTED", APP1: "UNRESOLVED"},
        "refused": [],
        "unresolved": {APP1: ["Database"]},
    }


UNTOUCHED = {
    "deploy-and-start-all": BulkChange(action="deploy-and-start-all"),
    "undeploy-all": BulkChange(action="undeploy-all"),
    "stop the database": StateChange(path=DB, status=S.DEPLOYED_STOPPED),
    "add an app server": AddInstance(parent="/vm-app2", component="AppServer", name="x"),
    "remove the balancer": RemoveInstance(path=LB),
}


@pytest.mark.parametrize("request_", UNTOUCHED.values(), ids=UNTOUCHED.keys())
@pytest.mark.parametrize("started", [False, True], ids=["from nothing", "all started"])
def test_a_plan_leaves_the_application_untouched(request_: PlanRequest, started: bool) -> None:
    app = application()
    if started:
        all_started(app)
    app.get("/vm-db").data["ip"] = "10.0.0.5"
    before = copy.deepcopy(app.instances)
    counts = {status: app.count(status) for status in S}

    plan(app, request_)

    assert app.instances == before
    assert {status: app.count(status) for status in S} == counts
    assert [r.path for r in app] == [r.path for r in application()]
