"""The shape of each instruction of the commands language: text in, instruction or issues out.

Nothing here knows the application: checks against the graph and the instances are in
:mod:`roboconf.autonomic._command_checks`. Keywords are case-insensitive; an instruction is one
logical line (a trailing ``\\`` continues it on the next line) and ``#`` starts a comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from roboconf.autonomic._issues import Issue, did_you_mean
from roboconf.autonomic.instructions import (
    Append,
    Associate,
    BulkAction,
    BulkKind,
    ChangeStatus,
    Create,
    Define,
    Email,
    Execute,
    Instruction,
    Rename,
    Replicate,
    Write,
)
from roboconf.errors import Code
from roboconf.model.types import InstanceStatus

COMMANDS_EXTENSION = ".commands"

#: the statuses a command may request
STABLE_STATUSES = frozenset(
    {InstanceStatus.NOT_DEPLOYED, InstanceStatus.DEPLOYED_STOPPED, InstanceStatus.DEPLOYED_STARTED}
)

_I = re.IGNORECASE
_KEYWORD = re.compile(r"[A-Za-z]+(?![A-Za-z])")
_DEFINE = re.compile(r"define(?:\s+(?P<name>[^=]*?))?\s*=\s*(?P<value>.*)", _I)
_UNDER = re.compile(r"(?P<head>.*)\s+under\b(?P<parent>.*)", _I)
_CREATE = re.compile(r"create(?:\s+(?P<component>.*?))?\s+as\b(?P<rest>.*)", _I)
_REPLICATE = re.compile(r"replicate(?:\s+(?P<path>.*?))?\s+as\b(?P<name>.*)", _I)
_RENAME = re.compile(r"rename(?:\s+(?P<path>.*?))?\s+as\b(?P<name>.*)", _I)
_ASSOCIATE = re.compile(r"associate(?:\s+(?P<path>.*?))?\s+with\b(?P<target>.*)", _I)
_CHANGE = re.compile(r"change\s+status\s+of\b(?P<path>.*)\s+to\b(?P<status>.*)", _I)
_BULK = re.compile(
    r"(?P<action>deploy\s+and\s+start\s+all|stop\s+all|undeploy\s+all|delete(?:\s+all)?)\b"
    r"(?P<target>.*)",
    _I,
)
_INSTANCES_OF = re.compile(r"instances\s+of\b(?P<component>.*)", _I)
_EMAIL = re.compile(r"email(?:\s+(?P<to>.*?))?\s+with\b(?P<message>.*)", _I)
_TO_FILE = re.compile(r"(?:write|append)(?:\s+(?P<content>.*))?\s+into\b(?P<file>.*)", _I)
_EXECUTE = re.compile(r"execute\b(?P<name>.*)", _I)

_BULK_ACTIONS = {
    "deploy": BulkKind.DEPLOY_AND_START,
    "stop": BulkKind.STOP,
    "undeploy": BulkKind.UNDEPLOY,
    "delete": BulkKind.DELETE,
}

_USAGE = {
    "define": "Define NAME = value [under /parent]",
    "create": "Create <Component> as <name> [under /parent]",
    "replicate": "Replicate /root-instance as <name>",
    "rename": "Rename /path as <name>",
    "associate": "Associate /scoped-instance with <target-id>",
    "change": "Change status of /path to DEPLOYED_STARTED",
    "deploy": "Deploy and start all /path (or: ... all instances of <Component>)",
    "stop": "Stop all /path (or: ... all instances of <Component>)",
    "undeploy": "Undeploy all /path (or: ... all instances of <Component>)",
    "delete": "Delete /path (or: Delete all instances of <Component>)",
    "email": "email [to@example.com, ...] with <message>",
    "write": "Write <text> into <file>",
    "append": "Append <text> into <file>",
    "execute": "Execute <commands-file-name>",
}
KEYWORDS = frozenset(_USAGE)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """``(first line number, instruction text)`` for every non-empty instruction.

    A line ending with ``\\`` is joined with the next one, whose leading blanks are dropped;
    everything from ``#`` to the end of the joined line is a comment.
    """
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    result: list[tuple[int, str]] = []
    index = 0
    while index < len(physical):
        start = index
        joined = ""
        current = physical[index]
        while current.rstrip().endswith("\\"):
            joined += current.rstrip()[:-1]
            if index + 1 >= len(physical):
                current = ""
                break
            index += 1
            current = physical[index].lstrip()
        joined += current
        index += 1
        instruction = joined.split("#", 1)[0].strip()
        if instruction:
            result.append((start + 1, instruction))
    return result


def keyword_of(text: str) -> str | None:
    """The instruction keyword (lower case) that starts ``text``, or None."""
    match = _KEYWORD.match(text)
    word = match.group(0).lower() if match else ""
    return word if word in KEYWORDS else None


def unrecognized(text: str) -> Issue:
    word = text.split(None, 1)[0] if text.split() else text
    hint = did_you_mean(word.lower(), KEYWORDS)
    return Issue(
        Code.CMD_UNRECOGNIZED_INSTRUCTION,
        f"'{text}' is not an instruction of the commands language.{hint}"
        " Instructions start with: " + ", ".join(sorted(KEYWORDS)) + ".",
        {"instruction": text},
    )


def parse_instruction(keyword: str, text: str, line: int) -> Instruction | Issue:
    """The instruction written in ``text`` (whose keyword is ``keyword``), or why it is not one."""
    return _PARSERS[keyword](text, line)


def _invalid(keyword: str, text: str, what: str) -> Issue:
    return Issue(
        Code.CMD_INVALID_SYNTAX,
        f"'{text}': {what}. Write: '{_USAGE[keyword]}'.",
        {"instruction": text},
    )


def _path_issue(keyword: str, text: str, path: str, role: str) -> Issue | None:
    if not path:
        return _invalid(keyword, text, f"the path of the {role} is missing")
    if not path.startswith("/"):
        return _invalid(keyword, text, f"'{path}' is not an instance path (they start with '/')")
    return None


def _define(text: str, line: int) -> Instruction | Issue:
    match = _DEFINE.fullmatch(text)
    if match is None:
        return _invalid("define", text, "'=' is missing")
    name = (match["name"] or "").strip()
    if not name:
        return Issue(
            Code.CMD_EMPTY_VARIABLE_NAME,
            f"'{text}' gives no variable name before '='. Write: '{_USAGE['define']}'.",
            {"instruction": text},
        )
    expression, under = match["value"].strip(), None
    split = _UNDER.fullmatch(expression)
    if split is not None:
        expression, under = split["head"].strip(), split["parent"].strip()
        if issue := _path_issue("define", text, under, "parent instance ('under')"):
            return issue
    return Define(line=line, text=text, name=name, expression=expression, under=under)


def _create(text: str, line: int) -> Instruction | Issue:
    match = _CREATE.fullmatch(text)
    if match is None:
        return _invalid("create", text, "'as <name>' is missing")
    component = (match["component"] or "").strip()
    if not component:
        return Issue(
            Code.CMD_MISSING_COMPONENT_NAME,
            f"'{text}' names no component. Write: '{_USAGE['create']}'.",
            {"instruction": text},
        )
    name, parent = match["rest"].strip(), None
    split = _UNDER.fullmatch(name)
    if split is not None:
        name, parent = split["head"].strip(), split["parent"].strip()
        if not parent:
            return Issue(
                Code.CMD_MISSING_PARENT_INSTANCE,
                f"'{text}': 'under' must be followed by the path of the parent instance.",
                {"instruction": text},
            )
        if issue := _path_issue("create", text, parent, "parent instance"):
            return issue
    if not name:
        return _missing_name("create", text)
    return Create(line=line, text=text, component=component, name=name, parent=parent)


def _missing_name(keyword: str, text: str) -> Issue:
    return Issue(
        Code.CMD_MISSING_INSTANCE_NAME,
        f"'{text}' gives no instance name after 'as'. Write: '{_USAGE[keyword]}'.",
        {"instruction": text},
    )


def _replicate(text: str, line: int) -> Instruction | Issue:
    match = _REPLICATE.fullmatch(text)
    if match is None:
        return _invalid("replicate", text, "'as <name>' is missing")
    source, name = (match["path"] or "").strip(), match["name"].strip()
    if issue := _path_issue("replicate", text, source, "instance to replicate"):
        return issue
    if not name:
        return _missing_name("replicate", text)
    return Replicate(line=line, text=text, source=source, name=name)


def _rename(text: str, line: int) -> Instruction | Issue:
    match = _RENAME.fullmatch(text)
    if match is None:
        return _invalid("rename", text, "'as <name>' is missing")
    path, name = (match["path"] or "").strip(), match["name"].strip()
    if issue := _path_issue("rename", text, path, "instance to rename"):
        return issue
    if not name:
        return _missing_name("rename", text)
    return Rename(line=line, text=text, path=path, name=name)


def _associate(text: str, line: int) -> Instruction | Issue:
    match = _ASSOCIATE.fullmatch(text)
    if match is None:
        return _invalid("associate", text, "'with <target-id>' is missing")
    path, target = (match["path"] or "").strip(), match["target"].strip()
    if issue := _path_issue("associate", text, path, "scoped instance"):
        return issue
    if not target:
        return Issue(
            Code.CMD_INVALID_TARGET_ID,
            f"'{text}' gives no target id after 'with'. Write: '{_USAGE['associate']}'.",
            {"instruction": text},
        )
    return Associate(line=line, text=text, path=path, target_id=target)


def parse_status(written: str) -> InstanceStatus | None:
    """``DEPLOYED and STARTED``, ``deployed started``, ``DEPLOYED_STARTED``... or None."""
    words = [w for w in re.split(r"[\s_-]+", written.strip().upper()) if w and w != "AND"]
    try:
        return InstanceStatus("_".join(words))
    except ValueError:
        return None


def _change(text: str, line: int) -> Instruction | Issue:
    match = _CHANGE.fullmatch(text)
    if match is None:
        return _invalid("change", text, "it must read 'change status of <path> to <status>'")
    path, written = match["path"].strip(), match["status"].strip()
    if issue := _path_issue("change", text, path, "instance"):
        return issue
    stable = ", ".join(sorted(s.value for s in STABLE_STATUSES))
    status = parse_status(written)
    if status is None:
        return Issue(
            Code.CMD_INVALID_INSTANCE_STATUS,
            f"'{written}' is not an instance status. Use one of: {stable}.",
            {"instruction": text, "status": written},
        )
    if status not in STABLE_STATUSES:
        return Issue(
            Code.CMD_INSTABLE_INSTANCE_STATUS,
            f"'{status.value}' cannot be requested. Use one of: {stable}.",
            {"instruction": text, "status": status.value},
        )
    return ChangeStatus(line=line, text=text, path=path, status=status)


def _bulk(text: str, line: int) -> Instruction | Issue:
    keyword = (keyword_of(text) or "delete").lower()
    match = _BULK.fullmatch(text)
    if match is None:
        return Issue(
            Code.CMD_UNRECOGNIZED_INSTRUCTION,
            f"'{text}' is not an instruction of the commands language. Write: '{_USAGE[keyword]}'.",
            {"instruction": text},
        )
    action = _BULK_ACTIONS[match["action"].split()[0].lower()]
    target = match["target"].strip()
    if target.startswith("/"):
        return BulkAction(line=line, text=text, action=action, path=target)
    of = _INSTANCES_OF.fullmatch(target)
    if of is None:
        return _invalid(keyword, text, "an instance path or 'instances of <Component>' is expected")
    component = of["component"].strip()
    if not component:
        return Issue(
            Code.CMD_MISSING_COMPONENT_NAME,
            f"'{text}' names no component after 'instances of'.",
            {"instruction": text},
        )
    return BulkAction(line=line, text=text, action=action, component=component)


def _email(text: str, line: int) -> Instruction | Issue:
    match = _EMAIL.fullmatch(text)
    if match is None:
        return _invalid("email", text, "'with <message>' is missing")
    message = match["message"].strip().replace("\\n", "\n")
    if not message.strip():
        return Issue(
            Code.CMD_EMAIL_NO_MESSAGE,
            f"'{text}' sends no message: write it after 'with'.",
            {"instruction": text},
        )
    to = tuple(r for r in re.split(r"[\s,;]+", match["to"] or "") if r)
    return Email(line=line, text=text, to=to, message=message)


def _to_file(text: str, line: int) -> Instruction | Issue:
    keyword = "append" if text[:6].lower() == "append" else "write"
    match = _TO_FILE.fullmatch(text)
    if match is None:
        return _invalid(keyword, text, "'into <file>' is missing")
    content, file = (match["content"] or "").strip(), match["file"].strip()
    if not file:
        return Issue(
            Code.CMD_MISSING_TARGET_FILE,
            f"'{text}' names no file after 'into'. Write: '{_USAGE[keyword]}'.",
            {"instruction": text},
        )
    kind = Append if keyword == "append" else Write
    return kind(line=line, text=text, content=content, file=file)


def _execute(text: str, line: int) -> Instruction | Issue:
    match = _EXECUTE.fullmatch(text)
    name = match["name"].strip() if match else ""
    if name.lower().endswith(COMMANDS_EXTENSION):
        name = name[: -len(COMMANDS_EXTENSION)].strip()
    if not name:
        return Issue(
            Code.CMD_MISSING_COMMAND_NAME,
            f"'{text}' names no commands file. Write: '{_USAGE['execute']}'.",
            {"instruction": text},
        )
    return Execute(line=line, text=text, command=name)


_PARSERS: dict[str, Callable[[str, int], Instruction | Issue]] = {
    "define": _define,
    "create": _create,
    "replicate": _replicate,
    "rename": _rename,
    "associate": _associate,
    "change": _change,
    "deploy": _bulk,
    "stop": _bulk,
    "undeploy": _bulk,
    "delete": _bulk,
    "email": _email,
    "write": _to_file,
    "append": _to_file,
    "execute": _execute,
}
