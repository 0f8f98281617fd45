"""Messaging settings from properties: our keys, Roboconf's, and what is refused."""

from __future__ import annotations

import pytest

from roboconf.messaging.settings import (
    MessagingSettingsError,
    MessagingType,
    TlsSettings,
    messaging_settings,
)

R = "net.roboconf.messaging.rabbitmq."


@pytest.mark.parametrize(
    ("values", "kind", "url", "tls"),
    [
        pytest.param({}, MessagingType.EMBEDDED, "", None, id="nothing set: the embedded router"),
        pytest.param(
            {"messaging.type": "rabbitmq"},
            MessagingType.RABBITMQ,
            "amqp://guest:guest@127.0.0.1:5672/%2F",
            None,
            id="rabbitmq with no key: guest on this host",
        ),
        pytest.param(
            {"messaging.type": "RabbitMQ", "rabbitmq.url": "amqp://u:p@broker:5673/vh"},
            MessagingType.RABBITMQ,
            "amqp://u:p@broker:5673/vh",
            None,
            id="a URL is taken as it is (type case-insensitive)",
        ),
        pytest.param(
            {
                "net.roboconf.messaging.type": "rabbitmq",
                R + "server.ip": "10.0.0.5",
                R + "server.username": "roboconf",
                R + "server.password": "p@ss word",
            },
            MessagingType.RABBITMQ,
            "amqp://roboconf:p%40ss%20word@10.0.0.5:5672/%2F",
            None,
            id="Roboconf's keys, credentials quoted",
        ),
        pytest.param(
            {
                "messaging.type": "rabbitmq",
                R + "server.ip": "old:1",
                "rabbitmq.server.ip": "new:2",
            },
            MessagingType.RABBITMQ,
            "amqp://guest:guest@new:2/%2F",
            None,
            id="our keys win over Roboconf's",
        ),
        pytest.param(
            {"messaging.type": "rabbitmq", "rabbitmq.url": "amqps://u:p@broker/"},
            MessagingType.RABBITMQ,
            "amqps://u:p@broker/",
            TlsSettings(),
            id="amqps: TLS with verification",
        ),
        pytest.param(
            {
                "messaging.type": "rabbitmq",
                "rabbitmq.ssl.ca.file": "/ca.pem",
                "rabbitmq.ssl.verify": "false",
            },
            MessagingType.RABBITMQ,
            "amqps://guest:guest@127.0.0.1:5671/%2F",
            TlsSettings(ca_file="/ca.pem", verify=False),
            id="TLS keys alone make the URL amqps on 5671",
        ),
        pytest.param(
            {"messaging.type": "http", "http.url": "http://dm:8181/"},
            MessagingType.HTTP,
            "http://dm:8181",
            None,
            id="http: the DM's address",
        ),
    ],
)
def test_settings_from_properties(
    values: dict[str, str], kind: MessagingType, url: str, tls: TlsSettings | None
) -> None:
    settings = messaging_settings(values)
    assert (settings.type, settings.url, settings.tls) == (kind, url, tls)
    assert messaging_settings(settings.as_properties()) == settings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"messaging.type": "kafka"}, "messaging.type must be one of", id="type"),
        pytest.param(
            {"messaging.type": "rabbitmq", "rabbitmq.url": "http://x:secret@h/"},
            "amqp://",
            id="not an AMQP URL",
        ),
        pytest.param(
            {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://h:port/"},
            "bad port",
            id="port",
        ),
        pytest.param({"messaging.type": "http"}, "http.url", id="http without the DM's URL"),
    ],
)
def test_refused_settings_say_which_key(values: dict[str, str], message: str) -> None:
    with pytest.raises(MessagingSettingsError, match=message) as caught:
        messaging_settings(values)
    assert "secret" not in str(caught.value)


def test_describe_hides_the_password() -> None:
    settings = messaging_settings(
        {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://u:s3cr3t@b:5672/v"}
    )
    assert settings.describe() == "rabbitmq amqp://u@b:5672/v"
