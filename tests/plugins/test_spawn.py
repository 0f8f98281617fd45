"""Starting programs both ways (pidfd where Linux has it, asyncio's child watcher elsewhere)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from roboconf.plugins.spawn import Child, pidfd_usable, spawn
from tests.plugins.helpers import BASE_ENV, write

T = TypeVar("T")

WAYS = [
    pytest.param(
        True,
        id="through a pidfd",
        marks=pytest.mark.skipif(not pidfd_usable(), reason="no pidfd on this system"),
    ),
    pytest.param(False, id="through asyncio's child watcher"),
]


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        async with asyncio.timeout(15):
            return await body()

    return asyncio.run(guarded())


@pytest.fixture
def null() -> Iterator[int]:
    """A descriptor of /dev/null for the programs' output."""
    with open(os.devnull, "wb") as stream:
        yield stream.fileno()


async def start(shell: str, cwd: Path, pidfd: bool, output: int) -> Child:
    return await spawn(["/bin/sh", "-c", shell], cwd=cwd, env=BASE_ENV, output=output, pidfd=pidfd)


def reaped(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize("pidfd", WAYS)
@pytest.mark.parametrize(
    "shell, code",
    [
        pytest.param("exit 0", 0, id="a success"),
        pytest.param("exit 3", 3, id="an exit code"),
        pytest.param("kill -9 $$", -9, id="a signal as a negative code"),
    ],
)
def test_a_program_exits_with_its_code_and_is_reaped(
    tmp_path: Path, null: int, pidfd: bool, shell: str, code: int
) -> None:
    async def body() -> tuple[int, int | None, int]:
        child = await start(shell, tmp_path, pidfd, null)
        return await child.wait(), child.returncode, child.pid

    exit_code, returncode, pid = run(body)
    assert (exit_code, returncode) == (code, code)
    assert reaped(pid)


@pytest.mark.parametrize("pidfd", WAYS)
def test_a_program_runs_in_its_folder_with_exactly_its_environment(
    tmp_path: Path, pidfd: bool
) -> None:
    shell = 'echo "$PWD"; env | sort; read line && echo "read $line"; echo err >&2'

    async def body() -> bytes:
        read_fd, write_fd = os.pipe()
        try:
            child = await start(shell, tmp_path, pidfd, output=write_fd)
        finally:
            os.close(write_fd)
        with open(read_fd, "rb") as pipe:
            await child.wait()
            return pipe.read()

    lines = run(body).decode().splitlines()
    assert lines[0] == str(tmp_path)
    assert [line for line in lines[1:] if not line.startswith(("PWD=", "SHLVL=", "_="))] == [
        "LANG=C.UTF-8",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "err",
    ], "stdin is /dev/null, stderr goes with stdout"


@pytest.mark.parametrize("pidfd", WAYS)
def test_a_program_leads_its_own_process_group(tmp_path: Path, null: int, pidfd: bool) -> None:
    async def body() -> tuple[int, int]:
        child = await start("sleep 5", tmp_path, pidfd, null)
        group = os.getpgid(child.pid)
        os.killpg(child.pid, signal.SIGKILL)
        await child.wait()
        return child.pid, group

    pid, group = run(body)
    assert pid == group != os.getpgid(0)


@pytest.mark.parametrize("pidfd", WAYS)
def test_a_wait_cancelled_by_a_timeout_can_be_waited_again(
    tmp_path: Path, null: int, pidfd: bool
) -> None:
    async def body() -> int:
        child = await start("sleep 0.3; exit 4", tmp_path, pidfd, null)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await child.wait()
        return await child.wait()

    assert run(body) == 4


@pytest.mark.parametrize("pidfd", WAYS)
def test_a_program_busy_being_written_is_started_once_it_is_closed(
    tmp_path: Path, null: int, pidfd: bool
) -> None:
    program = write(tmp_path / "busy.sh", "#!/bin/sh\nexit 5\n", executable=True)

    async def body() -> int:
        writing = open(program, "ab")  # noqa: SIM115 (closed while the start is retried)
        loop = asyncio.get_running_loop()
        loop.call_later(0.03, writing.close)
        child = await spawn([str(program)], cwd=tmp_path, env=BASE_ENV, output=null, pidfd=pidfd)
        return await child.wait()

    assert run(body) == 5


@pytest.mark.parametrize("pidfd", WAYS)
@pytest.mark.parametrize(
    "name, error",
    [
        pytest.param("missing.sh", FileNotFoundError, id="a missing program"),
        pytest.param("no-shebang.sh", OSError, id="a file that is no program"),
    ],
)
def test_a_program_that_cannot_start_raises(
    tmp_path: Path, null: int, pidfd: bool, name: str, error: type[OSError]
) -> None:
    write(tmp_path / "no-shebang.sh", "echo hi\n", executable=True)

    async def body() -> None:
        await spawn([str(tmp_path / name)], cwd=tmp_path, env=BASE_ENV, output=null, pidfd=pidfd)

    with pytest.raises(error):
        run(body)
