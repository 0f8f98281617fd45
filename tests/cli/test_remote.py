"""The DM's client on the command line: ``roboconf template|app|instance|target|plan|…``.

The pure parts (SSE parsing, arguments → request bodies, what ``--wait`` waits for, renderings)
are tested on fixed inputs. Everything else runs against a real DM: ``roboconf dm`` started as a
process on a free port with a data dir in ``tmp_path`` — simulated plug-ins for the commands
themselves, real recipes for the acceptance scenario on the web-stack example (its balancer on
a free port, in a copy of the template) and for a recipe that fails. Commands run in-process
through :class:`CliRunner`, and through the installed ``roboconf`` command once.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console, RenderableType
from typer.testing import CliRunner, Result

from roboconf.cli.actions import (
    Action,
    BadArguments,
    Selection,
    parse_overrides,
    request_body,
)
from roboconf.cli.client import ApiError, DmApi, DmUnreachable, Event, ServerSentEvent, parse_sse
from roboconf.cli.cmd_plan import PlannedAction, plan_request
from roboconf.cli.cmd_template import zip_template
from roboconf.cli.main import app as CLI
from roboconf.cli.session import fail
from roboconf.cli.views import event_line, explanation, instance_tree, plan
from roboconf.cli.waiting import Goal, Outcome, Tracker, goal_of
from roboconf.model import InstanceStatus
from tests.conftest import ROOT, skip_or_fail
from tests.engine.conftest import processes_under
from tests.helpers import free_port, terminated_with_parent

S = InstanceStatus
WEBSTACK = ROOT / "examples" / "webstack"
#: a guard on every wait for a server (not a timing check)
PATIENCE = 60.0
#: prctl(2): the signal a process gets when its parent dies
#: what every command that waits is given
WAIT = ("--wait", "--timeout", str(PATIENCE))

runner = CliRunner()


# -- server-sent events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["id: 7", "event: instance.changed", 'data: {"a": 1}', ""],
            [ServerSentEvent(event="instance.changed", id="7", data='{"a": 1}')],
            id="an event has its id, kind and data",
        ),
        pytest.param(
            ["data: one", "data: two", ""],
            [ServerSentEvent(data="one\ntwo")],
            id="data lines are joined with newlines and the kind defaults to message",
        ),
        pytest.param(
            [": heartbeat", "", "data: x", ""],
            [ServerSentEvent(data="x")],
            id="comments (keep-alives) are no events",
        ),
        pytest.param(
            ["id: 3", "data: a", "", "data: b", ""],
            [ServerSentEvent(id="3", data="a"), ServerSentEvent(id="3", data="b")],
            id="the last id is kept for the next events",
        ),
        pytest.param(
            ["event: nothing", "", "data: y", ""],
            [ServerSentEvent(data="y")],
            id="an event without data is not dispatched and its kind is forgotten",
        ),
        pytest.param(
            ["data: done", "", "data: cut"],
            [ServerSentEvent(data="done")],
            id="an unfinished last event is dropped",
        ),
        pytest.param(
            ["data:no space", "data:  two spaces", "retry: 10", "x-custom: 1", ""],
            [ServerSentEvent(data="no space\n two spaces")],
            id="one space after the colon is removed and unknown fields are ignored",
        ),
    ],
)
def test_server_sent_events_are_parsed_line_by_line(
    lines: list[str], expected: list[ServerSentEvent]
) -> None:
    assert list(parse_sse(lines)) == expected


# -- arguments → requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "selection", "expected"),
    [
        pytest.param(
            Action.START,
            {"path": "/vm/db"},
            {"action": "state", "path": "/vm/db", "status": "DEPLOYED_STARTED"},
            id="start PATH requests DEPLOYED_STARTED for it",
        ),
        pytest.param(
            Action.DEPLOY,
            {"path": "/vm/db"},
            {"action": "state", "path": "/vm/db", "status": "DEPLOYED_STOPPED"},
            id="deploy PATH requests DEPLOYED_STOPPED",
        ),
        pytest.param(
            Action.STOP,
            {"path": "/vm/db"},
            {"action": "state", "path": "/vm/db", "status": "DEPLOYED_STOPPED"},
            id="stop PATH requests DEPLOYED_STOPPED",
        ),
        pytest.param(
            Action.UNDEPLOY,
            {"path": "/vm"},
            {"action": "state", "path": "/vm", "status": "NOT_DEPLOYED"},
            id="undeploy PATH requests NOT_DEPLOYED",
        ),
        pytest.param(
            Action.START,
            {"everything": True},
            {"action": "deploy-and-start-all", "under": None, "component": None},
            id="start --all is deploy-and-start-all",
        ),
        pytest.param(
            Action.STOP,
            {"under": "/vm"},
            {"action": "stop-all", "under": "/vm", "component": None},
            id="stop --under is stop-all of a subtree",
        ),
        pytest.param(
            Action.UNDEPLOY,
            {"component": "Tomcat"},
            {"action": "undeploy-all", "under": None, "component": "Tomcat"},
            id="undeploy --component is undeploy-all of a component",
        ),
        pytest.param(
            Action.DEPLOY,
            {"everything": True},
            "applies to one instance only",
            id="deploy has no bulk form",
        ),
        pytest.param(
            Action.START,
            {"path": "/vm", "everything": True},
            "PATH and --all given",
            id="a path and --all together are refused",
        ),
        pytest.param(Action.STOP, {}, "nothing given", id="no selection at all is refused"),
    ],
)
def test_arguments_make_the_request_bodies(
    action: Action, selection: dict[str, Any], expected: dict[str, Any] | str
) -> None:
    def body() -> dict[str, Any]:
        return request_body(action, Selection.of(selection.pop("path", None), **selection))

    if isinstance(expected, str):
        with pytest.raises(BadArguments, match=expected):
            body()
    else:
        assert body() == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(["port=18080"], {"port": "18080"}, id="a name and a value"),
        pytest.param(["url=a=b"], {"url": "a=b"}, id="the value may hold an equals sign"),
        pytest.param(["port=1", "port=2"], {"port": "2"}, id="the last value given wins"),
        pytest.param(["port="], {"port": ""}, id="an empty value is a value"),
        pytest.param(["port"], None, id="an item without equals sign is refused"),
        pytest.param(["=1"], None, id="an item without name is refused"),
    ],
)
def test_overrides_are_name_equals_value(items: list[str], expected: dict[str, str] | None) -> None:
    if expected is None:
        with pytest.raises(BadArguments, match="NAME=VALUE"):
            parse_overrides(items)
    else:
        assert parse_overrides(items) == expected


NO_PLAN_ARGUMENTS: dict[str, Any] = {
    "path": None,
    "everything": False,
    "under": None,
    "component": None,
    "parent": None,
    "name": None,
    "overrides": [],
}


@pytest.mark.parametrize(
    ("action", "arguments", "expected"),
    [
        pytest.param(
            PlannedAction.ADD,
            {"parent": "/vm", "component": "App", "name": "a 3", "overrides": ["port=1"]},
            {
                "action": "add",
                "parent": "/vm",
                "component": "App",
                "name": "a 3",
                "overrides": {"port": "1"},
            },
            id="add plans a new instance with its overrides",
        ),
        pytest.param(
            PlannedAction.REMOVE,
            {"path": "/vm/a"},
            {"action": "remove", "path": "/vm/a"},
            id="remove plans a removal",
        ),
        pytest.param(
            PlannedAction.UNDEPLOY,
            {"everything": True},
            {"action": "undeploy-all", "under": None, "component": None},
            id="a bulk action plans as its endpoint",
        ),
        pytest.param(
            PlannedAction.ADD, {"component": "App"}, None, id="add without a name is refused"
        ),
        pytest.param(PlannedAction.REMOVE, {}, None, id="remove without a path is refused"),
    ],
)
def test_plan_arguments_make_the_plan_bodies(
    action: PlannedAction, arguments: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    given = {**NO_PLAN_ARGUMENTS, **arguments}
    if expected is None:
        with pytest.raises(BadArguments):
            plan_request(action, **given)
    else:
        assert plan_request(action, **given) == expected


# -- what --wait waits for ---------------------------------------------------------------------


def instance(
    path: str, component: str, status: S, *, scoped: bool = False, reason: str | None = None
) -> dict[str, Any]:
    parent, _, name = path.rpartition("/")
    return {
        "path": path,
        "name": name,
        "component": component,
        "parent": parent or None,
        "status": status.value,
        "reason": reason,
        "scoped": scoped,
    }


#: a started machine with a stack, and a machine not deployed holding one more app server
STACK = [
    instance("/host", "VM", S.DEPLOYED_STARTED, scoped=True),
    instance("/host/database", "Database", S.DEPLOYED_STARTED),
    instance("/host/app 1", "AppServer", S.DEPLOYED_STARTED),
    instance("/host/app 2", "AppServer", S.DEPLOYED_STOPPED),
    instance("/host/balancer", "LoadBalancer", S.DEPLOYED_STARTED),
    instance("/other", "VM", S.NOT_DEPLOYED, scoped=True),
    instance("/other/app 3", "AppServer", S.NOT_DEPLOYED),
]
HOST = ("/host", "/host/database", "/host/app 1", "/host/app 2", "/host/balancer")


@pytest.mark.parametrize(
    ("action", "selection", "paths"),
    [
        pytest.param(
            Action.START,
            Selection(path="/host/app 2"),
            ("/host/app 2",),
            id="starting one instance waits for it alone",
        ),
        pytest.param(
            Action.UNDEPLOY, Selection(path="/host"), HOST, id="undeploying waits for the subtree"
        ),
        pytest.param(
            Action.UNDEPLOY,
            Selection(component="VM"),
            tuple(i["path"] for i in STACK),
            id="undeploying a component's instances waits for their subtrees",
        ),
        pytest.param(
            Action.STOP,
            Selection(everything=True),
            ("/host/database", "/host/app 1", "/host/app 2", "/host/balancer"),
            id="stop-all leaves machines and instances not deployed out",
        ),
        pytest.param(
            Action.START,
            Selection(under="/other"),
            ("/other", "/other/app 3"),
            id="starting a subtree waits for its machine and what it holds",
        ),
        pytest.param(
            Action.START,
            Selection(component="AppServer"),
            ("/host/app 1", "/host/app 2", "/other/app 3"),
            id="starting a component's instances waits for each of them",
        ),
    ],
)
def test_a_wait_follows_the_instances_the_request_is_about(
    action: Action, selection: Selection, paths: tuple[str, ...]
) -> None:
    assert goal_of(action, selection, STACK) == Goal(paths=paths, status=action.requested)


def changed(path: str, status: S, at: int = 1) -> Event:
    return Event(id=at, at=float(at), kind="instance.changed", path=path, status=status.value)


def test_a_wait_is_over_when_every_instance_has_the_requested_state() -> None:
    tracker = Tracker(Goal(paths=HOST[1:3], status=S.DEPLOYED_STOPPED), STACK)
    assert tracker.verdict() is None
    tracker.saw_event(changed("/host/database", S.STOPPING))
    tracker.saw_event(changed("/host/database", S.DEPLOYED_STOPPED))
    tracker.saw_event(changed("/host/balancer", S.PROBLEM))  # not waited for
    assert (tracker.verdict(), tracker.reached, tracker.pending()) == (None, 1, ["/host/app 1"])
    tracker.saw_event(changed("/host/app 1", S.DEPLOYED_STOPPED))
    assert tracker.verdict() is Outcome.REACHED


def test_a_problem_fails_a_wait_only_once_the_instance_changed_since_the_request() -> None:
    broken = [instance("/vm", "VM", S.PROBLEM, scoped=True, reason="lost")]
    tracker = Tracker(Goal(paths=("/vm",), status=S.NOT_DEPLOYED), broken)
    assert tracker.verdict() is None, "undeploying what is in PROBLEM is a way out of it"
    tracker.saw_event(changed("/vm", S.UNDEPLOYING))
    tracker.saw_event(changed("/vm", S.PROBLEM))
    assert (tracker.verdict(), tracker.failures()) == (Outcome.FAILED, ["/vm"])


@pytest.mark.parametrize(
    ("status", "reason", "verdict"),
    [
        pytest.param(S.NOT_DEPLOYED, "deploy failed", Outcome.FAILED, id="a failed deploy fails"),
        pytest.param(S.DEPLOYED_STOPPED, "refused", Outcome.FAILED, id="a refused start fails"),
        pytest.param(S.NOT_DEPLOYED, None, None, id="not deployed without a reason is no failure"),
        pytest.param(S.UNRESOLVED, "no Database", None, id="UNRESOLVED waits for its imports"),
        pytest.param(
            S.WAITING_FOR_ANCESTOR, "parent", None, id="WAITING_FOR_ANCESTOR waits for its parent"
        ),
        pytest.param(S.DEPLOYED_STARTED, "old news", Outcome.REACHED, id="the goal is the goal"),
    ],
)
def test_a_request_fails_when_an_instance_comes_back_with_a_reason(
    status: S, reason: str | None, verdict: Outcome | None
) -> None:
    tracker = Tracker(Goal(paths=("/other/app 3",), status=S.DEPLOYED_STARTED), STACK)
    tracker.saw_event(changed("/other/app 3", S.DEPLOYING))
    tracker.saw_event(replace(changed("/other/app 3", status), reason=reason))
    assert tracker.verdict() is verdict


def test_a_poll_catches_up_with_changes_the_stream_missed() -> None:
    tracker = Tracker(Goal(paths=("/other/app 3",), status=S.DEPLOYED_STARTED), STACK)
    tracker.saw_instances([{**STACK[-1], "status": "PROBLEM", "reason": "deploy failed"}])
    assert tracker.verdict() is Outcome.FAILED
    assert tracker.ordered()[0]["reason"] == "deploy failed"


# -- renderings --------------------------------------------------------------------------------


def rendered(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_the_instance_tree_nests_children_and_says_why_an_instance_is_not_started() -> None:
    unresolved = {**STACK[2], "status": "UNRESOLVED", "reason": "no Database"}
    text = rendered(instance_tree([STACK[0], unresolved, STACK[6]], "shop"))
    assert text.splitlines() == [
        "shop",
        "├── host (VM) DEPLOYED_STARTED",
        "│   └── app 1 (AppServer) UNRESOLVED — no Database",
        "└── /other/app 3 (AppServer) NOT_DEPLOYED",
    ]


def test_a_plan_numbers_its_steps_with_the_imports_each_would_see() -> None:
    planned = {
        "machines_to_create": ["/vm"],
        "machines_to_terminate": [],
        "steps": [
            {
                "order": 1,
                "machine": "/vm",
                "path": "/vm/app",
                "component": "App",
                "step": "start",
                "imports": {"Db": {"/vm/db": {"Db.ip": None, "Db.port": "3306"}}},
            }
        ],
        "final": {"/vm/app": "DEPLOYED_STARTED"},
        "refused": ["nothing else"],
        "unresolved": {"/vm/web": ["App"]},
    }
    assert rendered(plan(planned)).splitlines() == [
        "machines to create: /vm",
        "steps: 1",
        "    1. start /vm/app (App, on /vm)",
        "        imports Db from /vm/db: Db.ip=?, Db.port=3306",
        "then:",
        "  /vm/app DEPLOYED_STARTED",
        "/vm/web stays UNRESOLVED: no provider of App",
        "refused: nothing else",
    ]


def test_explanations_and_events_are_one_line_each() -> None:
    explained = {"path": "/vm/a", "status": "UNRESOLVED", "reasons": ["no Db", "last: x"]}
    assert rendered(explanation(explained)).splitlines() == [
        "/vm/a UNRESOLVED",
        "  • no Db",
        "  • last: x",
    ]
    event = {"id": 4, "at": 0.0, "kind": "instance.changed", "application": "a", "path": "/vm"}
    line = rendered(event_line({**event, "status": "PROBLEM", "reason": "boom"}))
    assert line.rstrip().endswith("#4 instance.changed a /vm PROBLEM — boom")


def test_errors_print_their_code_message_and_diagnostics_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    diagnostic = {
        "code": "P_PROPERTY_ENDS_WITH_SEMI_COLON",
        "severity": "error",
        "file": "graph/main.graph",
        "line": 3,
        "column": 5,
        "message": "a property must end with ';'",
    }
    details = {"diagnostics": [diagnostic], "name": "t"}
    with pytest.raises(typer.Exit) as exited:
        fail("INVALID_TEMPLATE", "t 1.0 has errors", 1, details)
    captured = capsys.readouterr()
    assert exited.value.exit_code == 1 and captured.out == ""
    assert captured.err.splitlines() == [
        "error INVALID_TEMPLATE: t 1.0 has errors",
        "  graph/main.graph:3:5: error P_PROPERTY_ENDS_WITH_SEMI_COLON a property must end "
        "with ';'",
        '  name: "t"',
    ]


# -- template archives -------------------------------------------------------------------------


def test_a_template_folder_is_zipped_with_relative_paths_and_modes(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    script = folder / "graph" / "App" / "scripts" / "deploy.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    (folder / "descriptor").mkdir()
    (folder / "descriptor" / "application.properties").write_text("name = t\n")
    with zipfile.ZipFile(io.BytesIO(zip_template(folder))) as archive:
        assert archive.namelist() == [
            "descriptor/application.properties",
            "graph/App/scripts/deploy.sh",
        ]
        mode = archive.getinfo("graph/App/scripts/deploy.sh").external_attr >> 16
    assert mode & stat.S_IXUSR
    zipped = tmp_path / "t.zip"
    zipped.write_bytes(b"PK as it is")
    assert zip_template(zipped) == b"PK as it is"


# -- no DM -------------------------------------------------------------------------------------


def test_without_a_dm_the_error_names_the_url_and_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with DmApi(url) as api, pytest.raises(DmUnreachable, match="roboconf dm") as raised:
        api.health()
    assert url in str(raised.value)
    result = runner.invoke(CLI, ["app", "list"], env={"ROBOCONF_DM": url})
    assert result.exit_code == 5
    assert result.stderr.startswith("error DM_UNREACHABLE: no DM answers at " + url)


# -- a real DM ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningDm:
    url: str
    data_dir: Path

    def api(self) -> DmApi:
        return DmApi(self.url)

    def cli(self, *args: str, input: str | None = None) -> Result:
        """A remote command, in this process, against this DM (``ROBOCONF_DM``)."""
        return runner.invoke(CLI, list(args), input=input, env={"ROBOCONF_DM": self.url})

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.cli(*args, input=input)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


def roboconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "roboconf", *args]


@functools.cache
def dm_command_missing() -> str | None:
    """Why ``roboconf dm`` cannot be run (None when it can)."""
    probe = subprocess.run(
        roboconf("dm", "--help"), capture_output=True, text=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        return f"`roboconf dm` is not available: {probe.stderr.strip()[-300:]}"
    return None


@contextlib.contextmanager
def running_dm(data_dir: Path, *, simulate: bool) -> Iterator[RunningDm]:
    """``roboconf dm`` on a free port until the block ends; then whatever it deployed is
    undeployed, it is stopped, and no process is left behind in its data dir."""
    missing = dm_command_missing()
    if missing:
        skip_or_fail(missing)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = roboconf(
        "dm", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)
    )
    log = data_dir.parent / f"{data_dir.name}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, *(["--simulate"] if simulate else [])],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=terminated_with_parent,
        )
    try:
        wait_for_health(url, process, log)
        yield RunningDm(url=url, data_dir=data_dir)
        undeploy_everything(url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        left = processes_under(data_dir)
        for line in left:  # leave nothing behind, even when failing
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    assert left == [], "processes left behind"


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + PATIENCE
    with DmApi(url, timeout_s=5) as api:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"roboconf dm exited with {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(DmUnreachable):
                if api.health()["status"] == "ok":
                    return
            time.sleep(0.1)
    pytest.fail(f"roboconf dm did not answer in {PATIENCE} s:\n{log.read_text()}")


def undeploy_everything(url: str) -> None:
    """What a failed test left deployed (the DM does not undeploy when it stops)."""
    with DmApi(url) as api:
        for application in api.list_applications():
            name = application["name"]
            api.undeploy_all(name)
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline and any(
                i["status"] != "NOT_DEPLOYED" for i in api.list_instances(name)
            ):
                time.sleep(0.1)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDm]:
    """A DM whose plug-ins are simulated (nothing runs), shared by the module's tests, which
    each use their own application names."""
    with running_dm(tmp_path_factory.mktemp("simulated") / "data", simulate=True) as dm:
        yield dm


@pytest.fixture(scope="module")
def uploaded(simulated: RunningDm) -> str:
    """The web-stack example on the simulated DM: its template's name and version."""
    simulated.ok("template", "upload", str(WEBSTACK))
    return "webstack"


def statuses(dm: RunningDm, app: str) -> dict[str, str]:
    return {i["path"]: i["status"] for i in dm.json("instance", "list", "--app", app)}


def test_templates_are_uploaded_listed_shown_and_deleted(
    simulated: RunningDm, uploaded: str, tmp_path: Path
) -> None:
    listed = simulated.json("template", "list", "--name", uploaded)
    assert [(t["name"], t["version"]) for t in listed] == [("webstack", "1.0.0")]
    shown = simulated.json("template", "show", "webstack", "1.0.0")
    assert {c["name"] for c in shown["components"]} >= {"VM", "AppServer", "LoadBalancer"}
    assert "AppServer" in simulated.ok("template", "show", "webstack", "1.0.0").stdout

    again = simulated.cli("template", "upload", str(WEBSTACK))
    assert again.exit_code == 1
    assert again.stderr.startswith("error CONFLICT: ")

    copy = shutil.copytree(WEBSTACK, tmp_path / "copy")
    descriptor = copy / "descriptor" / "application.properties"
    descriptor.write_text(descriptor.read_text().replace("1.0.0", "2.0-test"))
    simulated.ok("template", "upload", str(copy))
    assert (
        "deleted template webstack 2.0-test"
        in simulated.ok("template", "delete", "webstack", "2.0-test").stdout
    )
    assert simulated.json("template", "list", "--version", "2.0-test") == []


def test_an_invalid_template_is_refused_with_its_diagnostics(
    simulated: RunningDm, tmp_path: Path
) -> None:
    broken = shutil.copytree(WEBSTACK, tmp_path / "broken")
    (broken / "graph" / "main.graph").write_text("VM {\n\tinstaller: target;\n\tchildren: X\n}\n")
    result = simulated.cli("template", "upload", str(broken))
    assert result.exit_code == 1
    assert result.stderr.startswith("error INVALID_TEMPLATE: ")
    assert "graph/main.graph:3" in result.stderr


def test_applications_are_created_listed_shown_shut_down_and_deleted(
    simulated: RunningDm, uploaded: str
) -> None:
    created = simulated.json("app", "create", "crud", "--template", uploaded, "--version", "1.0.0")
    assert (created["name"], created["instances"]) == ("crud", 5)
    assert "crud" in [a["name"] for a in simulated.json("app", "list")]
    shown = simulated.ok("app", "show", "crud").stdout
    assert "webstack 1.0.0" in shown and "balancer (LoadBalancer) NOT_DEPLOYED" in shown
    assert simulated.json("app", "show", "crud")["counts"] == {"NOT_DEPLOYED": 5}

    simulated.ok("instance", "start", "--all", "--app", "crud", *WAIT)
    refused = simulated.cli("app", "delete", "crud")
    assert (refused.exit_code, refused.stderr.split(":")[0]) == (1, "error CONFLICT")
    simulated.ok("app", "shutdown", "crud", *WAIT)
    assert set(statuses(simulated, "crud").values()) == {"NOT_DEPLOYED"}
    simulated.ok("app", "delete", "crud")

    missing = simulated.cli("app", "show", "crud")
    assert (missing.exit_code, missing.stderr.split(":")[0]) == (1, "error NOT_FOUND")


def test_instances_are_added_planned_requested_in_bulk_and_removed(
    simulated: RunningDm, uploaded: str
) -> None:
    simulated.ok("app", "create", "bulk", "--template", uploaded, "--version", "1.0.0")
    planned = simulated.json("plan", "start", "--all", "--app", "bulk")
    assert planned["machines_to_create"] == ["/host"]
    assert planned["final"]["/host/balancer"] == "DEPLOYED_STARTED"
    assert (
        "machines to create: /host" in simulated.ok("plan", "start", "--all", "-a", "bulk").stdout
    )

    added = simulated.json(
        "instance", "add", "--app", "bulk", "--component", "VM", "--name", "more"
    )
    assert (added["path"], added["status"]) == ("/more", "NOT_DEPLOYED")
    added = simulated.json(
        "instance", "add", "--app", "bulk", "--parent", "/more", "--component", "AppServer",
        "--name", "app 3", "--override", "port=10999",
    )  # fmt: skip
    assert added["overrides"] == {"port": "10999"}

    simulated.ok("instance", "start", "--under", "/host", "--app", "bulk", *WAIT)
    assert statuses(simulated, "bulk")["/more/app 3"] == "NOT_DEPLOYED"
    started = simulated.ok("instance", "start", "--component", "AppServer", "-a", "bulk", *WAIT)
    assert "done: 3/3 instance(s) DEPLOYED_STARTED" in started.stdout
    assert set(statuses(simulated, "bulk").values()) == {"DEPLOYED_STARTED"}

    simulated.ok("instance", "stop", "--all", "--app", "bulk", *WAIT)
    assert statuses(simulated, "bulk") == {
        "/host": "DEPLOYED_STARTED",
        "/host/database": "DEPLOYED_STOPPED",
        "/host/app 1": "DEPLOYED_STOPPED",
        "/host/app 2": "DEPLOYED_STOPPED",
        "/host/balancer": "DEPLOYED_STOPPED",
        "/more": "DEPLOYED_STARTED",
        "/more/app 3": "DEPLOYED_STOPPED",
    }
    busy = simulated.cli("instance", "remove", "/more", "--app", "bulk")
    assert (busy.exit_code, busy.stderr.split(":")[0]) == (1, "error CONFLICT")
    simulated.ok("instance", "undeploy", "/more", "--app", "bulk", *WAIT)
    simulated.ok("instance", "remove", "/more", "--app", "bulk")
    simulated.ok("instance", "undeploy", "--all", "--app", "bulk", *WAIT)
    assert set(statuses(simulated, "bulk")) == set(HOST)


def test_one_instance_is_deployed_started_stopped_and_waited_for(
    simulated: RunningDm, uploaded: str
) -> None:
    simulated.ok("app", "create", "one", "--template", uploaded, "--version", "1.0.0")
    deployed = simulated.ok("instance", "deploy", "/host/database", "--app", "one", *WAIT)
    assert "done: 1/1 instance(s) DEPLOYED_STOPPED" in deployed.stdout
    requested = simulated.ok("instance", "start", "/host/database", "--app", "one").stdout
    assert requested.strip() == "requested DEPLOYED_STARTED for /host/database"
    simulated.ok("instance", "wait", "/host/database", "--app", "one", "--timeout", "60")
    shown = simulated.json("instance", "show", "/host/database", "--app", "one")
    assert (shown["status"], shown["desired"]) == ("DEPLOYED_STARTED", "DEPLOYED_STARTED")

    waited = simulated.cli(
        "instance", "wait", "/host/app 1", "--app", "one", "--status", "DEPLOYED_STOPPED",
        "--timeout", "0.5",
    )  # fmt: skip
    assert waited.exit_code == 3, waited.stdout + waited.stderr
    assert "timeout" in waited.stdout and "/host/app 1 NOT_DEPLOYED" in waited.stderr

    bad = simulated.cli("instance", "stop", "/host", "--all", "--app", "one")
    assert bad.exit_code == 2
    bad = simulated.cli("instance", "deploy", "--all", "--app", "one")
    assert bad.exit_code == 2
    simulated.ok("app", "shutdown", "one", *WAIT)


def test_external_imports_are_bound_listed_and_unbound(simulated: RunningDm) -> None:
    for template in ("balancer", "shop"):
        simulated.ok("template", "upload", str(ROOT / "tests" / "data" / "inter_app" / template))
        simulated.ok("app", "create", f"cli-{template}", "--template", template, "--version", "1.0")
    assert simulated.ok("app", "bindings", "cli-shop").stdout == "no binding\n"
    refused = simulated.cli("app", "bind", "cli-shop", "Db", "cli-balancer")
    assert (refused.exit_code, refused.stderr.split(":")[0]) == (1, "error BAD_REQUEST")
    assert "imports no 'external Db.*'" in refused.stderr

    bound = simulated.ok("app", "bind", "cli-shop", "Lb", "cli-balancer").stdout
    assert bound == "cli-shop: Lb accepts cli-balancer\n"
    assert simulated.json("app", "bindings", "cli-shop") == {"Lb": ["cli-balancer"]}
    assert simulated.ok("app", "bindings", "cli-shop").stdout == "Lb: cli-balancer\n"
    for app in ("cli-balancer", "cli-shop"):
        simulated.ok("instance", "start", "--all", "--app", app, *WAIT)

    simulated.ok("app", "unbind", "cli-shop", "Lb")
    assert simulated.json("app", "bindings", "cli-shop") == {}
    missing = simulated.cli("app", "unbind", "cli-shop", "Lb")
    assert (missing.exit_code, missing.stderr.split(":")[0]) == (1, "error NOT_FOUND")


def test_targets_are_added_listed_and_associated(simulated: RunningDm, uploaded: str) -> None:
    properties = "id = cli-test\nhandler = in-memory\nname = From the CLI\n"
    added = json.loads(simulated.ok("target", "add", "-", "--json", input=properties).stdout)
    assert (added["id"], added["handler"]) == ("cli-test", "in-memory")
    assert "cli-test" in [t["id"] for t in simulated.json("target", "list")]
    simulated.ok("app", "create", "targeted", "--template", uploaded, "--version", "1.0.0")
    simulated.ok("target", "associate", "/host", "cli-test", "--app", "targeted")
    associations = simulated.json("target", "list", "--app", "targeted")
    assert {"key": "/host", "target_id": "cli-test", "from_template": False} in associations
    assert "cli-test" in simulated.ok("target", "list", "--app", "targeted").stdout
    unknown = simulated.cli("target", "associate", "/host", "nope", "--app", "targeted")
    assert unknown.exit_code == 1
    missing = simulated.cli("target", "add", "/no/such/file.properties")
    assert (missing.exit_code, missing.stderr.split(":")[0]) == (1, "error UNREADABLE_FILE")


def test_events_are_watched_live_and_read_back(simulated: RunningDm, uploaded: str) -> None:
    with simulated.api() as api:
        first = api.events(limit=1)[0]["id"]
    simulated.ok("app", "create", "watched", "--template", uploaded, "--version", "1.0.0")
    lines = simulated.ok(
        "watch", "--app", "watched", "--after", str(first), "--count", "1", "--json"
    ).stdout.splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["application.created"]
    shown = simulated.ok("watch", "--app", "watched", "--after", str(first), "--count", "1")
    assert "application.created watched" in shown.stdout

    history = simulated.json("history", "--app", "watched", "--limit", "1")
    assert [e["kind"] for e in history] == ["application.created"]
    with simulated.api() as api:
        replayed = list(itertools.islice(api.stream_events("watched", first), 1))
        assert [e.kind for e in replayed] == ["application.created"]
        quiet = list(api.stream_events("watched", replayed[0].id, read_timeout_s=0.2))
        assert quiet == [], "a quiet stream ends without error"
        with pytest.raises(ApiError) as refused:
            api.get_application("no such application")
        assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")


def test_the_installed_command_lists_templates_and_exits_with_its_codes(
    simulated: RunningDm, uploaded: str
) -> None:
    executable = Path(sys.executable).parent / "roboconf"
    if not executable.exists():
        skip_or_fail(f"the roboconf command is not installed beside {sys.executable}")
    listed = subprocess.run(
        [str(executable), "template", "list", "--json", "--dm", simulated.url],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "webstack" in [t["name"] for t in json.loads(listed.stdout)]
    unknown = subprocess.run(
        [str(executable), "app", "show", "nope", "--dm", simulated.url],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert (unknown.returncode, unknown.stderr.split(":")[0]) == (1, "error NOT_FOUND")


# -- real recipes ------------------------------------------------------------------------------


def health(port: int) -> Mapping[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def eventually(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {PATIENCE} s")
        time.sleep(0.1)


def test_acceptance_the_web_stack_is_driven_with_cli_commands_only(tmp_path: Path) -> None:
    """Upload, create, start all, add an app server (the balancer updates), stop the database
    (importers UNRESOLVED, explained), start it again (all back), undeploy all, delete."""
    balancer = free_port()
    template = shutil.copytree(WEBSTACK, tmp_path / "webstack")
    instances = template / "instances" / "initial.instances"
    instances.write_text(
        instances.read_text().replace("name: balancer;", f"name: balancer;\n\t\tport: {balancer};")
    )
    with running_dm(tmp_path / "data", simulate=False) as dm:
        dm.ok("template", "upload", str(template))
        dm.ok("app", "create", "shop", "--template", "webstack", "--version", "1.0.0")
        started = dm.ok("instance", "start", "--all", "--app", "shop", *WAIT)
        assert "done: 5/5 instance(s) DEPLOYED_STARTED" in started.stdout
        assert len(health(balancer)["backends"]) == 2

        # a new app server on the running machine: the balancer's update gets its address
        dm.ok(
            "instance", "add", "--app", "shop", "--parent", "/host",
            "--component", "AppServer", "--name", "app 3",
        )  # fmt: skip
        dm.ok("instance", "start", "/host/app 3", "--app", "shop", *WAIT)
        app3 = dm.json("instance", "show", "/host/app 3", "--app", "shop")
        backend = f"/host/app 3 ({app3['exports']['AppServer.ip']}:"
        backend += f"{app3['exports']['AppServer.port']})"
        eventually(lambda: backend in health(balancer)["backends"], "the balancer's update")

        dm.ok("instance", "stop", "/host/database", "--app", "shop", *WAIT)
        dm.ok(
            "instance", "wait", "--component", "AppServer", "--status", "UNRESOLVED",
            "--app", "shop", "--timeout", "60",
        )  # fmt: skip
        explained = dm.json("instance", "explain", "/host/app 1", "--app", "shop")
        assert explained["status"] == "UNRESOLVED"
        assert any("Database" in reason for reason in explained["reasons"]), explained
        assert "Database" in dm.ok("instance", "explain", "/host/app 1", "--app", "shop").stdout

        dm.ok("instance", "start", "/host/database", "--app", "shop", *WAIT)
        dm.ok("instance", "wait", "--all", "--app", "shop", "--timeout", "60")
        eventually(lambda: len(health(balancer)["backends"]) == 3, "the balancer's updates")

        dm.ok("instance", "undeploy", "--all", "--app", "shop", *WAIT)
        assert set(statuses(dm, "shop").values()) == {"NOT_DEPLOYED"}
        with pytest.raises(urllib.error.URLError):
            health(balancer)
        dm.ok("app", "delete", "shop")
        assert dm.json("app", "list") == []


FAILING = {
    "descriptor/application.properties": (
        "name = failing\nversion = 1.0\n"
        "graph-entry-point = main.graph\ninstance-entry-point = main.instances\n"
    ),
    "graph/main.graph": (
        "VM {\n\tinstaller: target;\n\tchildren: Bad;\n}\n"
        "Bad {\n\tinstaller: script;\n}\n"
        "BadStart {\n\textends: Bad;\n}\n"
        "BadDeploy {\n\textends: Bad;\n}\n"
        "BadUndeploy {\n\textends: Bad;\n}\n"
    ),
    "graph/VM/target.properties": (
        "id = failing-host\nhandler = in-memory\nin-memory.execute-real-recipes = true\n"
    ),
    "graph/BadStart/scripts/start.sh": "#!/bin/sh\necho 'port taken' >&2\nexit 3\n",
    "graph/BadDeploy/scripts/deploy.sh": "#!/bin/sh\necho 'no disk left' >&2\nexit 3\n",
    # fails once (then the fixture can undeploy it)
    "graph/BadUndeploy/scripts/undeploy.sh": (
        '#!/bin/sh\nonce="$(dirname "$0")/../failed-once"\n'
        '[ -e "$once" ] && exit 0\ntouch "$once"\necho \'device busy\' >&2\nexit 3\n'
    ),
    "instances/main.instances": (
        "instance of VM {\n\tname: vm;\n"
        "\tinstance of BadStart {\n\t\tname: start;\n\t}\n"
        "\tinstance of BadDeploy {\n\t\tname: deploy;\n\t}\n"
        "\tinstance of BadUndeploy {\n\t\tname: undeploy;\n\t}\n}\n"
    ),
}


@pytest.mark.parametrize(
    ("action", "path", "status", "output"),
    [
        pytest.param(
            "start",
            "/vm/start",
            "DEPLOYED_STOPPED",
            "port taken",
            id="a failed start leaves the instance stopped with the reason",
        ),
        pytest.param(
            "start",
            "/vm/deploy",
            "NOT_DEPLOYED",
            "no disk left",
            id="a failed deploy leaves it not deployed with the reason",
        ),
        pytest.param(
            "undeploy",
            "/vm/undeploy",
            "PROBLEM",
            "device busy",
            id="a failed undeploy leaves it in PROBLEM",
        ),
    ],
)
def test_a_wait_ends_with_exit_4_and_the_explanation_when_a_recipe_fails(
    tmp_path: Path, action: str, path: str, status: str, output: str
) -> None:
    for relative, text in FAILING.items():
        file = tmp_path / "failing" / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        file.chmod(0o755)
    with running_dm(tmp_path / "data", simulate=False) as dm:
        dm.ok("template", "upload", str(tmp_path / "failing"))
        dm.ok("app", "create", "failing", "--template", "failing", "--version", "1.0")
        if action == "undeploy":
            dm.ok("instance", "deploy", path, "--app", "failing", *WAIT)
        result = dm.cli("instance", action, path, "--app", "failing", *WAIT)
        assert result.exit_code == 4, result.stdout + result.stderr
        wanted = "NOT_DEPLOYED" if action == "undeploy" else "DEPLOYED_STARTED"
        assert f"failed: 0/1 instance(s) {wanted}; {path} {status}" in result.stdout
        assert result.stderr.startswith(f"{path} {status}")
        assert output in result.stderr
