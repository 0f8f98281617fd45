"""The store on SQLAlchemy: SQLite (one file, the embedded default) or PostgreSQL.

Tables are SQLAlchemy Core; the schema itself is made by the Alembic migrations of
:mod:`roboconf.dm.migrations`, run to their head when a store opens (a test checks that they
build exactly these tables). Dicts and lists are stored as JSON text, so that both databases read
them the same way.

SQLite runs in WAL mode (readers never wait for the writer) with ``synchronous=FULL`` (a commit
survives a power loss) and foreign keys on. The driver's own transaction handling is turned off:
every transaction is a real ``BEGIN``, and a writing one a ``BEGIN IMMEDIATE``, which takes the
write lock before reading, so that two writers (another process opening the same file, say)
wait for each other instead of failing on a stale snapshot.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import (
    URL,
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    bindparam,
    delete,
    event,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

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

MIGRATIONS = Path(__file__).with_name("migrations")
#: what the store URL should look like, for error messages
_URL_FORMS = "sqlite:///path/to/roboconf.db or postgresql://user:password@host:port/database"
#: failures of the database or of the way to it
_FAILURES = (SQLAlchemyError, OSError)
#: how long a SQLite writer waits for another one, and PostgreSQL for a connection (seconds)
_WAIT_S = 30
#: PostgreSQL advisory lock that makes concurrent migrations of one database take turns
_MIGRATION_LOCK = 0x526F626F636F6E66  # "Roboconf"

METADATA = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(referred_table_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)


def _owner() -> Column[str]:
    """The first key column of the rows an application owns: they go with it."""
    return Column(
        "application", String, ForeignKey("applications.name", ondelete="CASCADE"), primary_key=True
    )


TEMPLATES = Table(
    "templates",
    METADATA,
    Column("name", String, primary_key=True),
    Column("version", String, primary_key=True),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("archive", LargeBinary, nullable=False),
    Column("uploaded_at", Float, nullable=False),
)

APPLICATIONS = Table(
    "applications",
    METADATA,
    Column("name", String, primary_key=True),
    Column("template_name", String, nullable=False),
    Column("template_version", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    ForeignKeyConstraint(
        ["template_name", "template_version"], ["templates.name", "templates.version"]
    ),
)

# The primary key (application, path) is also the index of an application's instances.
INSTANCES = Table(
    "instances",
    METADATA,
    _owner(),
    Column("path", Text, primary_key=True),
    Column("name", String, nullable=False),
    Column("component", String, nullable=False),
    Column("parent", Text),
    Column("position", Integer, nullable=False),
    Column("overrides", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("status", String, nullable=False),
    Column("desired", String),
    Column("reason", Text),
    Column("output_tail", Text, nullable=False),
    Column("imports", Text, nullable=False),
    Column("machine_id", String),
)

TARGETS = Table(
    "targets",
    METADATA,
    Column("id", String, primary_key=True),
    Column("handler", String, nullable=False),
    Column("properties", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# No foreign key to targets: an association may name a target a template ships.
ASSOCIATIONS = Table(
    "associations",
    METADATA,
    _owner(),
    Column("key", Text, primary_key=True),
    Column("target_id", String, nullable=False),
)

BINDINGS = Table(
    "bindings",
    METADATA,
    _owner(),
    Column("prefix", String, primary_key=True),
    #: the bound applications' names, a JSON list
    Column("applications", Text, nullable=False),
)

PREFERENCES = Table(
    "preferences",
    METADATA,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

# No foreign key to applications: the history outlives what it tells about. AUTOINCREMENT on
# SQLite so that ids are never reused, even once the newest events are pruned.
EVENTS = Table(
    "events",
    METADATA,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", Float, nullable=False),
    Column("kind", String, nullable=False),
    Column("application", String),
    Column("path", Text),
    Column("status", String),
    Column("reason", Text),
    Column("details", Text, nullable=False),
    Index(None, "application", "id"),
    sqlite_autoincrement=True,
)


def database_url(url: str | None, data_dir: Path) -> URL:
    """The SQLAlchemy URL of a store URL, with its async driver; None means the SQLite file of
    ``data_dir``."""
    if url is None:
        return URL.create("sqlite+aiosqlite", database=str(data_dir / "roboconf.db"))
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        scheme = url.partition("://")[0]
        raise StoreError(
            f"the store URL (scheme {scheme!r}) is no database URL: write {_URL_FORMS}"
        ) from error
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise StoreError(f"a SQLite store needs a file: write {_URL_FORMS}")
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreError(f"unsupported store URL scheme {parsed.drivername!r}: write {_URL_FORMS}")


def migration_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here (no ``alembic.ini`` ships): the migrations run on
    ``connection``. Also what ``command.revision(migration_config(), "message")`` needs to
    write a new migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    """Migrate in the transaction of ``connection``, after taking the database's write lock
    (SQLite's ``BEGIN IMMEDIATE`` already has): concurrent opens take turns, so that only one
    creates the schema, and Alembic's module-global ``op`` and ``context`` serve one migration
    at a time even when several stores open on one event loop."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    command.upgrade(migration_config(connection), "head")


class SqlStore:
    """A :class:`~roboconf.dm.store.Store` on an async SQLAlchemy engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        #: the same pool; its transactions take SQLite's write lock at once
        self._writer = engine.execution_options(roboconf_writes=True)
        self._name = engine.url.render_as_string(hide_password=True)

    @classmethod
    async def open(cls, url: URL) -> SqlStore:
        """Connect and bring the schema to the latest migration; :class:`StoreError` naming
        the URL (without its password) if the database cannot be reached or upgraded."""
        sqlite_file = url.get_backend_name() == "sqlite"
        # PostgreSQL: connections that died with a server restart are replaced, not used
        options: dict[str, Any] = (
            {} if sqlite_file else {"pool_pre_ping": True, "connect_args": {"timeout": _WAIT_S}}
        )
        store = cls(create_async_engine(url, **options))
        if sqlite_file:
            _configure_sqlite(store._engine)
        try:
            if sqlite_file:
                Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
            async with store._writer.begin() as connection:
                await connection.run_sync(_upgrade)
        except BaseException as error:
            await store.close()
            if isinstance(error, (*_FAILURES, CommandError)):
                raise StoreError(
                    f"cannot open the store {store._name}: {_reason(error)}; check that the "
                    "database exists, is reachable and was not migrated by a newer Roboconf"
                ) from error
            raise
        return store

    async def close(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def _transaction(self, *, writes: bool = False) -> AsyncIterator[AsyncConnection]:
        try:
            async with (self._writer if writes else self._engine).begin() as connection:
                yield connection
        except _FAILURES as error:
            raise StoreError(f"the store {self._name} failed: {_reason(error)}") from error

    def _upsert(self, table: Table, *, keep: Iterable[str] = ()) -> Insert:
        """Insert, or update every column but the key and ``keep`` of the row with that key."""
        key = [column.name for column in table.primary_key]
        dialect_insert = (
            postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        )
        statement = dialect_insert(table)
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=key,
            set_={c.name: excluded[c.name] for c in table.c if c.name not in {*key, *keep}},
        )

    # -- templates -------------------------------------------------------------------------

    async def put_template(self, template: StoredTemplate) -> None:
        async with self._transaction(writes=True) as connection:
            try:
                await connection.execute(insert(TEMPLATES), _template_row(template))
            except IntegrityError as error:
                raise StoreConflict(
                    f"template {template.name!r} version {template.version!r} exists: give "
                    "the new one another version, or delete the stored one first"
                ) from error

    async def get_template(self, name: str, version: str) -> StoredTemplate | None:
        query = select(TEMPLATES).where(TEMPLATES.c.name == name, TEMPLATES.c.version == version)
        async with self._transaction() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _template(row)

    async def list_templates(self) -> list[StoredTemplate]:
        query = select(TEMPLATES).order_by(TEMPLATES.c.name, TEMPLATES.c.version)
        async with self._transaction() as connection:
            return [_template(row) for row in await connection.execute(query)]

    async def delete_template(self, name: str, version: str) -> bool:
        users = select(APPLICATIONS.c.name).where(
            APPLICATIONS.c.template_name == name, APPLICATIONS.c.template_version == version
        )
        async with self._transaction(writes=True) as connection:
            names = sorted((await connection.scalars(users)).all())
            if names:
                raise StoreConflict(
                    f"template {name!r} version {version!r} is used by application(s) "
                    f"{', '.join(names)}: delete them first"
                )
            deleted = await connection.execute(
                delete(TEMPLATES).where(TEMPLATES.c.name == name, TEMPLATES.c.version == version)
            )
        return deleted.rowcount > 0

    # -- applications ----------------------------------------------------------------------

    async def put_application(self, application: StoredApplication) -> None:
        template = select(TEMPLATES.c.name).where(
            TEMPLATES.c.name == application.template_name,
            TEMPLATES.c.version == application.template_version,
        )
        async with self._transaction(writes=True) as connection:
            if (await connection.execute(template)).first() is None:
                raise StoreError(
                    f"application {application.name!r} needs template "
                    f"{application.template_name!r} version {application.template_version!r}, "
                    "which is not stored: upload it first"
                )
            try:
                await connection.execute(insert(APPLICATIONS), _fields(application))
            except IntegrityError as error:
                raise StoreConflict(
                    f"application {application.name!r} exists: choose another name"
                ) from error

    async def get_application(self, name: str) -> StoredApplication | None:
        query = select(APPLICATIONS).where(APPLICATIONS.c.name == name)
        async with self._transaction() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else StoredApplication(**row._asdict())

    async def list_applications(self) -> list[StoredApplication]:
        query = select(APPLICATIONS).order_by(APPLICATIONS.c.name)
        async with self._transaction() as connection:
            return [StoredApplication(**row._asdict()) for row in await connection.execute(query)]

    async def delete_application(self, name: str) -> bool:
        async with self._transaction(writes=True) as connection:
            deleted = await connection.execute(
                delete(APPLICATIONS).where(APPLICATIONS.c.name == name)
            )
        return deleted.rowcount > 0

    # -- instances -------------------------------------------------------------------------

    async def save_instances(self, application: str, instances: Sequence[StoredInstance]) -> None:
        strangers = [i.path for i in instances if i.application != application]
        if strangers:
            raise ValueError(f"instances {strangers} are not instances of {application!r}")
        await self.write(StoreBatch(instances=tuple(instances)))

    async def delete_instances(self, application: str, paths: Sequence[str]) -> None:
        await self.write(StoreBatch(removed=tuple((application, p) for p in paths)))

    async def load_instances(self, application: str) -> list[StoredInstance]:
        query = (
            select(INSTANCES)
            .where(INSTANCES.c.application == application)
            .order_by(INSTANCES.c.position, INSTANCES.c.path)
        )
        async with self._transaction() as connection:
            rows = (await connection.execute(query)).all()
        return _parents_first([_instance(row) for row in rows])

    async def _remove(
        self, connection: AsyncConnection, removed: Sequence[tuple[str, str]]
    ) -> None:
        """Delete instances with everything under them, by (application, path)."""
        roots: dict[str, set[str]] = defaultdict(set)
        for application, path in removed:
            roots[application].add(path)
        doomed = []
        for application, paths in roots.items():
            stored = await connection.scalars(
                select(INSTANCES.c.path).where(INSTANCES.c.application == application)
            )
            doomed += [{"a": application, "p": p} for p in stored if _under(p, paths)]
        if doomed:
            await connection.execute(
                delete(INSTANCES).where(
                    INSTANCES.c.application == bindparam("a"), INSTANCES.c.path == bindparam("p")
                ),
                doomed,
            )

    # -- targets ---------------------------------------------------------------------------

    async def put_target(self, target: StoredTarget) -> None:
        async with self._transaction(writes=True) as connection:
            await connection.execute(self._upsert(TARGETS, keep=["created_at"]), _fields(target))

    async def get_target(self, id: str) -> StoredTarget | None:
        query = select(TARGETS).where(TARGETS.c.id == id)
        async with self._transaction() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else StoredTarget(**row._asdict())

    async def list_targets(self) -> list[StoredTarget]:
        query = select(TARGETS).order_by(TARGETS.c.id)
        async with self._transaction() as connection:
            return [StoredTarget(**row._asdict()) for row in await connection.execute(query)]

    async def delete_target(self, id: str) -> bool:
        async with self._transaction(writes=True) as connection:
            deleted = await connection.execute(delete(TARGETS).where(TARGETS.c.id == id))
        return deleted.rowcount > 0

    async def set_association(self, association: StoredAssociation) -> None:
        await self._set_owned(
            ASSOCIATIONS,
            _fields(association),
            f"cannot associate {association.key!r} with target {association.target_id!r}: "
            f"application {association.application!r} is not stored",
        )

    async def delete_association(self, application: str, key: str) -> bool:
        return await self._delete_owned(ASSOCIATIONS, application, key)

    async def list_associations(self, application: str | None = None) -> list[StoredAssociation]:
        rows = await self._list_owned(ASSOCIATIONS, application)
        return [StoredAssociation(**row._asdict()) for row in rows]

    # -- bindings --------------------------------------------------------------------------

    async def set_binding(self, binding: StoredBinding) -> None:
        await self._set_owned(
            BINDINGS,
            {**_fields(binding), "applications": _dumps(list(binding.applications))},
            f"cannot bind {binding.prefix!r}: application {binding.application!r} is not stored",
        )

    async def delete_binding(self, application: str, prefix: str) -> bool:
        return await self._delete_owned(BINDINGS, application, prefix)

    async def list_bindings(self, application: str | None = None) -> list[StoredBinding]:
        return [
            StoredBinding(
                application=row.application,
                prefix=row.prefix,
                applications=tuple(json.loads(row.applications)),
            )
            for row in await self._list_owned(BINDINGS, application)
        ]

    # -- rows an application owns (key: application, then one more column) ------------------

    async def _set_owned(self, table: Table, row: dict[str, Any], refused: str) -> None:
        """Insert or replace; :class:`StoreError` saying ``refused`` if the application is not
        stored (its foreign key fails)."""
        async with self._transaction(writes=True) as connection:
            try:
                await connection.execute(self._upsert(table), row)
            except IntegrityError as error:
                raise StoreError(refused) from error

    async def _delete_owned(self, table: Table, application: str, key: str) -> bool:
        owner, column = table.primary_key.columns
        async with self._transaction(writes=True) as connection:
            deleted = await connection.execute(
                delete(table).where(owner == application, column == key)
            )
        return deleted.rowcount > 0

    async def _list_owned(self, table: Table, application: str | None) -> list[Row[Any]]:
        """Of one application (all when None), by application then key."""
        owner, column = table.primary_key.columns
        query = select(table).order_by(owner, column)
        if application is not None:
            query = query.where(owner == application)
        async with self._transaction() as connection:
            return list((await connection.execute(query)).all())

    # -- preferences -----------------------------------------------------------------------

    async def get_preferences(self) -> dict[str, str]:
        async with self._transaction() as connection:
            rows = await connection.execute(select(PREFERENCES.c.key, PREFERENCES.c.value))
            return {key: value for key, value in rows}

    async def set_preference(self, key: str, value: str) -> None:
        async with self._transaction(writes=True) as connection:
            await connection.execute(self._upsert(PREFERENCES), {"key": key, "value": value})

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
            raise ValueError(f"a limit of events cannot be negative ({limit})")
        order = EVENTS.c.id.desc() if newest_first else EVENTS.c.id.asc()
        query = select(EVENTS).order_by(order).limit(limit)
        if application is not None:
            query = query.where(EVENTS.c.application == application)
        if after is not None:
            query = query.where(EVENTS.c.id > after)
        if before is not None:
            query = query.where(EVENTS.c.id < before)
        async with self._transaction() as connection:
            return [_event(row) for row in await connection.execute(query)]

    async def prune_events(self, keep: int) -> int:
        if keep < 0:
            raise ValueError(f"the number of events to keep cannot be negative ({keep})")
        newest_pruned = (
            select(EVENTS.c.id).order_by(EVENTS.c.id.desc()).offset(keep).limit(1)
        ).scalar_subquery()
        async with self._transaction(writes=True) as connection:
            pruned = await connection.execute(delete(EVENTS).where(EVENTS.c.id <= newest_pruned))
        return pruned.rowcount

    # -- the write-behind --------------------------------------------------------------------

    async def write(self, batch: StoreBatch) -> list[int]:
        async with self._transaction(writes=True) as connection:
            await self._remove(connection, batch.removed)
            if batch.instances:
                rows = [_instance_row(i) for i in batch.instances]
                await connection.execute(self._upsert(INSTANCES), rows)
            if not batch.events:
                return []
            added = await connection.execute(
                insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True),
                [_event_row(e) for e in batch.events],
            )
            return list(added.scalars())


# -- SQLite ------------------------------------------------------------------------------------


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def connect(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
        connection.isolation_level = None  # BEGIN is ours
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_WAIT_S * 1000}")
        _use_wal(cursor)
        for pragma in ("synchronous = FULL", "foreign_keys = ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("roboconf_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """Switch the database to WAL (kept in the file: done once). Connections opening a new
    database together may find it locked while one of them switches, and SQLite does not wait
    (no busy handler for that change): try again until ``_WAIT_S``."""
    give_up = time.monotonic() + _WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > give_up:
                raise
            time.sleep(0.05)


# -- rows and values -----------------------------------------------------------------------------


def _reason(error: BaseException) -> str:
    """The driver's own words: SQLAlchemy's wrapping adds the statement and a link."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig.__cause__ or error.orig
    return str(error) or type(error).__name__


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__dataclass_fields__}


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _template_row(template: StoredTemplate) -> dict[str, Any]:
    return {**_fields(template), "tags": _dumps(list(template.tags))}


def _template(row: Row[Any]) -> StoredTemplate:
    values = row._asdict()
    return StoredTemplate(**{**values, "tags": tuple(json.loads(values["tags"]))})


_INSTANCE_JSON = ("overrides", "data", "imports")


def _instance_row(instance: StoredInstance) -> dict[str, Any]:
    row = _fields(instance)
    return {**row, **{name: _dumps(row[name]) for name in _INSTANCE_JSON}}


def _instance(row: Row[Any]) -> StoredInstance:
    values = row._asdict()
    return StoredInstance(**{**values, **{n: json.loads(values[n]) for n in _INSTANCE_JSON}})


def _event_row(stored: StoredEvent) -> dict[str, Any]:
    row = _fields(stored)
    del row["id"]
    return {**row, "details": _dumps(stored.details)}


def _event(row: Row[Any]) -> StoredEvent:
    values = row._asdict()
    return StoredEvent(**{**values, "details": json.loads(values["details"])})


def _under(path: str, roots: set[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or below one of them."""
    while path:
        if path in roots:
            return True
        path = path.rpartition("/")[0]
    return False


def _parents_first(instances: Sequence[StoredInstance]) -> list[StoredInstance]:
    """Depth first from the roots, siblings in the order given: the order the DM rebuilds its
    tree in. An instance whose parent is not stored comes out as a root: nothing is hidden."""
    paths = {i.path for i in instances}
    children: defaultdict[str | None, list[StoredInstance]] = defaultdict(list)
    for instance in instances:
        parent = instance.parent if instance.parent in paths else None
        children[parent].append(instance)
    ordered: list[StoredInstance] = []
    pending = list(reversed(children[None]))
    while pending:
        instance = pending.pop()
        ordered.append(instance)
        pending.extend(reversed(children.get(instance.path, ())))
    return ordered
