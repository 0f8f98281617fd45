"""Checked reading of decoded JSON values: each reader returns a typed value or raises
:class:`Malformed`, which the codec turns into a dropped message (it never leaves the codec)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any


class Malformed(ValueError):
    """A JSON value is not what the message format says."""


def mapping(raw: object) -> dict[str, Any]:
    if type(raw) is not dict:
        raise Malformed(f"expected an object, got {_kind(raw)}")
    return raw


def string(raw: object) -> str:
    if type(raw) is not str:
        raise Malformed(f"expected a string, got {_kind(raw)}")
    return raw


def optional_string(raw: object) -> str | None:
    return None if raw is None else string(raw)


def boolean(raw: object) -> bool:
    if type(raw) is not bool:
        raise Malformed(f"expected true or false, got {_kind(raw)}")
    return raw


def count(raw: object) -> int:
    if type(raw) is not int or raw < 0:
        raise Malformed(f"expected a count, got {_kind(raw)}")
    return raw


def strings(raw: object) -> tuple[str, ...]:
    if type(raw) is not list:
        raise Malformed(f"expected a list, got {_kind(raw)}")
    for item in raw:
        string(item)
    return tuple(raw)


def string_map(raw: object) -> dict[str, str]:
    result = mapping(raw)
    for value in result.values():
        string(value)
    return result


def optional_string_map(raw: object) -> dict[str, str | None]:
    result = mapping(raw)
    for value in result.values():
        optional_string(value)
    return result


def strings_map(raw: object) -> dict[str, tuple[str, ...]]:
    return {key: strings(value) for key, value in mapping(raw).items()}


def bytes_map(raw: object) -> dict[str, bytes]:
    result: dict[str, bytes] = {}
    for key, value in mapping(raw).items():
        try:
            result[key] = base64.b64decode(string(value), validate=True)
        except binascii.Error as error:
            raise Malformed(f"{key!r} is not base64: {error}") from None
    return result


def dump_bytes_map(value: Mapping[str, bytes]) -> dict[str, str]:
    return {key: base64.b64encode(data).decode("ascii") for key, data in value.items()}


def _kind(raw: object) -> str:
    if raw is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(raw), "a number"
    )
