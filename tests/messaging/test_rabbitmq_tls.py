"""The RabbitMQ transport over TLS, on a private node that requires client certificates.

Certificates come from the ``openssl`` command: a CA, the broker's certificate for 127.0.0.1,
the client's certificate, and a CA that signed nothing (the wrong one to trust).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from roboconf.errors import MessagingError
from roboconf.messaging.rabbitmq import connect_rabbitmq
from roboconf.messaging.settings import MessagingSettings, messaging_settings
from tests.brokers import PrivateRabbit, free_port, private_rabbit
from tests.conftest import skip_or_fail
from tests.messaging.helpers import synchronously, take

pytestmark = pytest.mark.integration


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN={name}", "-keyout", key, "-out", cert)  # fmt: skip
    return cert, key


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extension: str) -> tuple[Path, Path]:
    key, request, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    (folder / f"{name}.ext").write_text(extension)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", key, "-out", request)  # fmt: skip
    _openssl("x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
             "-days", "2", "-extfile", folder / f"{name}.ext", "-out", cert)  # fmt: skip
    return cert, key


@dataclass(frozen=True)
class TlsNode:
    node: PrivateRabbit
    tls_port: int
    ca: Path
    wrong_ca: Path
    client_cert: Path
    client_key: Path

    def settings(self, **keys: str) -> MessagingSettings:
        return messaging_settings(
            {
                "messaging.type": "rabbitmq",
                "rabbitmq.url": f"amqps://guest:guest@127.0.0.1:{self.tls_port}/",
                "rabbitmq.ssl.cert.file": str(self.client_cert),
                "rabbitmq.ssl.key.file": str(self.client_key),
            }
            | keys
        )


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsNode]:
    if shutil.which("openssl") is None:
        skip_or_fail("the openssl command is not installed (it makes the test certificates)")
    certs = tmp_path_factory.mktemp("certs")
    ca = _ca(certs, "roboconf-test-ca")
    wrong_ca = _ca(certs, "someone-else")
    server = _signed(certs, "broker", ca, "subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    client = _signed(certs, "agent", ca, "extendedKeyUsage = clientAuth\n")
    tls_port = free_port()
    config = (
        f"listeners.ssl.default = 127.0.0.1:{tls_port}\n"
        f"ssl_options.cacertfile = {ca[0]}\n"
        f"ssl_options.certfile = {server[0]}\n"
        f"ssl_options.keyfile = {server[1]}\n"
        "ssl_options.verify = verify_peer\n"
        "ssl_options.fail_if_no_peer_cert = true\n"
    )
    with private_rabbit(tmp_path_factory.mktemp("rabbitmq-tls"), config=config) as node:
        yield TlsNode(node, tls_port, ca[0], wrong_ca[0], *client)


@synchronously
async def test_messages_travel_over_tls_with_client_certificates(tls_node: TlsNode) -> None:
    settings = tls_node.settings(**{"rabbitmq.ssl.ca.file": str(tls_node.ca)})
    assert settings.describe().endswith(", TLS")
    transport = await connect_rabbitmq(settings, name="tls")
    try:
        await transport.declare_exchange("x")
        await transport.declare_queue("q")
        await transport.bind("q", "x", "k")
        await transport.publish("x", "k", b"secret")
        assert await take(transport.consume("q")) == [b"secret"]
    finally:
        await transport.close()


@synchronously
async def test_a_broker_certificate_that_does_not_verify_fails_at_once(tls_node: TlsNode) -> None:
    settings = tls_node.settings(**{"rabbitmq.ssl.ca.file": str(tls_node.wrong_ca)})
    started = time.monotonic()
    with pytest.raises(MessagingError, match="no TLS session"):
        await connect_rabbitmq(settings, deadline_s=30)
    assert time.monotonic() - started < 5


@synchronously
async def test_verification_can_be_turned_off(tls_node: TlsNode) -> None:
    transport = await connect_rabbitmq(
        tls_node.settings(**{"rabbitmq.ssl.verify": "false"}), name="unverified"
    )
    await transport.close()


@synchronously
async def test_unreadable_tls_files_are_named(tls_node: TlsNode, tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(MessagingError, match=r"missing-ca\.pem"):
        await connect_rabbitmq(tls_node.settings(**{"rabbitmq.ssl.ca.file": str(missing)}))
