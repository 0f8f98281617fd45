"""A standalone agent's configuration: keys, Roboconf's spelling, environment, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from roboconf.agent.config import AgentConfigError, agent_config, from_environment
from roboconf.messaging.settings import MessagingType

HOME = Path("/var/lib/agent")
BROKER = {"messaging.type": "rabbitmq", "rabbitmq.url": "amqp://u:p@broker:5672/"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {"application": "shop", "scoped.path": "/vm 1", **BROKER},
            {"application": "shop", "scoped_path": "/vm 1", "data_dir": HOME, "ip": "127.0.0.1"},
            id="our keys, defaults for the rest",
        ),
        pytest.param(
            {
                "application-name": "shop",
                "scoped-instance-path": "/vm",
                "ip-address-of-the-agent": "10.0.0.7",
                "messaging-type": "http",
                "http.url": "http://dm:8181",
            },
            {"application": "shop", "ip": "10.0.0.7"},
            id="Roboconf's agent keys",
        ),
        pytest.param(
            {
                "application": "a",
                "scoped.path": "/vm",
                "data.dir": "/srv/agent",
                "recipes.dir": "/srv/graph",
                "heartbeat.period": "1.5",
                "check.period": "0",
                "step.timeout": "20",
                "simulate": "true",
                **BROKER,
            },
            {
                "data_dir": Path("/srv/agent"),
                "recipes_dir": Path("/srv/graph"),
                "heartbeat_period_s": 1.5,
                "check_period_s": 0.0,
                "step_timeout_s": 20.0,
                "simulate": True,
            },
            id="folders, periods and simulation",
        ),
    ],
)
def test_configuration_from_keys(values: dict[str, str], expected: dict[str, object]) -> None:
    config = agent_config(values, default_data_dir=HOME)
    assert {name: getattr(config, name) for name in expected} == expected


def test_the_domain_reaches_the_messaging_settings() -> None:
    config = agent_config(
        {"application": "a", "scoped.path": "/vm", "domain": "blue", **BROKER},
        default_data_dir=HOME,
    )
    assert (config.messaging.type, config.messaging.domain) == (MessagingType.RABBITMQ, "blue")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"scoped.path": "/vm"}, "application", id="no application"),
        pytest.param({"application": "a"}, "scoped.path", id="no machine"),
        pytest.param({"application": "a", "scoped.path": "vm"}, "instance path", id="bad path"),
        pytest.param(
            {"application": "a", "scoped.path": "/vm", "heartbeat.period": "often"},
            "heartbeat.period must be a number",
            id="bad period",
        ),
        pytest.param(
            {"application": "a", "scoped.path": "/vm", "step.timeout": "-1"},
            "must not be negative",
            id="negative timeout",
        ),
    ],
)
def test_refusals_name_the_key(values: dict[str, str], message: str) -> None:
    with pytest.raises(AgentConfigError, match=message):
        agent_config({**BROKER, **values}, default_data_dir=HOME)


def test_environment_variables_give_keys_and_empty_ones_are_ignored() -> None:
    environ = {
        "ROBOCONF_APPLICATION": "shop",
        "ROBOCONF_SCOPED_PATH": "/vm",
        "ROBOCONF_RABBITMQ_URL": "",
        "PATH": "/bin",
    }
    assert from_environment(environ) == {"application": "shop", "scoped.path": "/vm"}
