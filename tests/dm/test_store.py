"""The DM's store, on SQLite and on PostgreSQL: the same tests, the same results.

PostgreSQL is the server on 127.0.0.1:5432 (user postgres, trust): every test gets a database of
its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from roboconf.dm.memory_store import MemoryStore
from roboconf.dm.sql_store import METADATA, database_url, migration_config
from roboconf.dm.store import (
    MEMORY_URL,
    Store,
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
    open_store,
)
from tests.dm.databases import new_database

#: a guard against a test waiting forever (not a timing check)
PATIENCE = 60.0
Scenario = Callable[[Store], Awaitable[None]]


@pytest.fixture(
    params=["memory", "sqlite", "postgresql"], ids=["in memory", "on SQLite", "on PostgreSQL"]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL of a new, empty store: the contract holds for every implementation."""
    if request.param == "memory":
        yield MEMORY_URL
        return
    with new_database(request.param, tmp_path) as found:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"], ids=["on SQLite", "on PostgreSQL"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database, for what only a database has (files, schema, other processes)."""
    with new_database(request.param, tmp_path) as found:
        yield found


def run(url: str | None, data_dir: Path, *scenarios: Scenario) -> None:
    """Each scenario on the store at ``url``, opened for it (so reopened after the first), in
    one event loop. A store in memory is the same one for every scenario (it is gone when
    closed)."""

    async def main() -> None:
        async with asyncio.timeout(PATIENCE):
            kept = MemoryStore() if url == MEMORY_URL else None
            for scenario in scenarios:
                store = kept or await open_store(url, data_dir)
                try:
                    await scenario(store)
                finally:
                    await store.close()

    asyncio.run(main())


def on_connection(url: str, data_dir: Path, work: Callable[[Connection], Any]) -> Any:
    """``work`` on a plain connection to the store's database, committed."""

    async def main() -> Any:
        engine = create_async_engine(database_url(url, data_dir))
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


# -- values ------------------------------------------------------------------------------------


def template(name: str = "webstack", version: str = "1.0") -> StoredTemplate:
    return StoredTemplate(
        name=name,
        version=version,
        description="a web stack",
        tags=("web", "demo"),
        archive=b"PK\x03\x04\x00\xff zip bytes",
        uploaded_at=1764000000.25,
    )


def application(name: str = "app", version: str = "1.0") -> StoredApplication:
    return StoredApplication(
        name=name,
        template_name="webstack",
        template_version=version,
        description="production",
        created_at=1764000001.5,
    )


def instance(path: str, position: int = 0, app: str = "app", **changes: Any) -> StoredInstance:
    parent, _, name = path.rpartition("/")
    values: dict[str, Any] = {
        "application": app,
        "path": path,
        "name": name,
        "component": "VM" if not parent else "Tomcat",
        "parent": parent or None,
        "position": position,
        "status": "NOT_DEPLOYED",
    }
    return StoredInstance(**(values | changes))


def event(kind: str = "instance.changed", app: str | None = "app", **changes: Any) -> StoredEvent:
    values: dict[str, Any] = {"at": 1764000002.0, "kind": kind, "application": app}
    return StoredEvent(**(values | changes))


async def nothing(store: Store) -> None:
    """Open and close."""


async def with_application(store: Store, *names: str) -> None:
    await store.put_template(template())
    for name in names or ("app",):
        await store.put_application(application(name))


# -- templates and applications -------------------------------------------------------------


def test_templates_round_trip_sorted_by_name_and_version(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        for name, version in (("b", "1"), ("a", "2"), ("a", "1")):
            await store.put_template(template(name, version))
        assert await store.get_template("a", "2") == template("a", "2")
        assert await store.get_template("a", "3") is None
        listed = [(t.name, t.version) for t in await store.list_templates()]
        assert listed == [("a", "1"), ("a", "2"), ("b", "1")]
        assert await store.delete_template("a", "2") is True
        assert await store.delete_template("a", "2") is False
        assert await store.get_template("a", "2") is None

    run(url, tmp_path, scenario)


def test_a_template_version_is_stored_once(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await store.put_template(template())
        with pytest.raises(StoreConflict, match=r"'webstack' version '1.0' exists"):
            await store.put_template(template())
        assert await store.list_templates() == [template()]

    run(url, tmp_path, scenario)


def test_a_template_in_use_cannot_be_deleted(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store, "shop", "blog")
        with pytest.raises(StoreConflict, match=r"used by application\(s\) blog, shop"):
            await store.delete_template("webstack", "1.0")
        await store.delete_application("shop")
        await store.delete_application("blog")
        assert await store.delete_template("webstack", "1.0") is True

    run(url, tmp_path, scenario)


def test_applications_round_trip_and_conflict(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store, "b", "a")
        assert await store.get_application("a") == application("a")
        assert await store.get_application("c") is None
        assert [a.name for a in await store.list_applications()] == ["a", "b"]
        with pytest.raises(StoreConflict, match="application 'a' exists"):
            await store.put_application(application("a"))
        assert await store.delete_application("b") is True
        assert await store.delete_application("b") is False

    run(url, tmp_path, scenario)


def test_an_application_needs_a_stored_template(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        with pytest.raises(StoreError, match=r"template 'webstack' version '2\.0'") as raised:
            await store.put_application(application("app", version="2.0"))
        assert not isinstance(raised.value, StoreConflict)
        assert await store.list_applications() == []

    run(url, tmp_path, scenario)


def test_deleting_an_application_deletes_its_instances_associations_and_bindings(
    url: str, tmp_path: Path
) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store, "app", "other")
        for app in ("app", "other"):
            await store.save_instances(app, [instance("/vm", app=app)])
            await store.set_association(
                StoredAssociation(application=app, key="/vm", target_id="t")
            )
            await store.set_binding(binding(app, "Lb", "lb"))
        await store.append_events([event(app="app")])
        assert await store.delete_application("app") is True
        assert await store.load_instances("app") == []
        assert await store.list_associations("app") == []
        assert await store.list_bindings() == [binding("other", "Lb", "lb")]
        assert await store.load_instances("other") == [instance("/vm", app="other")]
        assert [a.application for a in await store.list_associations()] == ["other"]
        assert len(await store.list_events(application="app")) == 1, "the history is kept"

    run(url, tmp_path, scenario)


# -- instances -------------------------------------------------------------------------------


def test_instances_round_trip_every_field(url: str, tmp_path: Path) -> None:
    full = instance(
        "/vm/tomcat",
        position=3,
        overrides={"port": "8080"},
        data={"ip": "10.0.0.2", "machine.id": "vm-1"},
        status="DEPLOYED_STARTED",
        desired="DEPLOYED_STARTED",
        reason="deploy exited with 0",
        output_tail="line 1\nline 2 é ✓\n",
        imports={"Db": ["/db/mysql", "/db2/mysql"], "Cache": []},
        machine_id="vm-1",
    )

    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance("/vm"), full])
        assert await store.load_instances("app") == [instance("/vm"), full]

    run(url, tmp_path, scenario)


def test_saving_an_instance_again_replaces_it(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance("/vm"), instance("/vm/a")])
        changed = instance("/vm/a", status="PROBLEM", reason="exit 2", data={"x": "1"})
        await store.save_instances("app", [changed])
        assert await store.load_instances("app") == [instance("/vm"), changed]

    run(url, tmp_path, scenario)


def test_instances_load_depth_first_with_siblings_by_position_and_orphans_as_roots(
    url: str, tmp_path: Path
) -> None:
    tree = [
        instance("/b", position=0),
        instance("/a", position=1),
        instance("/b/z", position=0),
        instance("/b/y", position=1),
        instance("/b/z/deep", position=0),
        instance("/a/x", position=0),
        instance("/gone/orphan", position=2),
    ]

    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", list(reversed(tree)))
        loaded = [i.path for i in await store.load_instances("app")]
        assert loaded == ["/b", "/b/z", "/b/z/deep", "/b/y", "/a", "/a/x", "/gone/orphan"]

    run(url, tmp_path, scenario)


def test_deleting_instances_deletes_what_is_under_them(url: str, tmp_path: Path) -> None:
    paths = ["/vm1", "/vm1/tomcat", "/vm1/tomcat/war", "/vm10", "/vm10/tomcat", "/vm2"]

    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance(p) for p in paths])
        await store.delete_instances("app", ["/vm1", "/vm10/tomcat", "/unknown"])
        assert [i.path for i in await store.load_instances("app")] == ["/vm10", "/vm2"]

    run(url, tmp_path, scenario)


def test_instances_of_another_application_are_refused(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store)
        with pytest.raises(ValueError, match="not instances of 'app'"):
            await store.save_instances("app", [instance("/vm", app="other")])

    run(url, tmp_path, scenario)


def test_ten_thousand_instances_in_one_call(url: str, tmp_path: Path) -> None:
    machines = [instance(f"/vm{n}", position=n) for n in range(100)]
    servers = [instance(f"/vm{n}/s{k}", position=k) for n in range(100) for k in range(99)]

    async def scenario(store: Store) -> None:
        await with_application(store)
        started = time.perf_counter()
        await store.save_instances("app", machines + servers)
        saved = time.perf_counter() - started
        loaded = await store.load_instances("app")
        print(f"10,000 instances saved in {saved:.3f} s", file=sys.stderr)
        assert len(loaded) == 10_000
        assert [i.path for i in loaded[:3]] == ["/vm0", "/vm0/s0", "/vm0/s1"]

    run(url, tmp_path, scenario)


# -- targets, associations, preferences ----------------------------------------------------------


def test_targets_round_trip_and_upsert_keeps_creation_time(url: str, tmp_path: Path) -> None:
    first = StoredTarget(id="t1", handler="in-memory", properties="id = t1\n", created_at=1.0)
    other = StoredTarget(id="t0", handler="docker", properties="id = t0\n# c\n", created_at=2.0)
    changed = StoredTarget(id="t1", handler="docker", properties="id = t1\nx = y\n", created_at=9)

    async def scenario(store: Store) -> None:
        await store.put_target(first)
        await store.put_target(other)
        assert await store.get_target("t1") == first
        assert await store.list_targets() == [other, first]
        await store.put_target(changed)
        assert await store.get_target("t1") == StoredTarget(
            id="t1", handler="docker", properties="id = t1\nx = y\n", created_at=1.0
        )
        assert await store.delete_target("t1") is True
        assert await store.delete_target("t1") is False
        assert await store.get_target("t1") is None

    run(url, tmp_path, scenario)


def test_associations_are_set_by_application_and_key(url: str, tmp_path: Path) -> None:
    def association(app: str, key: str, target: str) -> StoredAssociation:
        return StoredAssociation(application=app, key=key, target_id=target)

    async def scenario(store: Store) -> None:
        await with_application(store, "b", "a")
        for app, key, target in (("b", "default", "t1"), ("a", "@VM", "t1"), ("a", "/vm", "t2")):
            await store.set_association(association(app, key, target))
        await store.set_association(association("a", "/vm", "t3"))
        assert await store.list_associations() == [
            association("a", "/vm", "t3"),
            association("a", "@VM", "t1"),
            association("b", "default", "t1"),
        ]
        assert await store.list_associations("b") == [association("b", "default", "t1")]
        assert await store.delete_association("a", "/vm") is True
        assert await store.delete_association("a", "/vm") is False
        with pytest.raises(StoreError, match="application 'nope' is not stored"):
            await store.set_association(association("nope", "default", "t1"))

    run(url, tmp_path, scenario)


def binding(app: str, prefix: str, *applications: str) -> StoredBinding:
    return StoredBinding(application=app, prefix=prefix, applications=applications)


def test_bindings_are_set_by_application_and_prefix(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store, "b", "a")
        await store.set_binding(binding("b", "Lb", "lb1"))
        await store.set_binding(binding("a", "Lb", "lb1"))
        await store.set_binding(binding("a", "Db", "db2", "db1"))
        await store.set_binding(binding("a", "Lb", "lb2", "lb1"))
        await store.set_binding(binding("b", "Cache"))
        assert await store.list_bindings() == [
            binding("a", "Db", "db2", "db1"),
            binding("a", "Lb", "lb2", "lb1"),
            binding("b", "Cache"),
            binding("b", "Lb", "lb1"),
        ]
        assert await store.list_bindings("a") == [
            binding("a", "Db", "db2", "db1"),
            binding("a", "Lb", "lb2", "lb1"),
        ]
        assert await store.delete_binding("a", "Lb") is True
        assert await store.delete_binding("a", "Lb") is False
        assert [b.prefix for b in await store.list_bindings("a")] == ["Db"]
        with pytest.raises(StoreError, match="application 'nope' is not stored"):
            await store.set_binding(binding("nope", "Lb", "lb1"))

    run(url, tmp_path, scenario)


def test_preferences_are_set_and_replaced(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        assert await store.get_preferences() == {}
        await store.set_preference("mail.to", "ops@example.org")
        await store.set_preference("events.kept", "1000")
        await store.set_preference("events.kept", "50")
        assert await store.get_preferences() == {"mail.to": "ops@example.org", "events.kept": "50"}

    run(url, tmp_path, scenario)


# -- events ------------------------------------------------------------------------------------


def test_events_get_increasing_ids_and_round_trip(url: str, tmp_path: Path) -> None:
    changed = event(
        path="/vm/db",
        status="DEPLOYED_STARTED",
        reason=None,
        details={"imports": {"Db": ["/db"]}, "count": 2, "ok": True, "none": None},
    )

    async def scenario(store: Store) -> None:
        first = await store.append_events([event(), changed])
        second = await store.append_events([event(app=None, kind="target.changed")])
        ids = first + second
        assert ids == sorted(ids) and len(set(ids)) == 3
        assert await store.append_events([]) == []
        newest = await store.list_events(limit=2)
        assert newest[0] == event(app=None, kind="target.changed", id=ids[2])
        assert newest[1] == dataclasses.replace(changed, id=ids[1])

    run(url, tmp_path, scenario)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        ({"limit": 3}, [10, 9, 8]),
        ({"limit": 3, "newest_first": False}, [1, 2, 3]),
        ({"after": 7}, [10, 9, 8]),
        ({"after": 4, "limit": 2, "newest_first": False}, [5, 6]),
        ({"before": 4}, [3, 2, 1]),
        ({"after": 2, "before": 6}, [5, 4, 3]),
        ({"application": "even"}, [10, 8, 6, 4, 2]),
        ({"application": "odd", "after": 3, "limit": 2, "newest_first": False}, [5, 7]),
        ({"limit": 0}, []),
    ],
    ids=[
        "all events come newest first",
        "a limit keeps the newest",
        "oldest first, a limit keeps the oldest",
        "after an id: only the later ones",
        "after an id, oldest first: the next page",
        "before an id: only the earlier ones",
        "after and before: the events between",
        "one application's events",
        "one application's events after an id, oldest first",
        "a limit of 0 gives nothing",
    ],
)
def test_events_are_listed_by_page(
    url: str, tmp_path: Path, query: dict[str, Any], expected: list[int]
) -> None:
    async def scenario(store: Store) -> None:
        apps = ["odd" if n % 2 else "even" for n in range(1, 11)]
        ids = await store.append_events(
            [event(app=a, details={"n": n}) for n, a in enumerate(apps)]
        )
        number = {store_id: n for n, store_id in enumerate(ids, start=1)}
        bounds = {k: ids[v - 1] for k, v in query.items() if k in ("after", "before")}
        listed = await store.list_events(**(query | bounds))
        assert [number[e.id] for e in listed] == expected

    run(url, tmp_path, scenario)


def test_pruning_keeps_the_newest_events_and_ids_are_never_reused(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        ids = await store.append_events([event(details={"n": n}) for n in range(10)])
        assert await store.prune_events(keep=3) == 7
        assert await store.prune_events(keep=3) == 0
        assert [e.id for e in await store.list_events()] == ids[:-4:-1]
        assert await store.prune_events(keep=0) == 3
        assert await store.list_events() == []
        (later,) = await store.append_events([event()])
        assert later > ids[-1]

    run(url, tmp_path, scenario)


# -- batches -----------------------------------------------------------------------------------


def test_a_batch_applies_removals_then_upserts_then_events(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance("/vm"), instance("/vm/old"), instance("/x")])
        again = instance("/vm", status="DEPLOYING")
        ids = await store.write(
            StoreBatch(
                instances=(again, instance("/vm/new")),
                removed=(("app", "/vm"), ("app", "/x")),
                events=(event(kind="instance.removed"), event(kind="instance.added")),
            )
        )
        assert [i.path for i in await store.load_instances("app")] == ["/vm", "/vm/new"]
        assert (await store.load_instances("app"))[0] == again
        assert [e.id for e in await store.list_events(newest_first=False)] == ids

    run(url, tmp_path, scenario)


def test_a_batch_with_a_failing_row_writes_nothing(url: str, tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance("/vm"), instance("/vm/a")])
        batch = StoreBatch(
            instances=(
                instance("/vm", status="DEPLOYING"),
                instance("/new"),
                instance("/x", app="gone"),
            ),
            removed=(("app", "/vm/a"),),
            events=(event(), event()),
        )
        with pytest.raises(StoreError, match="failed"):
            await store.write(batch)
        assert await store.load_instances("app") == [instance("/vm"), instance("/vm/a")]
        assert await store.list_events() == []

    run(url, tmp_path, scenario)


# -- opening -----------------------------------------------------------------------------------


def test_a_reopened_store_has_everything_and_migrates_nothing(sql_url: str, tmp_path: Path) -> None:
    target = StoredTarget(id="t", handler="in-memory", properties="id = t\n", created_at=3.0)
    association = StoredAssociation(application="app", key="default", target_id="t")

    async def fill(store: Store) -> None:
        await with_application(store)
        await store.save_instances("app", [instance("/vm"), instance("/vm/a", data={"k": "v"})])
        await store.put_target(target)
        await store.set_association(association)
        await store.set_binding(binding("app", "Lb", "lb"))
        await store.set_preference("k", "v")
        await store.append_events([event(), event()])

    async def check(store: Store) -> None:
        assert await store.list_templates() == [template()]
        assert await store.list_applications() == [application()]
        assert await store.load_instances("app") == [
            instance("/vm"),
            instance("/vm/a", data={"k": "v"}),
        ]
        assert await store.list_targets() == [target]
        assert await store.list_associations() == [association]
        assert await store.list_bindings() == [binding("app", "Lb", "lb")]
        assert await store.get_preferences() == {"k": "v"}
        assert len(await store.list_events()) == 2

    run(sql_url, tmp_path, fill, check, check)
    versions = on_connection(
        sql_url,
        tmp_path,
        lambda c: c.execute(text("SELECT version_num FROM alembic_version")).all(),
    )
    assert [v for (v,) in versions] == ["0002"]


def test_the_migrations_build_the_tables_the_store_uses(sql_url: str, tmp_path: Path) -> None:
    run(sql_url, tmp_path, nothing)

    def differences(connection: Connection) -> Any:
        return compare_metadata(MigrationContext.configure(connection), METADATA)

    assert on_connection(sql_url, tmp_path, differences) == []


def test_the_migrations_go_down_and_up_again(sql_url: str, tmp_path: Path) -> None:
    run(sql_url, tmp_path, with_application)

    def down_and_up(connection: Connection) -> tuple[set[str], set[str]]:
        command.downgrade(migration_config(connection), "base")
        emptied = set(inspect(connection).get_table_names())
        command.upgrade(migration_config(connection), "head")
        return emptied, set(inspect(connection).get_table_names())

    emptied, rebuilt = on_connection(sql_url, tmp_path, down_and_up)
    assert emptied == {"alembic_version"}
    assert rebuilt == {"alembic_version", *METADATA.tables}


def test_stores_opened_together_on_one_loop(sql_url: str, tmp_path: Path) -> None:
    """One creates the schema, the others wait for it (Alembic's globals serve one migration
    at a time), and all of them can write."""

    async def main() -> None:
        async with asyncio.timeout(PATIENCE):
            stores = await asyncio.gather(*(open_store(sql_url, tmp_path) for _ in range(6)))
            for n, store in enumerate(stores):
                await store.set_preference(f"p{n}", "written")
            for store in stores:
                await store.close()

    asyncio.run(main())

    async def check(store: Store) -> None:
        assert await store.get_preferences() == {f"p{n}": "written" for n in range(6)}

    run(sql_url, tmp_path, check)


def test_stores_opened_together_by_processes(sql_url: str, tmp_path: Path) -> None:
    """Processes that open a new database together: one creates the schema, the others wait
    for it, and all of them can write."""
    program = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from roboconf.dm.store import open_store\n"
        "async def main():\n"
        "    store = await open_store(sys.argv[1], Path('.'))\n"
        "    await store.set_preference(sys.argv[2], 'written')\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    )

    async def main() -> None:
        async with asyncio.timeout(PATIENCE):
            processes = [
                await asyncio.create_subprocess_exec(
                    sys.executable, "-c", program, sql_url, f"p{n}"
                )
                for n in range(4)
            ]
            codes = await asyncio.gather(*(p.wait() for p in processes))
        assert codes == [0, 0, 0, 0]

    asyncio.run(main())

    async def check(store: Store) -> None:
        assert await store.get_preferences() == {f"p{n}": "written" for n in range(4)}

    run(sql_url, tmp_path, check)


def test_a_sqlite_store_is_in_wal_mode(tmp_path: Path) -> None:
    run(None, tmp_path, nothing)
    with contextlib.closing(sqlite3.connect(tmp_path / "roboconf.db")) as database:
        assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_without_url_the_store_is_a_file_of_the_data_dir(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        await store.set_preference("k", "v")

    data_dir = tmp_path / "not" / "yet"
    run(None, data_dir, scenario)
    assert (data_dir / "roboconf.db").is_file()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////var/lib/roboconf/x.db", "sqlite+aiosqlite:////var/lib/roboconf/x.db"),
        ("sqlite+aiosqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("postgresql://u:pw@db:5433/roboconf", "postgresql+asyncpg://u:pw@db:5433/roboconf"),
        ("postgres://u@db/roboconf", "postgresql+asyncpg://u@db/roboconf"),
        ("postgresql+asyncpg://u@db/roboconf", "postgresql+asyncpg://u@db/roboconf"),
    ],
    ids=[
        "sqlite gets the async driver",
        "sqlite with the async driver is kept",
        "postgresql gets asyncpg",
        "postgres is postgresql",
        "postgresql with asyncpg is kept",
    ],
)
def test_store_urls_get_their_async_driver(given: str, expected: str) -> None:
    normalised = database_url(given, Path("/unused"))
    assert normalised.render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("mysql://root:pw@db/roboconf", "unsupported store URL scheme 'mysql'"),
        ("postgresql+psycopg2://u:pw@db/x", "unsupported store URL scheme 'postgresql\\+psycopg2'"),
        ("sqlite://", "a SQLite store needs a file"),
        ("not a url at all", "no database URL"),
    ],
    ids=[
        "an unknown database is refused",
        "a driver other than asyncpg is refused",
        "SQLite in memory is refused",
        "a text that is no URL is refused",
    ],
)
def test_bad_store_urls_are_refused_clearly(given: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=message) as raised:
        run(given, tmp_path, nothing)
    assert "pw" not in str(raised.value)
    assert "sqlite:///path/to/roboconf.db" in str(raised.value)


def test_an_unreachable_postgresql_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://postgres:s3cret@127.0.0.1:{port}/roboconf"
    with pytest.raises(StoreError) as raised:
        run(url, tmp_path, nothing)
    message = str(raised.value)
    assert f"cannot open the store postgresql+asyncpg://postgres:***@127.0.0.1:{port}/roboconf" in (
        message
    )
    assert "s3cret" not in message
