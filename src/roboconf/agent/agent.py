"""The agent: runs the instances of one machine through the life cycle, with plug-ins.

It is the imperative shell around :mod:`roboconf.lifecycle`: messages and timers become
events, events go through :func:`~roboconf.lifecycle.handle` one at a time (in arrival order),
and the effects that come back are performed: recipe steps through plug-ins, exports published
and withdrawn, imports requested, states reported to the DM. Heartbeats run in their own task,
so a long recipe never silences the agent; messages that arrive meanwhile wait in the inbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from roboconf.agent import snapshot
from roboconf.agent.recipes import UnsafeRecipePath, store_recipes
from roboconf.clock import Clock, SystemClock
from roboconf.lifecycle import (
    AgentState,
    Effect,
    Event,
    HealthCheckFailed,
    HealthCheckPassed,
    Imports,
    InstanceAdded,
    InstanceRemoved,
    InstanceSeed,
    Notify,
    ProviderRemoved,
    ProviderUpdated,
    PublishExports,
    Refused,
    RequestImports,
    RestartDue,
    RunStep,
    ScheduleRestart,
    StateRequested,
    Step,
    StepFailed,
    StepSucceeded,
    StepTimedOut,
    WithdrawExports,
    handle,
    model_events,
    readdress,
    restore,
    rules_from_graph,
)
from roboconf.lifecycle import (
    ImportChange as LifecycleChange,
)
from roboconf.messaging.clients import AgentClient
from roboconf.messaging.messages import (
    AddImport,
    AddInstance,
    ChangeBinding,
    ChangeInstanceState,
    Heartbeat,
    InstanceChanged,
    Message,
    RecipeFiles,
    RemoveImport,
    RemoveInstance,
    RequestImport,
    Resynchronize,
    SendInstances,
    SetScopedInstance,
    external_values,
)
from roboconf.messaging.transport import Transport
from roboconf.model import Graph, Instance, InstanceStatus
from roboconf.model.graph import resolved_installer, split_variable, super_components
from roboconf.model.instances import walk
from roboconf.model.variables import instance_exports
from roboconf.plugins.base import ImportChange, Plugin, Provider, StepContext, StepLimits
from roboconf.plugins.configure import run_configuration_script
from roboconf.plugins.registry import plugin_for
from roboconf.plugins.simulated import SimulatedPlugin

log = logging.getLogger(__name__)

STARTED = InstanceStatus.DEPLOYED_STARTED
#: where recipes the DM sent are kept, in the agent's data folder
RECEIVED_RECIPES = "recipes"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSettings:
    """How an agent behaves; read once at the edge (CLI, target handler)."""

    data_dir: Path
    #: the template's ``graph/`` folder, where recipes are read (shared file system)
    recipes_root: Path | None = None
    ip: str = "127.0.0.1"
    domain: str = "default"
    heartbeat_period_s: float = 5.0
    #: seconds between health checks of started instances (0: no health checks)
    check_period_s: float = 10.0
    #: first restart back-off after a failed health check; doubles each attempt, capped
    restart_backoff_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    limits: StepLimits = field(default_factory=StepLimits)
    #: simulated plug-ins: every step succeeds after ``simulated_delay_s``, nothing runs
    simulate: bool = False
    simulated_delay_s: float = 0.0
    environment: Mapping[str, str] = field(default_factory=dict)
    #: remember the instances' statuses on disk, to report them after a restart of the agent
    #: (agents in processes of their own; an agent of the DM's process dies with the DM)
    keep_state: bool = False
    #: reads the machine's address again before each heartbeat, when it may change (a
    #: container reconnected to its network gets another one); None when unknown. None: ``ip``
    #: never changes
    address: Callable[[], Awaitable[str | None]] | None = None


@dataclass(frozen=True, slots=True)
class _CheckDue:
    """Time to run the health checks (handled in the inbox, between events)."""


@dataclass(frozen=True, slots=True)
class _AddressChanged:
    """The machine has another address (handled in the inbox, between events)."""

    ip: str


_Inbox = Message | Event | _CheckDue | _AddressChanged


class Agent:
    """The agent of ``scoped_path`` in ``application``. Run it with :meth:`run`."""

    def __init__(
        self,
        transport: Transport,
        *,
        application: str,
        scoped_path: str,
        settings: AgentSettings,
        clock: Clock | None = None,
        plugins: Callable[[str], Plugin] | None = None,
    ) -> None:
        self.application = application
        self.scoped_path = scoped_path
        self.settings = settings
        self.clock = clock or SystemClock()
        self.client = AgentClient(
            transport, application=application, scoped_path=scoped_path, domain=settings.domain
        )
        self._plugins = plugins or self._default_plugins()
        self._plugin_cache: dict[str, Plugin] = {}
        self.graph: Graph | None = None
        self.machine: Instance | None = None
        self.state: AgentState | None = None
        self._inbox: asyncio.Queue[_Inbox] = asyncio.Queue()
        self._outputs: dict[str, str] = {}
        self._provider_lists: dict[
            tuple[str, str], tuple[Mapping[str, Mapping[str, str | None]], tuple[Provider, ...]]
        ] = {}
        self._listening: set[str] = set()
        self._answering: set[str] = set()
        # Exports shared between applications (see _accepted and _publish_external).
        self._exports_prefix: str | None = None
        self._external_exports: Mapping[str, str] = {}
        self._bindings: dict[str, frozenset[str]] = {}
        self._external: frozenset[str] = frozenset()
        self._answering_others = False
        self._group: asyncio.TaskGroup | None = None
        self._transport = transport
        self._remembered: dict[str, InstanceStatus] = {}
        #: the machine's address: what ``ip`` exports hold and heartbeats tell
        self.ip = settings.ip
        #: no shared recipes folder: the DM sends them (kept in the data folder)
        self._recipes_from_dm = settings.recipes_root is None and not settings.simulate

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Join the application and work until cancelled."""
        await self.client.start()
        self._transport.on_reconnect(self._reconnected)
        async with asyncio.TaskGroup() as group:
            self._group = group
            group.create_task(self._heartbeats(), name=f"heartbeats {self.scoped_path}")
            group.create_task(self._receive(), name=f"receive {self.scoped_path}")
            if self.settings.check_period_s > 0:
                group.create_task(self._check_timer(), name=f"checks {self.scoped_path}")
            await self._process()

    async def _heartbeats(self) -> None:
        while True:
            ip = self.ip
            if self.settings.address is not None:
                address = await self.settings.address()
                if address and address != ip:
                    ip = address  # told at once; exports follow, in turn with the other events
                    self._inbox.put_nowait(_AddressChanged(address))
            heartbeat = Heartbeat(
                application=self.application,
                scoped_path=self.scoped_path,
                ip=ip,
                model_required=self.state is None,
                recipes_required=self.state is None and self._recipes_from_dm,
            )
            await self.client.send_to_dm(heartbeat)
            await self.clock.sleep(self.settings.heartbeat_period_s)

    async def _reconnected(self) -> None:
        """Back after a loss of the messaging connection: what peers and the DM missed is
        sent again, in turn with the other messages."""
        if self._group is not None:
            self._inbox.put_nowait(Resynchronize())

    async def _receive(self) -> None:
        async for message in self.client.messages():
            self._inbox.put_nowait(message)

    async def _check_timer(self) -> None:
        while True:
            await self.clock.sleep(self.settings.check_period_s)
            self._inbox.put_nowait(_CheckDue())

    async def _process(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._dispatch(item)
            except Exception:
                log.exception("%s: could not handle %r", self.scoped_path, item)

    async def _dispatch(self, item: _Inbox) -> None:
        if isinstance(item, _CheckDue):
            await self._run_health_checks()
        elif isinstance(item, _AddressChanged):
            await self._readdress(item.ip)
        elif isinstance(item, RecipeFiles):
            await self._store_recipes(item)
        elif isinstance(item, SetScopedInstance):
            await self._receive_model(item)
        elif self.state is None:
            log.debug("%s: no model yet, %s ignored", self.scoped_path, type(item).__name__)
        else:
            event = self._event_of(item)
            if event is not None:
                await self._feed(event)
            else:
                await self._answer(item)

    # -- messages ---------------------------------------------------------------------------

    def _event_of(self, item: _Inbox) -> Event | None:
        match item:
            case ChangeInstanceState(path=path, requested=requested):
                return StateRequested(path=path, target=requested)
            case AddImport() | RemoveImport() if not self._accepted(item):
                return None
            case AddImport(prefix=prefix, component=component, values=values):
                return ProviderUpdated(
                    prefix=prefix,
                    provider_path=self._provider_of(item),
                    values=values,
                    component=component,
                )
            case RemoveImport(prefix=prefix):
                return ProviderRemoved(prefix=prefix, provider_path=self._provider_of(item))
            case RemoveInstance(path=path):
                return InstanceRemoved(path=path)
            case (
                StateRequested()
                | ProviderUpdated()
                | ProviderRemoved()
                | RestartDue()
                | StepSucceeded()
                | StepFailed()
                | StepTimedOut()
                | HealthCheckFailed()
                | HealthCheckPassed()
            ):
                return item
        return None

    async def _answer(self, message: _Inbox) -> None:
        """Messages that are no life-cycle event: requests from peers and from the DM."""
        assert self.state is not None
        match message:
            case RequestImport(prefix=prefix):
                await self._publish_machine(only=prefix)
                for record in self.state.instances.values():
                    wanted = prefix in record.exports or prefix == self._exports_prefix
                    if record.status is STARTED and wanted:
                        await self._publish(record.path, only=prefix)
            case Resynchronize():
                await self._publish_machine()
                for record in self.state.instances.values():
                    if record.status is STARTED:
                        await self._publish(record.path)
                for prefix in sorted(self._listening):
                    await self._perform(RequestImports(prefix=prefix))
                await self._report_all()
            case SendInstances():
                await self._report_all()
            case AddInstance(parent_path=parent, instance=instance):
                await self._add_subtree(parent, instance)
            case ChangeBinding(external_prefix=prefix, applications=applications):
                await self._change_binding(prefix, frozenset(applications))
            case _:
                log.debug("%s: %s ignored", self.scoped_path, type(message).__name__)

    async def _receive_model(self, message: SetScopedInstance) -> None:
        if self.state is not None:
            log.info("%s: model received again, the current state is kept", self.scoped_path)
            await self._report_all()
            return
        machine = next(
            (i for p, i in walk([message.root]) if p == self.scoped_path),
            None,
        )
        if machine is None:
            log.error("%s: the model sent does not hold this machine", self.scoped_path)
            return
        self.graph = message.graph
        self.machine = machine
        self.state = AgentState(rules=rules_from_graph(message.graph), scoped_path=self.scoped_path)
        self._exports_prefix = message.exports_prefix
        self._external_exports = message.external_exports
        self._bindings = {prefix: frozenset(apps) for prefix, apps in message.bindings.items()}
        self._external = frozenset().union(
            *(rules.external_prefixes for rules in self.state.rules.values())
        )
        events = model_events(self.state.rules, machine, self.scoped_path, self._exports_of)
        remembered = await self._recall()
        if remembered:
            await self._resume(events, remembered)
        else:
            await self._run_target_scripts(message.target_scripts)
            for event in events:
                await self._feed(event)
        await self._machine_started()
        await self._report_all()

    async def _resume(
        self,
        events: list[InstanceAdded],
        remembered: Mapping[str, tuple[InstanceStatus, str | None]],
    ) -> None:
        """After a restart of the agent: the instances in the statuses they had reached (their
        software is still there), exports published again, imports asked for again."""
        assert self.state is not None
        unknown = (InstanceStatus.NOT_DEPLOYED, None)
        seeds = []
        for event in events:
            status, reason = remembered.get(event.path, unknown)
            seeds.append(
                InstanceSeed(
                    path=event.path,
                    component=event.component,
                    parent=event.parent,
                    exports=event.exports,
                    status=status,
                    reason=reason,
                )
            )
        self.state = restore(self.state.rules, seeds, scoped_path=self.scoped_path)
        log.info("%s: resumed %d instance(s) from before a restart", self.scoped_path, len(seeds))
        prefixes = {p for seed in seeds for p in self.state.rules[seed.component].imports}
        for prefix in sorted(prefixes):
            await self._perform(RequestImports(prefix=prefix))
        for record in list(self.state.instances.values()):
            if record.status is STARTED:
                await self._publish(record.path)
        await self._remember()

    async def _run_target_scripts(self, scripts: Mapping[str, str]) -> None:
        """The target's ``agent.script.*`` (spec 50), before any instance is deployed. A
        failure is the machine's: reported to the DM as a PROBLEM with its reason."""
        if not scripts:
            return
        folder = self._state_folder() / "target-scripts"
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        env = {
            **self.settings.environment,
            "IP_ADDRESS": self.ip,
            "APPLICATION_NAME": self.application,
            "SCOPED_INSTANCE_PATH": self.scoped_path,
            "DOMAIN": self.settings.domain,
        }
        for name, content in sorted(scripts.items()):
            script = folder / name
            await asyncio.to_thread(_write_executable, script, content)
            result = await run_configuration_script(script, env, self.settings.limits)
            if not result.ok:
                log.warning("%s: %s", self.scoped_path, result.reason)
                await self.client.send_to_dm(
                    InstanceChanged(
                        application=self.application,
                        path=self.scoped_path,
                        status=InstanceStatus.PROBLEM,
                        reason=result.reason,
                        output_tail=result.output,
                    )
                )
                return

    def _state_folder(self) -> Path:
        return self.settings.data_dir / ".roboconf" / quote(self.scoped_path, safe="")

    async def _recall(self) -> dict[str, tuple[InstanceStatus, str | None]]:
        if not self.settings.keep_state:
            return {}
        return await asyncio.to_thread(snapshot.load, self._state_folder())

    async def _remember(self) -> None:
        """Write the statuses down when they changed (kept-state agents only)."""
        if not self.settings.keep_state or self.state is None:
            return
        statuses = {path: r.status for path, r in self.state.instances.items()}
        if statuses != self._remembered:
            await asyncio.to_thread(snapshot.save, self._state_folder(), statuses)
            self._remembered = statuses

    async def _machine_started(self) -> None:
        """The machine runs as long as its agent does: its own exports are provided at once,
        to the instances of this agent directly and to peers through messaging."""
        assert self.state is not None
        for prefix, values in self._machine_exports().items():
            await self._feed(
                ProviderUpdated(
                    prefix=prefix,
                    provider_path=self.scoped_path,
                    values=values,
                    component=self.machine.component if self.machine else None,
                )
            )
        await self._publish_machine()

    def _machine_exports(self) -> dict[str, dict[str, str | None]]:
        assert self.machine is not None
        grouped: dict[str, dict[str, str | None]] = {}
        for name, value in self._exports_of(self.scoped_path, self.machine).items():
            grouped.setdefault(split_variable(name)[0], {})[name] = value
        return grouped

    async def _publish_machine(self, *, only: str | None = None) -> None:
        if self.machine is None:
            return
        for prefix, values in self._machine_exports().items():
            if only is not None and prefix != only:
                continue
            if prefix not in self._answering:
                self._answering.add(prefix)
                await self.client.listen_to_export_requests(prefix)
            await self.client.publish_exports(
                prefix, self.scoped_path, self.machine.component, values
            )
        if only in (None, self._exports_prefix):
            exports = self._exports_of(self.scoped_path, self.machine)
            await self._publish_external(self.scoped_path, self.machine.component, exports)

    async def _add_subtree(self, parent: str, instance: Instance) -> None:
        assert self.state is not None
        holder = Instance(name="", component="", children=(instance,))
        for event in model_events(self.state.rules, holder, parent, self._exports_of):
            await self._feed(event)

    def _exports_of(self, path: str, instance: Instance) -> dict[str, str | None]:
        assert self.graph is not None
        return instance_exports(self.graph, instance, path, ip=self.ip)

    # -- events and effects -----------------------------------------------------------------

    async def _feed(self, event: Event) -> None:
        """Handle one event, then the outcomes of the steps it causes, until nothing is left."""
        assert self.state is not None
        imports_before = {path: r.imports for path, r in self.state.instances.items()}
        pending: list[Event] = [event]
        while pending:
            _, effects = handle(self.state, pending.pop(0))
            for effect in effects:
                outcome = await self._perform(effect)
                if outcome is not None:
                    pending.append(outcome)
        await self._report_waiting_imports(imports_before)
        await self._remember()

    async def _report_waiting_imports(self, before: Mapping[str, Imports]) -> None:
        """Report the instances that are not started and whose imports changed with no change
        of state (one of two missing prefixes came): the DM explains what they still wait for.
        Started instances are not reported: an importer of thousands would resend them all."""
        assert self.state is not None
        for path, imports in before.items():
            record = self.state.instances.get(path)
            if (
                record is not None
                and record.imports is not imports
                and record.status is not STARTED
            ):
                await self._report(path, record.status, record.reason)

    async def _perform(self, effect: Effect) -> Event | None:
        assert self.state is not None
        match effect:
            case RunStep(path=path, step=step, change=change):
                await self._remember()  # a step cut short by a crash is known as such
                return await self._run_step(path, step, change)
            case PublishExports(path=path):
                await self._publish(path)
            case WithdrawExports(path=path):
                await self._withdraw(path)
            case RequestImports(prefix=prefix):
                external = prefix in self._external
                if prefix not in self._listening:
                    self._listening.add(prefix)
                    await self.client.listen_to_imports(prefix, external=external)
                if not external or self._bindings.get(prefix):
                    await self.client.request_imports(prefix, external=external)
            case Notify(path=path, status=status, reason=reason):
                await self._report(path, status, reason)
            case Refused(path=path, reason=reason):
                log.warning("%s: %s", path, reason)
                record = self.state.instances.get(path)
                if record is not None:
                    await self._report(path, record.status, reason)
            case ScheduleRestart(path=path, attempt=attempt):
                delay = min(
                    self.settings.restart_backoff_s * 2 ** (attempt - 1),
                    self.settings.restart_backoff_max_s,
                )
                assert self._group is not None
                self._group.create_task(self._restart_later(path, delay))
        return None

    async def _restart_later(self, path: str, delay: float) -> None:
        await self.clock.sleep(delay)
        self._inbox.put_nowait(RestartDue(path=path))

    async def _run_step(self, path: str, step: Step, change: LifecycleChange | None) -> Event:
        context = self._context(path, change)
        plugin = self._plugin(context.installer)
        result = await plugin.run(step.value, context)
        self._outputs[path] = result.output
        if result.ok:
            return StepSucceeded(path=path, step=step)
        if result.timed_out:
            return StepTimedOut(path=path, step=step, reason=result.reason)
        log.warning("%s: %s failed: %s", path, step.value, result.reason)
        return StepFailed(path=path, step=step, reason=result.reason)

    async def _run_health_checks(self) -> None:
        if self.state is None:
            return
        for record in list(self.state.instances.values()):
            watched = record.status is STARTED or (
                record.status is InstanceStatus.PROBLEM and record.failed_step is Step.CHECK
            )
            if not watched:
                continue
            context = self._context(record.path, None)
            result = await self._plugin(context.installer).run("check", context)
            if not result.executed:
                continue
            if result.ok and (record.status is InstanceStatus.PROBLEM or record.restarts):
                await self._feed(HealthCheckPassed(path=record.path))
            elif not result.ok and record.status is STARTED:
                self._outputs[record.path] = result.output
                await self._feed(HealthCheckFailed(path=record.path, reason=result.reason))

    def _plugin(self, installer: str) -> Plugin:
        plugin = self._plugin_cache.get(installer)
        if plugin is None:
            plugin = self._plugin_cache[installer] = self._plugins(installer)
        return plugin

    def _default_plugins(self) -> Callable[[str], Plugin]:
        if not self.settings.simulate:
            return plugin_for
        shared = SimulatedPlugin(delay_s=self.settings.simulated_delay_s, clock=self.clock)
        return lambda _installer: shared

    # -- recipes' view of an instance -------------------------------------------------------

    def _context(self, path: str, change: LifecycleChange | None) -> StepContext:
        assert self.state is not None and self.graph is not None
        record = self.state.instances[path]
        graph = self.graph
        exports = {
            name: value for values in record.exports.values() for name, value in values.items()
        }
        imports = {
            prefix: self._providers(path, prefix, record.imports.get(prefix, {}))
            for prefix in self.state.rules[record.component].imports
        }
        plugin_change = None
        if change is not None:
            plugin_change = ImportChange(
                prefix=change.prefix,
                provider=Provider(
                    path=change.provider_path, component=change.component, variables=change.values
                ),
                removed=not change.added_or_changed,
            )
        return StepContext(
            application=self.application,
            instance_path=path,
            name=path.rsplit("/", 1)[-1],
            component=record.component,
            installer=resolved_installer(graph, record.component) or "logger",
            data_dir=self.settings.data_dir,
            recipe_dirs=self._recipe_dirs(record.component),
            exports=exports,
            ancestors=self._ancestors(path),
            imports=imports,
            change=plugin_change,
            environment=self.settings.environment,
            limits=self.settings.limits,
        )

    def _providers(
        self, path: str, prefix: str, known: Mapping[str, Mapping[str, str | None]]
    ) -> tuple[Provider, ...]:
        """The providers a recipe sees, rebuilt only when the importer's mapping for ``prefix``
        was replaced (records are frozen): an importer of thousands pays per change, not per
        provider and change."""
        cached = self._provider_lists.get((path, prefix))
        if cached is not None and cached[0] is known:
            return cached[1]
        assert self.state is not None
        components = self.state.provider_components
        providers = tuple(
            Provider(path=provider, component=components.get((prefix, provider)), variables=values)
            for provider, values in known.items()
        )
        self._provider_lists[(path, prefix)] = (known, providers)
        return providers

    def _recipe_dirs(self, component: str) -> tuple[Path, ...]:
        root = self.settings.recipes_root
        if self._recipes_from_dm:
            root = self.settings.data_dir / RECEIVED_RECIPES
        if root is None or self.graph is None:
            return ()
        chain = (component, *super_components(self.graph, component))
        return tuple(root / name for name in chain if (root / name).is_dir())

    def _ancestors(self, path: str) -> dict[str, dict[str, str | None]]:
        assert self.state is not None and self.machine is not None
        result: dict[str, dict[str, str | None]] = {}
        parent = self.state.instances[path].parent
        while parent is not None and parent in self.state.instances:
            record = self.state.instances[parent]
            result[record.component] = _flat(record.exports)
            parent = record.parent
        if parent == self.scoped_path:
            result[self.machine.component] = self._exports_of(self.scoped_path, self.machine)
        return result

    async def _store_recipes(self, message: RecipeFiles) -> None:
        """Keep recipes the DM sent, before the requests that need them (same inbox)."""
        if not self._recipes_from_dm:
            log.info("%s: recipes of %s ignored (shared)", self.scoped_path, message.component)
            return
        root = self.settings.data_dir / RECEIVED_RECIPES
        try:
            written = await asyncio.to_thread(store_recipes, root, message)
        except (OSError, UnsafeRecipePath) as error:
            log.error("%s: recipes of %s not kept: %s", self.scoped_path, message.component, error)
            return
        if written:
            log.info("%s: recipes of %s received", self.scoped_path, message.component)

    async def _readdress(self, ip: str) -> None:
        """Peers must reach the machine at its new address: the ``ip`` exports change, and
        those of the machine and of its started instances are published again."""
        if ip == self.ip:
            return
        old, self.ip = self.ip, ip
        log.warning("%s: the machine's address changed from %s to %s", self.scoped_path, old, ip)
        if self.state is None:
            return
        changed = readdress(self.state, old, ip)
        await self._publish_machine()
        for path in changed:
            if self.state.instances[path].status is STARTED:
                await self._publish(path)

    # -- publishing and reporting -----------------------------------------------------------

    async def _publish(self, path: str, *, only: str | None = None) -> None:
        assert self.state is not None
        record = self.state.instances[path]
        for prefix, values in record.exports.items():
            if only is not None and prefix != only:
                continue
            if prefix not in self._answering:
                self._answering.add(prefix)
                await self.client.listen_to_export_requests(prefix)
            await self.client.publish_exports(prefix, path, record.component, values)
        if only in (None, self._exports_prefix):
            await self._publish_external(path, record.component, _flat(record.exports))

    async def _withdraw(self, path: str) -> None:
        assert self.state is not None
        record = self.state.instances[path]
        for prefix in record.exports:
            await self.client.withdraw_exports(prefix, path)
        if self._exports_prefix is not None and self._shared(_flat(record.exports)):
            await self.client.withdraw_exports(self._exports_prefix, path, external=True)

    # -- exports shared between applications ------------------------------------------------

    async def _publish_external(
        self, path: str, component: str, values: Mapping[str, str | None]
    ) -> None:
        """Publish to other applications what the instance exports to them: the variables of
        the template's external exports, aliased under its exports prefix (``Lb.lb-ip``), on
        the exchange applications share; answer their requests from then on."""
        shared = self._shared(values)
        if not shared or self._exports_prefix is None:
            return
        if not self._answering_others:
            self._answering_others = True
            await self.client.listen_to_export_requests(self._exports_prefix, external=True)
        await self.client.publish_exports(
            self._exports_prefix, path, component, shared, external=True
        )

    def _shared(self, values: Mapping[str, str | None]) -> dict[str, str | None]:
        return external_values(self._exports_prefix, self._external_exports, values)

    def _accepted(self, message: AddImport | RemoveImport) -> bool:
        """Whether exports (or their withdrawal) count: those of an external prefix only from
        an application bound to it, none while no application is (as in Roboconf); those of
        an internal prefix (they come on the application's own exchange) always."""
        if message.prefix not in self._external:
            return True
        return message.application in self._bindings.get(message.prefix, ())

    def _provider_of(self, message: AddImport | RemoveImport) -> str:
        """The key of a provider: its path, prefixed with its application for an external
        prefix (``lb:/vm/haproxy``), since applications of one template share their paths."""
        if message.prefix in self._external:
            return _external_provider(message.application, message.exporter_path)
        return message.exporter_path

    async def _change_binding(self, prefix: str, applications: frozenset[str]) -> None:
        """Providers of the applications no longer bound go away as if they had withdrawn
        (``update`` or UNRESOLVED follow); the newly bound ones are asked for their exports."""
        assert self.state is not None
        before = self._bindings.get(prefix, frozenset())
        self._bindings[prefix] = applications
        unbound = tuple(_external_provider(app, "/") for app in before - applications)
        for provider in list(self.state.providers.get(prefix, {})):
            if unbound and provider.startswith(unbound):
                await self._feed(ProviderRemoved(prefix=prefix, provider_path=provider))
        if applications - before and prefix in self._listening:
            await self.client.request_imports(prefix, external=True)

    async def _report(self, path: str, status: InstanceStatus, reason: str | None) -> None:
        assert self.state is not None
        record = self.state.instances.get(path)
        imports = {}
        if record is not None:
            imports = {prefix: tuple(providers) for prefix, providers in record.imports.items()}
        message = InstanceChanged(
            application=self.application,
            path=path,
            status=status,
            imports=imports,
            reason=reason or "",
            output_tail=self._outputs.get(path, "") if reason else "",
        )
        await self.client.send_to_dm(message)

    async def _report_all(self) -> None:
        assert self.state is not None
        for record in list(self.state.instances.values()):
            await self._report(record.path, record.status, record.reason)


def _external_provider(application: str, path: str) -> str:
    return f"{application}:{path}"


def _flat(by_prefix: Mapping[str, Mapping[str, str | None]]) -> dict[str, str | None]:
    """Exports grouped by prefix → one mapping of full names."""
    return {name: value for values in by_prefix.values() for name, value in values.items()}


def _write_executable(path: Path, content: str) -> None:
    path.write_text(content, encoding="utf-8")
    path.chmod(0o700)
