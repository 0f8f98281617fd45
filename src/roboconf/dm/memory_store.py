"""A store that keeps everything in this process's memory, for DMs that need not survive
themselves: ``roboconf run`` (which undeploys everything when it exits) and tests.

It honours the :class:`~roboconf.dm.store.Store` contract (conflicts, ordering, cascades,
event ids never reused, all-or-nothing batches) so that the DM behaves the same on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from roboconf.dm.store import (
    StoreBatch,
    StoreConflict,
    StoredApplication,
    StoredAssociation,
    StoredBinding,
    StoredEvent,
    StoredInstance,
    StoredTarget,
    StoredTemplate,
    StoreError,
)

_Owned = TypeVar("_Owned")


class MemoryStore:
    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], StoredTemplate] = {}
        self._applications: dict[str, StoredApplication] = {}
        self._instances: dict[str, dict[str, StoredInstance]] = {}
        self._targets: dict[str, StoredTarget] = {}
        self._associations: dict[tuple[str, str], StoredAssociation] = {}
        self._bindings: dict[tuple[str, str], StoredBinding] = {}
        self._preferences: dict[str, str] = {}
        self._events: list[StoredEvent] = []
        self._last_id = 0

    async def close(self) -> None:
        """Nothing to release."""

    # -- templates -------------------------------------------------------------------------

    async def put_template(self, template: StoredTemplate) -> None:
        key = (template.name, template.version)
        if key in self._templates:
            raise StoreConflict(
                f"template {template.name!r} version {template.version!r} exists: give the new "
                "one another version, or delete the stored one first"
            )
        self._templates[key] = template

    async def get_template(self, name: str, version: str) -> StoredTemplate | None:
        return self._templates.get((name, version))

    async def list_templates(self) -> list[StoredTemplate]:
        return [self._templates[k] for k in sorted(self._templates)]

    async def delete_template(self, name: str, version: str) -> bool:
        users = [
            a.name
            for a in self._applications.values()
            if (a.template_name, a.template_version) == (name, version)
        ]
        if users:
            raise StoreConflict(
                f"template {name!r} version {version!r} is used by application(s) "
                f"{', '.join(sorted(users))}: delete them first"
            )
        return self._templates.pop((name, version), None) is not None

    # -- applications ----------------------------------------------------------------------

    async def put_application(self, application: StoredApplication) -> None:
        if application.name in self._applications:
            raise StoreConflict(f"application {application.name!r} exists: choose another name")
        if (application.template_name, application.template_version) not in self._templates:
            raise StoreError(
                f"application {application.name!r} needs template "
                f"{application.template_name!r} version {application.template_version!r}, "
                "which is not stored: upload it first"
            )
        self._applications[application.name] = application
        self._instances[application.name] = {}

    async def get_application(self, name: str) -> StoredApplication | None:
        return self._applications.get(name)

    async def list_applications(self) -> list[StoredApplication]:
        return [self._applications[k] for k in sorted(self._applications)]

    async def delete_application(self, name: str) -> bool:
        self._instances.pop(name, None)
        for owned in (self._associations, self._bindings):
            for key in [k for k in owned if k[0] == name]:
                del owned[key]
        return self._applications.pop(name, None) is not None

    async def set_binding(self, binding: StoredBinding) -> None:
        self._check_stored(binding.application)
        self._bindings[(binding.application, binding.prefix)] = binding

    async def delete_binding(self, application: str, prefix: str) -> bool:
        return self._bindings.pop((application, prefix), None) is not None

    async def list_bindings(self, application: str | None = None) -> list[StoredBinding]:
        return _owned_by(self._bindings, application)

    def _check_stored(self, application: str) -> None:
        if application not in self._applications:
            raise StoreError(f"application {application!r} is not stored")

    # -- instances -------------------------------------------------------------------------

    async def save_instances(self, application: str, instances: Sequence[StoredInstance]) -> None:
        strangers = [r.path for r in instances if r.application != application]
        if strangers:
            raise ValueError(f"instances {strangers} are not instances of {application!r}")
        await self.write(StoreBatch(instances=tuple(instances)))

    async def delete_instances(self, application: str, paths: Sequence[str]) -> None:
        await self.write(StoreBatch(removed=tuple((application, p) for p in paths)))

    async def load_instances(self, application: str) -> list[StoredInstance]:
        rows = self._instances.get(application, {})
        children: dict[str | None, list[StoredInstance]] = {}
        for row in rows.values():
            # an instance whose parent is not stored comes back as a root
            parent = row.parent if row.parent in rows else None
            children.setdefault(parent, []).append(row)
        ordered: list[StoredInstance] = []
        pending = sorted(children.get(None, []), key=_rank, reverse=True)
        while pending:
            row = pending.pop()
            ordered.append(row)
            pending += sorted(children.get(row.path, []), key=_rank, reverse=True)
        return ordered

    # -- targets ---------------------------------------------------------------------------

    async def put_target(self, target: StoredTarget) -> None:
        previous = self._targets.get(target.id)
        if previous is not None:
            target = StoredTarget(
                id=target.id,
                handler=target.handler,
                properties=target.properties,
                created_at=previous.created_at,
            )
        self._targets[target.id] = target

    async def get_target(self, id: str) -> StoredTarget | None:
        return self._targets.get(id)

    async def list_targets(self) -> list[StoredTarget]:
        return [self._targets[k] for k in sorted(self._targets)]

    async def delete_target(self, id: str) -> bool:
        return self._targets.pop(id, None) is not None

    async def set_association(self, association: StoredAssociation) -> None:
        self._check_stored(association.application)
        self._associations[(association.application, association.key)] = association

    async def delete_association(self, application: str, key: str) -> bool:
        return self._associations.pop((application, key), None) is not None

    async def list_associations(self, application: str | None = None) -> list[StoredAssociation]:
        return _owned_by(self._associations, application)

    # -- preferences -----------------------------------------------------------------------

    async def get_preferences(self) -> dict[str, str]:
        return dict(self._preferences)

    async def set_preference(self, key: str, value: str) -> None:
        self._preferences[key] = value

    # -- events ----------------------------------------------------------------------------

    async def append_events(self, events: Sequence[StoredEvent]) -> list[int]:
        return await self.write(StoreBatch(events=tuple(events)))

    async def list_events(
        self,
        *,
        application: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[StoredEvent]:
        if limit < 0:
            raise ValueError(f"cannot list {limit} events")
        found = [
            e
            for e in self._events
            if (application is None or e.application == application)
            and (after is None or e.id > after)
            and (before is None or e.id < before)
        ]
        return found[::-1][:limit] if newest_first else found[:limit]

    async def prune_events(self, keep: int) -> int:
        if keep < 0:
            raise ValueError(f"cannot keep {keep} events")
        pruned = max(0, len(self._events) - keep)
        del self._events[:pruned]
        return pruned

    # -- the write-behind --------------------------------------------------------------------

    async def write(self, batch: StoreBatch) -> list[int]:
        # Checked first, so that a batch that cannot be applied leaves nothing behind.
        for row in batch.instances:
            if row.application not in self._applications:
                raise StoreError(
                    f"the store in memory failed: instance {row.path!r} belongs to "
                    f"{row.application!r}, which is not stored"
                )
        for application, path in batch.removed:
            rows = self._instances.get(application, {})
            for below in [p for p in rows if p == path or p.startswith(path + "/")]:
                del rows[below]
        for row in batch.instances:
            self._instances[row.application][row.path] = row
        ids: list[int] = []
        for event in batch.events:
            self._last_id += 1
            ids.append(self._last_id)
            self._events.append(
                StoredEvent(
                    id=self._last_id,
                    at=event.at,
                    kind=event.kind,
                    application=event.application,
                    path=event.path,
                    status=event.status,
                    reason=event.reason,
                    details=dict(event.details),
                )
            )
        return ids


def _owned_by(rows: dict[tuple[str, str], _Owned], application: str | None) -> list[_Owned]:
    """The rows of one application (all when None), by application then key."""
    return [rows[k] for k in sorted(rows) if application is None or k[0] == application]


def _rank(row: StoredInstance) -> tuple[int, str]:
    return row.position, row.path
