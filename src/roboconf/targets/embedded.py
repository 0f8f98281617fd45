"""The ``embedded`` handler: machines are hosts that already exist.

Without ``embedded.ip`` the handler only waits: someone starts ``roboconf agent --application A
--scoped-path /vm ...`` on a host by hand and the agent joins by its heartbeat. The machine id is
``embedded:<application>:<path>``; whether such a machine runs cannot be known from here
(:meth:`EmbeddedHandler.is_machine_running` says True: the DM's heartbeat watch tells the rest)
and terminating it touches no host (the DM has undeployed its instances already).

With a pool, ``embedded.ip = h1, h2``, each machine takes a free host of the pool (pools are per
target id; a host is freed when its machine is terminated, or when configuring it failed). The
handler copies the agent's identity there over SSH (asyncssh, the ``embedded`` extra) and
(re)starts the agent. The machine id carries the host (``embedded:<application>:<path>@<host>``):
a restarted DM that asks whether the machine runs takes the host again in the pool.

Keys:

- ``scp.user`` (default ``root``), ``scp.keyfile`` (the private key; without it, the user's
  default keys and SSH agent);
- ``scp.known.hosts.file``: where the hosts' keys are checked (default ``~/.ssh/known_hosts``);
  a host whose key is not there is refused. ``none`` turns the check off (test benches only: a
  host that impersonates another would get the broker's credentials);
- ``scp.agent.configdir``: the agent's folder on the host (default ``/etc/roboconf-agent``):
  ``agent.properties`` goes there, and with the default commands ``agent.log`` and
  ``agent.pid``;
- ``embedded.agent.command``: what (re)starts the agent, run by the user's shell on the host
  (e.g. ``systemctl restart roboconf-agent``); default: stop the agent of ``agent.pid`` if any,
  then ``nohup <embedded.python> -m roboconf agent --config <dir>/agent.properties`` in the
  background, its pid written in ``agent.pid``;
- ``embedded.agent.stop.command``: what stops it on terminate (default: kill the pid of
  ``agent.pid``); the identity file is removed afterwards either way;
- ``{configdir}`` in both commands is replaced by the (shell-quoted) agent folder;
- ``embedded.python`` (default ``python3``), ``embedded.ssh.timeout`` (seconds, default 20);
- ``embedded.agent.*``: more agent configuration keys (e.g. ``embedded.agent.heartbeat.period``).
"""

from __future__ import annotations

import logging
import shlex
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from roboconf.targets.base import (
    MachineIdentity,
    TargetDefinition,
    TargetError,
    agent_configuration,
    properties_text,
)

if TYPE_CHECKING:
    import asyncssh

log = logging.getLogger(__name__)

DEFAULT_CONFIG_DIR = "/etc/roboconf-agent"
DEFAULT_SSH_TIMEOUT_S = 20.0
_AGENT_PREFIX = "embedded.agent."
#: ``embedded.agent.*`` keys that are the handler's, not the agent's
_HANDLER_KEYS = frozenset({"embedded.agent.command", "embedded.agent.stop.command"})


class EmbeddedHandler:
    """Existing hosts: waits for hand-started agents, or configures hosts of a pool over SSH."""

    handler_id = "embedded"

    def __init__(self) -> None:
        #: target id → host → the machine it serves
        self._pools: dict[str, dict[str, str]] = {}

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        base = _machine_id(identity)
        hosts = _pool(target)
        if not hosts:
            log.info("%s: waiting for an agent started by hand", identity.scoped_path)
            return base
        taken = self._pools.setdefault(target.id, {})
        for machine_id in taken.values():
            if machine_id.rpartition("@")[0] == base:
                return machine_id  # created already: the same host
        free = [host for host in hosts if host not in taken]
        if not free:
            raise TargetError(
                f"target {target.id!r}: all the hosts of embedded.ip ({', '.join(hosts)}) "
                f"serve machines already ({', '.join(sorted(_path(m) for m in taken.values()))}); "
                f"add a host to embedded.ip or undeploy a machine"
            )
        machine_id = f"{base}@{free[0]}"
        taken[free[0]] = machine_id
        return machine_id

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Copy the agent's identity to the host and (re)start the agent there; the host goes
        back to the pool when this fails (the DM does not terminate a machine it could not
        create)."""
        host = _host(machine_id)
        if host is None:
            return
        directory = _config_dir(target)
        properties = agent_configuration(
            target, identity, {"ip": host}, prefix=_AGENT_PREFIX, handler_keys=_HANDLER_KEYS
        )
        quoted = shlex.quote(directory)
        write = f"umask 077 && mkdir -p {quoted} && cat > {quoted}/agent.properties"
        try:
            async with _Ssh(target, host) as connection:
                await _run(connection, host, write, properties_text(properties))
                await _run(connection, host, _start_command(target, directory))
        except TargetError:
            self._free(target, machine_id)
            raise
        log.info("%s: agent configured on %s", identity.scoped_path, host)

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool:
        """True without a host (a hand-started agent: only its heartbeats tell). With a host:
        whether the host answers and still holds this machine's identity; the host is then
        taken again in the pool (a restarted DM)."""
        host = _host(machine_id)
        if host is None:
            return True
        quoted = shlex.quote(_config_dir(target))
        try:
            async with _Ssh(target, host) as connection:
                result = await connection.run(f"cat {quoted}/agent.properties", check=False)
        except _Unreachable:
            return False
        text = result.stdout if isinstance(result.stdout, str) else ""
        lines = {line.strip() for line in text.splitlines()}
        running = f"scoped.path = {_path(machine_id)}" in lines
        if running:
            self._pools.setdefault(target.id, {})[host] = machine_id
        return running

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        """Stop the host's agent, remove its identity and free the host; nothing to do on a
        host without a pool (its agent stays, idle: its instances were undeployed)."""
        host = _host(machine_id)
        if host is None:
            return
        directory = _config_dir(target)
        quoted = shlex.quote(directory)
        stop = _stop_command(target, directory)
        try:
            async with _Ssh(target, host) as connection:
                await _run(connection, host, stop)
                await _run(connection, host, f"rm -f {quoted}/agent.properties")
        except _Unreachable as error:
            log.warning("%s: %s; the host is freed all the same", host, error)
        self._free(target, machine_id)

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None:
        return _host(machine_id)

    def _free(self, target: TargetDefinition, machine_id: str) -> None:
        taken = self._pools.get(target.id, {})
        host = _host(machine_id)
        if host is not None and taken.get(host) == machine_id:
            del taken[host]


class _Unreachable(TargetError):
    """The host did not answer (as opposed to answering no)."""


class _Ssh:
    """An SSH connection as an ``async with``, failures turned into sentences."""

    def __init__(self, target: TargetDefinition, host: str) -> None:
        self._target = target
        self._host = host
        self._connection: asyncssh.SSHClientConnection | None = None

    async def __aenter__(self) -> asyncssh.SSHClientConnection:
        try:
            with warnings.catch_warnings():  # cryptography's "DSA is deprecated", at import
                warnings.filterwarnings("ignore", message="DSA is deprecated")
                import asyncssh
        except ImportError:
            raise TargetError(
                "the embedded handler needs asyncssh to reach hosts: "
                "pip install 'roboconf[embedded]'"
            ) from None
        target, host = self._target, self._host
        user = target.get("scp.user") or "root"
        options: dict[str, Any] = {"username": user, "known_hosts": _known_hosts(target)}
        keyfile = target.get("scp.keyfile")
        if keyfile:
            path = Path(keyfile).expanduser()
            if not path.is_file():
                raise TargetError(f"scp.keyfile {keyfile!r} is no file: give a private key")
            options.update(client_keys=[str(path)], agent_path=None)
        timeout = _seconds(target, "embedded.ssh.timeout", DEFAULT_SSH_TIMEOUT_S)
        try:
            self._connection = await asyncssh.connect(
                host, connect_timeout=timeout, login_timeout=timeout, **options
            )
        except asyncssh.HostKeyNotVerifiable as error:
            raise TargetError(
                f"the key of host {host} is not trusted ({error.reason}): add it to "
                f"{options['known_hosts']} (ssh-keyscan {host} >> {options['known_hosts']}) "
                "or set scp.known.hosts.file"
            ) from None
        except asyncssh.PermissionDenied:
            raise TargetError(
                f"{user}@{host} refused the SSH login"
                + (f" with the key {keyfile}" if keyfile else "")
                + ": check scp.user and scp.keyfile, and the host's authorized keys"
            ) from None
        except (OSError, TimeoutError, asyncssh.ConnectionLost) as error:
            raise _Unreachable(
                f"cannot reach {host} over SSH ({error or type(error).__name__}): "
                "check embedded.ip and that sshd runs there"
            ) from None
        except (asyncssh.Error, ValueError) as error:
            raise TargetError(f"SSH to {user}@{host} failed: {error}") from None
        return self._connection

    async def __aexit__(self, *_: object) -> None:
        if self._connection is not None:
            self._connection.close()
            await self._connection.wait_closed()


async def _run(
    connection: asyncssh.SSHClientConnection, host: str, command: str, input: str | None = None
) -> None:
    result = await connection.run(command, input=input, check=False)
    if result.exit_status != 0:
        output = (str(result.stderr or "") or str(result.stdout or "")).strip()
        raise TargetError(
            f"on {host}, {command!r} failed (exit status {result.exit_status})"
            + (f": {output[-500:]}" if output else "")
        )


def _known_hosts(target: TargetDefinition) -> str | None:
    """The known hosts file (None: no check); a missing file is an error, not an open door."""
    setting = (target.get("scp.known.hosts.file") or "").strip()
    if setting.lower() == "none":
        return None
    path = Path(setting or "~/.ssh/known_hosts").expanduser()
    if not path.is_file():
        raise TargetError(
            f"no known hosts file at {path}: the hosts' keys cannot be checked; "
            "set scp.known.hosts.file to a file that lists them (or to none, for test benches)"
        )
    return str(path)


def _start_command(target: TargetDefinition, directory: str) -> str:
    quoted = shlex.quote(directory)
    custom = target.get("embedded.agent.command")
    if custom:
        return custom.replace("{configdir}", quoted)
    python = shlex.quote(target.get("embedded.python") or "python3")
    return (
        f"cd {quoted} && {_kill_pid(quoted)}; "
        f"nohup {python} -m roboconf agent --config {quoted}/agent.properties "
        f"> {quoted}/agent.log 2>&1 < /dev/null & echo $! > {quoted}/agent.pid"
    )


def _stop_command(target: TargetDefinition, directory: str) -> str:
    quoted = shlex.quote(directory)
    custom = target.get("embedded.agent.stop.command")
    if custom:
        return custom.replace("{configdir}", quoted)
    return _kill_pid(quoted)


def _kill_pid(quoted: str) -> str:
    return (
        f"if [ -f {quoted}/agent.pid ]; then kill $(cat {quoted}/agent.pid) 2>/dev/null; "
        f"rm -f {quoted}/agent.pid; fi; true"
    )


def _pool(target: TargetDefinition) -> list[str]:
    hosts = (target.get("embedded.ip") or "").split(",")
    return list(dict.fromkeys(host.strip() for host in hosts if host.strip()))


def _config_dir(target: TargetDefinition) -> str:
    return (target.get("scp.agent.configdir") or "").strip() or DEFAULT_CONFIG_DIR


def _seconds(target: TargetDefinition, key: str, default: float) -> float:
    text = (target.get(key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise TargetError(f"{key} must be a number of seconds, not {text!r}") from None
    if value <= 0:
        raise TargetError(f"{key} must be positive, not {text!r}")
    return value


def _machine_id(identity: MachineIdentity) -> str:
    application = quote(identity.application, safe=" ")
    return f"embedded:{application}:{quote(identity.scoped_path, safe='/ ')}"


def _parse(machine_id: str) -> tuple[str, str, str | None]:
    """(application, scoped path, host or None) of a machine id of this handler."""
    kind, _, rest = machine_id.partition(":")
    application, _, tail = rest.partition(":")
    path, at, host = tail.partition("@")
    if kind != "embedded" or not application or not path.startswith("/") or (at and not host):
        raise TargetError(f"{machine_id!r} is no machine of the embedded handler")
    return unquote(application), unquote(path), host or None


def _host(machine_id: str) -> str | None:
    return _parse(machine_id)[2]


def _path(machine_id: str) -> str:
    return _parse(machine_id)[1]
