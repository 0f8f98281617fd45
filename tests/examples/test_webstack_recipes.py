"""The webstack example's recipes, run as the script plug-in runs them, without the engine.

Each instance gets a work dir in ``tmp_path`` (a copy of its component's recipe folder); its
scripts run from their own folder with the environment of spec 40 (exports by local name, identity,
``ROBOCONF_FILES_DIR``, imports as ``<Prefix>_size`` / ``<Prefix>_<i>_<var>``, update variables).
Ports are free ones on 127.0.0.1. Every server started is stopped, or killed, at teardown.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers import free_port

RECIPES = ROOT / "examples" / "webstack" / "graph"
COMPONENTS = ("Database", "AppServer", "LoadBalancer")
STEP_TIMEOUT = 30  # seconds; a start waits at most 10 s for /health
HTTP_TIMEOUT = 5


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not reaped by its new parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` (as ours do, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def request(url: str, method: str = "GET", data: bytes | None = None) -> Answer:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method), timeout=HTTP_TIMEOUT
        ) as response:
            return Answer(
                status=response.status,
                headers=dict(response.headers),
                body=json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return Answer(status=error.code, headers=dict(error.headers), body=json.loads(error.read()))


@dataclass(kw_only=True)
class Instance:
    """One instance's work dir and the environment its scripts get."""

    path: str
    component: str
    work: Path
    port: int
    imports: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        environment = {
            **os.environ,
            "ip": "127.0.0.1",
            "port": str(self.port),
            "ROBOCONF_INSTANCE_NAME": self.path.rsplit("/", 1)[1],
            "ROBOCONF_INSTANCE_PATH": self.path,
            "ROBOCONF_COMPONENT_NAME": self.component,
            "ROBOCONF_CLEAN_INSTANCE_PATH": re.sub(r"\W", "_", self.path.strip("/")),
            "ROBOCONF_FILES_DIR": str(self.work / "files"),
            **self.imports,
            **extra,
        }
        return environment

    def run(self, step: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``scripts/<step>.sh`` from its folder, as the script plug-in does."""
        scripts = self.work / "scripts"
        return subprocess.run(
            [str(scripts / f"{step}.sh")],
            cwd=scripts,
            env=self.environment(extra),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )

    def step(self, step: str, **extra: str) -> str:
        """Run a step that must succeed; its output."""
        done = self.run(step, **extra)
        assert done.returncode == 0, f"{self.path} {step}: {done.stdout}{done.stderr}"
        return done.stdout

    def pid(self) -> int | None:
        pid_file = self.work / "server.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None


def providers(prefix: str, instances: Sequence[Instance]) -> dict[str, str]:
    """The import variables of ``prefix`` naming these providers."""
    variables = {f"{prefix}_size": str(len(instances))}
    for i, instance in enumerate(instances):
        variables[f"{prefix}_{i}_ip"] = "127.0.0.1"
        variables[f"{prefix}_{i}_port"] = str(instance.port)
        variables[f"{prefix}_{i}_name"] = instance.path
    return variables


class Stack:
    """The instances of one test; :meth:`tear_down` leaves no server running."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.instances: list[Instance] = []
        self.pids: set[int] = set()

    def instance(self, component: str, path: str) -> Instance:
        work = self.root / re.sub(r"\W", "_", path.strip("/"))
        # As the script plug-in does: the super component's recipes, then the component's own.
        shutil.copytree(RECIPES / "PythonService", work)
        shutil.copytree(RECIPES / component, work, dirs_exist_ok=True)
        instance = Instance(path=path, component=component, work=work, port=free_port())
        self.instances.append(instance)
        return instance

    def started(self, component: str, path: str, imports: dict[str, str] | None = None) -> Instance:
        instance = self.instance(component, path)
        instance.imports = imports or {}
        instance.step("deploy")
        instance.step("start")
        pid = instance.pid()
        assert pid is not None and process_runs(pid)
        self.pids.add(pid)
        return instance

    def tear_down(self) -> None:
        for instance in self.instances:
            pid = instance.pid()
            if pid is not None:
                self.pids.add(pid)
            instance.run("stop")
        for pid in self.pids:
            if process_runs(pid):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    created = Stack(tmp_path)
    try:
        yield created
    finally:
        created.tear_down()


@dataclass(frozen=True, slots=True, kw_only=True)
class WebStack:
    database: Instance
    apps: tuple[Instance, Instance]
    balancer: Instance


@pytest.fixture
def webstack(stack: Stack) -> WebStack:
    """The initial instances: a database, two app servers, a load balancer, all started."""
    database = stack.started("Database", "/host/database")
    apps = tuple(
        stack.started("AppServer", f"/host/app {i}", providers("Database", [database]))
        for i in (1, 2)
    )
    assert len(apps) == 2
    balancer = stack.started("LoadBalancer", "/host/balancer", providers("AppServer", apps))
    return WebStack(database=database, apps=apps, balancer=balancer)


def served_by(balancer: Instance, times: int) -> list[Answer]:
    answers = [request(balancer.url) for _ in range(times)]
    assert [a.status for a in answers] == [200] * times, [a.body for a in answers]
    return answers


@pytest.mark.parametrize(
    "script",
    sorted(RECIPES.glob("*/scripts/*.sh")),
    ids=lambda script: f"{script.parent.parent.name} {script.name} is executable",
)
def test_recipe_script_is_executable(script: Path) -> None:
    assert os.access(script, os.X_OK)


def test_the_balancer_alternates_app_servers_that_count_visits_in_the_database(
    webstack: WebStack,
) -> None:
    answers = served_by(webstack.balancer, 4)
    assert [a.body["visits"] for a in answers] == [1, 2, 3, 4]
    assert {a.body["path"] for a in answers} == {"/host/app 1", "/host/app 2"}
    assert answers[0].body["path"] != answers[1].body["path"]
    for answer in answers:
        app = next(a for a in webstack.apps if a.path == answer.body["path"])
        assert answer.body["port"] == app.port
        assert answer.headers["X-Webstack-Backend"] == f"{app.path} (127.0.0.1:{app.port})"
    stored = request(f"{webstack.database.url}kv/visits")
    assert stored.body == {"key": "visits", "value": 4}


def test_update_removes_a_stopped_app_server_and_adds_it_back_without_restart(
    webstack: WebStack,
) -> None:
    first, second = webstack.apps
    balancer_pid = webstack.balancer.pid()
    second.step("stop")
    webstack.balancer.step(
        "update",
        **providers("AppServer", [first]),
        ROBOCONF_UPDATE_STATUS="DEPLOYED_STOPPED",
        ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH=second.path,
        ROBOCONF_IMPORT_CHANGED_COMPONENT="AppServer",
        ROBOCONF_IMPORT_CHANGED_ip="127.0.0.1",
        ROBOCONF_IMPORT_CHANGED_port=str(second.port),
    )
    assert {a.body["path"] for a in served_by(webstack.balancer, 4)} == {first.path}

    second.step("start")
    webstack.balancer.step(
        "update",
        **providers("AppServer", [first, second]),
        ROBOCONF_UPDATE_STATUS="DEPLOYED_STARTED",
        ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH=second.path,
        ROBOCONF_IMPORT_CHANGED_COMPONENT="AppServer",
        ROBOCONF_IMPORT_CHANGED_ip="127.0.0.1",
        ROBOCONF_IMPORT_CHANGED_port=str(second.port),
    )
    assert {a.body["path"] for a in served_by(webstack.balancer, 4)} == {first.path, second.path}
    assert webstack.balancer.pid() == balancer_pid


def test_stopping_everything_leaves_no_process_and_frees_the_ports(webstack: WebStack) -> None:
    instances = [webstack.balancer, *webstack.apps, webstack.database]
    pids = [instance.pid() for instance in instances]
    for instance in instances:
        instance.step("stop")
    assert [pid for pid in pids if pid is None or process_runs(pid)] == []
    assert [i.port for i in instances if not port_is_free(i.port)] == []
    assert [i.path for i in instances if (i.work / "server.pid").exists()] == []


def test_a_balancer_without_back_end_answers_503_saying_so(stack: Stack) -> None:
    balancer = stack.started("LoadBalancer", "/host/balancer", providers("AppServer", []))
    answer = request(balancer.url)
    assert answer.status == 503
    assert "no back end" in answer.body["error"]


def test_a_balancer_skips_a_back_end_that_refuses_connections(stack: Stack) -> None:
    database = stack.started("Database", "/host/database")
    app = stack.started("AppServer", "/host/app", providers("Database", [database]))
    gone = stack.instance("AppServer", "/host/gone")  # never started: its port refuses
    balancer = stack.started("LoadBalancer", "/host/balancer", providers("AppServer", [gone, app]))
    assert {a.body["path"] for a in served_by(balancer, 3)} == {app.path}


def test_an_app_server_without_database_answers_503(stack: Stack) -> None:
    app = stack.started("AppServer", "/host/app", providers("Database", []))
    answer = request(app.url)
    assert answer.status == 503
    assert "no database" in answer.body["error"]


def test_an_app_server_follows_its_database_on_update(stack: Stack) -> None:
    old = stack.started("Database", "/host/old")
    new = stack.started("Database", "/host/new")
    request(f"{new.url}kv/visits", "PUT", b"41")
    app = stack.started("AppServer", "/host/app", providers("Database", [old]))
    assert request(app.url).body["visits"] == 1
    app.step("update", **providers("Database", [new]), ROBOCONF_UPDATE_STATUS="DEPLOYED_STARTED")
    assert request(app.url).body["visits"] == 42


def test_check_succeeds_only_while_the_server_runs(stack: Stack) -> None:
    database = stack.started("Database", "/host/database")
    assert database.run("check").returncode == 0
    database.step("stop")
    failed = database.run("check")
    assert failed.returncode != 0
    assert "nothing healthy answers" in failed.stderr


def test_stop_succeeds_when_nothing_runs(stack: Stack) -> None:
    database = stack.instance("Database", "/host/database")
    assert "not running" in database.step("stop")
    database.step("start")
    database.step("stop")
    assert "not running" in database.step("stop")


def test_start_twice_keeps_the_running_server(stack: Stack) -> None:
    database = stack.started("Database", "/host/database")
    pid = database.pid()
    assert "already running" in database.step("start")
    assert database.pid() == pid


def test_start_fails_with_the_log_when_the_port_is_taken(stack: Stack) -> None:
    database = stack.instance("Database", "/host/database")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", database.port))
        squatter.listen()
        failed = database.run("start")
    assert failed.returncode != 0
    assert "Address already in use" in failed.stderr
    assert database.pid() is None


def test_start_without_port_fails_saying_how_to_give_one(stack: Stack) -> None:
    database = stack.instance("Database", "/host/database")
    failed = database.run("start", port="")
    assert failed.returncode != 0
    assert "must export 'port'" in failed.stderr


def test_the_database_keeps_its_data_across_a_restart(stack: Stack) -> None:
    database = stack.started("Database", "/host/database")
    assert request(f"{database.url}kv/colour", "PUT", b'"blue"').status == 200
    database.step("stop")
    database.step("start")
    assert request(f"{database.url}kv/colour").body == {"key": "colour", "value": "blue"}
    assert request(f"{database.url}kv/size").status == 404


def test_undeploy_stops_the_server_and_removes_its_state(stack: Stack) -> None:
    database = stack.started("Database", "/host/database")
    pid = database.pid()
    request(f"{database.url}kv/colour", "PUT", b'"blue"')
    database.step("undeploy")
    assert pid is not None and not process_runs(pid)
    assert [p.name for p in database.work.glob("*") if p.is_file()] == []


def backend(path: str, port: int) -> dict[str, str]:
    return {"name": path, "ip": "127.0.0.1", "port": str(port)}


def changed(status: str, path: str, port: int, component: str = "AppServer") -> dict[str, str]:
    return {
        "ROBOCONF_UPDATE_STATUS": status,
        "ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH": path,
        "ROBOCONF_IMPORT_CHANGED_COMPONENT": component,
        "ROBOCONF_IMPORT_CHANGED_ip": "127.0.0.1",
        "ROBOCONF_IMPORT_CHANGED_port": str(port),
    }


def listed(*ports: int) -> dict[str, str]:
    variables = {"AppServer_size": str(len(ports))}
    for i, port in enumerate(ports):
        variables |= {
            f"AppServer_{i}_ip": "127.0.0.1",
            f"AppServer_{i}_port": str(port),
            f"AppServer_{i}_name": f"/app {port}",
        }
    return variables


@pytest.mark.parametrize(
    "variables, expected",
    [
        pytest.param(
            listed(1, 2),
            [backend("/app 1", 1), backend("/app 2", 2)],
            id="the back ends are the listed providers",
        ),
        pytest.param({}, [], id="no provider variable means no back end"),
        pytest.param(
            listed(1) | changed("DEPLOYED_STOPPED", "/app 2", 2),
            [backend("/app 1", 1)],
            id="a removed provider already left out stays out",
        ),
        pytest.param(
            listed(1, 2) | changed("DEPLOYED_STOPPED", "/app 2", 2),
            [backend("/app 1", 1)],
            id="a removed provider still listed is left out",
        ),
        pytest.param(
            listed(1) | changed("DEPLOYED_STARTED", "/app 2", 2),
            [backend("/app 1", 1), backend("/app 2", 2)],
            id="an added provider not listed yet is added",
        ),
        pytest.param(
            listed(1, 2) | changed("DEPLOYED_STARTED", "/app 2", 2),
            [backend("/app 1", 1), backend("/app 2", 2)],
            id="an added provider already listed is listed once",
        ),
        pytest.param(
            listed(1) | changed("DEPLOYED_STOPPED", "/app 1", 1, component="Database"),
            [backend("/app 1", 1)],
            id="a change of another import does not touch the back ends",
        ),
    ],
)
def test_update_writes_the_back_ends(
    stack: Stack, variables: dict[str, str], expected: list[dict[str, str]]
) -> None:
    balancer = stack.instance("LoadBalancer", "/host/balancer")
    balancer.step("update", **variables)
    assert json.loads((balancer.work / "backends.json").read_text()) == expected
