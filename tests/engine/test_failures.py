"""Keeping the application consistent when one of its parts fails (spec 20 §5).

A silent agent, a hanging recipe, a failing health check: the DM and the agents must say what
went wrong, withdraw what can no longer be relied on, and converge back once it is cured.
Heartbeats, health checks and back-offs run on the engine's manual clock.
"""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import (
    HEARTBEAT,
    IN_MEMORY,
    Engine,
    S,
    running,
    scenario,
    write_template,
)
from tests.helpers import alive

UPDATE_LOG = (
    'echo "update $ROBOCONF_INSTANCE_PATH $ROBOCONF_UPDATE_STATUS '
    '$ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH" >> "$LOG"\n'
)
START_LOG = 'echo "start $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n'


async def updated_last(engine: Engine, line: str) -> None:
    """Wait until ``line`` is the last update logged (it may also have been logged earlier)."""

    def last() -> str | None:
        return next((x for x in reversed(engine.lines()) if x.startswith("update")), None)

    await engine.eventually(lambda: last() == line, f"{line!r} logged last")


TWO_MACHINES = """\
VM {
\tinstaller: target;
\tchildren: Database, Cache, App, Web;
}
Database {
\tinstaller: script;
\texports: ip, port = 5432;
}
Cache {
\tinstaller: script;
\texports: ip, port = 6379;
}
App {
\tinstaller: script;
\timports: Database.ip, Database.port;
\tchildren: Page;
}
Page {
\tinstaller: script;
}
Web {
\tinstaller: script;
\timports: Cache.* (optional);
}
"""

PROVIDERS_AND_IMPORTERS = """\
instance of VM {
\tname: data;
\tinstance of Database {
\t\tname: db;
\t}
\tinstance of Cache {
\t\tname: cache;
\t}
}
instance of VM {
\tname: apps;
\tinstance of App {
\t\tname: app;
\t\tinstance of Page {
\t\t\tname: page;
\t\t}
\t}
\tinstance of Web {
\t\tname: web;
\t}
}
"""


@scenario
async def test_a_silent_agent_puts_its_machine_in_problem_and_peers_converge_when_it_is_back(
    tmp_path: Path,
) -> None:
    template = write_template(
        tmp_path / "app", TWO_MACHINES, PROVIDERS_AND_IMPORTERS, {"Web": {"update": UPDATE_LOG}}
    )
    async with running(template, tmp_path) as engine:
        await engine.start_all()

        engine.links["/data"].cut()
        await engine.advance(4 * HEARTBEAT)
        await engine.reach(
            {
                "/data": S.PROBLEM,
                "/apps": S.DEPLOYED_STARTED,
                "/apps/app": S.UNRESOLVED,
                "/apps/app/page": S.WAITING_FOR_ANCESTOR,
                "/apps/web": S.DEPLOYED_STARTED,
            }
        )
        reason = engine.app.get("/data").reason or ""
        assert "agent silent" in reason and "heartbeats missed" in reason
        await engine.logged("update /apps/web DEPLOYED_STOPPED /data/cache")
        assert "no instance provides Database, which it imports (mandatory)" in (
            engine.dm.explain("scenario", "/apps/app")
        )

        engine.links["/data"].restore()
        await engine.advance(HEARTBEAT)
        await engine.all_in(S.DEPLOYED_STARTED)
        await updated_last(engine, "update /apps/web DEPLOYED_STARTED /data/cache")
        assert engine.app.get("/data").reason is None


@scenario
async def test_a_crashed_agent_is_a_lost_machine_that_can_be_undeployed_and_deployed_again(
    tmp_path: Path,
) -> None:
    template = write_template(
        tmp_path / "app", TWO_MACHINES, PROVIDERS_AND_IMPORTERS, {"Web": {"update": UPDATE_LOG}}
    )
    async with running(template, tmp_path) as engine:
        await engine.start_all()
        machine_id = engine.app.get("/data").machine_id
        assert machine_id is not None

        await engine.handler.terminate_machine(IN_MEMORY, machine_id)  # behind the DM's back
        assert "/data" not in engine.running
        await engine.advance(4 * HEARTBEAT)
        await engine.reach(
            {"/data": S.PROBLEM, "/apps/app": S.UNRESOLVED, "/apps/web": S.DEPLOYED_STARTED}
        )
        await engine.logged("update /apps/web DEPLOYED_STOPPED /data/cache")

        await engine.request("/data", S.NOT_DEPLOYED)
        await engine.reach({"/data": S.NOT_DEPLOYED, "/data/db": S.NOT_DEPLOYED})
        await engine.dm.deploy_and_start_all("scenario", "/data")
        await engine.all_in(S.DEPLOYED_STARTED)
        await updated_last(engine, "update /apps/web DEPLOYED_STARTED /data/cache")


HANGING = """\
VM {
\tinstaller: target;
\tchildren: Slow, Quick;
}
Slow {
\tinstaller: script;
}
Quick {
\tinstaller: script;
}
"""

HANGING_INSTANCES = """\
instance of VM {
\tname: vm;
\tinstance of Slow {
\t\tname: slow;
\t}
\tinstance of Quick {
\t\tname: quick;
\t}
}
"""

HANGING_RECIPES = {
    "Slow": {"start": 'sleep 600 &\necho "pids $$ $!" >> "$LOG"\nwait\n'},
    "Quick": {"start": START_LOG},
}


@scenario
async def test_a_hanging_recipe_times_out_into_problem_and_leaves_the_agent_responsive(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path / "app", HANGING, HANGING_INSTANCES, HANGING_RECIPES)
    async with running(template, tmp_path, step_timeout_s=2.0) as engine:
        await engine.request("/vm/slow", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/slow": S.STARTING})
        await engine.eventually(lambda: bool(engine.lines()), "the recipe runs")
        # While the recipe hangs, heartbeats go on: the DM does not think the machine lost.
        await engine.advance(5 * HEARTBEAT)
        assert engine.status("/vm") is S.DEPLOYED_STARTED

        await engine.reach({"/vm/slow": S.PROBLEM})
        reason = engine.app.get("/vm/slow").reason or ""
        assert reason.startswith("step start timed out: "), reason
        assert "timed out after" in reason, reason
        assert engine.status("/vm") is S.DEPLOYED_STARTED
        pids = [int(pid) for pid in engine.lines()[0].split()[1:]]
        assert len(pids) == 2 and not any(alive(pid) for pid in pids)

        await engine.request("/vm/quick", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/quick": S.DEPLOYED_STARTED})
        assert engine.lines()[1:] == ["start /vm/quick"]


CHECKED = """\
VM {
\tinstaller: target;
\tchildren: Service, Client;
}
Service {
\tinstaller: script;
\texports: ip, port = 7000;
}
Client {
\tinstaller: script;
\timports: Service.* (optional);
}
"""

CHECKED_INSTANCES = """\
instance of VM {
\tname: server;
\tinstance of Service {
\t\tname: service;
\t}
}
instance of VM {
\tname: client;
\tinstance of Client {
\t\tname: client;
\t}
}
"""

CHECKED_RECIPES = {
    "Service": {
        "start": START_LOG,
        "check": (
            'if [ -e "$MARKER" ]; then\n'
            '  echo "check failed" >> "$LOG"; echo "marker found"; exit 1\n'
            'fi\necho "check passed" >> "$LOG"\n'
        ),
    },
    "Client": {"update": UPDATE_LOG},
}


@scenario
async def test_a_failing_health_check_withdraws_exports_and_a_restart_brings_the_instance_back(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path / "app", CHECKED, CHECKED_INSTANCES, CHECKED_RECIPES)
    marker = tmp_path / "unhealthy"
    async with running(
        template,
        tmp_path,
        check_period_s=2 * HEARTBEAT,
        restart_backoff_s=HEARTBEAT,
        environment={"MARKER": str(marker)},
    ) as engine:
        await engine.start_all()
        await engine.advance(2 * HEARTBEAT)  # a passing check changes nothing
        await engine.logged("check passed")
        assert engine.status("/server/service") is S.DEPLOYED_STARTED

        marker.touch()
        await engine.advance(2 * HEARTBEAT)
        await engine.logged("check failed")
        await engine.reach({"/server/service": S.PROBLEM})
        reason = engine.app.get("/server/service").reason or ""
        assert reason.startswith("health check failed") and "marker found" in reason
        await engine.logged("update /client/client DEPLOYED_STOPPED /server/service")

        marker.unlink()
        await engine.advance(HEARTBEAT)  # the restart's back-off
        await engine.reach({"/server/service": S.DEPLOYED_STARTED})
        await updated_last(engine, "update /client/client DEPLOYED_STARTED /server/service")
        assert engine.lines().count("start /server/service") == 2


EXPLAINED = """\
VM {
\tinstaller: target;
\tchildren: Database, Cache, App, Broken;
}
Database {
\tinstaller: script;
\texports: ip, port = 5432;
}
Cache {
\tinstaller: script;
\texports: ip, port = 6379;
}
App {
\tinstaller: script;
\timports: Database.ip, Database.port, Cache.ip;
\tchildren: Page;
}
Page {
\tinstaller: script;
}
Broken {
\tinstaller: script;
}
"""

EXPLAINED_INSTANCES = """\
instance of VM {
\tname: vm;
\tinstance of Database {
\t\tname: db;
\t}
\tinstance of Cache {
\t\tname: cache;
\t}
\tinstance of App {
\t\tname: app;
\t\tinstance of Page {
\t\t\tname: page;
\t\t}
\t}
\tinstance of Broken {
\t\tname: broken;
\t}
}
"""

BROKEN = {"Broken": {"start": 'echo "connecting..."\necho "disk full" >&2\nexit 3\n'}}


@scenario
async def test_explain_names_the_mandatory_imports_that_have_no_provider(tmp_path: Path) -> None:
    template = write_template(tmp_path / "app", EXPLAINED, EXPLAINED_INSTANCES, BROKEN)
    async with running(template, tmp_path, simulate=True) as engine:
        await engine.request("/vm/app", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/app": S.UNRESOLVED})
        assert engine.dm.explain("scenario", "/vm/app") == [
            "/vm/app is UNRESOLVED",
            "no instance provides Cache, which it imports (mandatory)",
            "no instance provides Database, which it imports (mandatory)",
        ]

        await engine.request("/vm/cache", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/cache": S.DEPLOYED_STARTED})
        await engine.reach(lambda app: app.get("/vm/app").imports.get("Cache") is not None)
        assert engine.dm.explain("scenario", "/vm/app") == [
            "/vm/app is UNRESOLVED",
            "no instance provides Database, which it imports (mandatory)",
        ]


@scenario
async def test_explain_names_the_ancestor_an_instance_waits_for(tmp_path: Path) -> None:
    template = write_template(tmp_path / "app", EXPLAINED, EXPLAINED_INSTANCES, BROKEN)
    async with running(template, tmp_path, simulate=True) as engine:
        await engine.request("/vm/app", S.DEPLOYED_STARTED)
        await engine.request("/vm/app/page", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/app/page": S.WAITING_FOR_ANCESTOR})
        assert engine.dm.explain("scenario", "/vm/app/page") == [
            "/vm/app/page is WAITING_FOR_ANCESTOR",
            "it waits for its ancestor /vm/app (UNRESOLVED)",
        ]


@scenario
async def test_explain_gives_the_reason_and_the_output_of_a_failed_start(tmp_path: Path) -> None:
    template = write_template(tmp_path / "app", EXPLAINED, EXPLAINED_INSTANCES, BROKEN)
    async with running(template, tmp_path) as engine:
        await engine.request("/vm/broken", S.DEPLOYED_STARTED)
        await engine.reach(lambda app: app.get("/vm/broken").reason is not None)
        assert engine.status("/vm/broken") is S.DEPLOYED_STOPPED
        assert engine.dm.explain("scenario", "/vm/broken") == [
            "/vm/broken is DEPLOYED_STOPPED",
            "last problem: step start failed: scripts/start.sh exited with code 3: disk full",
            "last recipe output:\nconnecting...\ndisk full",
        ]
