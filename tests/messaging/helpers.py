"""Running asynchronous tests without a plug-in, and reading from async iterators safely."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: a guard against a test waiting forever on a message that never comes (not a timing check)
PATIENCE = 5.0


def synchronously(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test in a fresh event loop."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def take(items: AsyncIterator[T], count: int = 1) -> list[T]:
    """The next ``count`` items."""
    async with asyncio.timeout(PATIENCE):
        return [await anext(items) for _ in range(count)]


async def rest(items: AsyncIterator[T]) -> list[T]:
    """Every item until the iterator ends."""
    async with asyncio.timeout(PATIENCE):
        return [item async for item in items]
