"""Variables of the commands language: ``$(NAME)`` and the generators.

``$(NANO_TIME)``, ``$(MILLI_TIME)`` and ``$(UUID)`` may appear in any instruction. The others
only make sense in ``Define``, where the whole value is known:

- ``$(FORMATTED_TIME pattern)``: the time (Java ``SimpleDateFormat`` pattern); alone in its value;
- ``$(SMART_INDEX)``: the first ``n >= 1`` such that no instance has the resulting path
  (a root instance, or a child of the ``under /parent`` instance);
- ``$(EXISTING_INDEX MIN|MAX [> n|< n])``: the smallest or largest ``n`` such that an instance
  has the resulting path. When none does, the variable is *disabled*, and so is every instruction
  that uses it (directly or through another variable): that is how scale-down scripts do nothing
  when there is nothing to remove.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from roboconf.autonomic._date_pattern import format_time, tokenize
from roboconf.autonomic._issues import Issue
from roboconf.autonomic.instructions import Define
from roboconf.errors import Code

TOKEN = re.compile(r"\$\(([^)]*)\)")
_GENERATOR = re.compile(r"\s*(SMART_INDEX|FORMATTED_TIME|EXISTING_INDEX)\b(.*)", re.I | re.S)
_INDEX_QUERY = re.compile(r"\s*(MIN|MAX)\s*(?:([<>])\s*([0-9]+))?\s*", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    """Where generated values come from (injected, so that tests are deterministic)."""

    clock_ns: Callable[[], int]
    new_uuid: Callable[[], str]
    timezone: tzinfo | None


@dataclass(frozen=True, slots=True)
class Substituted:
    """``text`` keeps disabled variables as written; ``shape`` replaces them by their stand-ins,
    so that a disabled instruction can still be read (and checked for syntax)."""

    text: str
    shape: str
    unresolved: tuple[str, ...]
    disabled_by: tuple[str, ...]


def substitute(
    text: str,
    variables: Mapping[str, str],
    stand_ins: Mapping[str, str],
    sources: Sources,
    *,
    in_define: bool,
) -> Substituted:
    """Replaces the variables of ``text`` (one pass: values are never re-expanded).

    ``stand_ins`` gives a stand-in for each disabled variable. In a ``Define``, the define-only
    generators are left as written.
    """
    unresolved: list[str] = []
    disabled_by: list[str] = []
    pieces: list[str] = []
    shape: list[str] = []
    position = 0
    for match in TOKEN.finditer(text):
        pieces.append(text[position : match.start()])
        shape.append(text[position : match.start()])
        position = match.end()
        name, written = match.group(1), match.group(0)
        value = _value(name, variables, sources)
        if value is not None:
            pieces.append(value)
            shape.append(value)
            continue
        pieces.append(written)
        if name in stand_ins:
            disabled_by.append(name)
            shape.append(stand_ins[name])
            continue
        shape.append(written)
        if not (in_define and generator(name)):
            unresolved.append(written)
    pieces.append(text[position:])
    shape.append(text[position:])
    return Substituted("".join(pieces), "".join(shape), tuple(unresolved), tuple(disabled_by))


def _value(name: str, variables: Mapping[str, str], sources: Sources) -> str | None:
    if name in variables:
        return variables[name]
    simple = name.strip().upper()
    if simple == "UUID":
        return sources.new_uuid()
    if simple == "NANO_TIME":
        return str(sources.clock_ns())
    if simple == "MILLI_TIME":
        return str(sources.clock_ns() // 1_000_000)
    return None


def generator(name: str) -> re.Match[str] | None:
    """``SMART_INDEX``, ``FORMATTED_TIME ...`` or ``EXISTING_INDEX ...`` (group 1), or None."""
    found = _GENERATOR.fullmatch(name)
    if found is None or (found.group(1).upper() == "SMART_INDEX" and found.group(2).strip()):
        return None
    return found


def unresolved_issue(token: str, text: str) -> Issue:
    found = generator(token[2:-1])
    hint = (
        f" {found.group(1).upper()} can only be used in a 'Define' instruction:"
        " define a variable with it, then use that variable."
        if found
        else " Define it first with 'Define NAME = value', earlier in the file."
    )
    return Issue(
        Code.CMD_UNRESOLVED_VARIABLE,
        f"'{token}' is not defined at this point.{hint}",
        {"variable": token, "instruction": text},
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The value of a variable; when ``disabled``, a stand-in (the index query replaced by 0)."""

    value: str | None
    disabled: bool = False
    issues: tuple[Issue, ...] = ()


def evaluate(define: Define, paths: Collection[str], sources: Sources) -> Evaluation:
    """The value of a ``Define`` against the instances' ``paths``, or why it has none."""
    expression, under = define.expression, define.under
    generators = [
        (match, found)
        for match in TOKEN.finditer(expression)
        if (found := generator(match.group(1)))
    ]
    kinds = [found.group(1).upper() for _, found in generators]
    issues = _check_generators(define, generators, kinds)
    if not issues and under is not None and under not in paths:
        issues.append(
            Issue(
                Code.CMD_NO_MATCHING_INSTANCE,
                f"'under {under}': no instance has this path.",
                {"instance": under, "instruction": define.text},
            )
        )
    if issues:
        return Evaluation(None, issues=tuple(issues))

    prefix = under or ""
    if "FORMATTED_TIME" in kinds:
        pattern = tokenize(generators[0][1].group(2).strip())
        moment = datetime.fromtimestamp(sources.clock_ns() / 1e9, sources.timezone)
        local = moment if sources.timezone else moment.astimezone()
        return Evaluation(format_time(pattern, local) if isinstance(pattern, list) else None)
    if "SMART_INDEX" in kinds:
        index = 1
        while f"{prefix}/{_put_index(expression, generators, index)}" in paths:
            index += 1
        expression = _put_index(expression, generators, index)
    if "EXISTING_INDEX" in kinds:
        match, found = generators[0]
        head, tail = expression[: match.start()], expression[match.end() :]
        existing = _existing_index(found.group(2), f"{prefix}/{head}", tail, paths)
        return Evaluation(f"{head}{existing or 0}{tail}", disabled=existing is None)
    return Evaluation(expression)


def _check_generators(
    define: Define, generators: list[tuple[re.Match[str], re.Match[str]]], kinds: list[str]
) -> list[Issue]:
    details = {"variable": define.name, "instruction": define.text}
    issues: list[Issue] = []
    if "FORMATTED_TIME" in kinds:
        match, found = generators[kinds.index("FORMATTED_TIME")]
        if len(generators) > 1 or match.group(0) != define.expression:
            issues.append(
                Issue(
                    Code.CMD_NO_MIX_FOR_PATTERNS,
                    f"'{define.expression}': $(FORMATTED_TIME ...) must be the whole value of"
                    " the variable; define it alone, then use it in another 'Define'.",
                    details,
                )
            )
        else:
            pattern = found.group(2).strip()
            why = tokenize(pattern) if pattern else "the pattern is empty (e.g. yyyy-MM-dd)"
            if isinstance(why, str):
                issues.append(
                    Issue(
                        Code.CMD_INVALID_DATE_PATTERN,
                        f"'{pattern}' is not a valid date pattern: {why}.",
                        {**details, "pattern": pattern},
                    )
                )
    for match, found in generators:
        if found.group(1).upper() == "EXISTING_INDEX" and not _INDEX_QUERY.fullmatch(
            found.group(2)
        ):
            issues.append(
                Issue(
                    Code.CMD_INVALID_INDEX_PATTERN,
                    f"'{match.group(0)}' is not a valid query:"
                    " write $(EXISTING_INDEX MIN), $(EXISTING_INDEX MAX < 10)...",
                    details,
                )
            )
    if kinds.count("EXISTING_INDEX") > 1 or ("EXISTING_INDEX" in kinds and "SMART_INDEX" in kinds):
        issues.append(
            Issue(
                Code.CMD_NO_MIX_FOR_PATTERNS,
                f"'{define.expression}': use one $(EXISTING_INDEX ...) per variable,"
                " without $(SMART_INDEX).",
                details,
            )
        )
    return issues


def _put_index(
    expression: str, generators: list[tuple[re.Match[str], re.Match[str]]], index: int
) -> str:
    result = expression
    for match, found in generators:
        if found.group(1).upper() == "SMART_INDEX":
            result = result.replace(match.group(0), str(index))
    return result


def _existing_index(query: str, head: str, tail: str, paths: Collection[str]) -> int | None:
    parsed = _INDEX_QUERY.fullmatch(query)
    if parsed is None:  # reported by _check_generators
        return None
    wanted = re.compile(re.escape(head) + "([0-9]+)" + re.escape(tail))
    found = {int(m.group(1)) for path in paths if (m := wanted.fullmatch(path))}
    operator, bound = parsed.group(2), parsed.group(3)
    if operator == ">":
        found = {index for index in found if index > int(bound)}
    elif operator == "<":
        found = {index for index in found if index < int(bound)}
    if not found:
        return None
    return min(found) if parsed.group(1).upper() == "MIN" else max(found)
