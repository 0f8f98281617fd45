"""Messages ↔ JSON bytes. Decoding never raises: what cannot be read is logged and dropped.

A message is a JSON object: ``type`` (the class name), ``version`` (:data:`PROTOCOL_VERSION`),
and one member per field of its class, named like the field. Fields with a default may be
missing; members the reader does not know are ignored, so a newer sender can add fields. Bytes
travel as base64, instance states as their names, graphs and instance trees as
:mod:`roboconf.messaging.model_json` writes them.

Each class gets a reader and a writer once, from its field types, at import time; encoding and
decoding a message is then a dictionary lookup and a loop over its fields.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing
from collections.abc import Callable, Mapping
from typing import Any

from roboconf.messaging import _wire
from roboconf.messaging.messages import MESSAGE_TYPES, Message
from roboconf.messaging.model_json import (
    graph_from_json,
    graph_to_json,
    instance_from_json,
    instances_to_json,
)
from roboconf.model.types import Graph, Instance, InstanceStatus

#: the version written in every message; readers accept any version from 1 up.
PROTOCOL_VERSION = 1

#: larger messages are dropped unread.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_log = logging.getLogger(__name__)

_Dump = Callable[[Any], Any]
_Load = Callable[[object], Any]
_Reader = Callable[[dict[str, Any]], Message]
_Writer = Callable[[Message], dict[str, Any]]

_STATUSES = {status.value: status for status in InstanceStatus}


def encode(message: Message) -> bytes:
    """The JSON bytes of ``message`` (ASCII: other characters are ``\\u`` escaped)."""
    writer = _WRITERS.get(type(message))
    if writer is None:
        raise TypeError(f"not a message: {message!r}")
    return json.dumps(writer(message), separators=(",", ":")).encode("ascii")


def decode(data: bytes) -> Message | None:
    """The message in ``data``; None (and a warning in the log) when it is not a valid one."""
    if len(data) > MAX_MESSAGE_BYTES:
        _log.warning("dropped a message of %d bytes (limit %d)", len(data), MAX_MESSAGE_BYTES)
        return None
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as error:
        _log.warning("dropped a message that is not JSON (%s): %s", error, _preview(data))
        return None
    if type(raw) is not dict:
        _log.warning("dropped a message that is not a JSON object: %s", _preview(data))
        return None
    name = raw.get("type")
    reader = _READERS.get(name) if type(name) is str else None
    if reader is None:
        _log.warning("dropped a message of unknown type %r: %s", name, _preview(data))
        return None
    version = raw.get("version")
    if type(version) is not int or version < 1:
        _log.warning("dropped a %s message with version %r (expected 1 or more)", name, version)
        return None
    try:
        return reader(raw)
    except _wire.Malformed as error:
        _log.warning("dropped a malformed %s message: %s", name, error)
        return None


def _status(raw: object) -> InstanceStatus:
    status = _STATUSES.get(_wire.string(raw))
    if status is None:
        raise _wire.Malformed(f"unknown instance state {raw!r}")
    return status


def _same(value: Any) -> Any:
    return value


def _instance_to_json(instance: Instance) -> list[dict[str, Any]]:
    return instances_to_json((instance,))


#: field type → (to JSON, from JSON); a message field of another type fails at import time.
_CONVERTERS: dict[object, tuple[_Dump, _Load]] = {
    str: (_same, _wire.string),
    bool: (_same, _wire.boolean),
    str | None: (_same, _wire.optional_string),
    tuple[str, ...]: (_same, _wire.strings),
    Mapping[str, str]: (dict, _wire.string_map),
    Mapping[str, str | None]: (dict, _wire.optional_string_map),
    Mapping[str, tuple[str, ...]]: (dict, _wire.strings_map),
    Mapping[str, bytes]: (_wire.dump_bytes_map, _wire.bytes_map),
    InstanceStatus: (lambda status: status.value, _status),
    Graph: (graph_to_json, graph_from_json),
    Instance: (_instance_to_json, instance_from_json),
}


def _fields(cls: type[Message]) -> list[tuple[str, tuple[_Dump, _Load], bool]]:
    """Each field's name, converters, and whether it is required."""
    hints = typing.get_type_hints(cls)
    return [
        (
            f.name,
            _CONVERTERS[hints[f.name]],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    ]


def _reader(cls: type[Message]) -> _Reader:
    specs = [(name, load, required) for name, (_, load), required in _fields(cls)]

    def read(raw: dict[str, Any]) -> Message:
        values: dict[str, Any] = {}
        for name, load, required in specs:
            if name in raw:
                try:
                    values[name] = load(raw[name])
                except _wire.Malformed as error:
                    raise _wire.Malformed(f"field {name!r}: {error}") from None
            elif required:
                raise _wire.Malformed(f"field {name!r} is missing")
        return cls(**values)

    return read


def _writer(cls: type[Message]) -> _Writer:
    header = {"type": cls.__name__, "version": PROTOCOL_VERSION}
    specs = [(name, dump) for name, (dump, _), _ in _fields(cls)]

    def write(message: Message) -> dict[str, Any]:
        out = dict(header)
        for name, dump in specs:
            out[name] = dump(getattr(message, name))
        return out

    return write


def _preview(data: bytes) -> str:
    return repr(data[:120]) + ("…" if len(data) > 120 else "")


_READERS: dict[str, _Reader] = {cls.__name__: _reader(cls) for cls in MESSAGE_TYPES}
_WRITERS: dict[type, _Writer] = {cls: _writer(cls) for cls in MESSAGE_TYPES}
