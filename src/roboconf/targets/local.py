"""The ``local`` handler: each machine is a ``roboconf agent`` process on the DM's host.

The agent gets its identity in a ``.properties`` file written in the machine's folder
(``<root>/<application>/<escaped path>/agent.properties``; its log is ``agent.log`` beside it)
and runs real recipes. Agents run in their own session: a Ctrl-C meant for the DM does not
reach them (the DM undeploys their instances, then terminates them), and they outlive a DM that
crashes — the restarted DM finds them by their machine id, ``local:<pid>:<start time>``, the
start time telling a live agent from another process that got the same pid.

Keys: ``local.python`` (the interpreter that runs the agent, default this one) and
``local.agent.*`` (agent configuration keys, e.g. ``local.agent.check.period = 2``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import quote

from roboconf.targets.base import (
    AgentProperties,
    MachineIdentity,
    TargetDefinition,
    TargetError,
    agent_configuration,
    properties_text,
)

log = logging.getLogger(__name__)

#: seconds a terminated agent has to exit before it is killed
TERMINATE_GRACE_S = 10.0
_AGENT_PREFIX = "local.agent."


class LocalHandler:
    """Starts, checks and stops agent processes; ``root`` holds one folder per machine."""

    handler_id = "local"

    def __init__(self, root: Path, agent_properties: AgentProperties) -> None:
        self._root = root
        self._agent_properties = agent_properties
        #: the processes this handler started (reaped here; others are only signalled)
        self._children: dict[str, asyncio.subprocess.Process] = {}

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        folder = self.machine_folder(identity)
        properties = agent_configuration(
            target,
            identity,
            {"data.dir": str(folder / "work")},
            self._agent_properties(identity),
            prefix=_AGENT_PREFIX,
        )
        config = await asyncio.to_thread(_write_config, folder, properties_text(properties))
        python = target.get("local.python") or sys.executable
        with open(folder / "agent.log", "ab") as output:
            try:
                process = await asyncio.create_subprocess_exec(
                    python,
                    "-m",
                    "roboconf",
                    "agent",
                    "--config",
                    str(config),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    start_new_session=True,
                    cwd=folder,
                )
            except OSError as error:
                raise TargetError(f"cannot start an agent with {python}: {error}") from error
        started = _start_time(process.pid)
        machine_id = f"local:{process.pid}:{started}"
        self._children[machine_id] = process
        log.info("%s: agent started (pid %d)", identity.scoped_path, process.pid)
        return machine_id

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Nothing to do: the agent read its identity when it started."""

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool:
        pid, started = _parse(machine_id)
        return _start_time(pid) == started

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        pid, started = _parse(machine_id)
        child = self._children.pop(machine_id, None)
        if _start_time(pid) != started:
            if child is not None:
                await child.wait()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        if not await _gone(pid, started, child, TERMINATE_GRACE_S):
            log.warning("agent %d did not stop in %.0f s: killed", pid, TERMINATE_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            await _gone(pid, started, child, TERMINATE_GRACE_S)

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None:
        return "127.0.0.1"

    def machine_folder(self, identity: MachineIdentity) -> Path:
        return (
            self._root
            / quote(identity.application, safe="")
            / quote(identity.scoped_path.strip("/"), safe="")
        )


def _write_config(folder: Path, text: str) -> Path:
    """``agent.properties`` in ``folder``, readable by its owner only from the start (it may
    hold the broker's password)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "agent.properties"
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    config.chmod(0o600)  # a file from before keeps its mode through O_TRUNC
    return config


async def _gone(
    pid: int, started: str, child: asyncio.subprocess.Process | None, within_s: float
) -> bool:
    """Wait until the process exits (reaping it if it is ours); False after ``within_s``."""
    if child is not None:
        try:
            async with asyncio.timeout(within_s):
                await child.wait()
        except TimeoutError:
            return False
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while _start_time(pid) == started:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' when there is no such live
    process): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start = fields[0], fields[19]
    return "" if state in ("Z", "X") else start


def _parse(machine_id: str) -> tuple[int, str]:
    kind, _, rest = machine_id.partition(":")
    pid, _, started = rest.partition(":")
    if kind != "local" or not pid.isdigit() or not started:
        raise TargetError(f"{machine_id!r} is no machine of the local handler")
    return int(pid), started
