"""Fault scenarios on real parts: a DM in the test's event loop, RabbitMQ, and one ``roboconf
agent`` process per machine (the ``local`` target), running real scripts.

The application: a ``Database`` on machine ``/db-vm`` and an ``App`` importing it on
``/app-vm``. Every recipe appends a line to a journal (``$FAULTS_JOURNAL``), so that a test can
tell which steps ran, how many times, and what ``update`` was told.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from roboconf.dm.application import Application
from roboconf.dm.service import DmService
from roboconf.messaging.settings import messaging_settings
from roboconf.model import InstanceStatus
from tests.brokers import forget_domain
from tests.engine.conftest import processes_under

STARTED = InstanceStatus.DEPLOYED_STARTED
NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
PROBLEM = InstanceStatus.PROBLEM
UNRESOLVED = InstanceStatus.UNRESOLVED
TRANSITIONAL = {
    InstanceStatus.DEPLOYING,
    InstanceStatus.STARTING,
    InstanceStatus.STOPPING,
    InstanceStatus.UNDEPLOYING,
}
#: agents' heartbeat period: losses are detected after 3 missed beats
HEARTBEAT_S = 1.0
#: bounds on waits (guards, not timing checks)
PATIENCE_S = 60.0

GRAPH = """
VM {
    installer: target;
    children: Database, App, Failing, Hanging, Flooding;
}
Database {
    installer: script;
    exports: ip, port = 5432;
}
App {
    installer: script;
    imports: Database.ip, Database.port;
}
Failing {
    installer: script;
}
Hanging {
    installer: script;
}
Flooding {
    installer: script;
}
"""

JOURNAL_LINE = 'echo "$ROBOCONF_INSTANCE_PATH {step} $*" >> "$FAULTS_JOURNAL"'

RECIPES: Mapping[str, Mapping[str, str]] = {
    "Database": {
        step: JOURNAL_LINE.format(step=step) for step in ("deploy", "start", "stop", "undeploy")
    },
    "App": {
        **{step: JOURNAL_LINE.format(step=step) for step in ("deploy", "start", "stop")},
        "update": JOURNAL_LINE.format(step="update")
        + '\necho "$ROBOCONF_INSTANCE_PATH sees $Database_size $ROBOCONF_UPDATE_STATUS"'
        ' >> "$FAULTS_JOURNAL"',
    },
    "Failing": {"deploy": 'echo "boom: the disk is full" >&2\nexit 3'},
    "Hanging": {"start": "sleep 3600"},
    # 20 MB of output, then success
    "Flooding": {
        "deploy": 'head -c 20000000 /dev/zero | tr "\\0" "x" | fold -w 100\necho "flood done"'
    },
}


def write_template(
    folder: Path, instances: str, name: str = "faults", files: Mapping[str, str] | None = None
) -> Path:
    """A template folder with the graph above, its recipes, ``instances`` and ``files``
    (path under the folder → shell script body)."""
    (folder / "descriptor").mkdir(parents=True)
    (folder / "descriptor" / "application.properties").write_text(
        f"name = {name}\nversion = 1.0\n"
        "graph-entry-point = main.graph\ninstance-entry-point = main.instances\n"
    )
    (folder / "graph").mkdir()
    (folder / "graph" / "main.graph").write_text(GRAPH)
    (folder / "instances").mkdir()
    (folder / "instances" / "main.instances").write_text(textwrap.dedent(instances))
    for component, steps in RECIPES.items():
        scripts = folder / "graph" / component / "scripts"
        scripts.mkdir(parents=True)
        for step, body in steps.items():
            script = scripts / f"{step}.sh"
            script.write_text(f"#!/bin/sh\n{body}\n")
            script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    for relative, body in (files or {}).items():
        extra = folder / relative
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(f"#!/bin/sh\n{body}\n")
        extra.chmod(0o755)
    return folder


TWO_MACHINES = """
instance of VM {{
    name: db-vm;
    {db_data}
    instance of Database {{
        name: db;
    }}
}}
instance of VM {{
    name: app-vm;
    instance of App {{
        name: app;
    }}
}}
"""


@dataclass(slots=True, kw_only=True)
class Platform:
    service: DmService
    app: Application
    journal: Path
    data_dir: Path

    def status(self, path: str) -> InstanceStatus:
        return self.app.get(path).status

    def statuses(self) -> dict[str, str]:
        return {r.path: r.status.value for r in self.app}

    async def until(self, what: str, predicate: Callable[[Application], bool]) -> None:
        if not await self.service.dm.wait_until(self.app.name, predicate, PATIENCE_S):
            raise AssertionError(f"not reached in {PATIENCE_S} s: {what}\n{self.statuses()}")

    async def until_status(self, expected: Mapping[str, InstanceStatus]) -> None:
        await self.until(
            f"{ {p: s.value for p, s in expected.items()} }",
            lambda app: all(app.get(p).status is s for p, s in expected.items()),
        )

    async def start_all(self) -> None:
        await self.service.bulk(self.app.name, "deploy-and-start-all", None, None)
        await self.until("all started", lambda app: app.all_in(STARTED))

    async def undeploy_all(self) -> None:
        await self.service.bulk(self.app.name, "undeploy-all", None, None)
        await self.until("all undeployed", lambda app: app.all_in(NOT_DEPLOYED))

    def journal_lines(self) -> list[str]:
        return self.journal.read_text().splitlines() if self.journal.exists() else []

    def agent_pid(self, machine: str) -> int:
        """The pid of a machine's agent, from its machine id (``local:<pid>:<start>``)."""
        machine_id = self.app.get(machine).machine_id
        assert machine_id is not None and machine_id.startswith("local:"), machine_id
        return int(machine_id.split(":")[1])

    def agent_config(self, machine: str) -> Path:
        """The configuration file the local handler wrote for a machine's agent."""
        found = list((self.data_dir / "machines").glob(f"*/*{machine.strip('/')}/agent.properties"))
        assert len(found) == 1, found
        return found[0]


@contextlib.asynccontextmanager
async def platform(
    tmp_path: Path,
    broker_url: str,
    instances: str,
    *,
    step_timeout_s: float = 60.0,
    files: Mapping[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """A DM over the broker at ``broker_url`` (a domain of its own), local agents, the
    template of ``instances`` loaded and its application created (nothing deployed)."""
    data_dir = tmp_path / "dm"
    messaging = messaging_settings(
        {
            "messaging.type": "rabbitmq",
            "rabbitmq.url": broker_url,
            "messaging.domain": f"faults-{os.getpid()}-{tmp_path.name}",
        }
    )
    options = EmbeddedOptions(
        data_dir=data_dir,
        database="memory://",
        heartbeat_s=HEARTBEAT_S,
        step_timeout_s=step_timeout_s,
        messaging=messaging,
        default_target="local",
    )
    template = write_template(tmp_path / "template", instances, files=files)
    machines: list[str] = []
    try:
        async with embedded_service(options) as service:
            view = await service.load_template_from(str(template))
            await service.create_application("faults", view.name, view.version)
            app = service.dm.application("faults")
            machines += [r.path for r in app if r.scoped]
            yield Platform(
                service=service,
                app=app,
                journal=Path(os.environ["FAULTS_JOURNAL"]),
                data_dir=data_dir,
            )
    finally:
        for line in processes_under(data_dir):  # nothing is left behind, even on failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        with contextlib.suppress(Exception):  # a private broker may be gone already
            await forget_domain(broker_url, messaging.domain, {"faults": machines})


@pytest.fixture(autouse=True)
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the recipes write (agents inherit the test process's environment)."""
    path = tmp_path / "journal.txt"
    monkeypatch.setenv("FAULTS_JOURNAL", str(path))
    yield path


def no_process_left(data_dir: Path) -> None:
    assert processes_under(data_dir) == []


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario with an overall bound."""

    async def bounded() -> None:
        async with asyncio.timeout(300):
            await scenario()

    asyncio.run(bounded())
