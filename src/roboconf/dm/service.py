"""The DM as a long-lived service: the Deployment Manager with persistence, a template library,
targets, preferences and an event log, behind one façade that the REST API (and tests) call.

What is acknowledged is committed first. A user's request (a state, a bulk operation, an added
or removed instance, a new application, template or target) is written to the store, with the
state it asks for (``desired``), before it is carried out and answered; after a crash the DM
restarts from the store, checks its machines with their target handlers (those gone become
NOT_DEPLOYED), and drives every instance towards its desired state again.

What agents report (observed states, imports, recipe output) changes far more often and is not
acknowledged to anyone: it is written behind, in batches every :attr:`ServiceSettings.flush_s`,
together with the events it produces; subscribers receive events once they are stored (with
their ids, so a client that reconnects can ask for what it missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from roboconf.clock import Clock, SystemClock
from roboconf.dm import library
from roboconf.dm.application import Application, InstanceError, ManagedInstance
from roboconf.dm.manager import DeploymentManager, DmEvent, DmSettings
from roboconf.dm.store import (
    Store,
    StoreBatch,
    StoredApplication,
    StoredAssociation,
    StoredBinding,
    StoredEvent,
    StoredInstance,
    StoredTarget,
    StoredTemplate,
    open_store,
)
from roboconf.dm.views import (
    ApplicationView,
    AssociationView,
    BadRequest,
    ComponentView,
    Conflict,
    DiagnosisView,
    EventView,
    HealthView,
    InstanceView,
    InvalidTemplate,
    MachineView,
    NotFound,
    TargetUse,
    TargetView,
    TemplateView,
)
from roboconf.messaging.transport import Transport
from roboconf.model import ApplicationTemplate, InstanceStatus
from roboconf.model.graph import is_target, resolved_installer, resolver
from roboconf.model.variables import instance_exports
from roboconf.project.loader import load_template
from roboconf.targets.base import TargetDefinition, TargetError, TargetHandler, parse_target

if TYPE_CHECKING:
    from roboconf.dm.plan import Plan, PlanRequest

log = logging.getLogger(__name__)

S = InstanceStatus
REQUESTABLE = (S.NOT_DEPLOYED, S.DEPLOYED_STOPPED, S.DEPLOYED_STARTED)
BULK_ACTIONS = ("deploy-and-start-all", "stop-all", "undeploy-all")
#: the key that API clients use for an application's default target
DEFAULT_KEY = "default"
MACHINE_EVENTS = {S.DEPLOYED_STARTED: "machine.up", S.PROBLEM: "machine.problem"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    data_dir: Path
    #: None: SQLite in ``data_dir``; else a ``sqlite://`` or ``postgresql://`` URL
    database: str | None = None
    dm: DmSettings = field(default_factory=DmSettings)
    #: the target of machines that have no other (None: templates must ship theirs)
    default_target: TargetDefinition | None = None
    #: the default target replaces a template's own of another handler (``--target`` given);
    #: else it only serves the machine components that ship none
    default_target_overrides: bool = True
    #: how often what agents report is written to the store
    flush_s: float = 0.1
    #: events kept in the store (the oldest are pruned)
    events_kept: int = 100_000
    #: a subscriber that falls this far behind is dropped (it receives None)
    subscriber_backlog: int = 10_000


@dataclass(slots=True)
class _Template:
    stored: StoredTemplate
    template: ApplicationTemplate
    folder: Path


@dataclass(slots=True)
class _Subscriber:
    queue: asyncio.Queue[EventView | None]
    application: str | None


class DmService:
    """Use it as ``async with DmService(settings, transport, handlers) as service:``."""

    def __init__(
        self,
        settings: ServiceSettings,
        transport: Transport,
        handlers: dict[str, TargetHandler],
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._transport = transport
        self._handlers = handlers
        self._store: Store | None = None
        self._dm: DeploymentManager | None = None
        self._templates: dict[tuple[str, str], _Template] = {}
        self._applications: dict[str, StoredApplication] = {}
        self._targets: dict[str, tuple[StoredTarget, TargetDefinition]] = {}
        #: application → key → target id, as users associated them
        self._associations: dict[str, dict[str, str]] = {}
        self._preferences: dict[str, str] = {}
        self._dirty: dict[str, set[str]] = {}
        self._removed: dict[str, set[str]] = {}
        self._events: list[StoredEvent] = []
        self._subscribers: list[_Subscriber] = []
        self._write = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = time.time()

    # -- life ---------------------------------------------------------------------------------

    async def __aenter__(self) -> DmService:
        self._store = await open_store(self.settings.database, self.settings.data_dir)
        try:
            self._dm = await DeploymentManager(
                self._transport, self._handlers, settings=self.settings.dm, clock=self.clock
            ).__aenter__()
            watched = self._dm.watch()
            await self._restore()
            self._tasks = [
                asyncio.create_task(self._follow(watched), name="dm service: follow the DM"),
                asyncio.create_task(self._flush_regularly(), name="dm service: write behind"),
            ]
        except BaseException:
            await self._close_all()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close_all()

    async def _close_all(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            if self._store is not None and self._dm is not None:
                await self._commit()
        finally:
            if self._dm is not None:
                await self._dm.__aexit__(None, None, None)
                self._dm = None
            if self._store is not None:
                await self._store.close()
                self._store = None
            for subscriber in self._subscribers:
                _offer(subscriber.queue, None)
            self._subscribers.clear()

    @property
    def dm(self) -> DeploymentManager:
        assert self._dm is not None, "use the service inside `async with`"
        return self._dm

    @property
    def store(self) -> Store:
        assert self._store is not None, "use the service inside `async with`"
        return self._store

    @property
    def transport(self) -> Transport:
        """The messaging the DM uses: the API lends it to agents with ``messaging.type = http``."""
        return self._transport

    def template_folder(self, application: str) -> Path:
        """Where an application's template is unpacked (in-memory agents read recipes there)."""
        return self.dm.application(application).template_dir

    # -- templates ----------------------------------------------------------------------------

    async def upload_template(self, archive: bytes) -> TemplateView:
        load = await asyncio.to_thread(library.inspect, archive)
        errors = tuple(d for d in load.diagnostics if d.is_error)
        if load.template is None or errors:
            raise InvalidTemplate(
                f"the template has {len(errors) or 'fatal'} error(s): fix them and upload it again",
                errors or load.diagnostics,
            )
        name, version = load.template.name, load.template.version
        if not name or not version:
            raise BadRequest("the template's descriptor must give its name and version")
        if (name, version) in self._templates:
            raise Conflict(
                f"template {name} {version} exists: delete it first or change its version",
                name=name,
                version=version,
            )
        stored = StoredTemplate(
            name=name,
            version=version,
            description=load.template.descriptor.description,
            tags=tuple(load.template.descriptor.tags),
            archive=archive,
            uploaded_at=time.time(),
        )
        entry = await asyncio.to_thread(self._unpack, stored)
        await self.store.put_template(stored)
        self._templates[(name, version)] = entry
        self._event("template.uploaded", details={"name": name, "version": version})
        await self._commit()
        return self._template_view(entry, with_components=True)

    async def load_template_from(self, path: str) -> TemplateView:
        source = Path(path)
        if not source.exists():
            raise BadRequest(f"{path} does not exist on the DM's host")
        return await self.upload_template(await asyncio.to_thread(library.pack, source))

    def list_templates(
        self, name: str | None = None, version: str | None = None, tag: str | None = None
    ) -> list[TemplateView]:
        return [
            self._template_view(entry)
            for (n, v), entry in sorted(self._templates.items())
            if (name is None or n == name)
            and (version is None or v == version)
            and (tag is None or tag in entry.stored.tags)
        ]

    def get_template(self, name: str, version: str) -> TemplateView:
        return self._template_view(self._template(name, version), with_components=True)

    async def delete_template(self, name: str, version: str) -> None:
        self._template(name, version)
        users = self._template_users(name, version)
        if users:
            raise Conflict(
                f"template {name} {version} is used by {', '.join(users)}: delete them first",
                applications=users,
            )
        await self.store.delete_template(name, version)
        del self._templates[(name, version)]
        library.remove(self._library_root, name, version)
        self._event("template.deleted", details={"name": name, "version": version})
        await self._commit()

    # -- applications -------------------------------------------------------------------------

    async def create_application(
        self, name: str, template: str, version: str, description: str = ""
    ) -> ApplicationView:
        if not name.strip() or "/" in name:
            raise BadRequest(f"invalid application name {name!r}: not empty, no '/'")
        if name in self._applications:
            raise Conflict(f"an application named {name!r} exists already")
        entry = self._template(template, version)
        application = await self.dm.create_application(
            name,
            entry.template,
            entry.folder,
            default_target=self.settings.default_target,
            default_overrides=self.settings.default_target_overrides,
        )
        stored = StoredApplication(
            name=name,
            template_name=template,
            template_version=version,
            description=description or entry.template.descriptor.description,
            created_at=time.time(),
        )
        await self.store.put_application(stored)
        self._applications[name] = stored
        self._associations[name] = {}
        self._dirty[name] = set(application.instances)
        self._event("application.created", application=name)
        await self._commit()
        return self._application_view(stored)

    def list_applications(self) -> list[ApplicationView]:
        return [self._application_view(a) for _, a in sorted(self._applications.items())]

    def get_application(self, name: str) -> ApplicationView:
        return self._application_view(self._stored_application(name))

    def components(self, app: str) -> list[ComponentView]:
        return _components(self._application(app).template)

    async def delete_application(self, name: str) -> None:
        application = self._application(name)
        if not application.all_in(S.NOT_DEPLOYED):
            raise Conflict(
                f"application {name!r} is deployed: shut it down (undeploy all) first",
                deployed=[r.path for r in application if r.status is not S.NOT_DEPLOYED],
            )
        await self.dm.delete_application(name)
        async with self._write:
            await self.store.delete_application(name)
            del self._applications[name]
            self._associations.pop(name, None)
            self._dirty.pop(name, None)
            self._removed.pop(name, None)
        self._event("application.deleted", application=name)
        await self._commit()

    async def shutdown_application(self, name: str) -> None:
        await self.bulk(name, "undeploy-all", None, None)

    # -- instances ----------------------------------------------------------------------------

    def instances(self, app: str, under: str | None = None) -> list[InstanceView]:
        application = self._application(app)
        records = application.subtree(self._record(application, under).path) if under else None
        return [self._instance_view(application, r) for r in records or application]

    def instance(self, app: str, path: str) -> InstanceView:
        application = self._application(app)
        return self._instance_view(application, self._record(application, path))

    async def add_instance(
        self,
        app: str,
        parent: str | None,
        component: str,
        name: str,
        overrides: dict[str, str] | None = None,
    ) -> InstanceView:
        application = self._application(app)
        if parent is not None:
            self._record(application, parent)
        path = f"{parent or ''}/{name}"
        if path in application.instances:
            raise Conflict(f"an instance {path!r} exists already")
        try:
            record = await self.dm.add_instance(app, parent, component, name, overrides)
        except InstanceError as error:
            raise BadRequest(str(error)) from error
        self._touch(app, [record])
        self._event("instance.added", application=app, path=record.path)
        await self._commit()
        return self._instance_view(application, record)

    async def remove_instance(self, app: str, path: str) -> None:
        application = self._application(app)
        subtree = application.subtree(self._record(application, path).path)
        try:
            await self.dm.remove_instance(app, path)
        except InstanceError as error:
            raise Conflict(str(error)) from error
        removed = self._removed.setdefault(app, set())
        for record in subtree:
            removed.add(record.path)
            self._dirty.get(app, set()).discard(record.path)
        self._event("instance.removed", application=app, path=path)
        await self._commit()

    async def request_state(self, app: str, path: str, status: InstanceStatus) -> None:
        """Ask for ``status`` at ``path``; committed (as the desired state) before it is done."""
        application = self._application(app)
        record = self._record(application, path)
        if status not in REQUESTABLE:
            raise BadRequest(
                f"{status.value} cannot be requested: ask for NOT_DEPLOYED, DEPLOYED_STOPPED "
                "or DEPLOYED_STARTED"
            )
        if record.scoped and status is S.DEPLOYED_STOPPED:
            raise Conflict(
                f"{path!r} is a machine: it is either deployed and started, or not deployed; "
                "stop the instances it holds instead"
            )
        await self._carry_out(
            application, self._desire(application, [record], status), status, [record]
        )

    async def bulk(self, app: str, action: str, under: str | None, component: str | None) -> int:
        """Deploy and start, stop or undeploy a subtree, everything, or a component's
        instances; returns how many instances the request covers."""
        application = self._application(app)
        if action not in BULK_ACTIONS:
            raise BadRequest(f"unknown action {action!r}; use one of {', '.join(BULK_ACTIONS)}")
        if component is not None:
            if component not in application.graph.components:
                raise NotFound(f"application {app!r} has no component {component!r}")
            selected = [r for r in application if r.component == component]
        elif under is not None:
            selected = application.subtree(self._record(application, under).path)
        else:
            selected = list(application)
        status = {
            "deploy-and-start-all": S.DEPLOYED_STARTED,
            "stop-all": S.DEPLOYED_STOPPED,
            "undeploy-all": S.NOT_DEPLOYED,
        }[action]
        if status is S.DEPLOYED_STOPPED:
            selected = [r for r in selected if not r.scoped and r.status is not S.NOT_DEPLOYED]
        await self._carry_out(application, self._desire(application, selected, status), status)
        dm_call = {
            S.DEPLOYED_STARTED: self.dm.deploy_and_start_all,
            S.DEPLOYED_STOPPED: self.dm.stop_all,
            S.NOT_DEPLOYED: self.dm.undeploy_all,
        }[status]
        await dm_call(app, under, component=component)
        return len(selected)

    def explain(self, app: str, path: str) -> list[str]:
        application = self._application(app)
        self._record(application, path)
        return self.dm.explain(app, path)

    def plan(self, app: str, request: PlanRequest) -> Plan:
        from roboconf.dm.plan import plan  # the simulation's modules: only when planning

        return plan(self._application(app), request)

    # -- targets ------------------------------------------------------------------------------

    async def put_target(self, properties: str, target_id: str | None = None) -> TargetView:
        """Create a target from its properties text, or, with ``target_id`` (which must be the
        text's id), create or replace that one."""
        try:
            definition = parse_target(properties, "the target definition")
        except TargetError as error:
            raise BadRequest(str(error)) from error
        if target_id is not None and definition.id != target_id:
            raise BadRequest(
                f"the definition's id is {definition.id!r}, not {target_id!r}: they must match"
            )
        previous = self._targets.get(definition.id)
        if previous is not None and target_id is None:
            raise Conflict(
                f"a target {definition.id!r} exists: replace it by its id, or choose another id"
            )
        stored = StoredTarget(
            id=definition.id,
            handler=definition.handler,
            properties=properties,
            created_at=previous[0].created_at if previous else time.time(),
        )
        await self.store.put_target(stored)
        self._targets[definition.id] = (stored, definition)
        for app, keys in self._associations.items():
            for key, used in keys.items():
                if used == definition.id:
                    self.dm.associate(app, _dm_key(key), definition)
        self._event("target.changed", details={"id": definition.id})
        await self._commit()
        return self._target_view(definition.id)

    def list_targets(self) -> list[TargetView]:
        return [self._target_view(i) for i in sorted(self._targets)]

    def get_target(self, target_id: str) -> TargetView:
        return self._target_view(target_id)

    async def delete_target(self, target_id: str) -> None:
        usage = self._target_view(target_id).usage
        if usage:
            used = ", ".join(f"{u.application} ({u.key})" for u in usage)
            raise Conflict(f"target {target_id!r} is associated with {used}: dissociate it first")
        await self.store.delete_target(target_id)
        del self._targets[target_id]
        self._event("target.deleted", details={"id": target_id})
        await self._commit()

    def associations(self, app: str) -> list[AssociationView]:
        self._application(app)
        chosen = self._associations.get(app, {})
        return [
            AssociationView(
                key=_api_key(key),
                target_id=definition.id,
                from_template=_api_key(key) not in chosen,
            )
            for key, definition in sorted(self.dm.associations(app).items())
        ]

    async def associate(self, app: str, key: str, target_id: str) -> AssociationView:
        application = self._application(app)
        if target_id not in self._targets:
            raise NotFound(f"no target {target_id!r}: create it first")
        if key.startswith("@"):
            if key[1:] not in application.graph.components:
                raise NotFound(f"application {app!r} has no component {key[1:]!r}")
        elif key != DEFAULT_KEY and not self._record(application, key).scoped:
            raise BadRequest(f"{key!r} is not a machine (its component uses no target)")
        await self.store.set_association(
            StoredAssociation(application=app, key=key, target_id=target_id)
        )
        self._associations.setdefault(app, {})[key] = target_id
        self.dm.associate(app, _dm_key(key), self._targets[target_id][1])
        self._event("application.changed", application=app, details={"target": key})
        await self._commit()
        return AssociationView(key=key, target_id=target_id)

    # -- bindings -----------------------------------------------------------------------------

    def bindings(self, app: str) -> dict[str, tuple[str, ...]]:
        """External import prefix → the applications whose exports it accepts."""
        self._application(app)
        return dict(sorted(self.dm.bindings(app).items()))

    async def bind(self, app: str, prefix: str, applications: Iterable[str]) -> tuple[str, ...]:
        """Accept the exports of ``applications`` for ``app``'s external ``prefix`` (replacing
        the bound ones; none: unbind); committed before the agents are told."""
        self._application(app)
        chosen = tuple(dict.fromkeys(applications))
        for name in chosen:
            self._stored_application(name)
        try:
            self.dm.check_binding(app, prefix, chosen)
        except InstanceError as error:
            raise BadRequest(str(error), prefix=prefix) from error
        if chosen:
            await self.store.set_binding(
                StoredBinding(application=app, prefix=prefix, applications=chosen)
            )
        else:
            await self.store.delete_binding(app, prefix)
        self._event(
            "application.changed",
            application=app,
            details={"binding": prefix, "applications": list(chosen)},
        )
        await self._commit()
        await self.dm.bind(app, prefix, chosen)
        return chosen

    async def unbind(self, app: str, prefix: str) -> None:
        """Accept no application for ``prefix`` any more (404 if none was bound)."""
        if prefix not in self.bindings(app):
            raise NotFound(f"application {app!r} has no binding for {prefix!r}")
        await self.bind(app, prefix, ())

    # -- preferences --------------------------------------------------------------------------

    def get_preferences(self) -> dict[str, str]:
        return dict(self._preferences)

    async def set_preference(self, key: str, value: str) -> None:
        if not key.strip():
            raise BadRequest("a preference needs a name")
        await self.store.set_preference(key, value)
        self._preferences[key] = value
        self._event("preference.changed", details={"key": key})
        await self._commit()

    # -- events -------------------------------------------------------------------------------

    async def history(
        self,
        application: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[EventView]:
        """Stored events, newest first."""
        if not 1 <= limit <= 1000:
            raise BadRequest(f"limit must be between 1 and 1000, not {limit}")
        await self._commit()
        found = await self.store.list_events(
            application=application, after=after, before=before, limit=limit
        )
        return [_event_view(e) for e in found]

    def subscribe(self, application: str | None = None) -> asyncio.Queue[EventView | None]:
        """Every event stored from now on (of one application, or all); None ends the stream
        (the subscriber fell too far behind, or the service stops)."""
        queue: asyncio.Queue[EventView | None] = asyncio.Queue()
        self._subscribers.append(_Subscriber(queue=queue, application=application))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EventView | None]) -> None:
        self._subscribers = [s for s in self._subscribers if s.queue is not queue]

    # -- operations ---------------------------------------------------------------------------

    def health(self) -> HealthView:
        return HealthView(
            status="ok",
            applications=len(self._applications),
            templates=len(self._templates),
            uptime_s=round(time.time() - self._started_at, 3),
            database="postgresql"
            if (self.settings.database or "").startswith("postgres")
            else "sqlite",
        )

    def diagnose(self, app: str) -> list[DiagnosisView]:
        application = self._application(app)
        found: list[DiagnosisView] = []
        for record in application:
            machine_path = application.scoped_path(record.path)
            found.append(
                DiagnosisView(
                    path=record.path,
                    status=record.status.value,
                    reasons=tuple(self.dm.explain(app, record.path)),
                    machine=self._machine_view(application, machine_path),
                )
            )
        return found

    def gauges(self) -> list[tuple[str, str, dict[str, str], float]]:
        """(name, help, labels, value) of what the DM holds now, for the metrics endpoint."""
        found: list[tuple[str, str, dict[str, str], float]] = [
            ("roboconf_applications", "Applications", {}, float(len(self._applications))),
            ("roboconf_templates", "Application templates", {}, float(len(self._templates))),
            ("roboconf_targets", "Target definitions", {}, float(len(self._targets))),
            (
                "roboconf_event_subscribers",
                "Live event subscribers",
                {},
                float(len(self._subscribers)),
            ),
        ]
        for name in sorted(self._applications):
            application = self.dm.application(name)
            for status in S:
                found.append(
                    (
                        "roboconf_instances",
                        "Instances by application and status",
                        {"application": name, "status": status.value},
                        float(application.count(status)),
                    )
                )
            up = sum(
                1
                for m in application.machines()
                if (self.dm.silence(name, m.path) or (False, None))[0]
            )
            found.append(
                (
                    "roboconf_machines_up",
                    "Machines whose agent is up",
                    {"application": name},
                    float(up),
                )
            )
        return found

    # -- desired states -----------------------------------------------------------------------

    def _desire(
        self, application: Application, records: Iterable[ManagedInstance], status: InstanceStatus
    ) -> dict[str, InstanceStatus | None]:
        """Set the desired state of what a request covers; returns the previous values."""
        previous: dict[str, InstanceStatus | None] = {}

        def want(record: ManagedInstance, wanted: InstanceStatus) -> None:
            previous.setdefault(record.path, record.desired)
            record.desired = wanted

        for record in records:
            if status is S.NOT_DEPLOYED:
                for below in application.subtree(record.path):
                    want(below, S.NOT_DEPLOYED)
                continue
            want(record, status)
            if status is S.DEPLOYED_STOPPED:
                for below in application.subtree(record.path)[1:]:
                    if below.desired is S.DEPLOYED_STARTED and not below.scoped:
                        want(below, S.DEPLOYED_STOPPED)
                continue
            machine: str | None = application.scoped_path(record.path)
            while machine is not None:
                want(application.get(machine), S.DEPLOYED_STARTED)
                parent = application.get(machine).parent
                machine = application.scoped_path(parent) if parent else None
        return previous

    async def _carry_out(
        self,
        application: Application,
        previous: dict[str, InstanceStatus | None],
        status: InstanceStatus,
        one: list[ManagedInstance] | None = None,
    ) -> None:
        """Commit the desired states just set, then (for one instance) ask the DM."""
        self._touch(application.name, [application.get(p) for p in previous])
        for path in previous:
            desired = application.get(path).desired
            self._event(
                "instance.requested",
                application=application.name,
                path=path,
                details={"requested": desired.value if desired else None},
            )
        await self._commit()
        if not one:
            return
        try:
            await self.dm.request(application.name, one[0].path, status)
        except InstanceError as error:
            for path, desired in previous.items():
                application.get(path).desired = desired
            self._touch(application.name, [application.get(p) for p in previous])
            await self._commit()
            raise Conflict(str(error)) from error

    # -- restore ------------------------------------------------------------------------------

    @property
    def _library_root(self) -> Path:
        return self.settings.data_dir / "templates"

    def _unpack(self, stored: StoredTemplate) -> _Template:
        folder = library.unpacked(self._library_root, stored.name, stored.version)
        if folder is None:
            folder = library.unpack(self._library_root, stored.name, stored.version, stored.archive)
        load = load_template(folder)
        if load.template is None:
            problems = "; ".join(d.render() for d in load.diagnostics[:3])
            raise BadRequest(f"template {stored.name} {stored.version} cannot load: {problems}")
        return _Template(stored=stored, template=load.template, folder=folder)

    async def _restore(self) -> None:
        """Load what the store holds, check machines, drive instances to their desired state."""
        self._preferences = await self.store.get_preferences()
        for stored_target in await self.store.list_targets():
            try:
                definition = parse_target(stored_target.properties, f"target {stored_target.id}")
            except TargetError as error:
                log.error("target %s is kept but unusable: %s", stored_target.id, error)
                continue
            self._targets[stored_target.id] = (stored_target, definition)
        for stored in await self.store.list_templates():
            try:
                entry = await asyncio.to_thread(self._unpack, stored)
            except Exception as error:
                log.error("template %s %s is unusable: %s", stored.name, stored.version, error)
                continue
            self._templates[(stored.name, stored.version)] = entry
        for stored_app in await self.store.list_applications():
            await self._restore_application(stored_app)

    async def _restore_application(self, stored: StoredApplication) -> None:
        entry = self._templates.get((stored.template_name, stored.template_version))
        if entry is None:
            log.error(
                "application %s is not restored: its template %s %s is missing",
                stored.name,
                stored.template_name,
                stored.template_version,
            )
            return
        rows = await self.store.load_instances(stored.name)
        records = [_record_of(row, entry.template) for row in rows] if rows else None
        bindings = await self.store.list_bindings(stored.name)
        await self.dm.create_application(
            stored.name,
            entry.template,
            entry.folder,
            default_target=self.settings.default_target,
            default_overrides=self.settings.default_target_overrides,
            records=records,
            bindings={b.prefix: b.applications for b in bindings},
        )
        self._applications[stored.name] = stored
        chosen = self._associations.setdefault(stored.name, {})
        for association in await self.store.list_associations(stored.name):
            target = self._targets.get(association.target_id)
            if target is None:
                log.error("%s: target %s is gone", stored.name, association.target_id)
                continue
            chosen[association.key] = association.target_id
            self.dm.associate(stored.name, _dm_key(association.key), target[1])
        gone = await self.dm.recover(stored.name)
        if gone:
            log.info("%s: machines gone since the DM stopped: %s", stored.name, ", ".join(gone))
        await self._drive(stored.name)

    async def _drive(self, app: str) -> None:
        """Request again what was requested and is not so (parents first)."""
        application = self.dm.application(app)
        for record in application:
            wanted = record.desired
            if wanted is None or wanted is record.status:
                continue
            settled = record.status in (S.NOT_DEPLOYED, S.DEPLOYED_STOPPED, S.DEPLOYED_STARTED)
            if not settled and wanted is not S.NOT_DEPLOYED:
                continue  # its agent is at it, or will report it when it comes back
            if record.scoped and wanted is S.DEPLOYED_STOPPED:
                continue
            try:
                await self.dm.request(app, record.path, wanted)
            except InstanceError as error:
                log.warning("%s: %s not requested again: %s", app, record.path, error)

    # -- following the DM, writing behind -----------------------------------------------------

    async def _follow(self, watched: asyncio.Queue[DmEvent]) -> None:
        while True:
            event = await watched.get()
            if event.application not in self._applications:
                continue
            application = self.dm.applications.get(event.application)
            record = application.instances.get(event.path) if application else None
            if record is None:
                continue
            self._dirty.setdefault(event.application, set()).add(event.path)
            details: dict[str, object] = {}
            if record.imports:
                details["imports"] = {p: list(v) for p, v in record.imports.items()}
            self._event(
                "instance.changed",
                application=event.application,
                path=event.path,
                status=event.status.value,
                reason=event.reason,
                details=details,
            )
            if record.scoped:
                kind = MACHINE_EVENTS.get(event.status)
                if kind is None and event.status is S.NOT_DEPLOYED:
                    kind = "machine.down"
                if kind is not None:
                    self._event(
                        kind,
                        application=event.application,
                        path=event.path,
                        status=event.status.value,
                        reason=event.reason,
                    )

    async def _flush_regularly(self) -> None:
        pruned_at = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.flush_s)
            try:
                # Shielded: cancelled while it writes (the service stops), the write goes on
                # to its end, and the final commit waits for it (the write lock). A write cut
                # off in the middle leaves its SQLite transaction open, and the final commit
                # then finds the database locked.
                await asyncio.shield(self._commit())
                if time.monotonic() - pruned_at > 60:
                    pruned_at = time.monotonic()
                    await self.store.prune_events(self.settings.events_kept)
            except Exception:
                log.exception("writing to the store failed; retrying")

    def _touch(self, app: str, records: Iterable[ManagedInstance]) -> None:
        self._dirty.setdefault(app, set()).update(r.path for r in records)

    def _event(
        self,
        kind: str,
        *,
        application: str | None = None,
        path: str | None = None,
        status: str | None = None,
        reason: str | None = None,
        details: dict[str, object] | None = None,
    ) -> None:
        self._events.append(
            StoredEvent(
                id=0,
                at=time.time(),
                kind=kind,
                application=application,
                path=path,
                status=status,
                reason=reason,
                details=details or {},
            )
        )

    async def _commit(self) -> None:
        """Write what changed (instance rows, removals, events), then tell subscribers."""
        async with self._write:
            if not (self._events or any(self._dirty.values()) or any(self._removed.values())):
                return
            rows: list[StoredInstance] = []
            for app, paths in self._dirty.items():
                application = self.dm.applications.get(app)
                if application is None:
                    continue
                positions = _Positions(application)
                rows += [
                    _row_of(application, application.instances[p], positions)
                    for p in paths
                    if p in application.instances
                ]
            removed = tuple((app, path) for app, paths in self._removed.items() for path in paths)
            events, dirty, gone = self._events, self._dirty, self._removed
            self._events, self._dirty, self._removed = [], {}, {}
            try:
                ids = await self.store.write(
                    StoreBatch(instances=tuple(rows), removed=removed, events=tuple(events))
                )
            except BaseException:
                self._events = events + self._events
                for app, paths in dirty.items():
                    self._dirty.setdefault(app, set()).update(paths)
                for app, paths in gone.items():
                    self._removed.setdefault(app, set()).update(paths)
                raise
        for event, event_id in zip(events, ids, strict=True):
            self._publish(_event_view(event, event_id))

    def _publish(self, event: EventView) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.application not in (None, event.application):
                continue
            if subscriber.queue.qsize() >= self.settings.subscriber_backlog:
                _offer(subscriber.queue, None)
                self.unsubscribe(subscriber.queue)
                continue
            subscriber.queue.put_nowait(event)

    # -- lookups and views --------------------------------------------------------------------

    def _template(self, name: str, version: str) -> _Template:
        entry = self._templates.get((name, version))
        if entry is None:
            raise NotFound(f"no template {name} {version}: upload it first")
        return entry

    def _template_users(self, name: str, version: str) -> list[str]:
        return sorted(
            a.name
            for a in self._applications.values()
            if (a.template_name, a.template_version) == (name, version)
        )

    def _stored_application(self, name: str) -> StoredApplication:
        stored = self._applications.get(name)
        if stored is None:
            raise NotFound(f"no application named {name!r}")
        return stored

    def _application(self, name: str) -> Application:
        self._stored_application(name)
        return self.dm.application(name)

    @staticmethod
    def _record(application: Application, path: str) -> ManagedInstance:
        record = application.instances.get(path)
        if record is None:
            raise NotFound(f"application {application.name!r} has no instance {path!r}")
        return record

    def _template_view(self, entry: _Template, *, with_components: bool = False) -> TemplateView:
        stored = entry.stored
        return TemplateView(
            name=stored.name,
            version=stored.version,
            description=stored.description,
            tags=stored.tags,
            uploaded_at=stored.uploaded_at,
            applications=tuple(self._template_users(stored.name, stored.version)),
            exports_prefix=entry.template.descriptor.exports_prefix,
            components=tuple(_components(entry.template)) if with_components else (),
        )

    def _application_view(self, stored: StoredApplication) -> ApplicationView:
        application = self.dm.application(stored.name)
        counts = {s.value: application.count(s) for s in S if application.count(s)}
        return ApplicationView(
            name=stored.name,
            template=stored.template_name,
            version=stored.template_version,
            description=stored.description,
            created_at=stored.created_at,
            counts=counts,
            instances=len(application.instances),
        )

    def _instance_view(self, application: Application, record: ManagedInstance) -> InstanceView:
        try:
            machine: str | None = application.scoped_path(record.path)
        except InstanceError:
            machine = None
        ip = application.get(machine).data.get("ip") if machine else None
        exports = instance_exports(application.graph, record.to_model(), record.path, ip=ip or None)
        return InstanceView(
            path=record.path,
            name=record.name,
            component=record.component,
            parent=record.parent,
            status=record.status.value,
            desired=record.desired.value if record.desired else None,
            reason=record.reason,
            overrides=dict(record.overrides),
            data=dict(record.data),
            imports={p: tuple(v) for p, v in record.imports.items()},
            output_tail=record.output_tail,
            machine=machine,
            scoped=record.scoped,
            exports={k: v or "" for k, v in exports.items()},
        )

    def _target_view(self, target_id: str) -> TargetView:
        found = self._targets.get(target_id)
        if found is None:
            raise NotFound(f"no target {target_id!r}")
        stored, definition = found
        usage = tuple(
            TargetUse(application=app, key=key)
            for app, keys in sorted(self._associations.items())
            for key, used in sorted(keys.items())
            if used == target_id
        )
        return TargetView(
            id=stored.id,
            handler=stored.handler,
            name=definition.name,
            description=definition.description,
            properties=stored.properties,
            created_at=stored.created_at,
            usage=usage,
        )

    def _machine_view(self, application: Application, path: str) -> MachineView:
        record = application.get(path)
        seen = self.dm.silence(application.name, path)
        target = self.dm.machine_target(application.name, path)
        return MachineView(
            path=path,
            status=record.status.value,
            up=bool(seen and seen[0]),
            silent_s=None if seen is None or seen[1] is None else round(seen[1], 3),
            machine_id=record.machine_id,
            target_id=target.id if target else None,
        )


def _offer(queue: asyncio.Queue[EventView | None], item: EventView | None) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(item)


def _dm_key(key: str) -> str:
    return "" if key == DEFAULT_KEY else key


def _api_key(key: str) -> str:
    return DEFAULT_KEY if key == "" else key


def _components(template: ApplicationTemplate) -> list[ComponentView]:
    graph = template.graph
    found: list[ComponentView] = []
    resolved = resolver(graph)
    for name, component in sorted(graph.components.items()):
        found.append(
            ComponentView(
                name=name,
                installer=resolved.resolved_installer(name),
                extends=component.extends,
                facets=tuple(component.facets),
                children=tuple(resolved.possible_children(name)),
                exports={k: v.value or "" for k, v in resolved.exports(name).items()},
                imports={k: v.optional for k, v in resolved.imports(name).items()},
            )
        )
    return found


class _Positions:
    """Each instance's rank among its siblings, each parent's children listed once: a batch
    of thousands of root machines costs one pass, not one per row."""

    def __init__(self, application: Application) -> None:
        self._application = application
        self._by_parent: dict[str | None, dict[str, int]] = {}

    def of(self, record: ManagedInstance) -> int:
        ranks = self._by_parent.get(record.parent)
        if ranks is None:
            siblings = self._application.children(record.parent)
            ranks = self._by_parent[record.parent] = {r.path: i for i, r in enumerate(siblings)}
        return ranks.get(record.path, 0)


def _row_of(
    application: Application, record: ManagedInstance, positions: _Positions
) -> StoredInstance:
    position = positions.of(record)
    return StoredInstance(
        application=application.name,
        path=record.path,
        name=record.name,
        component=record.component,
        parent=record.parent,
        position=position,
        overrides=dict(record.overrides),
        data=dict(record.data),
        status=record.status.value,
        desired=record.desired.value if record.desired else None,
        reason=record.reason,
        output_tail=record.output_tail,
        imports={p: list(v) for p, v in record.imports.items()},
        machine_id=record.machine_id,
    )


def _record_of(row: StoredInstance, template: ApplicationTemplate) -> ManagedInstance:
    return ManagedInstance(
        path=row.path,
        name=row.name,
        component=row.component,
        parent=row.parent,
        overrides=dict(row.overrides),
        data=dict(row.data),
        status=S(row.status),
        reason=row.reason,
        output_tail=row.output_tail,
        imports={p: list(v) for p, v in row.imports.items()},
        scoped=is_target(resolved_installer(template.graph, row.component)),
        machine_id=row.machine_id,
        desired=S(row.desired) if row.desired else None,
    )


def _event_view(event: StoredEvent, event_id: int | None = None) -> EventView:
    return EventView(
        id=event.id if event_id is None else event_id,
        at=event.at,
        kind=event.kind,
        application=event.application,
        path=event.path,
        status=event.status,
        reason=event.reason,
        details=dict(event.details),
    )
