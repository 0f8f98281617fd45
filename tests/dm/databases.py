"""New, empty databases for tests: a SQLite file in a temporary folder, or a database of its own
on the machine's PostgreSQL server (127.0.0.1:5432, user postgres), dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from tests.conftest import skip_or_fail

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(**POSTGRES, database="postgres", timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def new_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of ``kind`` (sqlite or postgresql)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/store/roboconf.db"
        return
    name = f"roboconf_test_{uuid.uuid4().hex}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        skip_or_fail(f"PostgreSQL on 127.0.0.1:5432 cannot be used: {error}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_postgres_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
