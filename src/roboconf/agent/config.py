"""What a standalone agent is told about itself: identity, messaging, folders, periods.

Target handlers pass it as a ``.properties`` file (``--config``), as environment variables or
as options of ``roboconf agent``; options win over the environment, which wins over the file.
Keys (Roboconf's agent spelling accepted where it had one):

- ``application`` (``application-name``), ``scoped.path`` (``scoped-instance-path``),
  ``domain``, ``ip`` (``ip-address-of-the-agent``; ``auto``: read from the route to the
  messaging server, again before each heartbeat);
- ``data.dir``: the agent's work folder; ``recipes.dir``: the template's ``graph/`` folder
  when the agent shares the DM's file system;
- ``heartbeat.period`` and ``check.period`` (seconds), ``step.timeout`` (seconds);
- ``simulate`` (``true``: simulated plug-ins);
- the messaging keys of :mod:`roboconf.messaging.settings` (``messaging.type``, ``rabbitmq.url``,
  ``http.url``…).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from roboconf.errors import RoboconfError
from roboconf.messaging.settings import MessagingSettings, messaging_settings
from roboconf.targets.base import AGENT_ENVIRONMENT

#: Roboconf's agent configuration keys → ours
_ALIASES = {
    "application-name": "application",
    "scoped-instance-path": "scoped.path",
    "ip-address-of-the-agent": "ip",
    "messaging-type": "messaging.type",
}


class AgentConfigError(RoboconfError):
    """The agent cannot start with this configuration; names the key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    application: str
    scoped_path: str
    messaging: MessagingSettings
    data_dir: Path
    recipes_dir: Path | None = None
    ip: str = "127.0.0.1"
    heartbeat_period_s: float = 5.0
    check_period_s: float = 10.0
    step_timeout_s: float = 300.0
    simulate: bool = False
    #: every key given, for what the agent passes on (target scripts)
    properties: Mapping[str, str] = field(default_factory=dict)


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The configuration keys set by environment variables."""
    return {key: environ[name] for name, key in AGENT_ENVIRONMENT.items() if environ.get(name)}


def agent_config(values: Mapping[str, str], *, default_data_dir: Path) -> AgentConfig:
    """The agent's configuration from merged keys; :class:`AgentConfigError` names what is
    missing or wrong."""
    keys = {_ALIASES.get(key, key): value.strip() for key, value in values.items()}
    missing = [key for key in ("application", "scoped.path") if not keys.get(key)]
    if missing:
        raise AgentConfigError(
            "the agent does not know "
            + " nor ".join(missing)
            + ": pass --application/--scoped-path, a --config file or ROBOCONF_* variables"
        )
    scoped_path = keys["scoped.path"]
    if not scoped_path.startswith("/"):
        raise AgentConfigError(
            f"scoped.path must be an instance path such as /vm, not {scoped_path!r}"
        )
    if keys.get("domain"):
        keys.setdefault("messaging.domain", keys["domain"])
    messaging = messaging_settings(keys)
    recipes = keys.get("recipes.dir")
    return AgentConfig(
        application=keys["application"],
        scoped_path=scoped_path,
        messaging=messaging,
        data_dir=Path(keys["data.dir"]) if keys.get("data.dir") else default_data_dir,
        recipes_dir=Path(recipes) if recipes else None,
        ip=keys.get("ip") or "127.0.0.1",
        heartbeat_period_s=_seconds(keys, "heartbeat.period", 5.0),
        check_period_s=_seconds(keys, "check.period", 10.0),
        step_timeout_s=_seconds(keys, "step.timeout", 300.0),
        simulate=keys.get("simulate", "").lower() in ("true", "yes", "1", "on"),
        properties=keys,
    )


def _seconds(keys: Mapping[str, str], key: str, default: float) -> float:
    text = keys.get(key)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise AgentConfigError(f"{key} must be a number of seconds, not {text!r}") from None
    if value < 0:
        raise AgentConfigError(f"{key} must not be negative, not {text!r}")
    return value
