"""How to reach the messaging server: parsed once at the edge, from properties.

The same keys serve the DM (``roboconf dm --messaging``, a configuration file), the agents (what
a target handler passes them) and ``roboconf run``. Roboconf's own spelling is accepted beside
ours, so that a ``.properties`` file written for it keeps working:

- ``messaging.type``: ``embedded`` (default), ``rabbitmq`` or ``http``;
- ``rabbitmq.url``: ``amqp://user:password@host:port/vhost``, or ``amqps://…`` for TLS;
- or separately ``rabbitmq.server.ip`` (``host`` or ``host:port``),
  ``rabbitmq.server.username`` and ``.server.password`` (default guest / guest),
  ``rabbitmq.virtual.host`` (default ``/``) — Roboconf's ``net.roboconf.messaging.rabbitmq.*``;
- ``rabbitmq.ssl.ca.file``, ``.cert.file``, ``.key.file``: TLS (the CA to trust, the client's
  certificate and key); ``rabbitmq.ssl.verify`` checks the broker's certificate (default true);
- ``http.url``: ``http(s)://dm-host:port``, the DM that routes messages (type ``http``);
- ``messaging.domain``: several DMs may share a broker without seeing each other.

A URL wins over the separate keys; secrets never appear in :meth:`MessagingSettings.describe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlsplit

from roboconf.errors import RoboconfError

_ROBOCONF_PREFIX = "net.roboconf.messaging."
DEFAULT_AMQP_PORT = 5672
DEFAULT_AMQPS_PORT = 5671


class MessagingSettingsError(RoboconfError):
    """Messaging settings that cannot be used; says which key and why."""


class MessagingType(StrEnum):
    EMBEDDED = "embedded"
    RABBITMQ = "rabbitmq"
    HTTP = "http"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsSettings:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagingSettings:
    type: MessagingType = MessagingType.EMBEDDED
    #: rabbitmq: the broker's ``amqp(s)://`` URL (credentials and virtual host included);
    #: http: the DM's base URL
    url: str = ""
    domain: str = "default"
    #: rabbitmq over TLS (an ``amqps://`` URL, or the ``rabbitmq.ssl.*`` keys)
    tls: TlsSettings | None = None

    def describe(self) -> str:
        """One line for logs and screens, without the password."""
        if self.type is MessagingType.EMBEDDED:
            return "embedded router (in this process)"
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        where = (
            f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"
        )
        user = f"{parts.username}@" if parts.username else ""
        vhost = parts.path if parts.path not in ("", "/", "/%2F", "/%2f") else ""
        tls = ", TLS" if self.tls is not None else ""
        return f"{self.type.value} {where.replace('://', '://' + user, 1)}{vhost}{tls}"

    def as_properties(self) -> dict[str, str]:
        """The keys that give these settings back (what a target handler passes to agents)."""
        values = {"messaging.type": self.type.value, "messaging.domain": self.domain}
        if self.type is MessagingType.RABBITMQ:
            values["rabbitmq.url"] = self.url
        elif self.type is MessagingType.HTTP:
            values["http.url"] = self.url
        if self.tls is not None:
            for key, value in (
                ("rabbitmq.ssl.ca.file", self.tls.ca_file),
                ("rabbitmq.ssl.cert.file", self.tls.cert_file),
                ("rabbitmq.ssl.key.file", self.tls.key_file),
            ):
                if value:
                    values[key] = value
            values["rabbitmq.ssl.verify"] = "true" if self.tls.verify else "false"
        return values


def messaging_settings(values: Mapping[str, str]) -> MessagingSettings:
    """Settings from properties (ours or Roboconf's keys); :class:`MessagingSettingsError`
    names the key at fault."""
    keys = _normalised(values)
    kind = _kind(keys.get("messaging.type", "embedded"))
    domain = keys.get("messaging.domain", "default").strip() or "default"
    if kind is MessagingType.EMBEDDED:
        return MessagingSettings(domain=domain)
    if kind is MessagingType.HTTP:
        url = keys.get("http.url", "").strip()
        if urlsplit(url).scheme not in ("http", "https", "ws", "wss") or not urlsplit(url).hostname:
            raise MessagingSettingsError(
                f"http.url must be the DM's address, such as http://dm-host:8181, not {url!r}"
            )
        return MessagingSettings(type=kind, url=url.rstrip("/"), domain=domain)
    url = keys.get("rabbitmq.url", "").strip() or _url_from_keys(keys)
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise MessagingSettingsError(
            f"rabbitmq.url must look like amqp://user:password@host:5672/, not {_hidden(url)!r}"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as error:
        raise MessagingSettingsError(f"rabbitmq.url has a bad port: {_hidden(url)!r}") from error
    return MessagingSettings(type=kind, url=url, domain=domain, tls=_tls(keys, parts.scheme))


def _normalised(values: Mapping[str, str]) -> dict[str, str]:
    """Roboconf's ``net.roboconf.messaging.`` keys under our names (ours win)."""
    keys: dict[str, str] = {}
    for key, value in values.items():
        if key.startswith(_ROBOCONF_PREFIX):
            keys.setdefault(key[len(_ROBOCONF_PREFIX) :], value)
    for key, value in values.items():
        if not key.startswith(_ROBOCONF_PREFIX):
            keys[key] = value
    if "messaging.type" not in keys and "net.roboconf.messaging.type" in values:
        keys["messaging.type"] = values["net.roboconf.messaging.type"]
    return keys


def _kind(text: str) -> MessagingType:
    try:
        return MessagingType(text.strip().lower())
    except ValueError:
        allowed = ", ".join(kind.value for kind in MessagingType)
        raise MessagingSettingsError(
            f"messaging.type must be one of {allowed}, not {text!r}"
        ) from None


def _url_from_keys(keys: Mapping[str, str]) -> str:
    host = keys.get("rabbitmq.server.ip", "127.0.0.1").strip() or "127.0.0.1"
    user = keys.get("rabbitmq.server.username", "guest")
    password = keys.get("rabbitmq.server.password", "guest")
    vhost = keys.get("rabbitmq.virtual.host", "/").strip() or "/"
    secure = any(key.startswith("rabbitmq.ssl.") and key != "rabbitmq.ssl.verify" for key in keys)
    scheme = "amqps" if secure else "amqp"
    if ":" not in host:
        host = f"{host}:{DEFAULT_AMQPS_PORT if secure else DEFAULT_AMQP_PORT}"
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"{scheme}://{credentials}@{host}/{quote(vhost, safe='')}"


def _tls(keys: Mapping[str, str], scheme: str) -> TlsSettings | None:
    files = {
        name: keys.get(f"rabbitmq.ssl.{name.replace('_', '.')}", "").strip() or None
        for name in ("ca_file", "cert_file", "key_file")
    }
    if scheme != "amqps" and not any(files.values()):
        return None
    verify = keys.get("rabbitmq.ssl.verify", "true").strip().lower() not in ("false", "no", "0")
    return TlsSettings(verify=verify, **files)


def _hidden(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
