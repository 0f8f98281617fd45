"""Deploying, starting, stopping and undeploying whole applications through the DM (spec 20).

Several machines on the in-memory target exchange imports through the embedded router. Where the
order of recipes matters, real scripts append ``<step> <instance path>`` to a shared log.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from roboconf.targets.base import TargetDefinition
from tests.engine.conftest import S, running, scenario, write_template
from tests.helpers import alive

THREE_TIERS = """\
VM {
\tinstaller: target;
\tchildren: Database, AppServer, LoadBalancer;
}
Database {
\tinstaller: script;
\texports: ip, port = 5432;
\tchildren: Schema;
}
Schema {
\tinstaller: script;
}
AppServer {
\tinstaller: script;
\texports: ip, random[port] port;
\timports: Database.ip, Database.port;
\tchildren: Webapp;
}
Webapp {
\tinstaller: script;
}
LoadBalancer {
\tinstaller: script;
\texports: ip;
\timports: AppServer.ip, AppServer.port;
}
"""

# The balancer's machine is requested first, the database's last, and on the database's machine
# an app server comes before the database: the order must come from the imports, not the model.
THREE_MACHINES = """\
instance of VM {
\tname: front;
\tinstance of LoadBalancer {
\t\tname: balancer;
\t}
}
instance of VM {
\tname: apps;
\tinstance of AppServer {
\t\tname: app 1;
\t\tinstance of Webapp {
\t\t\tname: shop;
\t\t}
\t}
}
instance of VM {
\tname: data;
\tinstance of AppServer {
\t\tname: app 2;
\t\tinstance of Webapp {
\t\t\tname: shop;
\t\t}
\t}
\tinstance of Database {
\t\tname: db;
\t\tinstance of Schema {
\t\t\tname: schema;
\t\t}
\t}
}
"""

STEPS = ("deploy", "start", "stop", "undeploy")


def logging_recipes(components: Iterable[str]) -> dict[str, dict[str, str]]:
    """Recipes that only append ``<step> <path>`` to ``$LOG`` (``update``: what changed)."""
    line = 'echo "{step} $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n'
    update = (
        'echo "update $ROBOCONF_INSTANCE_PATH $ROBOCONF_UPDATE_STATUS '
        '$ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH" >> "$LOG"\n'
    )
    return {
        component: {**{step: line.format(step=step) for step in STEPS}, "update": update}
        for component in components
    }


COMPONENTS = ("Database", "Schema", "AppServer", "Webapp", "LoadBalancer")


def position(lines: list[str], line: str) -> int:
    assert line in lines, f"{line!r} not in the log:\n" + "\n".join(lines)
    return lines.index(line)


@scenario
async def test_deploy_and_start_all_starts_providers_before_importers_and_parents_first(
    tmp_path: Path,
) -> None:
    template = write_template(
        tmp_path / "app", THREE_TIERS, THREE_MACHINES, logging_recipes(COMPONENTS)
    )
    async with running(template, tmp_path) as engine:
        await engine.start_all()
        lines = engine.lines()
        at = {line: index for index, line in enumerate(lines)}

        for record in engine.app:
            if record.scoped:
                continue
            parent = engine.app.get(record.parent or "")
            assert position(lines, f"deploy {record.path}") < position(
                lines, f"start {record.path}"
            )
            if not parent.scoped:
                assert at[f"deploy {parent.path}"] < at[f"deploy {record.path}"]
                assert at[f"start {parent.path}"] < at[f"start {record.path}"]

        database = position(lines, "start /data/db")
        apps = [position(lines, f"start {app}") for app in ("/apps/app 1", "/data/app 2")]
        balancer = position(lines, "start /front/balancer")
        assert all(database < app for app in apps)
        assert min(apps) < balancer
        # An app server that came after the balancer started was given to it by an update.
        for app, started in zip(("/apps/app 1", "/data/app 2"), apps, strict=True):
            if started > balancer:
                assert f"update /front/balancer DEPLOYED_STARTED {app}" in lines


CHAIN = """\
VM {
\tinstaller: target;
\tchildren: Database, AppServer;
}
Database {
\tinstaller: script;
\texports: ip, port = 5432;
}
AppServer {
\tinstaller: script;
\texports: ip, random[port] port;
\timports: Database.ip, Database.port;
\tchildren: Webapp;
}
Webapp {
\tinstaller: script;
\tchildren: Module;
}
Module {
\tinstaller: script;
}
"""

# An importer with a child and a grandchild on another machine than the provider, and one on
# the provider's own machine (the chain reaction there needs no message).
CHAIN_INSTANCES = """\
instance of VM {
\tname: data;
\tinstance of Database {
\t\tname: db;
\t}
\tinstance of AppServer {
\t\tname: local;
\t}
}
instance of VM {
\tname: apps;
\tinstance of AppServer {
\t\tname: app;
\t\tinstance of Webapp {
\t\t\tname: shop;
\t\t\tinstance of Module {
\t\t\t\tname: cart;
\t\t\t}
\t\t}
\t}
}
"""

IMPORTERS = ("/data/local", "/apps/app")
DESCENDANTS = ("/apps/app/shop", "/apps/app/shop/cart")


@scenario
async def test_a_stopped_provider_stops_its_importers_and_their_descendants_until_it_is_back(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path / "app", CHAIN, CHAIN_INSTANCES)
    async with running(template, tmp_path, simulate=True) as engine:
        await engine.start_all()

        await engine.request("/data/db", S.DEPLOYED_STOPPED)
        await engine.reach(
            {
                "/data/db": S.DEPLOYED_STOPPED,
                **{path: S.UNRESOLVED for path in IMPORTERS},
                **{path: S.WAITING_FOR_ANCESTOR for path in DESCENDANTS},
            }
        )
        assert engine.status("/data") is S.DEPLOYED_STARTED
        assert engine.app.get("/apps/app").imports == {}

        restart = len(engine.history())
        await engine.request("/data/db", S.DEPLOYED_STARTED)
        await engine.all_in(S.DEPLOYED_STARTED)
        started = [
            event.path for event in engine.history()[restart:] if event.status is S.DEPLOYED_STARTED
        ]
        assert started.index("/data/db") < started.index("/apps/app")
        assert started.index("/apps/app") < started.index("/apps/app/shop")
        assert started.index("/apps/app/shop") < started.index("/apps/app/shop/cart")
        assert engine.app.get("/apps/app").imports == {"Database": ["/data/db"]}


QUEUED = """\
instance of VM {
\tname: vm;
\tinstance of Database {
\t\tname: db;
\t}
\tinstance of AppServer {
\t\tname: app;
\t}
}
"""


@scenario
async def test_requests_for_a_machine_not_up_yet_are_queued_and_delivered_in_order_at_boot(
    tmp_path: Path,
) -> None:
    template = write_template(
        tmp_path / "app", THREE_TIERS, QUEUED, logging_recipes(["Database", "AppServer"])
    )
    async with running(template, tmp_path, held=("/vm",)) as engine:
        await engine.request("/vm/db", S.DEPLOYED_STARTED)
        await engine.request("/vm/app", S.DEPLOYED_STARTED)
        await engine.request("/vm/db", S.DEPLOYED_STOPPED)
        await engine.request("/vm/app", S.NOT_DEPLOYED)
        await engine.request("/vm/db", S.DEPLOYED_STARTED)

        assert engine.status("/vm") is S.DEPLOYING
        assert "its agent has not sent a heartbeat yet" in engine.dm.explain("scenario", "/vm")
        assert engine.lines() == []

        engine.boot("/vm")
        await engine.reach(
            {"/vm": S.DEPLOYED_STARTED, "/vm/db": S.DEPLOYED_STARTED, "/vm/app": S.NOT_DEPLOYED}
        )
        assert engine.lines() == [
            "deploy /vm/db",
            "start /vm/db",
            "deploy /vm/app",
            "start /vm/app",
            "stop /vm/db",
            "stop /vm/app",
            "undeploy /vm/app",
            "start /vm/db",
        ]


DAEMONS = """\
VM {
\tinstaller: target;
\tchildren: Server;
}
Server {
\tinstaller: script;
\tchildren: Worker;
}
Worker {
\tinstaller: script;
}
"""

DAEMON_INSTANCES = """\
instance of VM {
\tname: vm;
\tinstance of Server {
\t\tname: outer;
\t\tinstance of Worker {
\t\t\tname: inner;
\t\t}
\t}
}
"""

# start launches a daemon (its pid in the work dir); stop kills it; undeploy logs.
DAEMON = {
    "deploy": 'echo "deploy $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n',
    "start": (
        "nohup sleep 600 >/dev/null 2>&1 &\necho $! > ../daemon.pid\n"
        'echo "start $ROBOCONF_INSTANCE_PATH $!" >> "$LOG"\n'
    ),
    "stop": ('kill "$(cat ../daemon.pid)"\necho "stop $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n'),
    "undeploy": 'echo "undeploy $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n',
}
DAEMON_RECIPES = {"Server": DAEMON, "Worker": DAEMON}


@scenario
async def test_undeploying_a_machine_runs_the_stop_and_undeploy_recipes_then_ends_its_agent(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path / "app", DAEMONS, DAEMON_INSTANCES, DAEMON_RECIPES)
    async with running(template, tmp_path) as engine:
        await engine.start_all()
        pids = [int(line.split()[-1]) for line in engine.lines() if line.startswith("start")]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        machine_id = engine.app.get("/vm").machine_id
        assert machine_id is not None and engine.running == {"/vm"}

        await engine.request("/vm", S.NOT_DEPLOYED)
        await engine.all_in(S.NOT_DEPLOYED)

        assert [line for line in engine.lines() if line.startswith(("stop", "undeploy"))] == [
            "stop /vm/outer/inner",
            "stop /vm/outer",
            "undeploy /vm/outer/inner",
            "undeploy /vm/outer",
        ]
        assert not any(alive(pid) for pid in pids)
        assert engine.running == set()
        assert not await engine.handler.is_machine_running(
            TargetDefinition(id="in-memory", handler="in-memory"), machine_id
        )


MACHINE_EXPORTS = """\
VM {
\tinstaller: target;
\texports: ip, zone = eu;
\tchildren: App;
}
App {
\tinstaller: script;
\timports: VM.zone, VM.ip;
}
"""


@scenario
async def test_a_machine_provides_its_exports_to_its_own_instances_and_to_other_machines(
    tmp_path: Path,
) -> None:
    instances = "".join(
        f"instance of VM {{\n\tname: {vm};\n\tzone: {zone};\n"
        f"\tinstance of App {{\n\t\tname: app;\n\t}}\n}}\n"
        for vm, zone in (("one", "eu"), ("two", "us"))
    )
    line = 'echo "$ROBOCONF_INSTANCE_PATH $VM_size ${VM_0_zone:-} ${VM_1_zone:-}" >> "$LOG"\n'
    recipes = {"App": {"start": line, "update": line}}
    template = write_template(tmp_path / "t", MACHINE_EXPORTS, instances, recipes)
    async with running(template, tmp_path) as engine:
        await engine.start_all()
        await engine.all_in(S.DEPLOYED_STARTED)
        # Each app starts as soon as one machine provides VM (its own, at once, so listed first);
        # the other machine's exports arrive as an update.
        await engine.logged("/one/app 2 eu us")
        await engine.logged("/two/app 2 us eu")


@scenario
async def test_agents_that_do_not_share_the_dms_files_get_the_recipes_from_it(
    tmp_path: Path,
) -> None:
    """Agents with no recipes folder (other hosts) ask with their first heartbeat; the DM sends
    every component's recipes after the model, target components' folders excepted (their
    properties may hold credentials)."""
    template = write_template(
        tmp_path / "app", THREE_TIERS, THREE_MACHINES, logging_recipes(COMPONENTS)
    )
    (template / "graph" / "VM").mkdir()
    (template / "graph" / "VM" / "target.properties").write_text(
        "id = in-memory\nhandler = in-memory\nin-memory.execute-real-recipes = true\n"
        "cloud.password = s3cret\n"
    )
    async with running(template, tmp_path, shared_recipes=False) as engine:
        await engine.start_all()
        lines = engine.lines()
        for record in engine.app:
            if not record.scoped:
                assert f"start {record.path}" in lines, lines
        received = tmp_path / "data" / "data" / "recipes"
        assert sorted(p.name for p in received.iterdir()) == sorted(COMPONENTS)
        assert (received / "Database" / "scripts" / "deploy.sh").is_file()
        everything = "".join(p.read_text() for p in (tmp_path / "data").rglob("*") if p.is_file())
        assert "s3cret" not in everything  # the target's folder stayed on the DM
