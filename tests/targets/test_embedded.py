"""The ``embedded`` handler: waiting for hand-started agents, and a pool of real SSH hosts
(``sshd`` in network namespaces, see ``tests/ssh_hosts.py``).

Most hosts' agent commands are fakes that leave a trace in the agent's folder: what they test is
the identity copied over SSH and the commands run. The last tests start real agents: one alone,
and one a DM deploys onto, which gets its recipes over messaging.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetError
from roboconf.targets.embedded import EmbeddedHandler
from tests.helpers import alive
from tests.served_dm import served_dm
from tests.ssh_hosts import SshHosts, ssh_hosts

MESSAGING = {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://u:p@broker:5672/"}


def identity(path: str) -> MachineIdentity:
    return MachineIdentity(application="shop", scoped_path=path, messaging=MESSAGING)


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, 60))


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[SshHosts]:
    with ssh_hosts(tmp_path / "hosts", 2) as created:
        yield created


def pool(hosts: SshHosts, tmp_path: Path, **keys: str) -> TargetDefinition:
    properties = {
        "embedded.ip": ", ".join(host.address for host in hosts.hosts),
        "scp.keyfile": str(hosts.client_key),
        "scp.known.hosts.file": str(hosts.known_hosts(tmp_path / "known_hosts")),
        "embedded.agent.command": "echo started >> {configdir}/trace",
        "embedded.agent.stop.command": "echo stopped >> {configdir}/trace",
        "embedded.agent.heartbeat.period": "2",
        **{key.replace("_", "."): value for key, value in keys.items()},
    }
    return TargetDefinition(id="lab", handler="embedded", properties=properties)


def machine_target(target: TargetDefinition, folder: Path) -> TargetDefinition:
    """The target as the DM gives it for one machine (instance data overrides its keys): each
    machine gets its own agent folder, the test hosts sharing one file system."""
    return target.with_overrides({"scp.agent.configdir": str(folder)})


def test_without_a_pool_the_handler_waits_for_a_hand_started_agent(tmp_path: Path) -> None:
    # a known hosts file that does not exist: any SSH attempt would fail
    target = TargetDefinition(
        id="wait",
        handler="embedded",
        properties={"scp.known.hosts.file": str(tmp_path / "nothing")},
    )

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, identity("/vm 1"))
        assert machine_id == "embedded:shop:/vm 1"
        await handler.configure_machine(target, machine_id, identity("/vm 1"))
        assert await handler.is_machine_running(target, machine_id)
        assert await handler.public_ip(target, machine_id) is None
        await handler.terminate_machine(target, machine_id)
        # as many machines as instances: no pool to exhaust
        assert await handler.create_machine(target, identity("/vm 2")) == "embedded:shop:/vm 2"

    run(scenario())


def test_pool_hosts_get_the_identity_over_ssh_and_are_freed_on_terminate(
    hosts: SshHosts, tmp_path: Path
) -> None:
    target = pool(hosts, tmp_path)
    first, second = (host.address for host in hosts.hosts)

    async def scenario() -> None:
        handler = EmbeddedHandler()
        vm1 = machine_target(target, tmp_path / "vm1")
        machine_id = await handler.create_machine(vm1, identity("/vm1"))
        assert machine_id == f"embedded:shop:/vm1@{first}"
        assert await handler.create_machine(vm1, identity("/vm1")) == machine_id  # idempotent
        await handler.configure_machine(vm1, machine_id, identity("/vm1"))
        config = tmp_path / "vm1" / "agent.properties"
        lines = config.read_text().splitlines()
        assert "application = shop" in lines and "scoped.path = /vm1" in lines
        assert f"ip = {first}" in lines and "heartbeat.period = 2" in lines
        assert "rabbitmq.url = amqp://u:p@broker:5672/" in lines
        assert not any(line.startswith("command") for line in lines)
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert (tmp_path / "vm1" / "trace").read_text() == "started\n"
        assert await handler.public_ip(vm1, machine_id) == first
        assert await handler.is_machine_running(vm1, machine_id)

        vm2 = machine_target(target, tmp_path / "vm2")
        other = await handler.create_machine(vm2, identity("/vm2"))
        assert other.endswith(f"@{second}")
        await handler.configure_machine(vm2, other, identity("/vm2"))
        vm3 = machine_target(target, tmp_path / "vm3")
        with pytest.raises(TargetError, match=r"all the hosts of embedded.ip .* \(/vm1, /vm2\)"):
            await handler.create_machine(vm3, identity("/vm3"))

        await handler.terminate_machine(vm1, machine_id)
        assert (tmp_path / "vm1" / "trace").read_text() == "started\nstopped\n"
        assert not config.exists()
        assert not await handler.is_machine_running(vm1, machine_id)
        third = await handler.create_machine(vm3, identity("/vm3"))
        assert third == f"embedded:shop:/vm3@{first}"
        await handler.configure_machine(vm3, third, identity("/vm3"))

        # a restarted DM: the machines still running take their hosts again
        restarted = EmbeddedHandler()
        assert await restarted.is_machine_running(vm2, other)
        assert await restarted.is_machine_running(vm3, third)
        with pytest.raises(TargetError, match="all the hosts"):
            await restarted.create_machine(vm1, identity("/vm9"))

    run(scenario())


def test_the_default_agent_command_starts_and_stops_an_agent_by_its_pid_file(
    hosts: SshHosts, tmp_path: Path
) -> None:
    # a fake python that sleeps: the default commands start it, record its pid and kill it
    fake = tmp_path / "python"
    # (its arguments written aside, then renamed: the test never reads them half written)
    fake.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/.argv\nmv {tmp_path}/.argv {tmp_path}/argv\n'
        "exec sleep 600\n"
    )
    fake.chmod(0o755)
    faked = pool(hosts, tmp_path, embedded_python=str(fake))
    properties = {k: v for k, v in faked.properties.items() if not k.endswith("command")}
    target = machine_target(
        TargetDefinition(id="lab", handler="embedded", properties=properties),
        tmp_path / "agent dir",
    )

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, identity("/vm"))
        await handler.configure_machine(target, machine_id, identity("/vm"))
        folder = tmp_path / "agent dir"
        pid = int((folder / "agent.pid").read_text())
        for _ in range(100):
            if (tmp_path / "argv").exists():
                break
            await asyncio.sleep(0.05)
        argv = (tmp_path / "argv").read_text().strip()
        assert argv == f"-m roboconf agent --config {folder}/agent.properties"
        await handler.terminate_machine(target, machine_id)
        for _ in range(100):
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not alive(pid)
        assert not (folder / "agent.pid").exists() and not (folder / "agent.properties").exists()

    run(scenario())


def test_an_unknown_host_key_is_refused_and_the_host_freed(hosts: SshHosts, tmp_path: Path) -> None:
    trusted = tmp_path / "only_the_second"
    trusted.write_text(hosts.hosts[1].known_hosts_line + "\n")
    target = machine_target(pool(hosts, tmp_path), tmp_path / "vm")
    target = target.with_overrides({"scp.known.hosts.file": str(trusted)})

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, identity("/vm"))
        with pytest.raises(TargetError, match=f"the key of host {hosts.hosts[0].address}"):
            await handler.configure_machine(target, machine_id, identity("/vm"))
        assert not (tmp_path / "vm").exists()
        # freed: the same host again; with the check turned off, it is configured
        assert await handler.create_machine(target, identity("/vm")) == machine_id
        unchecked = target.with_overrides({"scp.known.hosts.file": "none"})
        await handler.configure_machine(unchecked, machine_id, identity("/vm"))
        assert (tmp_path / "vm" / "agent.properties").is_file()

    run(scenario())


def test_a_missing_known_hosts_file_is_an_error_not_an_open_door(
    hosts: SshHosts, tmp_path: Path
) -> None:
    target = pool(hosts, tmp_path, scp_known_hosts_file=str(tmp_path / "absent"))

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, identity("/vm"))
        with pytest.raises(TargetError, match=r"no known hosts file at .*absent"):
            await handler.configure_machine(target, machine_id, identity("/vm"))

    run(scenario())


def test_a_refused_login_and_an_unreachable_host_are_clear_errors(
    hosts: SshHosts, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    target = machine_target(pool(hosts, tmp_path), tmp_path / "vm")

    async def scenario() -> None:
        handler = EmbeddedHandler()
        refused = target.with_overrides({"scp.keyfile": str(stranger)})
        machine_id = await handler.create_machine(refused, identity("/vm"))
        with pytest.raises(TargetError, match=r"root@\S+ refused the SSH login with the key"):
            await handler.configure_machine(refused, machine_id, identity("/vm"))

        # the first host's sshd stops: nothing listens there any more
        first = hosts.hosts[0]
        os.kill(int((first.folder / "sshd.pid").read_text()), signal.SIGTERM)
        for _ in range(100):
            if not (first.folder / "sshd.pid").exists():
                break
            await asyncio.sleep(0.05)
        machine_id = await handler.create_machine(target, identity("/vm"))
        assert machine_id.endswith(f"@{first.address}")
        with pytest.raises(TargetError, match=f"cannot reach {first.address} over SSH"):
            await handler.configure_machine(target, machine_id, identity("/vm"))
        assert not await handler.is_machine_running(target, machine_id)
        await handler.terminate_machine(target, machine_id)  # unreachable: freed all the same

    run(scenario())


@pytest.mark.parametrize("machine_id", ["local:1:2", "embedded:shop", "embedded:shop:/vm@"])
def test_foreign_machine_ids_are_refused(machine_id: str) -> None:
    target = TargetDefinition(id="wait", handler="embedded")
    with pytest.raises(TargetError, match="no machine of the embedded handler"):
        asyncio.run(EmbeddedHandler().is_machine_running(target, machine_id))


def test_a_real_agent_is_started_on_the_host_and_stopped(hosts: SshHosts, tmp_path: Path) -> None:
    # the hosts share this file system: the project's interpreter runs there too; the broker is
    # where nothing listens (the agent keeps trying, alive, which is all this test needs)
    faked = pool(hosts, tmp_path, embedded_python=sys.executable)
    properties = {k: v for k, v in faked.properties.items() if not k.endswith("command")}
    target = machine_target(
        TargetDefinition(id="lab", handler="embedded", properties=properties), tmp_path / "agent"
    )
    nowhere = {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://guest:guest@127.0.0.1:9/"}
    vm = MachineIdentity(application="shop", scoped_path="/vm", messaging=nowhere)

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, vm)
        await handler.configure_machine(target, machine_id, vm)
        pid = int((tmp_path / "agent" / "agent.pid").read_text())
        await asyncio.sleep(1.5)
        log = (tmp_path / "agent" / "agent.log").read_text()
        assert alive(pid), log
        assert await handler.is_machine_running(target, machine_id)
        await handler.terminate_machine(target, machine_id)
        for _ in range(200):
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        log = (tmp_path / "agent" / "agent.log").read_text()
        assert not alive(pid) and "agent shop /vm: stopped" in log, log

    run(scenario())


def test_by_default_the_users_known_hosts_decide(
    hosts: SshHosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    properties = dict(pool(hosts, tmp_path).properties)
    del properties["scp.known.hosts.file"]
    target = machine_target(
        TargetDefinition(id="lab", handler="embedded", properties=properties), tmp_path / "vm"
    )

    async def scenario() -> None:
        handler = EmbeddedHandler()
        machine_id = await handler.create_machine(target, identity("/vm"))
        with pytest.raises(TargetError, match=r"no known hosts file at .*home/\.ssh/known_hosts"):
            await handler.configure_machine(target, machine_id, identity("/vm"))
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "known_hosts").write_text(hosts.hosts[1].known_hosts_line + "\n")
        machine_id = await handler.create_machine(target, identity("/vm"))
        with pytest.raises(TargetError, match="is not trusted"):
            await handler.configure_machine(target, machine_id, identity("/vm"))
        (home / ".ssh" / "known_hosts").write_text(hosts.hosts[0].known_hosts_line + "\n")
        machine_id = await handler.create_machine(target, identity("/vm"))
        await handler.configure_machine(target, machine_id, identity("/vm"))
        assert (tmp_path / "vm" / "agent.properties").is_file()

    run(scenario())


def test_the_dm_deploys_on_a_pool_host_which_gets_the_recipes_over_messaging(
    tmp_path: Path,
) -> None:
    """End to end on a real SSH host: the DM takes the host, starts a real agent there over SSH
    (no shared recipes folder), the agent asks for the recipes, the DM sends them, the recipe
    runs on the host; undeploying resets and frees it."""
    with ssh_hosts(tmp_path / "hosts", 1) as created:
        (host,) = created.hosts
        target = pool(created, tmp_path, embedded_python=sys.executable)
        keys = {k: v for k, v in target.properties.items() if not k.endswith("command")}
        keys["scp.agent.configdir"] = str(tmp_path / "agent")
        keys["embedded.agent.data.dir"] = str(tmp_path / "agent-data")
        template = _marker_template(tmp_path / "template", keys, tmp_path / "marker")

        async def scenario() -> None:
            def handlers(_graph_of: Any) -> dict[str, EmbeddedHandler]:
                return {"embedded": EmbeddedHandler()}

            async with served_dm(host.gateway, tmp_path / "dm", handlers) as service:
                view = await service.load_template_from(str(template))
                await service.create_application("lab", view.name, view.version)
                await service.bulk("lab", "deploy-and-start-all", None, None)
                marker = "/vm/marker"
                await _until(lambda: service.instance("lab", marker).status, "DEPLOYED_STARTED")
                await service.bulk("lab", "undeploy-all", None, None)
                await _until(lambda: service.instance("lab", "/vm").status, "NOT_DEPLOYED")

        asyncio.run(asyncio.wait_for(scenario(), 90))
        # the recipe ran with the host's identity, from recipes the agent received
        assert (tmp_path / "marker").read_text() == f"deployed on {host.address}\n"
        log = (tmp_path / "agent" / "agent.log").read_text()
        assert "/vm: recipes of Marker received" in log, log
        received = tmp_path / "agent-data" / "recipes" / "Marker" / "scripts" / "deploy.sh"
        assert received.read_text() == (template / "graph/Marker/scripts/deploy.sh").read_text()


async def _until(read: Any, expected: str) -> None:
    while (status := read()) != expected:
        assert status != "PROBLEM", status
        await asyncio.sleep(0.1)


def _marker_template(folder: Path, target: dict[str, str], marker: Path) -> Path:
    files = {
        "descriptor/application.properties": (
            "name = lab\nversion = 1.0.0\n"
            "graph-entry-point = main.graph\ninstance-entry-point = initial.instances\n"
        ),
        "graph/main.graph": (
            "VM {\n\tinstaller: target;\n\tchildren: Marker;\n}\n"
            "Marker {\n\tinstaller: script;\n\texports: ip;\n}\n"
        ),
        "graph/VM/target.properties": "id = lab\nhandler = embedded\n"
        + "".join(f"{key} = {value}\n" for key, value in target.items()),
        "graph/Marker/scripts/deploy.sh": (f'#!/bin/sh\necho "deployed on $ip" > {marker}\n'),
        "instances/initial.instances": (
            "instance of VM {\n\tname: vm;\n\tinstance of Marker {\n\t\tname: marker;\n\t}\n}\n"
        ),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder
