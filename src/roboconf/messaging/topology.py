"""Exchange, queue and routing-key names (spec 30 §2): the only place that spells them.

Names taken from the model (domain, application, instance names, prefixes) are escaped so that a
routing key keeps one word per name whatever the name holds: letters, digits and ``-`` stay as
they are, every other character becomes ``_`` followed by the two hex digits of each of its UTF-8
bytes (``vm 1`` → ``vm_201``, ``a.b`` → ``a_2Eb``, ``_`` → ``_5F``). The escaping is reversible
(:func:`unescape`) and never produces ``.``, ``*``, ``#`` or a non-ASCII character.

AMQP limits names and routing keys to 255 bytes: :func:`fits` says whether one does.
"""

from __future__ import annotations

import re

from roboconf.model.instances import names_of

DEFAULT_DOMAIN = "default"

#: AMQP's limit on exchange names, queue names and routing keys (a shortstr), in bytes.
MAX_NAME_BYTES = 255

_SAFE = re.compile(r"[A-Za-z0-9-]*")
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_ESCAPED = re.compile(r"_([0-9A-Fa-f]{2})")
_ESCAPED_WORD = re.compile(r"(?:[A-Za-z0-9-]|_[0-9A-Fa-f]{2})*")

_IMPORTERS = "those.that.import."
_EXPORTERS = "those.that.export."
_MACHINE = "machine."

#: the DM's own routing key for ``Echo``: two words, so no application key (one word) equals it.
ECHO_KEY = "roboconf.echo"


def escape(name: str) -> str:
    """``name`` as one routing-key word of letters, digits, ``-`` and ``_XX`` escapes."""
    if _SAFE.fullmatch(name):
        return name
    out: list[str] = []
    for char in name:
        if char in _SAFE_CHARS:
            out.append(char)
        else:
            out.extend(f"_{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def unescape(word: str) -> str | None:
    """The name that :func:`escape` turned into ``word``; None if ``word`` is no such output."""
    if not _ESCAPED_WORD.fullmatch(word):
        return None
    if "_" not in word:
        return word
    data = bytearray()
    for index, part in enumerate(_ESCAPED.split(word)):
        if index % 2:
            data.append(int(part, 16))
        else:
            data += part.encode("ascii")
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def fits(name: str) -> bool:
    """Whether an exchange name, queue name or routing key is short enough for AMQP."""
    return len(name.encode("utf-8")) <= MAX_NAME_BYTES


# -- exchanges ----------------------------------------------------------------------------------


def dm_exchange(domain: str = DEFAULT_DOMAIN) -> str:
    """Where agents send notifications to the DM (routing key: the application)."""
    return f"{escape(domain)}.roboconf.dm"


def agents_exchange(application: str, domain: str = DEFAULT_DOMAIN) -> str:
    """Where the DM talks to an application's agents and those agents to each other."""
    return f"{escape(domain)}.{escape(application)}.agents"


def inter_app_exchange(domain: str = DEFAULT_DOMAIN) -> str:
    """Where exports shared between applications (``external`` imports) travel."""
    return f"{escape(domain)}.roboconf.inter-app"


# -- queues -------------------------------------------------------------------------------------


def dm_queue(domain: str = DEFAULT_DOMAIN) -> str:
    return f"{escape(domain)}.roboconf-dm"


def agent_queue(application: str, scoped_path: str, domain: str = DEFAULT_DOMAIN) -> str:
    """An agent's queue: domain, application and each name of its scoped path, escaped."""
    return f"{escape(domain)}.{escape(application)}.{_words(scoped_path)}"


# -- routing keys -------------------------------------------------------------------------------


def dm_key(application: str) -> str:
    """The key of an application's notifications on the DM exchange."""
    return escape(application)


def machine_key(scoped_path: str) -> str:
    """``/vm 1/docker`` → ``machine.vm_201.docker``: the key an agent binds for its commands."""
    return _MACHINE + _words(scoped_path)


def scoped_path_of(key: str) -> str | None:
    """The scoped path a :func:`machine_key` was made from; None for any other key."""
    if not key.startswith(_MACHINE):
        return None
    names: list[str] = []
    for word in key[len(_MACHINE) :].split("."):
        name = unescape(word)
        if name is None:
            return None
        names.append(name)
    return "/" + "/".join(names)


def importers_key(prefix: str) -> str:
    """The key that reaches every agent importing ``prefix`` (exports and withdrawals)."""
    return _IMPORTERS + escape(prefix)


def exporters_key(prefix: str) -> str:
    """The key that reaches every agent exporting ``prefix`` (requests for its exports)."""
    return _EXPORTERS + escape(prefix)


def _words(path: str) -> str:
    return ".".join(escape(name) for name in names_of(path))
