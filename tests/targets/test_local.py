"""The ``local`` handler starts real ``roboconf agent`` processes, finds them again by machine
id (as a restarted DM does) and terminates them.

The agents are pointed at a port where no broker listens: they keep trying to connect, which is
all these tests need of them (a running process that obeys SIGTERM). Deployments through local
agents are tested end to end in ``tests/engine/test_cli_run.py``.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetError
from roboconf.targets.local import LocalHandler
from tests.brokers import answers

LOCAL = TargetDefinition(id="local", handler="local", properties={"local.agent.check.period": "0"})
NOWHERE = {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://guest:guest@127.0.0.1:9/"}


def identity(path: str = "/vm 1") -> MachineIdentity:
    return MachineIdentity(application="shop", scoped_path=path, messaging=NOWHERE)


def handler(root: Path) -> LocalHandler:
    return LocalHandler(root, lambda _identity: {"heartbeat.period": "1"})


def test_an_agent_process_is_started_found_again_and_terminated(tmp_path: Path) -> None:
    assert not answers("127.0.0.1", 9)

    async def scenario() -> None:
        local = handler(tmp_path)
        machine_id = await local.create_machine(LOCAL, identity())
        assert await local.is_machine_running(LOCAL, machine_id)
        folder = local.machine_folder(identity())
        config = (folder / "agent.properties").read_text()
        assert "scoped.path = /vm 1" in config and "check.period = 0" in config
        assert "heartbeat.period = 1" in config
        assert stat.S_IMODE((folder / "agent.properties").stat().st_mode) == 0o600

        # a DM restarted: a new handler, same machine id, the process is not its child
        restarted = handler(tmp_path)
        assert await restarted.is_machine_running(LOCAL, machine_id)
        await restarted.terminate_machine(LOCAL, machine_id)
        assert not await restarted.is_machine_running(LOCAL, machine_id)
        await restarted.terminate_machine(LOCAL, machine_id)  # already gone: fine
        await local.terminate_machine(LOCAL, machine_id)  # reaps its child
        pid = int(machine_id.split(":")[1])
        assert not Path(f"/proc/{pid}").exists()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_pid_reused_by_another_process_is_not_the_machine(tmp_path: Path) -> None:
    start = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    wrong = f"local:{os.getpid()}:{int(start) + 1}"
    assert not asyncio.run(handler(tmp_path).is_machine_running(LOCAL, wrong))
    asyncio.run(handler(tmp_path).terminate_machine(LOCAL, wrong))  # nothing is signalled


@pytest.mark.parametrize("machine_id", ["in-memory:x", "local:abc:1", "local:12"])
def test_foreign_machine_ids_are_refused(tmp_path: Path, machine_id: str) -> None:
    with pytest.raises(TargetError, match="no machine of the local handler"):
        asyncio.run(handler(tmp_path).is_machine_running(LOCAL, machine_id))


def test_an_interpreter_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    target = TargetDefinition(
        id="local", handler="local", properties={"local.python": str(tmp_path / "nothing")}
    )
    with pytest.raises(TargetError, match="cannot start an agent"):
        asyncio.run(handler(tmp_path).create_machine(target, identity()))
