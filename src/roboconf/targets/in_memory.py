"""The ``in-memory`` handler: each machine is an agent running as a task of the DM's process.

The DM's composition root hands the handler an *agent runner* (a coroutine function that runs
one agent until cancelled), so this module does not depend on the agent. Keys:
``in-memory.delay`` (milliseconds before the machine "boots", default 0, as in Roboconf) and
``in-memory.execute-real-recipes`` (read by the runner: real plug-ins or simulated ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetError

log = logging.getLogger(__name__)

AgentRunner = Callable[[MachineIdentity, TargetDefinition], Awaitable[None]]


class InMemoryHandler:
    """Owns the agent tasks it starts: leaving ``async with`` stops every one of them."""

    handler_id = "in-memory"

    def __init__(self, run_agent: AgentRunner) -> None:
        self._run_agent = run_agent
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> InMemoryHandler:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for task in self._tasks.values():
            task.cancel()
        group, self._group = self._group, None
        assert group is not None
        await group.__aexit__(kind, error, traceback)

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        if self._group is None:
            raise TargetError("the in-memory handler is not running (use it with 'async with')")
        machine_id = f"in-memory:{identity.application}:{identity.scoped_path}"
        task = self._tasks.get(machine_id)
        if task is not None and not task.done():
            return machine_id
        delay = _milliseconds(target.get("in-memory.delay", "0"), "in-memory.delay") / 1000
        self._tasks[machine_id] = self._group.create_task(
            self._boot(delay, target, identity), name=machine_id
        )
        return machine_id

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Nothing to do: the agent got its identity when it was started."""

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool:
        task = self._tasks.get(machine_id)
        return task is not None and not task.done()

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        task = self._tasks.pop(machine_id, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None:
        return "127.0.0.1"

    async def _boot(
        self, delay: float, target: TargetDefinition, identity: MachineIdentity
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await self._run_agent(identity, target)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A crashed agent is a lost machine: the DM sees its heartbeats stop.
            log.exception("the in-memory agent of %s crashed", identity.scoped_path)


def _milliseconds(text: str | None, key: str) -> float:
    try:
        return float(text or 0)
    except ValueError as error:
        raise TargetError(f"{key} must be a number of milliseconds, not {text!r}") from error
