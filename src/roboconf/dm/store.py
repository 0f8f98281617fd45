"""What the DM persists, and the interface of the store that keeps it.

The DM works on records in memory; the store is where every accepted change is committed before
the DM acknowledges it, so that after a crash and a restart nothing acknowledged is lost. Values
cross this interface as frozen dataclasses of plain types (status names, JSON-like dicts): the
store knows nothing of the model, and the model nothing of SQL. Every method of a :class:`Store`
is one transaction, committed before it returns.

Exceptions:

- :class:`StoreError` — the store cannot be opened or used (the message names it, without its
  password, and says why).
- :class:`StoreConflict` — a change contradicts what is stored (a name already taken, a template
  still used by an application).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from roboconf.errors import RoboconfError


class StoreError(RoboconfError):
    """The store cannot be opened or a transaction failed; nothing of that transaction is kept."""


class StoreConflict(StoreError):
    """A change contradicts what is stored; nothing of it is kept."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTemplate:
    name: str
    version: str
    description: str = ""
    tags: tuple[str, ...] = ()
    #: a zip of the template's files, what the DM rebuilds the template from after a restart
    archive: bytes
    uploaded_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredApplication:
    name: str
    template_name: str
    template_version: str
    description: str = ""
    created_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredInstance:
    application: str
    path: str
    name: str
    component: str
    parent: str | None
    #: rank among its siblings
    position: int
    overrides: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    #: an ``InstanceStatus`` value
    status: str
    #: the last state requested: what the DM drives towards after a restart
    desired: str | None = None
    reason: str | None = None
    output_tail: str = ""
    #: import prefix → provider paths
    imports: dict[str, list[str]] = field(default_factory=dict)
    machine_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTarget:
    id: str
    handler: str
    #: the properties text as given, comments included
    properties: str
    created_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAssociation:
    application: str
    #: an instance path, ``@Component`` or ``default``
    key: str
    target_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredBinding:
    """The applications whose exports ``application`` accepts for an external ``prefix``."""

    application: str
    prefix: str
    applications: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    #: assigned by the store when the event is appended (0 before)
    id: int = 0
    at: float
    kind: str
    application: str | None = None
    path: str | None = None
    status: str | None = None
    reason: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreBatch:
    """Changes committed together, all or nothing: what the DM's write-behind collected.

    Deletions come first (each removes the instance and everything under it), then upserts,
    then events: a batch holds the net change, so a path removed and added again is kept.
    """

    instances: tuple[StoredInstance, ...] = ()
    #: (application, path) pairs
    removed: tuple[tuple[str, str], ...] = ()
    events: tuple[StoredEvent, ...] = ()


class Store(Protocol):
    """The DM's persistence; each method is one transaction, committed before it returns."""

    async def close(self) -> None: ...

    # -- templates -------------------------------------------------------------------------

    async def put_template(self, template: StoredTemplate) -> None:
        """Store a new template; :class:`StoreConflict` if its name and version exist."""

    async def get_template(self, name: str, version: str) -> StoredTemplate | None: ...

    async def list_templates(self) -> list[StoredTemplate]:
        """By name, then version."""

    async def delete_template(self, name: str, version: str) -> bool:
        """False if it was not stored; :class:`StoreConflict` while an application uses it."""

    # -- applications ----------------------------------------------------------------------

    async def put_application(self, application: StoredApplication) -> None:
        """Store a new application of a stored template; :class:`StoreConflict` if its name is
        taken."""

    async def get_application(self, name: str) -> StoredApplication | None: ...

    async def list_applications(self) -> list[StoredApplication]:
        """By name."""

    async def delete_application(self, name: str) -> bool:
        """Delete it with its instances, target associations and bindings; False if it was not
        stored."""

    async def set_binding(self, binding: StoredBinding) -> None:
        """Insert or replace, by application and prefix; :class:`StoreError` if the
        application is not stored."""

    async def delete_binding(self, application: str, prefix: str) -> bool: ...

    async def list_bindings(self, application: str | None = None) -> list[StoredBinding]:
        """By application, then prefix."""

    # -- instances -------------------------------------------------------------------------

    async def save_instances(self, application: str, instances: Sequence[StoredInstance]) -> None:
        """Insert or replace instances of one application, by path."""

    async def delete_instances(self, application: str, paths: Sequence[str]) -> None:
        """Delete instances and everything under them; unknown paths are ignored."""

    async def load_instances(self, application: str) -> list[StoredInstance]:
        """Depth first: each parent before its children, siblings by position; an instance
        whose parent is not stored comes as a root, so that nothing stored is hidden."""

    # -- targets ---------------------------------------------------------------------------

    async def put_target(self, target: StoredTarget) -> None:
        """Insert or replace; a replaced target keeps its creation time."""

    async def get_target(self, id: str) -> StoredTarget | None: ...

    async def list_targets(self) -> list[StoredTarget]:
        """By id."""

    async def delete_target(self, id: str) -> bool: ...

    async def set_association(self, association: StoredAssociation) -> None:
        """Insert or replace, by application and key."""

    async def delete_association(self, application: str, key: str) -> bool: ...

    async def list_associations(self, application: str | None = None) -> list[StoredAssociation]:
        """By application, then key."""

    # -- preferences -----------------------------------------------------------------------

    async def get_preferences(self) -> dict[str, str]: ...

    async def set_preference(self, key: str, value: str) -> None: ...

    # -- events ----------------------------------------------------------------------------

    async def append_events(self, events: Sequence[StoredEvent]) -> list[int]:
        """The ids given, in order: increasing, never reused (not even after pruning)."""

    async def list_events(
        self,
        *,
        application: str | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[StoredEvent]:
        """At most ``limit`` events with ``after < id < before``, the newest ones first (or
        the oldest ones first)."""

    async def prune_events(self, keep: int) -> int:
        """Delete all but the newest ``keep`` events; how many were deleted."""

    # -- the write-behind --------------------------------------------------------------------

    async def write(self, batch: StoreBatch) -> list[int]:
        """Commit a batch, all or nothing; the ids of its events."""


#: a store in this process's memory, gone when it exits (``roboconf run``, tests)
MEMORY_URL = "memory://"


async def open_store(url: str | None, data_dir: Path) -> Store:
    """Open (creating or upgrading its schema) the store at ``url``: ``sqlite:///path`` or
    ``postgresql://user:password@host:port/database``; None for ``<data_dir>/roboconf.db``;
    :data:`MEMORY_URL` for one in memory."""
    if url == MEMORY_URL:
        from roboconf.dm.memory_store import MemoryStore

        return MemoryStore()
    # imported here: the implementation imports the values above
    from roboconf.dm.sql_store import SqlStore, database_url

    return await SqlStore.open(database_url(url, data_dir))
