"""Starting a recipe's program and awaiting its exit, at the lowest cost the system allows.

``asyncio.create_subprocess_exec`` forks on the event loop's thread and, on Python 3.11 (its
``ThreadedChildWatcher``), starts one thread per child only to wait for its exit: for hundreds
of short recipes that is most of the cost of a step. Where Linux gives process file descriptors
(pidfd, Linux 5.3), a child is started by :class:`subprocess.Popen` in a worker thread (the loop
goes on meanwhile) and its exit is awaited by watching its pidfd with the loop's selector: no
thread per child. Elsewhere, asyncio's own way is used.

Either way the program is executed directly (never through a shell), leads a new session (its
process group is the session's), reads ``/dev/null``, writes stdout and stderr to the given
file descriptor and inherits no other one.

A program cannot be executed while a file descriptor open for writing on it exists anywhere
(``ETXTBSY``): when another thread of this process copies recipes while a child is being
started, that child holds the copy's descriptor until it executes its own program, a fraction
of a millisecond. Such a start is retried a few times before the error is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

#: the pauses between attempts to start a program that is busy (``ETXTBSY``), in seconds.
_BUSY_RETRIES_S = (0.005, 0.02, 0.05, 0.1, 0.2)
#: how often a child is polled when no pidfd can be opened for it (out of file descriptors).
_POLL_S = 0.02


class Child(Protocol):
    """A started program (the leader of its own process group)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int:
        """Its exit code once it has exited (negative: the signal that ended it)."""
        ...


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: int,
    pidfd: bool | None = None,
) -> Child:
    """Start ``argv`` in ``cwd`` with exactly ``env``, its output to the descriptor ``output``.

    ``pidfd`` chooses the way (None: pidfds where :func:`pidfd_usable`). Raises OSError or
    ValueError when the program cannot be started (not found, not executable, a NUL character
    in an argument...).
    """
    options: dict[str, Any] = {
        "cwd": cwd,
        "env": dict(env),
        "stdin": subprocess.DEVNULL,
        "stdout": output,
        "stderr": output,
        "start_new_session": True,
    }
    start = _start_with_pidfd if (pidfd_usable() if pidfd is None else pidfd) else _start
    for pause in _BUSY_RETRIES_S:
        try:
            return await start(list(argv), options)
        except OSError as error:
            if error.errno != errno.ETXTBSY:
                raise
        await asyncio.sleep(pause)
    return await start(list(argv), options)


@functools.cache
def pidfd_usable() -> bool:
    """Can this process open pidfds (Linux 5.3 and later, not refused by a sandbox)?"""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def signal_group(group: int, number: signal.Signals) -> None:
    """Send ``number`` to the process group ``group``, if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(group, number)


async def _start(argv: list[str], options: dict[str, Any]) -> Child:
    return await asyncio.create_subprocess_exec(*argv, **options)


async def _start_with_pidfd(argv: list[str], options: dict[str, Any]) -> Child:
    popen = functools.partial(_popen, argv, options)
    started = asyncio.get_running_loop().run_in_executor(None, popen)
    try:
        return PidfdChild(await asyncio.shield(started))
    except asyncio.CancelledError:
        await _discard(started)
        raise


def _popen(argv: list[str], options: dict[str, Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, **options)


async def _discard(started: asyncio.Future[subprocess.Popen[bytes]]) -> None:
    """A start cancelled half-way: the program starts anyway (in its thread); kill its group
    and reap it. A second cancellation ends the wait (the standard library reaps it later)."""
    with contextlib.suppress(OSError, ValueError, asyncio.CancelledError):
        child = PidfdChild(await asyncio.shield(started))
        signal_group(child.pid, signal.SIGKILL)
        await child.wait()


class PidfdChild:
    """A child started by :class:`subprocess.Popen`, whose exit is awaited through a pidfd."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        if self._popen.returncode is None:
            try:
                pidfd = os.pidfd_open(self._popen.pid)
            except OSError:  # out of file descriptors: poll instead
                while self._popen.poll() is None:
                    await asyncio.sleep(_POLL_S)
            else:
                await _readable(pidfd)
        return self._popen.wait()  # it has exited: this only reaps it


async def _readable(fd: int) -> None:
    """Wait until ``fd`` is readable (a pidfd: its process has exited), then close it."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _resolve, ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
