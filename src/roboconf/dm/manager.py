"""The Deployment Manager, in process: applications, machines, requests, and what agents report.

The DM never runs recipes. It creates and destroys machines through target handlers, sends
each agent its part of the model and the state requests for its instances (queued per machine
until the machine's first heartbeat), mirrors what agents report, watches heartbeats (a silent
machine goes to PROBLEM and its exports are withdrawn on its behalf, so peers reconfigure), and
tells watchers about every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from roboconf.clock import Clock, SystemClock
from roboconf.dm.application import Application, InstanceError, ManagedInstance
from roboconf.dm.recipes import recipe_messages
from roboconf.dm.targets import (
    TargetAssociations,
    TargetScripts,
    target_scripts,
    template_targets,
)
from roboconf.lifecycle import ComponentRules, rules_from_graph
from roboconf.messaging.clients import DmClient
from roboconf.messaging.messages import (
    AddInstance,
    ChangeBinding,
    ChangeInstanceState,
    Echo,
    Heartbeat,
    InstanceChanged,
    Message,
    RecipeFiles,
    RemoveImport,
    RemoveInstance,
    Resynchronize,
    SendInstances,
    SetScopedInstance,
    external_values,
    scoped_snapshot,
)
from roboconf.messaging.transport import Transport
from roboconf.model import ApplicationTemplate, InstanceStatus
from roboconf.model.graph import mandatory_prefixes
from roboconf.model.variables import lowest_free_port, ports_wanted
from roboconf.plugins.base import StepLimits
from roboconf.plugins.configure import run_configuration_script
from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetError, TargetHandler

log = logging.getLogger(__name__)

NOT_DEPLOYED = InstanceStatus.NOT_DEPLOYED
STOPPED = InstanceStatus.DEPLOYED_STOPPED
STARTED = InstanceStatus.DEPLOYED_STARTED
DEPLOYING = InstanceStatus.DEPLOYING
UNDEPLOYING = InstanceStatus.UNDEPLOYING
PROBLEM = InstanceStatus.PROBLEM
UNRESOLVED = InstanceStatus.UNRESOLVED
WAITING = InstanceStatus.WAITING_FOR_ANCESTOR
REQUESTABLE = (NOT_DEPLOYED, STOPPED, STARTED)


@dataclass(frozen=True, slots=True, kw_only=True)
class DmSettings:
    domain: str = "default"
    heartbeat_period_s: float = 5.0
    missed_heartbeats: int = 3
    #: a machine that sends no first heartbeat within this delay goes to PROBLEM
    boot_timeout_s: float = 120.0
    #: how long undeploying a machine waits for its agent to undeploy its instances
    undeploy_timeout_s: float = 300.0
    #: machines share the DM's host (in-memory, local): random ports must be free here
    shared_host: bool = True
    messaging: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DmEvent:
    """A change watchers hear about: an instance's new status (machines included)."""

    application: str
    path: str
    status: InstanceStatus
    reason: str | None = None


@dataclass(slots=True, kw_only=True)
class _Machine:
    """What the DM knows of a machine beyond its instance record."""

    target: TargetDefinition
    up: bool = False
    last_heartbeat: float = 0.0
    created_at: float = 0.0
    outbox: list[Message] = field(default_factory=list)
    #: its ``dm.configure.script.*`` ran (once, at its first heartbeat)
    configured: bool = False


@dataclass(slots=True, kw_only=True)
class _Drain:
    """A machine being undeployed waits until its agent has undeployed these instances."""

    remaining: set[str]
    done: asyncio.Event = field(default_factory=asyncio.Event)


class DeploymentManager:
    """Use it as ``async with DeploymentManager(...) as dm:``; leaving stops its tasks."""

    def __init__(
        self,
        transport: Transport,
        handlers: Mapping[str, TargetHandler],
        *,
        settings: DmSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or DmSettings()
        self.clock = clock or SystemClock()
        self.client = DmClient(transport, domain=self.settings.domain)
        self.handlers = dict(handlers)
        self.applications: dict[str, Application] = {}
        self._rules: dict[str, dict[str, ComponentRules]] = {}
        self._targets: dict[str, TargetAssociations] = {}
        #: application → external import prefix → the applications it accepts
        self._bindings: dict[str, dict[str, tuple[str, ...]]] = {}
        #: application → its recipes as sent to agents that do not share the DM's files
        self._recipes: dict[str, list[RecipeFiles]] = {}
        self._machines: dict[tuple[str, str], _Machine] = {}
        self._draining: dict[tuple[str, str], _Drain] = {}
        self._watchers: list[asyncio.Queue[DmEvent]] = []
        self._changed = asyncio.Condition()
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: when the DM last received anything through the messaging server (its own echoes
        #: included, so that it hears something even when no agent speaks)
        self._heard_self = self.clock.monotonic()
        self._deaf = False
        #: how late the DM reads what reaches it (its last echo's trip): a heartbeat read late
        #: was not sent late, and its agent is not judged by the DM's backlog
        self._lag = 0.0
        self._scripts: dict[tuple[str, str], TargetScripts] = {}

    async def __aenter__(self) -> DeploymentManager:
        await self.client.start()
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._tasks = [
            self._group.create_task(self._receive(), name="dm receive"),
            self._group.create_task(self._monitor(), name="dm heartbeat monitor"),
            self._group.create_task(self._echoes(), name="dm echoes"),
        ]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        group, self._group = self._group, None
        assert group is not None
        await group.__aexit__(kind, error, traceback)

    # -- applications -----------------------------------------------------------------------

    async def create_application(
        self,
        name: str,
        template: ApplicationTemplate,
        template_dir: Path,
        *,
        default_target: TargetDefinition | None = None,
        default_overrides: bool = True,
        records: Iterable[ManagedInstance] | None = None,
        bindings: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Application:
        """A new application from a loaded template (its instances copied, not deployed), or,
        with ``records`` (parents first) and ``bindings``, one restored as it was when the DM
        stopped (bindings are not checked: the applications they name may come back later);
        its machines are then checked with :meth:`recover`.

        ``default_target`` serves the machine components whose template ships no target; with
        ``default_overrides``, it also replaces those of another handler (the user asked for
        this kind of machine: ``--target``)."""
        if name in self.applications:
            raise InstanceError(f"an application named {name!r} already exists")
        application = Application(name, template, template_dir, records=records)
        associations = TargetAssociations()
        for component, definitions in template_targets(
            template_dir / "graph", template.graph
        ).items():
            # a template may ship one definition per handler (docker.target.properties,
            # in-memory.target.properties): with a default target that overrides, the one of
            # its handler (the template's keys), else the default itself; else the first
            chosen = definitions[0]
            if default_target is not None and default_overrides:
                same = [d for d in definitions if d.handler == default_target.handler]
                chosen = same[0] if same else default_target
            associations.associate(f"@{component}", chosen)
        if default_target is not None:
            associations.associate(TargetAssociations.DEFAULT, default_target)
        self._assign_random_ports(application)
        self.applications[name] = application
        self._rules[name] = rules_from_graph(template.graph)
        self._targets[name] = associations
        self._bindings[name] = dict(bindings or {})
        await self.client.manage(name)
        return application

    def application(self, name: str) -> Application:
        found = self.applications.get(name)
        if found is None:
            raise InstanceError(f"no application named {name!r}")
        return found

    async def delete_application(self, name: str) -> None:
        """Forget an application whose instances are all NOT_DEPLOYED."""
        application = self.application(name)
        if not application.all_in(NOT_DEPLOYED):
            raise InstanceError(f"application {name!r} is deployed: undeploy it first")
        del self.applications[name]
        del self._rules[name]
        del self._targets[name]
        self._recipes.pop(name, None)
        del self._bindings[name]
        await self.client.forget(name)

    # -- bindings ---------------------------------------------------------------------------

    def bindings(self, app: str) -> dict[str, tuple[str, ...]]:
        """External import prefix → the applications whose exports it accepts."""
        return dict(self._bindings[self.application(app).name])

    def external_prefixes(self, app: str) -> frozenset[str]:
        """The prefixes some component of the application imports as ``external``."""
        rules = self._rules[self.application(app).name].values()
        return frozenset().union(*(r.external_prefixes for r in rules))

    def check_binding(self, app: str, prefix: str, applications: Iterable[str]) -> None:
        """Raise :class:`InstanceError` unless ``app`` imports ``prefix`` as external and every
        one of ``applications`` exists with ``prefix`` as its template's exports prefix (the
        check Roboconf makes): a binding that could never match is refused, not kept."""
        imported = self.external_prefixes(app)
        if prefix not in imported:
            known = ", ".join(sorted(imported)) or "none"
            raise InstanceError(
                f"application {app!r} imports no 'external {prefix}.*': only its external "
                f"imports can be bound (its external prefixes: {known})"
            )
        for name in applications:
            exported = self.application(name).template.descriptor.exports_prefix
            if exported != prefix:
                raise InstanceError(
                    f"application {name!r} cannot be bound to {prefix!r}: its template's "
                    f"exports prefix is {exported!r}"
                )

    async def bind(self, app: str, prefix: str, applications: Iterable[str]) -> None:
        """Accept the exports of ``applications`` (none: unbind) for the external ``prefix``
        of ``app``, and tell every agent of ``app``: an agent that is not up yet gets it with
        its model, or from its outbox."""
        chosen = tuple(dict.fromkeys(applications))
        self.check_binding(app, prefix, chosen)
        application = self.application(app)
        if chosen:
            self._bindings[app][prefix] = chosen
        else:
            self._bindings[app].pop(prefix, None)
        message = ChangeBinding(external_prefix=prefix, applications=chosen)
        for name, path in list(self._machines):
            if name == app:
                await self._send(application, path, message)

    def associate(self, app: str, key: str, target: TargetDefinition | None) -> None:
        """Use ``target`` for the machine at path ``key``, every ``@Component`` machine, or
        by default (``""``); None removes the association. Used at the next creation."""
        associations = self._targets[self.application(app).name]
        if target is None:
            associations.by_key.pop(key, None)
        else:
            associations.associate(key, target)

    def associations(self, app: str) -> Mapping[str, TargetDefinition]:
        return dict(self._targets[self.application(app).name].by_key)

    def machine_target(self, app: str, path: str) -> TargetDefinition | None:
        """The target a deployed machine was created with (None when it is not deployed)."""
        machine = self._machines.get((app, path))
        return machine.target if machine else None

    def silence(self, app: str, path: str) -> tuple[bool, float | None] | None:
        """Whether a deployed machine's agent is up, and the seconds since its last heartbeat
        (None before the first); None for a machine that is not deployed."""
        machine = self._machines.get((app, path))
        if machine is None:
            return None
        seen = machine.last_heartbeat or None
        return machine.up, None if seen is None else self.clock.monotonic() - seen

    async def recover(self, app: str) -> list[str]:
        """After a DM restart: machines that their handler reports gone become NOT_DEPLOYED
        with what they held; the others are expected back (on their first heartbeat they are
        asked to report their states and republish their exports). Returns the gone ones."""
        application = self.application(app)
        gone: list[str] = []
        for record in application.machines():
            if record.status is NOT_DEPLOYED:
                continue
            target = self._targets[app].target_for(record.path, record.component)
            target = target.with_overrides(record.data)
            handler = self.handlers.get(target.handler)
            running = False
            if handler is not None and record.machine_id is not None:
                try:
                    running = await handler.is_machine_running(target, record.machine_id)
                except TargetError as error:
                    log.warning("%s: cannot tell whether it runs: %s", record.path, error)
            if running:
                self._machines[(app, record.path)] = _Machine(
                    target=target, created_at=self.clock.monotonic(), outbox=[Resynchronize()]
                )
                continue
            gone.append(record.path)
            record.machine_id = None
            reason = "its machine was gone when the DM restarted"
            for instance in self._held_by(application, record.path):
                if instance.status is not NOT_DEPLOYED:
                    await self._set(application, instance, NOT_DEPLOYED, reason)
            await self._set(application, record, NOT_DEPLOYED, reason)
        return gone

    # -- requests ---------------------------------------------------------------------------

    async def request(self, app: str, path: str, status: InstanceStatus) -> None:
        """Ask for ``status`` (NOT_DEPLOYED, DEPLOYED_STOPPED or DEPLOYED_STARTED) at ``path``."""
        if status not in REQUESTABLE:
            raise InstanceError(
                f"{status.value} cannot be requested: ask for NOT_DEPLOYED, DEPLOYED_STOPPED "
                "or DEPLOYED_STARTED"
            )
        application = self.application(app)
        record = application.get(path)
        if record.scoped:
            if status is NOT_DEPLOYED:
                await self._undeploy_machine(application, record)
            elif status is STARTED:
                await self._deploy_machine(application, record)
            else:
                raise InstanceError(
                    f"{path!r} is a machine: it is either deployed and started, or not "
                    "deployed; stop the instances it holds instead"
                )
            return
        machine = application.get(application.scoped_path(path))
        if status is not NOT_DEPLOYED:
            await self._deploy_machine(application, machine)
        elif machine.status is NOT_DEPLOYED:
            return
        await self._send(
            application, machine.path, ChangeInstanceState(path=path, requested=status)
        )

    async def deploy_and_start_all(
        self, app: str, under: str | None = None, *, component: str | None = None
    ) -> None:
        """Request DEPLOYED_STARTED for a subtree (or everything, or a component), top-down.

        Instances on a machine that cannot be deployed now (lost, in PROBLEM) are skipped."""
        for record in self._selection(app, under, component):
            try:
                await self.request(app, record.path, STARTED)
            except InstanceError as error:
                log.warning("%s skipped: %s", record.path, error)

    async def stop_all(
        self, app: str, under: str | None = None, *, component: str | None = None
    ) -> None:
        for record in self._selection(app, under, component):
            if not record.scoped and record.status is not NOT_DEPLOYED:
                await self.request(app, record.path, STOPPED)

    async def undeploy_all(
        self, app: str, under: str | None = None, *, component: str | None = None
    ) -> None:
        """Undeploy the topmost selected instances (a machine takes its subtree with it)."""
        selected = self._selection(app, under, component)
        chosen = {r.path for r in selected}
        tops = [r for r in selected if r.parent not in chosen]
        await asyncio.gather(*(self.request(app, r.path, NOT_DEPLOYED) for r in tops))

    async def add_instance(
        self,
        app: str,
        parent: str | None,
        component: str,
        name: str,
        overrides: dict[str, str] | None = None,
    ) -> ManagedInstance:
        """Add an instance (NOT_DEPLOYED); the agent of its machine, if up, learns of it."""
        application = self.application(app)
        record = application.add_instance(parent, component, name, overrides)
        self._assign_random_ports(application)
        self._announce(application, record)
        if parent is not None and not record.scoped:
            await self._tell_agent(
                application, record, AddInstance(parent_path=parent, instance=record.to_model())
            )
        return record

    async def remove_instance(self, app: str, path: str) -> None:
        """Remove a NOT_DEPLOYED instance and its subtree (its agent, if up, forgets them)."""
        application = self.application(app)
        record = application.get(path)
        application.remove_instance(path)
        if not record.scoped and record.parent is not None:
            await self._tell_agent(application, record, RemoveInstance(path=path))

    async def _tell_agent(
        self, application: Application, record: ManagedInstance, message: Message
    ) -> None:
        """Send a model change to the agent of the record's machine when it is up (an agent
        not up yet receives the whole model, this change included, on its first heartbeat)."""
        machine_path = application.scoped_path(record.parent or record.path)
        machine = self._machines.get((application.name, machine_path))
        if machine is not None and machine.up:
            await self.client.send_to_agent(application.name, machine_path, message)

    def _selection(
        self, app: str, under: str | None, component: str | None
    ) -> list[ManagedInstance]:
        application = self.application(app)
        if component is not None:
            return [r for r in application if r.component == component]
        return list(application.subtree(under)) if under is not None else list(application)

    # -- waiting and watching ---------------------------------------------------------------

    def watch(self) -> asyncio.Queue[DmEvent]:
        """A queue receiving every change from now on (call :meth:`unwatch` when done)."""
        queue: asyncio.Queue[DmEvent] = asyncio.Queue()
        self._watchers.append(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[DmEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._watchers.remove(queue)

    async def wait_until(
        self, app: str, predicate: Callable[[Application], bool], timeout: float
    ) -> bool:
        """Wait until ``predicate(application)`` holds (checked after every change)."""
        application = self.application(app)
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: predicate(application))
            return True
        except TimeoutError:
            return False

    # -- explain ----------------------------------------------------------------------------

    def explain(self, app: str, path: str) -> list[str]:
        """Sentences saying why the instance is not started (or that it is)."""
        application = self.application(app)
        record = application.get(path)
        if record.status is STARTED:
            return [f"{path} is started"]
        reasons = [f"{path} is {record.status.value}"]
        if record.scoped:
            machine = self._machines.get((app, path))
            if machine is not None and not machine.up and record.status is not NOT_DEPLOYED:
                reasons.append("its agent has not sent a heartbeat yet")
        else:
            machine_path = application.scoped_path(path)
            machine_record = application.get(machine_path)
            if machine_record.status is not STARTED:
                reasons.append(f"its machine {machine_path} is {machine_record.status.value}")
            ancestor = record.parent
            while record.status is WAITING and ancestor is not None:
                parent = application.get(ancestor)
                if parent.status is not STARTED:
                    reasons.append(f"it waits for its ancestor {ancestor} ({parent.status.value})")
                    break
                ancestor = parent.parent
            external = self._rules[app][record.component].external_prefixes
            for prefix in sorted(mandatory_prefixes(application.graph, record.component)):
                if record.status is UNRESOLVED and not record.imports.get(prefix):
                    reasons.append(f"no instance provides {prefix}, which it imports (mandatory)")
                    if prefix in external and not self._bindings[app].get(prefix):
                        reasons.append(
                            f"{prefix} is external and no application is bound to it: bind one"
                        )
        if record.reason:
            reasons.append(f"last problem: {record.reason}")
        if record.output_tail:
            reasons.append("last recipe output:\n" + record.output_tail)
        return reasons

    # -- machines ---------------------------------------------------------------------------

    async def _deploy_machine(self, application: Application, record: ManagedInstance) -> None:
        """Create the machine (and its ancestor machines) unless it exists or is coming."""
        existing = self._machines.get((application.name, record.path))
        if record.status is PROBLEM and (existing is None or not existing.up):
            raise InstanceError(
                f"machine {record.path!r} is in PROBLEM ({record.reason}): undeploy it to "
                "create it again, or wait for its agent to come back"
            )
        if record.status is not NOT_DEPLOYED:
            return
        if record.parent is not None:
            await self._deploy_machine(
                application, application.get(application.scoped_path(record.parent))
            )
        target = self._targets[application.name].target_for(record.path, record.component)
        target = target.with_overrides(record.data)
        handler = self.handlers.get(target.handler)
        if handler is None:
            await self._set(application, record, NOT_DEPLOYED, self._no_handler(target))
            return
        machine = _Machine(target=target, created_at=self.clock.monotonic())
        self._machines[(application.name, record.path)] = machine
        await self._set(application, record, DEPLOYING, None)
        assert self._group is not None
        self._group.create_task(self._create(application, record, handler, machine))

    async def _create(
        self,
        application: Application,
        record: ManagedInstance,
        handler: TargetHandler,
        machine: _Machine,
    ) -> None:
        identity = MachineIdentity(
            application=application.name,
            scoped_path=record.path,
            domain=self.settings.domain,
            messaging=self.settings.messaging,
        )
        try:
            record.machine_id = await handler.create_machine(machine.target, identity)
            await handler.configure_machine(machine.target, record.machine_id, identity)
        except TargetError as error:
            await self._set(application, record, NOT_DEPLOYED, f"machine not created: {error}")
        except Exception as error:
            log.exception("creating %s failed", record.path)
            await self._set(application, record, NOT_DEPLOYED, f"machine not created: {error!r}")

    async def _undeploy_machine(self, application: Application, record: ManagedInstance) -> None:
        if record.status is NOT_DEPLOYED:
            return
        machine = self._machines.get((application.name, record.path))
        nested = [r for r in application.subtree(record.path) if r.scoped and r.path != record.path]
        await asyncio.gather(*(self._undeploy_machine(application, n) for n in nested))
        await self._set(application, record, UNDEPLOYING, None)
        held = self._held_by(application, record.path)
        remaining = {r.path for r in held if r.status is not NOT_DEPLOYED}
        if machine is not None and machine.up and remaining:
            key = (application.name, record.path)
            drained = self._draining[key] = _Drain(remaining=remaining)
            try:
                for child in application.children(record.path):
                    if not child.scoped and child.status is not NOT_DEPLOYED:
                        await self._send(
                            application,
                            record.path,
                            ChangeInstanceState(path=child.path, requested=NOT_DEPLOYED),
                        )
                async with asyncio.timeout(self.settings.undeploy_timeout_s):
                    await self._drain(drained, machine, record.path)
            except TimeoutError:
                log.warning("%s: its instances were not all undeployed in time", record.path)
            finally:
                del self._draining[key]
        await self._withdraw_on_behalf(application, [record, *held])
        if machine is not None and record.machine_id is not None:
            handler = self.handlers.get(machine.target.handler)
            if handler is not None:
                try:
                    await handler.terminate_machine(machine.target, record.machine_id)
                except TargetError as error:
                    await self._set(application, record, PROBLEM, f"not terminated: {error}")
                    return
        self._machines.pop((application.name, record.path), None)
        await self.client.delete_agent_queue(application.name, record.path)
        record.machine_id = None
        for instance in held:
            if instance.status is not NOT_DEPLOYED:
                await self._set(application, instance, NOT_DEPLOYED, None)
        await self._set(application, record, NOT_DEPLOYED, None)

    async def _drain(self, drained: _Drain, machine: _Machine, path: str) -> None:
        """Wait until the agent has undeployed its instances, or is silent (dead agents
        undeploy nothing: the machine is terminated without waiting any longer)."""
        period = self.settings.heartbeat_period_s
        limit = period * self.settings.missed_heartbeats
        while not drained.done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(period, 1.0)):
                    await drained.done.wait()
            silent = self.clock.monotonic() - machine.last_heartbeat
            if not drained.done.is_set() and silent > limit:
                log.warning(
                    "%s: agent silent for %.1f s, its instances are not undeployed "
                    "by their recipes",
                    path,
                    silent,
                )
                return

    def _drained(self, application: Application, record: ManagedInstance) -> None:
        """One more instance of a machine being undeployed is down: the last one ends the wait."""
        drained = self._draining.get((application.name, application.scoped_path(record.path)))
        if drained is not None:
            drained.remaining.discard(record.path)
            if not drained.remaining:
                drained.done.set()

    def _held_by(self, application: Application, machine_path: str) -> list[ManagedInstance]:
        """The instances a machine's agent runs (not the machine, not nested machines)."""
        return [
            r
            for r in application.subtree(machine_path)
            if not r.scoped and application.scoped_path(r.path) == machine_path
        ]

    def _no_handler(self, target: TargetDefinition) -> str:
        known = ", ".join(sorted(self.handlers)) or "none"
        return (
            f"target {target.id!r} uses handler {target.handler!r}, which this DM does not "
            f"have (handlers here: {known})"
        )

    # -- messages ---------------------------------------------------------------------------

    async def _send(self, application: Application, machine_path: str, message: Message) -> None:
        machine = self._machines.get((application.name, machine_path))
        if machine is None:
            log.warning("%s: no machine for %s, message dropped", machine_path, message)
            return
        if machine.up:
            await self.client.send_to_agent(application.name, machine_path, message)
        else:
            machine.outbox.append(message)

    async def _receive(self) -> None:
        async for message in self.client.messages():
            try:
                await self._heard_something()
                await self._handle(message)
            except Exception:
                log.exception("the DM could not handle %r", message)

    async def _handle(self, message: Message) -> None:
        match message:
            case Heartbeat():
                await self._heartbeat(message)
            case InstanceChanged():
                await self._instance_changed(message)
            case Echo(content=content):
                with contextlib.suppress(ValueError):
                    self._lag = max(0.0, self.clock.monotonic() - float(content))
            case _:
                log.debug("DM: %s ignored", type(message).__name__)

    async def _heartbeat(self, heartbeat: Heartbeat) -> None:
        application = self.applications.get(heartbeat.application)
        machine = self._machines.get((heartbeat.application, heartbeat.scoped_path))
        if application is None or machine is None:
            log.info("heartbeat from unknown machine %s ignored", heartbeat.scoped_path)
            return
        record = application.get(heartbeat.scoped_path)
        machine.last_heartbeat = self.clock.monotonic()
        if record.status is UNDEPLOYING and machine.up:
            return
        came_back = not machine.up and record.status is PROBLEM
        if heartbeat.model_required:
            await self.client.send_to_agent(
                application.name, record.path, self._model_message(application, record.path)
            )
            if heartbeat.recipes_required:  # before any request that needs them
                for recipes in await self._recipes_of(application):
                    await self.client.send_to_agent(application.name, record.path, recipes)
        if machine.up and heartbeat.ip and record.data.get("ip") != heartbeat.ip:
            # the machine is reached at another address now (a container reconnected)
            log.info("%s: its address is now %s", record.path, heartbeat.ip)
            record.data["ip"] = heartbeat.ip
            self._announce(application, record)
            async with self._changed:
                self._changed.notify_all()
        if not machine.up:
            machine.up = True
            if heartbeat.ip:
                record.data["ip"] = heartbeat.ip
            outbox, machine.outbox = machine.outbox, []
            for queued in outbox:
                await self.client.send_to_agent(application.name, record.path, queued)
            if came_back and not heartbeat.model_required:
                await self.client.send_to_agent(application.name, record.path, Resynchronize())
            if record.status is not UNDEPLOYING:
                await self._set(application, record, STARTED, None)
            if not machine.configured:
                machine.configured = True
                scripts = self._scripts_of(application, record.component).on_dm
                if scripts and self._group is not None:
                    self._group.create_task(
                        self._configure(application, record, heartbeat.ip or "", scripts)
                    )

    async def _recipes_of(self, application: Application) -> list[RecipeFiles]:
        """The application's recipes, read once (off the event loop)."""
        cached = self._recipes.get(application.name)
        if cached is None:
            cached = await asyncio.to_thread(
                recipe_messages, application.template_dir / "graph", application.graph
            )
            self._recipes[application.name] = cached
        return cached

    def _model_message(self, application: Application, machine_path: str) -> SetScopedInstance:
        top = "/" + machine_path.split("/")[1]
        root = scoped_snapshot(application.graph, (application.model_of(top),), machine_path)
        assert root is not None
        descriptor = application.template.descriptor
        return SetScopedInstance(
            scoped_path=machine_path,
            graph=application.graph,
            root=root,
            exports_prefix=descriptor.exports_prefix,
            external_exports=descriptor.external_exports,
            bindings=self._bindings[application.name],
            target_scripts=self._scripts_of(
                application, application.get(machine_path).component
            ).on_agent,
        )

    def _scripts_of(self, application: Application, component: str) -> TargetScripts:
        key = (application.name, component)
        scripts = self._scripts.get(key)
        if scripts is None:
            graph_dir = application.template_dir / "graph"
            scripts = self._scripts[key] = target_scripts(graph_dir, application.graph, component)
        return scripts

    async def _configure(
        self, application: Application, record: ManagedInstance, ip: str, scripts: Iterable[Path]
    ) -> None:
        """Run the target's ``dm.configure.script.*`` for a machine that has its address; a
        failure puts the machine in PROBLEM with the script's reason and output."""
        identity = {
            "application": application.name,
            "scoped.path": record.path,
            "domain": self.settings.domain,
            **self.settings.messaging,
        }
        env = {
            **os.environ,
            "IP_ADDRESS": ip,
            "APPLICATION_NAME": application.name,
            "SCOPED_INSTANCE_PATH": record.path,
            "DOMAIN": self.settings.domain,
            "USER_DATA": "".join(f"{key} = {value}\n" for key, value in identity.items()),
        }
        for script in scripts:
            result = await run_configuration_script(script, env, StepLimits())
            if not result.ok:
                record.output_tail = result.output
                await self._set(application, record, PROBLEM, result.reason)
                return

    async def _instance_changed(self, message: InstanceChanged) -> None:
        application = self.applications.get(message.application)
        record = application.instances.get(message.path) if application else None
        if application is None or record is None:
            log.info("notification for unknown instance %s ignored", message.path)
            return
        record.imports = {prefix: list(paths) for prefix, paths in message.imports.items()}
        if message.output_tail:
            record.output_tail = message.output_tail
        await self._set(application, record, message.status, message.reason or None)

    async def _set(
        self,
        application: Application,
        record: ManagedInstance,
        status: InstanceStatus,
        reason: str | None,
    ) -> None:
        application.set_status(record, status)
        if self._draining and status is NOT_DEPLOYED and not record.scoped:
            self._drained(application, record)
        record.reason = reason
        if status is STARTED:
            record.output_tail = ""
        self._announce(application, record)
        async with self._changed:
            self._changed.notify_all()

    def _announce(self, application: Application, record: ManagedInstance) -> None:
        """Tell every watcher the record's current status (and reason)."""
        event = DmEvent(
            application=application.name,
            path=record.path,
            status=record.status,
            reason=record.reason,
        )
        for watcher in self._watchers:
            watcher.put_nowait(event)

    # -- failures ---------------------------------------------------------------------------

    def _echo_period(self) -> float:
        return min(self.settings.heartbeat_period_s / 2, 1.0)

    async def _echoes(self) -> None:
        """The DM checks it still hears through the messaging server: when it does not (its
        connection or the broker is down), silent agents are not its agents' fault."""
        while True:
            await self.client.echo(repr(self.clock.monotonic()))
            await self.clock.sleep(self._echo_period())

    async def _heard_something(self) -> None:
        """Messages come through: the DM is not cut off. A backlog of notifications is no
        outage (messages keep coming, only late); after a real one (nothing at all came for
        a while), every machine gets a full window and is asked for its states."""
        now = self.clock.monotonic()
        self._heard_self = now
        if not self._deaf:
            return
        self._deaf = False
        log.warning("the DM hears through the messaging server again: agents asked for states")
        for (app, path), machine in list(self._machines.items()):
            machine.last_heartbeat = max(machine.last_heartbeat, now)
            if machine.up:
                await self.client.send_to_agent(app, path, SendInstances())

    async def _monitor(self) -> None:
        period = self.settings.heartbeat_period_s
        while True:
            await self.clock.sleep(min(period, 1.0))
            now = self.clock.monotonic()
            if now - self._heard_self > 3 * self._echo_period():
                if not self._deaf:
                    self._deaf = True
                    log.warning(
                        "the DM hears nothing through the messaging server (not even itself) "
                        "since %.1f s: no machine is judged lost meanwhile",
                        now - self._heard_self,
                    )
                continue
            for (app, path), machine in list(self._machines.items()):
                application = self.applications[app]
                record = application.instances.get(path)
                if record is None:
                    continue
                silent = now - machine.last_heartbeat - self._lag
                limit = period * self.settings.missed_heartbeats
                if machine.up and record.status is STARTED and silent > limit:
                    await self._machine_lost(application, record, machine, silent)
                booting = record.status is DEPLOYING and not machine.up
                if booting and now - machine.created_at > self.settings.boot_timeout_s:
                    await self._set(
                        application,
                        record,
                        PROBLEM,
                        f"the agent sent no heartbeat within {self.settings.boot_timeout_s:g} "
                        "s of the machine's creation",
                    )

    async def _machine_lost(
        self, application: Application, record: ManagedInstance, machine: _Machine, silent: float
    ) -> None:
        machine.up = False
        await self._set(
            application,
            record,
            PROBLEM,
            f"agent silent for {silent:.1f} s "
            f"({self.settings.missed_heartbeats} heartbeats missed)",
        )
        held = self._held_by(application, record.path)
        await self._withdraw_on_behalf(application, [record, *held])

    async def _withdraw_on_behalf(
        self, application: Application, records: Iterable[ManagedInstance]
    ) -> None:
        """Tell importers that these instances' exports are gone (their agent cannot), in other
        applications too for the instances that export something to them."""
        rules = self._rules[application.name]
        descriptor = application.template.descriptor
        for record in records:
            if record.status not in (STARTED, PROBLEM, InstanceStatus.STOPPING, UNDEPLOYING):
                continue
            exports = rules[record.component].exports
            for prefix in exports:
                await self.client.publish_on_behalf(
                    RemoveImport(
                        application=application.name, prefix=prefix, exporter_path=record.path
                    )
                )
            flat = {name: value for values in exports.values() for name, value in values.items()}
            if descriptor.exports_prefix and external_values(
                descriptor.exports_prefix, descriptor.external_exports, flat
            ):
                await self.client.publish_on_behalf(
                    RemoveImport(
                        application=application.name,
                        prefix=descriptor.exports_prefix,
                        exporter_path=record.path,
                    ),
                    external=True,
                )

    # -- random ports -----------------------------------------------------------------------

    def _assign_random_ports(self, application: Application) -> None:
        """Give every random variable without value the lowest free port ≥ 10000.

        Machines of in-memory and local targets share this host, so a port is unique across
        the applications of this DM and must be free here.
        """
        used: set[int] = set()
        apps = self.applications.values() if self.settings.shared_host else ()
        for other in [*apps, application]:
            for record in other:
                for value in record.overrides.values():
                    if value.isdigit():
                        used.add(int(value))
        for record in application:
            for names in ports_wanted(application.graph, record.component, record.overrides):
                port = lowest_free_port(used)
                while self.settings.shared_host and not _port_is_free(port):
                    used.add(port)
                    port = lowest_free_port(used)
                used.add(port)
                record.overrides.update(dict.fromkeys(names, str(port)))


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
