"""The small languages inside ``exports:`` and ``imports:`` values.

``exports: ip, port = 8080, msg = "a, b; c", random[port] httpPort`` — each item is a raw name
(``random[KIND] `` prefix kept) with a bare value (up to the next ``,``, trimmed), a quoted value
(exactly what is between the quotes) or no value.

``imports: MySQL.ip, Cache.* (optional), external Lamp.lb_ip`` — each item is a variable name
with an optional ``external`` prefix and ``(optional)`` suffix, both case-insensitive.
"""

from __future__ import annotations

import re

from roboconf.errors import Code, Diagnostic

_NAME_END = re.compile(r"[,=]")
_SPACES = re.compile(r"\s*")
_RANDOM = re.compile(r"random\[([^\]]*)\]\s+(.*)", re.DOTALL | re.IGNORECASE)
_OPTIONAL = re.compile(r"\s*\(\s*optional\s*\)$", re.IGNORECASE)
_EXTERNAL = re.compile(r"external\s+", re.IGNORECASE)


def parse_exports(text: str) -> tuple[dict[str, str | None], list[Diagnostic]]:
    """Raw name → value (``None``: no value) of an ``exports`` value, and its problems.

    A badly quoted value drops its variable (``PM_INVALID_EXPORT_COMPLEX_VALUE``); reading goes
    on after the closing quote, or stops at an unclosed one. Diagnostics carry no location: the
    caller knows the property's line.
    """
    exports: dict[str, str | None] = {}
    problems: list[Diagnostic] = []
    if not text.strip():
        return exports, problems
    position, end = 0, len(text)
    while position <= end:
        separator = _NAME_END.search(text, position)
        name_end = separator.start() if separator else end
        name, position = text[position:name_end].strip(), name_end
        if position < end and text[position] == "=":
            position = _skip_spaces(text, position + 1)
            if position < end and text[position] == '"':
                position = _quoted(text, position, name, exports, problems)
                continue
            comma = text.find(",", position)
            comma = end if comma < 0 else comma
            value = text[position:comma].strip()
            position = comma + 1
            if '"' in value:
                problems.append(_complex_value(name, value))
            else:
                _add(name, value or None, exports, problems)
        else:
            _add(name, None, exports, problems)
            position += 1
    return exports, problems


def _skip_spaces(text: str, position: int) -> int:
    match = _SPACES.match(text, position)
    return match.end() if match else position


def _quoted(
    text: str,
    position: int,
    name: str,
    exports: dict[str, str | None],
    problems: list[Diagnostic],
) -> int:
    """Read ``"value"`` at ``position``; return where reading goes on."""
    closing = text.find('"', position + 1)
    if closing < 0:
        problems.append(_complex_value(name, text[position:]))
        return len(text) + 1
    value = text[position + 1 : closing]
    after = _skip_spaces(text, closing + 1)
    if after < len(text) and text[after] != ",":
        problems.append(_complex_value(name, text[position:after]))
        return after
    _add(name, value, exports, problems)
    return after + 1


def _add(
    name: str, value: str | None, exports: dict[str, str | None], problems: list[Diagnostic]
) -> None:
    if name:
        exports[name] = value
    else:
        problems.append(
            Diagnostic(
                code=Code.PM_EMPTY_VARIABLE_NAME,
                message="an exported variable has no name (two commas in a row, or '= value' "
                "alone): remove the empty item or name the variable",
            )
        )


def _complex_value(name: str, value: str) -> Diagnostic:
    return Diagnostic(
        code=Code.PM_INVALID_EXPORT_COMPLEX_VALUE,
        message=f"the value of the exported variable '{name}' is badly quoted ({value}): write "
        f'{name} = "a value", with nothing but a comma after the closing quote',
        details={"variable": name, "value": value},
    )


def split_random(raw: str) -> tuple[str, bool, str | None]:
    """``"random[port] httpPort"`` → ``("httpPort", True, "port")``; ``"ip"`` → ``("ip", False,
    None)``. The kind is returned as written; only ``port`` is valid (checked by the model)."""
    stripped = raw.strip()
    match = _RANDOM.fullmatch(stripped)
    if match is None:
        return stripped, False, None
    return match.group(2).strip(), True, match.group(1).strip()


def split_import(item: str) -> tuple[str, bool, bool]:
    """``"external App.ip (optional)"`` → ``("App.ip", True, True)``: name, optional, external."""
    name = item.strip()
    optional_match = _OPTIONAL.search(name)
    optional = optional_match is not None
    if optional_match is not None:
        name = name[: optional_match.start()]
    external_match = _EXTERNAL.match(name)
    external = external_match is not None
    if external_match is not None:
        name = name[external_match.end() :]
    return name.strip(), optional, external
