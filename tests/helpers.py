"""Small helpers the tests share: free ports, processes, ``async def`` tests with a bound."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import signal
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

#: Linux's prctl option: a signal for this process when its parent dies
PR_SET_PDEATHSIG = 1

AsyncTest = Callable[..., Coroutine[Any, Any, None]]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` now (the system's choice)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def alive(pid: int) -> bool:
    """Is ``pid`` a running process (a zombie waiting to be reaped counts as gone)?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def terminated_with_parent() -> None:
    """In a child before it runs (``preexec_fn``): SIGTERM when the test process dies, so that
    a test run killed abruptly leaves no server behind (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def bounded_by(seconds: float) -> Callable[[AsyncTest], Callable[..., None]]:
    """A decorator: run an ``async def`` test in a fresh event loop, for at most ``seconds``."""

    def decorate(test: AsyncTest) -> Callable[..., None]:
        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> None:
            async def within() -> None:
                async with asyncio.timeout(seconds):
                    await test(*args, **kwargs)

            asyncio.run(within())

        return run

    return decorate
