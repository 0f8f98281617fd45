"""The REST API against a real DM over HTTP: every family of routes, its answers and refusals,
and the live event stream (SSE and WebSocket)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.api.conftest import (
    PATIENCE_S,
    WEBSTACK,
    LiveServer,
    create_application,
    template_zip,
    wait_for_all,
    with_version,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

INSTANCES = {"/host", "/host/database", "/host/app 1", "/host/app 2", "/host/balancer"}
STARTED, STOPPED, NOT_DEPLOYED = "DEPLOYED_STARTED", "DEPLOYED_STOPPED", "NOT_DEPLOYED"


@pytest.fixture(scope="module")
def idle(client: httpx.Client, webstack: dict[str, Any]) -> str:
    """An application that stays NOT_DEPLOYED (the refusals below need one)."""
    return str(create_application(client, "idle")["name"])


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body


# -- documentation ------------------------------------------------------------------------------


def test_the_openapi_document_lists_every_route_and_the_docs_are_served(
    client: httpx.Client,
) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, methods in document["paths"].items()
        for method in methods
    }
    assert {
        "POST /templates",
        "POST /templates/load",
        "DELETE /templates/{name}/{version}",
        "POST /applications/{app}/shutdown",
        "POST /applications/{app}/instance/state",
        "POST /applications/{app}/deploy-and-start-all",
        "POST /applications/{app}/plan",
        "PUT /applications/{app}/targets",
        "GET /events/stream",
        "GET /metrics",
        "GET /debug/diagnose",
        "PUT /preferences/{key}",
        "GET /applications/{app}/bindings",
        "PUT /applications/{app}/bindings/{prefix}",
        "DELETE /applications/{app}/bindings/{prefix}",
    } <= operations
    assert len(operations) == 38
    everything = json.dumps(document)
    assert "HTTPValidationError" not in everything, "validation errors are 400 ErrorOut here"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


# -- templates ----------------------------------------------------------------------------------


def test_a_template_is_uploaded_listed_read_and_deleted(client: httpx.Client) -> None:
    archive = template_zip(replace=with_version("2.0.0"))
    answer = client.post("/templates", files={"file": ("webstack.zip", archive)})
    assert answer.status_code == 201, answer.text
    uploaded = answer.json()
    assert (uploaded["name"], uploaded["version"]) == ("webstack", "2.0.0")
    assert uploaded["tags"] == ["example", "web", "load-balancer"]
    assert uploaded["applications"] == []

    again = client.post("/templates", files={"file": ("webstack.zip", archive)})
    assert_error(again, 409, "CONFLICT")

    listed = client.get("/templates", params={"name": "webstack", "version": "2.0.0"}).json()
    assert [(t["name"], t["version"]) for t in listed] == [("webstack", "2.0.0")]
    assert client.get("/templates", params={"tag": "no-such-tag"}).json() == []
    assert any(
        t["version"] == "2.0.0" for t in client.get("/templates", params={"tag": "web"}).json()
    )

    detail = client.get("/templates/webstack/2.0.0").json()
    assert detail["exports_prefix"] == "WebStack"
    components = {c["name"]: c for c in detail["components"]}
    assert {"VM", "PythonService", "Database", "AppServer", "LoadBalancer"} <= set(components)
    assert components["VM"]["installer"] == "target"
    assert components["AppServer"]["imports"] == {"Database.ip": False, "Database.port": False}

    assert client.delete("/templates/webstack/2.0.0").status_code == 204
    assert_error(client.get("/templates/webstack/2.0.0"), 404, "NOT_FOUND")


BROKEN = {"graph/main.graph": lambda text: text.replace("installer: target;", "installer: target")}


@pytest.mark.parametrize(
    ("archive", "first_code"),
    [
        pytest.param(
            lambda: template_zip(replace=BROKEN),
            "P_PROPERTY_ENDS_WITH_SEMI_COLON",
            id="a graph with a syntax error is refused with the file and line of the error",
        ),
        pytest.param(
            lambda: b"this is no zip",
            "PROJ_UNSAFE_ARCHIVE",
            id="bytes that are no zip are refused as an archive that cannot be extracted",
        ),
    ],
)
def test_an_invalid_template_is_refused_with_its_diagnostics(
    client: httpx.Client, archive: Any, first_code: str
) -> None:
    answer = client.post("/templates", files={"file": ("t.zip", archive())})
    body = assert_error(answer, 422, "INVALID_TEMPLATE")
    diagnostics = body["details"]["diagnostics"]
    assert diagnostics, body
    for diagnostic in diagnostics:
        assert set(diagnostic) == {
            "code",
            "severity",
            "file",
            "line",
            "column",
            "message",
            "details",
        }
    assert diagnostics[0]["code"] == first_code
    if first_code.startswith("P_"):
        assert diagnostics[0]["file"].endswith("main.graph")
        assert diagnostics[0]["line"] is not None


def test_a_template_is_loaded_from_a_folder_on_the_dm_host(
    client: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "webstack"
    shutil.copytree(WEBSTACK, folder)
    descriptor = folder / "descriptor" / "application.properties"
    descriptor.write_text(descriptor.read_text().replace("1.0.0", "3.0.0"), encoding="utf-8")
    answer = client.post("/templates/load", json={"path": str(folder)})
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "3.0.0"
    assert client.delete("/templates/webstack/3.0.0").status_code == 204
    missing = client.post("/templates/load", json={"path": str(tmp_path / "nothing")})
    assert_error(missing, 400, "BAD_REQUEST")


# -- refusals -----------------------------------------------------------------------------------

#: (method, path, JSON body or raw bytes or None, status, code); "idle" is a NOT_DEPLOYED app
REFUSALS = [
    ("GET", "/applications/ghost", None, 404, "NOT_FOUND", "an unknown application is 404"),
    ("GET", "/templates/ghost/1.0", None, 404, "NOT_FOUND", "an unknown template is 404"),
    (
        "GET",
        "/applications/idle/instance?path=/ghost",
        None,
        404,
        "NOT_FOUND",
        "an unknown instance is 404",
    ),
    ("GET", "/nowhere", None, 404, "NOT_FOUND", "an unknown route is 404"),
    ("DELETE", "/health", None, 405, "METHOD_NOT_ALLOWED", "a method a route lacks is 405"),
    (
        "POST",
        "/applications",
        {"name": "x"},
        400,
        "INVALID_REQUEST",
        "a body without its required fields is 400",
    ),
    (
        "POST",
        "/applications",
        {"name": "x", "template": "webstack", "version": "1.0.0", "colour": "red"},
        400,
        "INVALID_REQUEST",
        "a body with a field the API does not know is 400",
    ),
    ("POST", "/applications", b"{", 400, "INVALID_REQUEST", "malformed JSON is 400"),
    (
        "POST",
        "/applications",
        {"name": "x", "template": "ghost", "version": "1"},
        404,
        "NOT_FOUND",
        "an application of an unknown template is 404",
    ),
    (
        "POST",
        "/applications",
        {"name": "idle", "template": "webstack", "version": "1.0.0"},
        409,
        "CONFLICT",
        "an application name in use is 409",
    ),
    (
        "POST",
        "/applications",
        {"name": "a/b", "template": "webstack", "version": "1.0.0"},
        400,
        "BAD_REQUEST",
        "an application name with a slash is 400",
    ),
    (
        "DELETE",
        "/templates/webstack/1.0.0",
        None,
        409,
        "CONFLICT",
        "deleting a template an application uses is 409",
    ),
    (
        "POST",
        "/applications/idle/instance/state?path=/host",
        {"status": "FLYING"},
        400,
        "INVALID_REQUEST",
        "a status that does not exist is 400",
    ),
    (
        "POST",
        "/applications/idle/instance/state?path=/host",
        {"status": "DEPLOYING"},
        400,
        "BAD_REQUEST",
        "a transitional status cannot be requested",
    ),
    (
        "POST",
        "/applications/idle/instance/state?path=/host",
        {"status": "DEPLOYED_STOPPED"},
        409,
        "CONFLICT",
        "a machine cannot be asked to stop",
    ),
    (
        "POST",
        "/applications/idle/instance/state",
        {"status": "DEPLOYED_STARTED"},
        400,
        "INVALID_REQUEST",
        "a state request without an instance path is 400",
    ),
    (
        "POST",
        "/applications/idle/instances",
        {"parent": "/host", "component": "Database", "name": "database"},
        409,
        "CONFLICT",
        "adding an instance whose path exists is 409",
    ),
    (
        "POST",
        "/applications/idle/instances",
        {"parent": "/ghost", "component": "Database", "name": "db"},
        404,
        "NOT_FOUND",
        "adding under an unknown parent is 404",
    ),
    (
        "POST",
        "/applications/idle/instances",
        {"parent": "/host", "component": "VM", "name": "vm"},
        400,
        "BAD_REQUEST",
        "adding a component its parent cannot hold is 400",
    ),
    (
        "POST",
        "/applications/idle/stop-all",
        {"component": "Ghost"},
        404,
        "NOT_FOUND",
        "a bulk action on an unknown component is 404",
    ),
    (
        "POST",
        "/applications/idle/plan",
        {"action": "fly"},
        400,
        "INVALID_REQUEST",
        "a plan of an unknown action is 400",
    ),
    (
        "POST",
        "/targets",
        {"properties": "id = lonely"},
        400,
        "BAD_REQUEST",
        "a target without a handler is 400",
    ),
    (
        "PUT",
        "/targets/other",
        {"properties": "id = mine\nhandler = in-memory"},
        400,
        "BAD_REQUEST",
        "a target whose id is not the one of its path is 400",
    ),
    ("GET", "/targets/ghost", None, 404, "NOT_FOUND", "an unknown target is 404"),
    (
        "PUT",
        "/applications/idle/targets",
        {"key": "default", "target_id": "ghost"},
        404,
        "NOT_FOUND",
        "associating an unknown target is 404",
    ),
    ("GET", "/events?limit=1001", None, 400, "INVALID_REQUEST", "history pages stop at 1000"),
    (
        "GET",
        "/debug/diagnose?application=ghost",
        None,
        404,
        "NOT_FOUND",
        "diagnosing an unknown application is 404",
    ),
    ("POST", "/templates", None, 400, "INVALID_REQUEST", "an upload without a file is 400"),
    (
        "GET",
        "/applications/ghost/bindings",
        None,
        404,
        "NOT_FOUND",
        "the bindings of an unknown application are 404",
    ),
    (
        "PUT",
        "/applications/idle/bindings/Lb",
        {"applications": ["idle"]},
        400,
        "BAD_REQUEST",
        "binding a prefix the application does not import as external is 400",
    ),
    (
        "PUT",
        "/applications/idle/bindings/Lb",
        {"applications": ["ghost"]},
        404,
        "NOT_FOUND",
        "binding an unknown application is 404",
    ),
    (
        "PUT",
        "/applications/idle/bindings/Lb",
        {},
        400,
        "INVALID_REQUEST",
        "a binding without its applications is 400",
    ),
    (
        "DELETE",
        "/applications/idle/bindings/Lb",
        None,
        404,
        "NOT_FOUND",
        "removing a binding that is not there is 404",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [pytest.param(*row[:5], id=row[5]) for row in REFUSALS],
)
def test_refusals_are_json_errors_with_the_right_status(
    client: httpx.Client, idle: str, method: str, path: str, body: Any, status: int, code: str
) -> None:
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json"}
        answer = client.request(method, path, content=body, headers=headers)
    else:
        answer = client.request(method, path, json=body)
    assert_error(answer, status, code)


def test_a_validation_error_says_where_the_request_is_wrong(client: httpx.Client) -> None:
    body = assert_error(client.post("/applications", json={"name": "x"}), 400, "INVALID_REQUEST")
    wrong = {tuple(e["loc"]) for e in body["details"]["errors"]}
    assert wrong == {("body", "template"), ("body", "version")}
    assert body["message"].startswith("body.template:")


# -- applications and instances -----------------------------------------------------------------


def test_an_application_is_planned_deployed_explained_stopped_and_deleted(
    client: httpx.Client, webstack: dict[str, Any]
) -> None:
    created = create_application(client, "shop")
    assert created["counts"] == {NOT_DEPLOYED: 5}
    assert created["instances"] == 5
    assert "shop" in {a["name"] for a in client.get("/applications").json()}
    assert "shop" in client.get("/templates/webstack/1.0.0").json()["applications"]
    components = {c["name"] for c in client.get("/applications/shop/components").json()}
    assert {"VM", "Database", "AppServer", "LoadBalancer"} <= components

    instances = client.get("/applications/shop/instances").json()
    assert {i["path"] for i in instances} == INSTANCES
    seen: set[str] = set()
    for instance in instances:  # parents first
        assert instance["parent"] is None or instance["parent"] in seen
        seen.add(instance["path"])
    subtree = client.get("/applications/shop/instances", params={"under": "/host"}).json()
    assert {i["path"] for i in subtree} == INSTANCES

    plan = client.post("/applications/shop/plan", json={"action": "deploy-and-start-all"})
    assert plan.status_code == 200, plan.text
    planned = plan.json()
    assert planned["machines_to_create"] == ["/host"]
    assert [s["order"] for s in planned["steps"]] == list(range(1, len(planned["steps"]) + 1))
    assert planned["final"] == dict.fromkeys(INSTANCES, STARTED)
    for request in (
        {"action": "state", "path": "/host/database", "status": STARTED},
        {"action": "add", "parent": "/host", "component": "AppServer", "name": "app 3"},
        {"action": "remove", "path": "/host/app 2"},
    ):
        answer = client.post("/applications/shop/plan", json=request)
        assert answer.status_code == 200, (request, answer.text)
    assert {i["path"] for i in client.get("/applications/shop/instances").json()} == INSTANCES

    deploy = client.post("/applications/shop/deploy-and-start-all")
    assert (deploy.status_code, deploy.json()) == (202, {"instances": 5})
    wait_for_all(client, "shop", STARTED)
    assert client.get("/applications/shop").json()["counts"] == {STARTED: 5}
    app_server = client.get("/applications/shop/instance", params={"path": "/host/app 1"}).json()
    assert app_server["imports"] == {"Database": ["/host/database"]}
    assert app_server["machine"] == "/host"
    assert set(app_server["exports"]) == {"AppServer.ip", "AppServer.port"}
    explained = client.get("/applications/shop/explain", params={"path": "/host/balancer"})
    assert explained.json()["status"] == STARTED
    assert isinstance(explained.json()["reasons"], list)

    assert_error(client.delete("/applications/shop"), 409, "CONFLICT")
    removing = client.delete("/applications/shop/instance", params={"path": "/host/database"})
    assert_error(removing, 409, "CONFLICT")

    stop = client.post("/applications/shop/stop-all", json={"component": "AppServer"})
    assert (stop.status_code, stop.json()) == (202, {"instances": 2})
    wait_until(
        lambda: (
            {
                i["path"]: i["status"]
                for i in client.get("/applications/shop/instances").json()
                if i["component"] == "AppServer"
            }
            == {"/host/app 1": STOPPED, "/host/app 2": STOPPED}
        )
    )

    shutdown = client.post("/applications/shop/shutdown")
    assert shutdown.status_code == 202
    assert shutdown.json()["name"] == "shop"
    wait_for_all(client, "shop", NOT_DEPLOYED)
    assert client.delete("/applications/shop").status_code == 204
    assert_error(client.get("/applications/shop"), 404, "NOT_FOUND")


def test_an_instance_is_added_requested_and_removed(client: httpx.Client, idle: str) -> None:
    added = client.post(
        "/applications/idle/instances",
        json={
            "parent": "/host",
            "component": "AppServer",
            "name": "extra",
            "overrides": {"port": "9999"},
        },
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["path"], body["status"], body["machine"]) == ("/host/extra", NOT_DEPLOYED, "/host")
    assert body["overrides"] == {"port": "9999"}

    requested = client.post(
        "/applications/idle/instance/state",
        params={"path": "/host/extra"},
        json={"status": NOT_DEPLOYED},
    )
    assert requested.status_code == 202, requested.text
    assert requested.json() == {"requested": NOT_DEPLOYED, "path": "/host/extra"}

    explained = client.get("/applications/idle/explain", params={"path": "/host/extra"}).json()
    assert explained["status"] == NOT_DEPLOYED

    removed = client.delete("/applications/idle/instance", params={"path": "/host/extra"})
    assert removed.status_code == 204
    gone = client.get("/applications/idle/instance", params={"path": "/host/extra"})
    assert_error(gone, 404, "NOT_FOUND")


def test_an_external_prefix_is_bound_read_and_unbound(client: httpx.Client) -> None:
    for name in ("balancer", "shop"):
        folder = ROOT / "tests" / "data" / "inter_app" / name
        uploaded = client.post("/templates", files={"file": (f"{name}.zip", template_zip(folder))})
        assert uploaded.status_code == 201, uploaded.text
        created = client.post(
            "/applications", json={"name": f"bound-{name}", "template": name, "version": "1.0"}
        )
        assert created.status_code == 201, created.text
    assert client.get("/applications/bound-shop/bindings").json() == {}

    bound = client.put(
        "/applications/bound-shop/bindings/Lb", json={"applications": ["bound-balancer"]}
    )
    assert bound.status_code == 200, bound.text
    assert bound.json() == {"prefix": "Lb", "applications": ["bound-balancer"]}
    assert client.get("/applications/bound-shop/bindings").json() == {"Lb": ["bound-balancer"]}
    for name in ("bound-balancer", "bound-shop"):
        client.post(f"/applications/{name}/deploy-and-start-all", json={})
    wait_for_all(client, "bound-shop", STARTED)

    assert client.delete("/applications/bound-shop/bindings/Lb").status_code == 204
    assert client.get("/applications/bound-shop/bindings").json() == {}
    path = {"path": "/web-vm/web"}
    deadline = time.monotonic() + PATIENCE_S
    while client.get("/applications/bound-shop/instance", params=path).json()["status"] == STARTED:
        assert time.monotonic() < deadline, "still started once unbound"
        time.sleep(0.05)
    for name in ("bound-shop", "bound-balancer"):
        client.post(f"/applications/{name}/undeploy-all", json={})
        wait_for_all(client, name, NOT_DEPLOYED)


# -- targets, preferences, operations -----------------------------------------------------------

SIMULATED = (
    "id = simulated\nhandler = in-memory\nname = Simulated\n"
    "in-memory.execute-real-recipes = false\n"
)


def test_targets_are_created_replaced_associated_and_deleted(
    client: httpx.Client, idle: str
) -> None:
    created = client.post("/targets", json={"properties": SIMULATED})
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("id", "handler", "name", "usage")} == {
        "id": "simulated",
        "handler": "in-memory",
        "name": "Simulated",
        "usage": [],
    }
    again = client.post("/targets", json={"properties": SIMULATED})
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT"
    replaced = client.put("/targets/simulated", json={"properties": SIMULATED + "# v2\n"})
    assert replaced.status_code == 200
    assert replaced.json()["properties"].endswith("# v2\n")
    assert "simulated" in {t["id"] for t in client.get("/targets").json()}

    associated = client.put(
        "/applications/idle/targets", json={"key": "@VM", "target_id": "simulated"}
    )
    assert associated.status_code == 200, associated.text
    assert associated.json()["key"] == "@VM"
    associations = client.get("/applications/idle/targets").json()
    assert {"key": "@VM", "target_id": "simulated", "from_template": False} in associations
    usage = client.get("/targets/simulated").json()["usage"]
    assert usage == [{"application": "idle", "key": "@VM"}]
    assert_error(client.delete("/targets/simulated"), 409, "CONFLICT")

    temporary = SIMULATED.replace("id = simulated", "id = temporary")
    assert client.put("/targets/temporary", json={"properties": temporary}).status_code == 200
    assert client.delete("/targets/temporary").status_code == 204
    assert_error(client.get("/targets/temporary"), 404, "NOT_FOUND")


def test_preferences_are_set_and_read(client: httpx.Client) -> None:
    answer = client.put("/preferences/email.to", json={"value": "ops@example.org"})
    assert (answer.status_code, answer.json()) == (
        200,
        {"key": "email.to", "value": "ops@example.org"},
    )
    assert client.get("/preferences").json()["email.to"] == "ops@example.org"


def test_health_diagnosis_and_metrics(client: httpx.Client, idle: str) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["applications"] >= 1
    assert health["database"] == "sqlite"

    diagnosis = client.get("/debug/diagnose", params={"application": "idle"}).json()
    assert {d["path"] for d in diagnosis} >= INSTANCES
    host = next(d for d in diagnosis if d["path"] == "/host")
    assert host["machine"]["up"] is False

    client.get("/nowhere/at/all")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "# TYPE roboconf_instances gauge" in text
    assert 'roboconf_instances{application="idle",status="NOT_DEPLOYED"}' in text
    assert "# TYPE roboconf_http_request_duration_seconds histogram" in text
    health_route = 'route="/api/v1/health",method="GET",status="200"'
    assert f'roboconf_http_request_duration_seconds_bucket{{{health_route},le="+Inf"}}' in text
    assert f"roboconf_http_request_duration_seconds_count{{{health_route}}}" in text
    assert 'route="other",method="GET",status="404"' in text


# -- events -------------------------------------------------------------------------------------


def test_history_is_newest_first_and_pages_back_with_before(
    client: httpx.Client, idle: str
) -> None:
    newest = client.get("/events", params={"limit": 5}).json()
    ids = [e["id"] for e in newest]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 5
    older = client.get("/events", params={"limit": 5, "before": ids[-1]}).json()
    assert all(e["id"] < ids[-1] for e in older)
    mine = client.get("/events", params={"application": "idle"}).json()
    assert mine
    assert {e["application"] for e in mine} == {"idle"}
    assert "application.created" in {e["kind"] for e in mine}


def sse_frames(answer: httpx.Response) -> Iterator[dict[str, str]]:
    """The frames of an event stream: {"comment": ...} or {"id", "event", "data"}."""
    frame: dict[str, str] = {}
    for line in answer.iter_lines():
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            frame["comment"] = line[1:].strip()
        else:
            field, _, value = line.partition(":")
            frame[field] = value.removeprefix(" ")


def read_frames(answer: httpx.Response, enough: Any) -> list[dict[str, str]]:
    """Frames until ``enough(frames)`` (bounded)."""
    deadline = time.monotonic() + PATIENCE_S
    frames: list[dict[str, str]] = []
    for frame in sse_frames(answer):
        frames.append(frame)
        if enough(frames):
            return frames
        assert time.monotonic() < deadline, f"not enough after {PATIENCE_S} s: {frames}"
    raise AssertionError(f"the stream ended: {frames}")


def test_the_event_stream_sends_events_then_replays_from_last_event_id(
    server: LiveServer, client: httpx.Client, webstack: dict[str, Any]
) -> None:
    create_application(client, "streamed")
    params = {"application": "streamed"}

    def all_started(frames: list[dict[str, str]]) -> bool:
        started = {
            json.loads(f["data"])["path"]
            for f in frames
            if f.get("event") == "instance.changed" and json.loads(f["data"])["status"] == STARTED
        }
        return started == INSTANCES

    with (
        server.client() as streaming,
        streaming.stream("GET", "/events/stream", params=params) as live,
    ):
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert client.post("/applications/streamed/deploy-and-start-all").status_code == 202
        frames = [f for f in read_frames(live, all_started) if "id" in f]
    events = [json.loads(f["data"]) for f in frames]
    assert {e["application"] for e in events} == {"streamed"}
    assert [f["event"] for f in frames] == [e["kind"] for e in events]
    assert [int(f["id"]) for f in frames] == [e["id"] for e in events]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)

    wait_for_all(client, "streamed", STARTED)
    last_seen = events[2]["id"]
    missed = client.get("/events", params={**params, "after": last_seen, "limit": 1000}).json()
    expected = [e["id"] for e in reversed(missed)]
    headers = {"Last-Event-ID": str(last_seen)}
    with (
        server.client() as streaming,
        streaming.stream("GET", "/events/stream", params=params, headers=headers) as replay,
    ):
        again = read_frames(replay, lambda frames: "comment" in frames[-1])
    assert [int(f["id"]) for f in again if "id" in f] == expected
    assert again[-1] == {"comment": "heartbeat"}
    wait_until(lambda: subscribers(client) == 0)
    undeploy(client, "streamed")


def test_the_websocket_sends_events_then_replays_after_an_id(
    server: LiveServer, client: httpx.Client, webstack: dict[str, Any]
) -> None:
    create_application(client, "socketed")
    url = f"{server.websocket}?application=socketed"
    received: list[dict[str, Any]] = []
    with connect(url, open_timeout=PATIENCE_S, max_queue=None) as socket:
        assert client.post("/applications/socketed/deploy-and-start-all").status_code == 202
        deadline = time.monotonic() + PATIENCE_S
        while not (
            received and received[-1]["path"] == "/host" and received[-1]["kind"] == "machine.up"
        ):
            assert time.monotonic() < deadline, received
            received.append(json.loads(socket.recv(timeout=PATIENCE_S)))
    assert {e["application"] for e in received} == {"socketed"}
    assert "instance.requested" in {e["kind"] for e in received}

    first = received[0]["id"]
    expected = [e["id"] for e in received[1:]]
    with connect(f"{url}&after={first}", open_timeout=PATIENCE_S, max_queue=None) as socket:
        replayed = [json.loads(socket.recv(timeout=PATIENCE_S))["id"] for _ in expected]
    assert replayed == expected
    wait_until(lambda: subscribers(client) == 0)
    undeploy(client, "socketed")


def subscribers(client: httpx.Client) -> int:
    """Live event subscribers of the DM (a closed stream must leave none behind)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("roboconf_event_subscribers "):
            return int(float(line.split()[1]))
    raise AssertionError("no roboconf_event_subscribers gauge")


def undeploy(client: httpx.Client, app: str) -> None:
    assert client.post(f"/applications/{app}/shutdown").status_code == 202
    wait_for_all(client, app, NOT_DEPLOYED)


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"still not so after {PATIENCE_S} s"
        time.sleep(0.05)
