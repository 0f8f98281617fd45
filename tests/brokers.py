"""RabbitMQ for tests: the machine's shared broker, and private nodes that tests may stop.

The shared broker (127.0.0.1:5672, guest/guest) serves the tests that only talk to a broker;
it is never stopped. Fault tests start a :class:`PrivateRabbit`: a node of its own (name, AMQP
and distribution ports, data, logs, Erlang cookie under its own directory, no plug-ins, and
nothing read from ``/etc/rabbitmq``), so two pytest-xdist workers never collide and the shared
node is never touched. The node runs as a child process group of the test process, as root
(the Debian wrapper in ``/usr/sbin`` would switch to the ``rabbitmq`` user and its files).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import skip_or_fail

SHARED_HOST = "127.0.0.1"
SHARED_PORT = 5672
SHARED_URL = f"amqp://guest:guest@{SHARED_HOST}:{SHARED_PORT}/"

#: the real server script (not the Debian wrapper that switches users)
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")

#: ports below Linux's ephemeral range (32768+), so that no outgoing connection takes one
#: while its node is stopped; 25672 is the shared node's distribution port
_PORTS = range(20_000, 32_000)
_TAKEN = {25672, 25673}


def rabbitmq_server() -> Path | None:
    """The server script, or None when RabbitMQ is not installed here."""
    return SERVER if SERVER.is_file() and shutil.which("erl") else None


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def shared_broker_answers() -> bool:
    return answers(SHARED_HOST, SHARED_PORT)


def require_shared_broker() -> str:
    """The shared broker's URL; skips (fails in CI) when it does not answer."""
    if not shared_broker_answers():
        skip_or_fail(f"no RabbitMQ answers on {SHARED_HOST}:{SHARED_PORT}")
    return SHARED_URL


def free_port() -> int:
    """A port that nothing listens on, outside the ephemeral range."""
    while True:
        port = random.choice(_PORTS)
        if port in _TAKEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                continue
        return port


class PrivateRabbit:
    """A RabbitMQ node of this test process in ``base``: :meth:`start`, :meth:`stop` (the
    whole node: its port closes) and :meth:`start` again on the same data and port;
    :meth:`destroy` kills it and removes ``base``. ``config``: lines of ``rabbitmq.conf``."""

    def __init__(self, base: Path, *, config: str = "") -> None:
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"rc-test-{self.port}@localhost"
        self._process: subprocess.Popen[bytes] | None = None
        for name in ("mnesia", "log"):
            (base / name).mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(config)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq-env.conf").write_text("")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        return keep | {
            "HOME": str(self.base),  # the Erlang cookie of this node and of its CLI tools
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbitmq.pid"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        if self.running:
            return
        server = rabbitmq_server()
        if server is None:
            raise RuntimeError("rabbitmq-server is not installed")
        with (self.base / "server.out").open("ab") as out:
            self._process = subprocess.Popen(
                [str(server)],
                env=self._environment(),
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends shell and beam
            )
        give_up = time.monotonic() + timeout
        while not answers("127.0.0.1", self.port, timeout=0.5):
            if self._process.poll() is not None or time.monotonic() > give_up:
                self.destroy_process()
                tail = (self.base / "server.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"RabbitMQ node {self.node} did not start:\n{tail}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the whole node (as on a shutdown: SIGTERM) and wait until it is gone."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.destroy_process()
        self._wait_for_group(process.pid, timeout)
        self._process = None

    def destroy_process(self) -> None:
        """Kill the node at once (SIGKILL to its process group)."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._wait_for_group(process.pid, 10.0)
        self._process = None

    def wipe(self) -> None:
        """Forget every exchange, queue and binding (the node must be stopped): as a new node
        that took over the address would."""
        if self.running:
            raise RuntimeError("stop the node before wiping its data")
        shutil.rmtree(self.base / "mnesia", ignore_errors=True)
        (self.base / "mnesia").mkdir()

    def destroy(self) -> None:
        """Kill the node and remove its directory: the final teardown."""
        self.destroy_process()
        shutil.rmtree(self.base, ignore_errors=True)

    @staticmethod
    def _wait_for_group(group: int, timeout: float) -> None:
        """Wait until no process of ``group`` is left (beam outlives its shell briefly)."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


@contextlib.contextmanager
def private_rabbit(base: Path, *, config: str = "") -> Iterator[PrivateRabbit]:
    """A started private node in ``base`` (``config``: lines of its ``rabbitmq.conf``),
    destroyed afterwards; skips (fails in CI) when RabbitMQ is not installed."""
    if rabbitmq_server() is None:
        skip_or_fail(f"RabbitMQ is not installed ({SERVER} or erl missing)")
    node = PrivateRabbit(base, config=config)
    try:
        node.start()
        yield node
    finally:
        node.destroy()


async def forget_domain(
    url: str, domain: str, applications: dict[str, list[str]] | None = None
) -> None:
    """Delete what a test's DM and agents declared in ``domain`` on a shared broker (queues
    and exchanges are durable: they would pile up run after run). ``applications`` maps each
    application to its machines' paths."""

    from roboconf.messaging import topology

    queues = [topology.dm_queue(domain)]
    exchanges = [topology.dm_exchange(domain), topology.inter_app_exchange(domain)]
    for application, machines in (applications or {}).items():
        queues += [topology.agent_queue(application, path, domain) for path in machines]
        exchanges.append(topology.agents_exchange(application, domain))
    await delete_on_broker(url, queues=queues, exchanges=exchanges)


async def delete_on_broker(url: str, *, queues: list[str], exchanges: list[str]) -> None:
    """Remove what a test declared on the shared broker (missing names are fine)."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)
