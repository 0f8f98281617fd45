"""A whole platform in one event loop, for DM-level scenarios: the embedded router, the in-memory
target, the DM and one agent per machine, on a template written into ``tmp_path``.

Time is a :class:`~roboconf.clock.ManualClock` shared by the DM and the agents: heartbeats (after
the first one), health checks, restart back-offs and heartbeat monitoring happen only when a test
calls :meth:`Engine.advance`. Recipes are real scripts (or simulated plug-ins); their steps and
timeouts run in real time, so outcomes are awaited with :meth:`Engine.reach`, each wait bounded.

Faults are injected at the seams, never by patching our code: a machine's :class:`Link` to the
router can be cut (the agent is silent and deaf, as behind a network partition) and a machine's
boot can be held (the agent is not up yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import stat
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from roboconf.agent.agent import Agent, AgentSettings
from roboconf.clock import ManualClock
from roboconf.dm.application import Application
from roboconf.dm.manager import DeploymentManager, DmEvent, DmSettings
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.messaging.transport import TransportStatistics
from roboconf.model import InstanceStatus
from roboconf.plugins.base import StepLimits
from roboconf.project.loader import load_template
from roboconf.targets.base import MachineIdentity, TargetDefinition
from roboconf.targets.in_memory import InMemoryHandler
from tests.helpers import alive, bounded_by

#: a guard against a scenario waiting forever for a state that never comes (not a timing check)
PATIENCE = 15.0
#: the whole scenario, setup and teardown included, never takes longer than this
GUARD = 60.0
#: heartbeat period of the agents and the DM, on the manual clock
HEARTBEAT = 1.0
#: what every test recipe may rely on: the usual tools, nothing else from the test runner
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
#: the target every machine uses unless its template ships one
IN_MEMORY = TargetDefinition(
    id="in-memory", handler="in-memory", properties={"in-memory.execute-real-recipes": "true"}
)
#: a recipe's first lines: strict bash
PREAMBLE = "#!/bin/bash\nset -euo pipefail\n"

S = InstanceStatus


#: runs an ``async def`` test in a fresh event loop, bounded by :data:`GUARD`
scenario = bounded_by(GUARD)


# -- templates ---------------------------------------------------------------------------------


def write_template(
    root: Path,
    graph: str,
    instances: str,
    recipes: Mapping[str, Mapping[str, str]] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """A template folder: ``graph`` and ``instances`` as the entry points, ``recipes`` as
    component → step → bash body (``graph/<component>/scripts/<step>.sh``, after
    :data:`PREAMBLE`), ``files`` as template-relative path → text."""
    texts = {
        "descriptor/application.properties": (
            "name = scenario\nversion = 1.0\n"
            "graph-entry-point = main.graph\ninstance-entry-point = initial.instances\n"
        ),
        "graph/main.graph": graph,
        "instances/initial.instances": instances,
        **(files or {}),
    }
    for component, steps in (recipes or {}).items():
        (root / "graph" / component).mkdir(parents=True, exist_ok=True)
        for step, body in steps.items():
            texts[f"graph/{component}/scripts/{step}.sh"] = PREAMBLE + body
    for relative, text in texts.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if relative.endswith(".sh"):
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return root


# -- fault injection -----------------------------------------------------------------------------


class Link:
    """One agent's way to the router. Cut, the agent is silent (what it publishes is lost) and
    deaf (what reaches its queue waits in the router); restored, it hears what waited."""

    def __init__(self, router: EmbeddedRouter) -> None:
        self._router = router
        self._up = asyncio.Event()
        self._up.set()

    def cut(self) -> None:
        self._up.clear()

    def restore(self) -> None:
        self._up.set()

    async def declare_exchange(self, name: str) -> None:
        await self._router.declare_exchange(name)

    async def declare_queue(self, name: str) -> None:
        await self._router.declare_queue(name)

    async def delete_queue(self, name: str) -> None:
        await self._router.delete_queue(name)

    async def bind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._router.bind(queue, exchange, routing_key)

    async def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        await self._router.unbind(queue, exchange, routing_key)

    async def publish(self, exchange: str, routing_key: str, body: bytes) -> None:
        if self._up.is_set():
            await self._router.publish(exchange, routing_key, body)

    def consume(self, queue: str) -> AsyncIterator[bytes]:
        return self._consume(self._router.consume(queue))

    async def _consume(self, bodies: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for body in bodies:
            await self._up.wait()
            yield body

    def statistics(self) -> TransportStatistics:
        return self._router.statistics()

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """A cut link is a stalled connection, never a lost one: nothing reconnects."""

    async def close(self) -> None:
        """The router belongs to the engine: closing one link closes nothing."""


# -- the engine ----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Engine:
    """A running platform and what a scenario needs to drive and observe it."""

    dm: DeploymentManager
    app: Application
    handler: InMemoryHandler
    clock: ManualClock
    data_dir: Path
    #: the file recipes append to (``$LOG`` in their environment)
    log: Path
    #: scoped path → the link of its (latest) agent
    links: dict[str, Link] = field(default_factory=dict)
    #: scoped paths whose agent task is running
    running: set[str] = field(default_factory=set)
    #: scoped paths whose agent waits for :meth:`boot` before it starts
    held: dict[str, asyncio.Event] = field(default_factory=dict)
    #: what the DM announces, from the application's creation on
    watcher: asyncio.Queue[DmEvent] = field(default_factory=asyncio.Queue)
    #: the other applications (``running(others=...)``), by name
    others: dict[str, Application] = field(default_factory=dict)
    _history: list[DmEvent] = field(default_factory=list)

    def history(self) -> list[DmEvent]:
        """Every change the DM announced so far, in order."""
        while not self.watcher.empty():
            self._history.append(self.watcher.get_nowait())
        return list(self._history)

    def status(self, path: str) -> InstanceStatus:
        return self.app.get(path).status

    def statuses(self) -> dict[str, InstanceStatus]:
        return {record.path: record.status for record in self.app}

    def lines(self) -> list[str]:
        """What recipes appended to ``$LOG``, line by line."""
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def boot(self, machine: str) -> None:
        """Let a held machine's agent start."""
        self.held.setdefault(machine, asyncio.Event()).set()

    async def advance(self, seconds: float, *, step: float = HEARTBEAT) -> None:
        """Move the shared clock ``seconds`` forward, ``step`` by ``step``, letting messages
        flow between steps (every heartbeat of every agent reaches the DM)."""
        remaining = seconds
        while remaining > 1e-9:
            moved = min(step, remaining)
            await self.clock.advance(moved)
            remaining -= moved
            for _ in range(20):
                await asyncio.sleep(0)

    async def reach(
        self,
        expected: Mapping[str, InstanceStatus] | Callable[[Application], bool],
        timeout: float = PATIENCE,
    ) -> None:
        """Wait until the statuses match ``expected`` (paths → status, or a predicate); fail
        with the statuses and the DM's explanations if they do not in time."""
        if callable(expected):
            predicate = expected
        else:
            wanted = dict(expected)

            def predicate(app: Application) -> bool:
                return all(app.get(path).status is status for path, status in wanted.items())

        if await self.dm.wait_until(self.app.name, predicate, timeout):
            return
        report = "\n".join(
            f"  {path}: {status.value}  ({' / '.join(self.dm.explain(self.app.name, path))})"
            for path, status in self.statuses().items()
        )
        raise AssertionError(f"not reached in {timeout} s: {expected}\nstatuses:\n{report}")

    async def eventually(
        self, condition: Callable[[], bool], what: str, timeout: float = PATIENCE
    ) -> None:
        """Wait until ``condition()`` holds, for what recipes do and tell nobody but files."""
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    await asyncio.sleep(0.02)
        except TimeoutError:
            log = "\n".join(self.lines())
            raise AssertionError(f"{what}: not in {timeout} s; the log:\n{log}") from None

    async def logged(self, line: str, timeout: float = PATIENCE) -> None:
        """Wait until a recipe has appended ``line`` to ``$LOG``."""
        await self.eventually(lambda: line in self.lines(), f"{line!r} logged", timeout)

    async def all_in(self, status: InstanceStatus, timeout: float = PATIENCE) -> None:
        await self.reach(lambda app: all(r.status is status for r in app), timeout)

    async def start_all(self) -> None:
        await self.dm.deploy_and_start_all(self.app.name)
        await self.all_in(S.DEPLOYED_STARTED)

    async def request(self, path: str, status: InstanceStatus) -> None:
        await self.dm.request(self.app.name, path, status)


@contextlib.asynccontextmanager
async def running(
    template: Path,
    tmp_path: Path,
    *,
    simulate: bool = False,
    check_period_s: float = 0.0,
    restart_backoff_s: float = 1.0,
    step_timeout_s: float = 10.0,
    held: tuple[str, ...] = (),
    environment: Mapping[str, str] | None = None,
    others: Mapping[str, Path] | None = None,
    addresses: Mapping[str, Callable[[], Awaitable[str | None]]] | None = None,
    shared_recipes: bool = True,
) -> AsyncIterator[Engine]:
    """The platform of ``template``, its application created (nothing deployed), and one more
    application per template of ``others`` (name → folder) on the same DM. Leaving it
    undeploys what is still deployed (recipes stop their processes), then stops everything."""
    folders = {"scenario": template, **(others or {})}
    loads = {name: load_template(folder) for name, folder in folders.items()}
    for load in loads.values():
        assert load.ok and load.template is not None, [d.render() for d in load.diagnostics]
    data_dir = tmp_path / "data"
    log = tmp_path / "recipes.log"
    env = {**BASE_ENV, "LOG": str(log), **(environment or {})}
    clock = ManualClock()
    router = EmbeddedRouter()
    engine: Engine | None = None

    async def run_agent(identity: MachineIdentity, definition: TargetDefinition) -> None:
        assert engine is not None
        path = identity.scoped_path
        if path in engine.held:
            await engine.held[path].wait()
        settings = AgentSettings(
            # without shared recipes, each agent gets them from the DM, in a folder of its own
            data_dir=data_dir if shared_recipes else data_dir / path.strip("/"),
            recipes_root=folders[identity.application] / "graph" if shared_recipes else None,
            heartbeat_period_s=HEARTBEAT,
            check_period_s=check_period_s,
            restart_backoff_s=restart_backoff_s,
            simulate=simulate or not definition.flag("in-memory.execute-real-recipes"),
            environment=env,
            limits=StepLimits(timeout_s=step_timeout_s, kill_grace_s=1.0),
            address=(addresses or {}).get(path),
        )
        link = engine.links[path] = Link(router)
        agent = Agent(
            link,
            application=identity.application,
            scoped_path=path,
            settings=settings,
            clock=clock,
        )
        engine.running.add(path)
        try:
            await agent.run()
        finally:
            engine.running.discard(path)

    settings = DmSettings(heartbeat_period_s=HEARTBEAT, undeploy_timeout_s=PATIENCE)
    async with (
        InMemoryHandler(run_agent) as handler,
        DeploymentManager(router, {"in-memory": handler}, settings=settings, clock=clock) as dm,
    ):
        watcher = dm.watch()
        apps = {}
        for name, load in loads.items():
            assert load.template is not None
            apps[name] = await dm.create_application(
                name, load.template, folders[name], default_target=IN_MEMORY
            )
        app = apps.pop("scenario")
        engine = Engine(
            dm=dm,
            app=app,
            handler=handler,
            clock=clock,
            data_dir=data_dir,
            log=log,
            held={path: asyncio.Event() for path in held},
            watcher=watcher,
            others=apps,
        )
        try:
            yield engine
        finally:
            for link in engine.links.values():
                link.restore()
            for gate in engine.held.values():
                gate.set()
            for name in (app.name, *apps):
                await dm.undeploy_all(name)
                await dm.wait_until(
                    name, lambda a: all(r.status is S.NOT_DEPLOYED for r in a), PATIENCE
                )
            dm.unwatch(watcher)


# -- processes and ports -------------------------------------------------------------------------


def processes_under(folder: Path) -> list[str]:
    """Running processes whose working directory or command line is inside ``folder``."""
    root = str(folder.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (cwd == root or cwd.startswith(root + "/") or root in cmdline) and alive(
            int(entry.name)
        ):
            found.append(f"{entry.name}: {cmdline.strip()} (in {cwd})")
    return found


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (with SO_REUSEADDR, as ours do)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def exclusive_port(port: int) -> Iterator[None]:
    """Hold a lock that every test listening on ``port`` takes (tests run in parallel)."""
    lock = Path(tempfile.gettempdir()) / f"roboconf-tests-port-{port}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
