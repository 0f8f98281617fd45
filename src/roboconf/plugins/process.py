"""Running one recipe program: its own process group, a timeout, bounded output.

- The program is executed directly (its shebang line), never through a shell command line; its
  standard input is closed; stdout and stderr go to one pipe, so the tail interleaves them.
- It leads a new session (process group): on timeout or cancellation the whole group is killed
  (SIGTERM, then SIGKILL after a grace period), including what it started in the background.
  How it is started and awaited cheaply: :mod:`roboconf.plugins.spawn`.
- Output is read as it comes: only the last ``tail_bytes`` are kept, whatever the program prints,
  and lines are streamed to the log at DEBUG level.
- Reading stops when the program exits, not when the pipe closes: a ``start`` recipe that launches
  a daemon returns at once even if the daemon kept the pipe. Such a daemon should redirect its
  output (``nohup server >server.log 2>&1 &``): once the recipe has exited, the pipe is closed and
  a daemon still writing to it gets SIGPIPE (or EPIPE).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from roboconf.plugins.base import StepLimits, StepResult
from roboconf.plugins.spawn import Child, signal_group, spawn

_CHUNK = 64 * 1024
#: after the program exits, what is still in the pipe is read for at most this long.
_DRAIN_S = 0.1
#: the longest line written to the log in one piece.
_MAX_LOG_LINE = 4096
#: how often the group is polled while it is given time to exit.
_POLL_S = 0.02


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessOutcome:
    """``exit_code`` is None when the program could not be started (``error`` says why);
    negative when a signal ended it (``-9``: SIGKILL)."""

    exit_code: int | None
    timed_out: bool = False
    output: str = ""
    error: str | None = None


class OutputTail:
    """The last bytes and lines of an output of any size, and its lines streamed to a log."""

    def __init__(self, limits: StepLimits, log: logging.Logger, label: str) -> None:
        self._limits = limits
        self._kept = bytearray()
        self._cut = False
        self._log = log
        self._label = label
        self._partial = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._kept += chunk
        excess = len(self._kept) - self._limits.tail_bytes
        if excess > 0:
            del self._kept[:excess]
            self._cut = True
        if self._log.isEnabledFor(logging.DEBUG):
            self._stream(chunk)

    def flush(self) -> None:
        if self._partial:
            self._emit(bytes(self._partial))
            self._partial.clear()

    def text(self) -> str:
        data = bytes(self._kept)
        if self._cut and b"\n" in data:
            data = data[data.index(b"\n") + 1 :]  # drop the first line, cut somewhere inside
        lines = data.decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-self._limits.tail_lines :]) if self._limits.tail_lines else ""

    def _stream(self, chunk: bytes) -> None:
        self._partial += chunk
        *lines, rest = bytes(self._partial).split(b"\n")
        for line in lines:
            self._emit(line)
        self._partial = bytearray(rest)
        while len(self._partial) > _MAX_LOG_LINE:
            self._emit(bytes(self._partial[:_MAX_LOG_LINE]))
            del self._partial[:_MAX_LOG_LINE]

    def _emit(self, line: bytes) -> None:
        self._log.debug("%s: %s", self._label, line.decode("utf-8", "replace").rstrip("\r"))


async def run_program(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: StepLimits,
    log: logging.Logger,
    label: str,
) -> ProcessOutcome:
    """Run ``argv`` to its end or its timeout; ``label`` prefixes its lines in the log."""
    tail = OutputTail(limits, log, label)
    read_fd, write_fd = os.pipe()
    try:
        process = await spawn(argv, cwd=cwd, env=env, output=write_fd)
    except (OSError, ValueError) as error:
        os.close(read_fd)
        return ProcessOutcome(exit_code=None, error=_describe(error))
    finally:
        os.close(write_fd)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    pipe = open(read_fd, "rb", buffering=0)  # noqa: SIM115 (closed here or by the transport)
    transport: asyncio.ReadTransport | None = None
    timed_out = False
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        async with asyncio.TaskGroup() as group:
            pump = group.create_task(_pump(reader, tail))
            try:
                async with asyncio.timeout(limits.timeout_s):
                    await process.wait()
            except TimeoutError:
                timed_out = True
                await _terminate(process, limits.kill_grace_s)
            await asyncio.wait({pump}, timeout=_DRAIN_S)
            pump.cancel()
    except BaseException as error:
        if process.returncode is None:  # cancelled while running: leave nothing behind
            signal_group(process.pid, signal.SIGKILL)
            if isinstance(error, asyncio.CancelledError):
                await _reaped(process, limits.kill_grace_s)
        raise
    finally:
        if transport is None:
            pipe.close()
        else:
            transport.close()
        tail.flush()
    code = None if timed_out else process.returncode
    return ProcessOutcome(exit_code=code, timed_out=timed_out, output=tail.text())


async def _pump(reader: asyncio.StreamReader, tail: OutputTail) -> None:
    while chunk := await reader.read(_CHUNK):
        tail.feed(chunk)


async def _terminate(process: Child, grace_s: float) -> None:
    """SIGTERM to the group, time to exit, then SIGKILL to whatever is left of it."""
    signal_group(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace_s):
            await process.wait()
            while _group_alive(process.pid):
                await asyncio.sleep(_POLL_S)
    except TimeoutError:
        pass
    signal_group(process.pid, signal.SIGKILL)
    await process.wait()


async def _reaped(process: Child, grace_s: float) -> None:
    """Wait for a killed program to exit, so that it is reaped; a second cancellation, or a
    program stuck in the kernel for longer than ``grace_s``, ends the wait."""
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        async with asyncio.timeout(grace_s):
            await process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _describe(error: OSError | ValueError) -> str:
    if isinstance(error, OSError) and error.errno == errno.ENOEXEC:
        return "it is not an executable program (does it start with a line such as #!/bin/sh?)"
    if isinstance(error, PermissionError):
        return "permission denied (is it executable, on a file system that allows it?)"
    return str(error)


def outcome_result(
    step: str, label: str, outcome: ProcessOutcome, limits: StepLimits, duration_s: float
) -> StepResult:
    """The step's result, with a reason that names the program and quotes its last line."""
    code = outcome.exit_code
    if outcome.error is not None:
        reason = f"{label} could not be run: {outcome.error}"
    elif outcome.timed_out:
        reason = f"{label} timed out after {limits.timeout_s:g} s"
    elif code == 0:
        reason = f"{label} succeeded"
    elif code is not None and code < 0:
        reason = f"{label} was killed by {_signal_name(-code)}"
    else:
        reason = f"{label} exited with code {code}"
    if outcome.error is None and code != 0:
        reason += _last_line(outcome.output)
    return StepResult(
        step=step,
        ok=code == 0,
        reason=reason,
        exit_code=code,
        timed_out=outcome.timed_out,
        duration_s=duration_s,
        output=outcome.output,
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return " (no output)"
    last = lines[-1]
    return f": {last[:197]}..." if len(last) > 200 else f": {last}"
