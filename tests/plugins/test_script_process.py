"""Recipes that fail, hang, print megabytes or leave daemons behind (spec 80, F5)."""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from pathlib import Path

import pytest

from roboconf.plugins import ScriptPlugin, StepContext, StepLimits, StepResult
from tests.helpers import alive
from tests.plugins.helpers import context, kill, script, write

#: a guard against a hanging test, far above what any of these steps needs.
GUARD_S = 15


def run(step: str, ctx: StepContext) -> StepResult:
    async def guarded() -> StepResult:
        async with asyncio.timeout(GUARD_S):
            return await ScriptPlugin().run(step, ctx)

    return asyncio.run(guarded())


def pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


@pytest.mark.parametrize(
    "body, reason, output",
    [
        pytest.param(
            "echo starting\necho 'port 80 taken' >&2\nexit 3\n",
            "scripts/start.sh exited with code 3: port 80 taken",
            "starting\nport 80 taken",
            id="a failure gives the exit code and the last line, stdout and stderr interleaved",
        ),
        pytest.param(
            "exit 7\n",
            "scripts/start.sh exited with code 7 (no output)",
            "",
            id="a silent failure says so",
        ),
        pytest.param(
            "echo dying\nkill -9 $$\n",
            "scripts/start.sh was killed by SIGKILL: dying",
            "dying",
            id="a recipe killed by a signal names it",
        ),
        pytest.param(
            'for i in $(seq 1 200); do echo "line $i"; done\nexit 1\n',
            "scripts/start.sh exited with code 1: line 200",
            "\n".join(f"line {i}" for i in range(151, 201)),
            id="the output tail keeps the last 50 lines",
        ),
        pytest.param(
            "printf 'bad \\xff byte\\n'\nexit 1\n",
            "scripts/start.sh exited with code 1: bad \ufffd byte",
            "bad \ufffd byte",
            id="output that is not UTF-8 is decoded safely",
        ),
    ],
)
def test_failing_steps(tmp_path: Path, body: str, reason: str, output: str) -> None:
    script(tmp_path / "recipes" / "App", "start.sh", body)
    result = run("start", context(tmp_path))
    assert (result.ok, result.reason, result.output) == (False, reason, output)


def test_a_successful_step_reports_its_output(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "deploy.sh", 'echo "in $(basename "$PWD")"\n')
    result = run("deploy", context(tmp_path))
    assert (result.ok, result.exit_code, result.reason) == (True, 0, "scripts/deploy.sh succeeded")
    assert result.output == "in scripts"  # run from its own folder


def test_a_file_that_is_no_program_fails_with_a_hint(tmp_path: Path) -> None:
    write(tmp_path / "recipes" / "App" / "scripts" / "start.sh", "echo no shebang\n")
    result = run("start", context(tmp_path))
    assert not result.ok
    assert result.exit_code is None
    assert "scripts/start.sh could not be run" in result.reason
    assert "#!/bin/sh" in result.reason


HANGING = """\
{trap}
sleep 300 &
echo $$ > "$PWD/pids"
echo $! >> "$PWD/pids"
echo waiting
wait
"""


@pytest.mark.parametrize(
    "trap",
    [
        pytest.param("", id="a hanging recipe is terminated with its children"),
        pytest.param("trap '' TERM", id="a recipe ignoring SIGTERM is killed with its children"),
    ],
)
def test_a_hanging_step_times_out_and_leaves_no_process(tmp_path: Path, trap: str) -> None:
    script(tmp_path / "recipes" / "App", "start.sh", HANGING.format(trap=trap))
    ctx = context(tmp_path, limits=StepLimits(timeout_s=0.5, kill_grace_s=0.3))
    result = run("start", ctx)
    assert (result.ok, result.timed_out, result.exit_code) == (False, True, None)
    assert result.reason == "scripts/start.sh timed out after 0.5 s: waiting"
    started = pids(ctx.work_dir / "scripts" / "pids")
    assert len(started) == 2
    assert not [pid for pid in started if alive(pid)]


def test_a_cancelled_step_leaves_no_process(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "start.sh", HANGING.format(trap=""))
    ctx = context(tmp_path)
    pid_file = ctx.work_dir / "scripts" / "pids"

    async def cancel_when_started() -> None:
        async with asyncio.timeout(GUARD_S):
            step = asyncio.create_task(ScriptPlugin().run("start", ctx))
            while not (pid_file.exists() and len(pids(pid_file)) == 2):
                await asyncio.sleep(0.01)
            step.cancel()
            with pytest.raises(asyncio.CancelledError):
                await step
        leader = pids(pid_file)[0]
        assert not Path(f"/proc/{leader}").exists(), "the recipe is reaped, not left a zombie"

    asyncio.run(cancel_when_started())

    async def settle() -> list[int]:  # SIGKILL is delivered, not waited for
        for _ in range(200):
            left = [pid for pid in pids(pid_file) if alive(pid)]
            if not left:
                break
            await asyncio.sleep(0.01)
        return left

    assert asyncio.run(settle()) == []


def test_a_recipe_printing_50_megabytes_keeps_memory_bounded(tmp_path: Path) -> None:
    body = "yes 'a line of output, again and again' | head -c 52428800\necho\necho END\nexit 2\n"
    script(tmp_path / "recipes" / "App", "start.sh", body)
    tracemalloc.start()
    try:
        result = run("start", context(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.reason == "scripts/start.sh exited with code 2: END"
    lines = result.output.splitlines()
    assert len(lines) == 50
    assert lines[-1] == "END"
    assert set(lines[:-2]) == {"a line of output, again and again"}
    assert peak < 8 * 1024 * 1024


def test_a_tail_is_bounded_in_bytes_too(tmp_path: Path) -> None:
    body = "head -c 300000 /dev/zero | tr '\\0' x\necho\necho last\n"
    script(tmp_path / "recipes" / "App", "start.sh", body)
    ctx = context(tmp_path, limits=StepLimits(tail_bytes=1000))
    result = run("start", ctx)
    assert result.ok
    assert result.output == "last"  # the first, cut line is dropped


def test_a_start_recipe_launching_a_daemon_returns_at_once(tmp_path: Path) -> None:
    body = 'sleep 300 &\necho $! > "$PWD/daemon.pid"\necho launched\n'
    script(tmp_path / "recipes" / "App", "start.sh", body)
    ctx = context(tmp_path, limits=StepLimits(timeout_s=60))
    result = run("start", ctx)
    (daemon,) = pids(ctx.work_dir / "scripts" / "daemon.pid")
    try:
        assert (result.ok, result.output) == (True, "launched")
        assert alive(daemon), "the daemon must outlive its start recipe"
    finally:
        kill(daemon)


def test_output_lines_are_streamed_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script(tmp_path / "recipes" / "App", "start.sh", "echo one\necho two >&2\nprintf three\n")
    with caplog.at_level(logging.DEBUG, logger="roboconf.plugins"):
        assert run("start", context(tmp_path)).ok
    assert caplog.messages == ["/vm/app start: one", "/vm/app start: two", "/vm/app start: three"]
