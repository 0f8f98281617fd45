"""The commands language: one instruction per row, then sequences that change the instances."""

from __future__ import annotations

from typing import Any

import pytest

from roboconf.autonomic.commands import instance_paths, parse_commands_file
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
from roboconf.errors import Code, Severity
from roboconf.model.types import Instance, InstanceStatus
from tests.autonomic.application import NOW_NS, UUID, codes, context, parse

DEPLOY, STOP, UNDEPLOY, DELETE = (
    BulkKind.DEPLOY_AND_START,
    BulkKind.STOP,
    BulkKind.UNDEPLOY,
    BulkKind.DELETE,
)
STARTED, STOPPED = InstanceStatus.DEPLOYED_STARTED, InstanceStatus.DEPLOYED_STOPPED


def X(kind: type[Instruction], **fields: Any) -> Instruction:
    """An expected instruction (its line and text are checked apart)."""
    return kind(line=1, text="", **fields)


INSTRUCTIONS = [
    ("create a root instance", "create vm as web", X(Create, component="vm", name="web")),
    (
        "create a child instance under its parent",
        "create tomcat as t2 under /tomcat-vm",
        X(Create, component="tomcat", name="t2", parent="/tomcat-vm"),
    ),
    ("keywords are case-insensitive", "CREATE vm AS web", X(Create, component="vm", name="web")),
    (
        "instance names may hold spaces",
        "Replicate /tomcat-vm as New Tomcat VM",
        X(Replicate, source="/tomcat-vm", name="New Tomcat VM"),
    ),
    (
        "the first 'as' separates the path from the name",
        "replicate /tomcat-vm as vm as copy",
        X(Replicate, source="/tomcat-vm", name="vm as copy"),
    ),
    (
        "rename an instance",
        "rename /tomcat-vm as tomcat-2",
        X(Rename, path="/tomcat-vm", name="tomcat-2"),
    ),
    (
        "associate a scoped instance",
        "associate /tomcat-vm with 3",
        X(Associate, path="/tomcat-vm", target_id="3"),
    ),
    (
        "a status with 'and'",
        "change status of /tomcat-vm to DEPLOYED and STARTED",
        X(ChangeStatus, path="/tomcat-vm", status=STARTED),
    ),
    (
        "a status with underscores, in lower case",
        "Change Status Of /tomcat-vm To deployed_stopped",
        X(ChangeStatus, path="/tomcat-vm", status=STOPPED),
    ),
    (
        "a status with spaces",
        "change status of /tomcat-vm to not deployed",
        X(ChangeStatus, path="/tomcat-vm", status=InstanceStatus.NOT_DEPLOYED),
    ),
    (
        "deploy and start a subtree",
        "deploy and start all /tomcat-vm",
        X(BulkAction, action=DEPLOY, path="/tomcat-vm"),
    ),
    (
        "stop every instance of a component",
        "stop all instances of vm",
        X(BulkAction, action=STOP, component="vm"),
    ),
    (
        "undeploy a subtree",
        "Undeploy  all   /mysql-vm",
        X(BulkAction, action=UNDEPLOY, path="/mysql-vm"),
    ),
    ("delete one instance", "delete /tomcat-vm", X(BulkAction, action=DELETE, path="/tomcat-vm")),
    (
        "'delete all /path' is a delete too",
        "delete all /tomcat-vm",
        X(BulkAction, action=DELETE, path="/tomcat-vm"),
    ),
    (
        "delete every instance of a component",
        "Delete all instances of tomcat",
        X(BulkAction, action=DELETE, component="tomcat"),
    ),
    (
        "an e-mail to several recipients, with a line break",
        r"email a@x.org, b@x.org with Alert!\nCPU is high.",
        X(Email, to=("a@x.org", "b@x.org"), message="Alert!\nCPU is high."),
    ),
    ("an e-mail to the default recipients", "email with hello", X(Email, to=(), message="hello")),
    (
        "write into the temporary folder (left for the executor)",
        "write some text into %TMP%/out.txt",
        X(Write, content="some text", file="%TMP%/out.txt"),
    ),
    ("write nothing creates an empty file", "write into /f", X(Write, content="", file="/f")),
    (
        "the last 'into' names the file",
        "append go into it into /f",
        X(Append, content="go into it", file="/f"),
    ),
    ("execute another commands file", "execute scale", X(Execute, command="scale")),
    ("the extension may be given", "Execute scale.commands", X(Execute, command="scale")),
    ("define a variable", "define VAR = vm", X(Define, name="VAR", expression="vm", value="vm")),
    (
        "variable names may hold spaces",
        "define my var = a b",
        X(Define, name="my var", expression="a b", value="a b"),
    ),
    (
        "a smart index counts the existing siblings",
        "define n = tomcat-vm$(SMART_INDEX)",
        X(Define, name="n", expression="tomcat-vm$(SMART_INDEX)", value="tomcat-vm1"),
    ),
    (
        "a smart index under a parent",
        "define n = tomcat-server$(SMART_INDEX) under /tomcat-vm",
        X(
            Define,
            name="n",
            expression="tomcat-server$(SMART_INDEX)",
            value="tomcat-server1",
            under="/tomcat-vm",
        ),
    ),
    (
        "a formatted time (Java pattern)",
        "define t = $(FORMATTED_TIME yyyy-MM-dd'T'HH:mm:ss.SSS)",
        X(
            Define,
            name="t",
            expression="$(FORMATTED_TIME yyyy-MM-dd'T'HH:mm:ss.SSS)",
            value="2024-03-05T14:07:09.123",
        ),
    ),
    (
        "time and UUID generators may be used anywhere",
        "create vm as vm $(MILLI_TIME) $(UUID)",
        X(Create, component="vm", name=f"vm {NOW_NS // 10**6} {UUID}"),
    ),
]


def _same(found: Instruction, expected: Instruction) -> bool:
    return type(found) is type(expected) and all(
        getattr(found, name) == getattr(expected, name)
        for name in type(expected).__dataclass_fields__
        if name not in ("line", "text")
    )


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in INSTRUCTIONS])
def test_an_instruction_is_read_into_its_value(text: str, expected: Instruction) -> None:
    result = parse(text, commands={"scale": "write x into /f"})

    assert codes(result) == []
    assert len(result.instructions) == 1
    assert _same(result.instructions[0], expected), result.instructions[0]
    assert result.instructions[0].line == 1
    assert result.ok


ERRORS = [
    ("an unknown keyword", "defin VAR = vm", "CMD_UNRECOGNIZED_INSTRUCTION"),
    ("a bulk word without 'all'", "deploy /tomcat-vm", "CMD_UNRECOGNIZED_INSTRUCTION"),
    ("create without 'as'", "create vm", "CMD_INVALID_SYNTAX"),
    ("create without component", "create as x", "CMD_MISSING_COMPONENT_NAME"),
    ("create without name", "create vm as", "CMD_MISSING_INSTANCE_NAME"),
    ("create of an unknown component", "create oops as x", "CMD_INEXISTING_COMPONENT"),
    ("an invalid instance name", "create vm as 1st", "CMD_INVALID_INSTANCE_NAME"),
    ("an instance that already exists", "create vm as tomcat-vm", "CMD_CONFLICTING_INSTANCE_NAME"),
    ("a child component without parent", "create tomcat as t", "CMD_MISSING_PARENT_INSTANCE"),
    ("'under' without a path", "create war as w under", "CMD_MISSING_PARENT_INSTANCE"),
    (
        "a root component under a parent",
        "create vm as v under /tomcat-vm",
        "CMD_CANNOT_HAVE_ANY_PARENT",
    ),
    (
        "a child under the wrong parent",
        "create war as w under /mysql-vm",
        "CMD_NOT_AN_ACCEPTABLE_PARENT",
    ),
    ("a child under an unknown parent", "create war as w under /nope", "CMD_NO_MATCHING_INSTANCE"),
    ("a parent path without '/'", "create war as w under tomcat-vm", "CMD_INVALID_SYNTAX"),
    (
        "replicate a child instance",
        "replicate /tomcat-vm/tomcat-server as x",
        "CMD_NOT_A_ROOT_INSTANCE",
    ),
    ("replicate a path without '/'", "replicate tomcat-vm as x", "CMD_INVALID_SYNTAX"),
    ("replicate an unknown instance", "replicate /nope as x", "CMD_NO_MATCHING_INSTANCE"),
    (
        "replicate onto an existing name",
        "replicate /tomcat-vm as mysql-vm",
        "CMD_CONFLICTING_INSTANCE_NAME",
    ),
    (
        "rename onto an existing sibling",
        "rename /tomcat-vm as mysql-vm",
        "CMD_CONFLICTING_INSTANCE_NAME",
    ),
    ("rename without name", "rename /tomcat-vm as", "CMD_MISSING_INSTANCE_NAME"),
    (
        "associate a non-scoped instance",
        "associate /tomcat-vm/tomcat-server with 1",
        "CMD_NOT_A_SCOPED_INSTANCE",
    ),
    ("associate without target", "associate /tomcat-vm with", "CMD_INVALID_TARGET_ID"),
    ("an unknown status", "change status of /tomcat-vm to RUNNING", "CMD_INVALID_INSTANCE_STATUS"),
    (
        "a transitional status",
        "change status of /tomcat-vm to DEPLOYING",
        "CMD_INSTABLE_INSTANCE_STATUS",
    ),
    (
        "a status change of an unknown instance",
        "change status of /x to NOT_DEPLOYED",
        "CMD_NO_MATCHING_INSTANCE",
    ),
    ("a bulk action without target", "stop all", "CMD_INVALID_SYNTAX"),
    (
        "a bulk action on an unknown component",
        "stop all instances of oops",
        "CMD_INEXISTING_COMPONENT",
    ),
    ("a bulk action without component", "stop all instances of", "CMD_MISSING_COMPONENT_NAME"),
    ("a bulk action on an unknown instance", "undeploy all /nope", "CMD_NO_MATCHING_INSTANCE"),
    ("an e-mail without message", "email a@x.org with", "CMD_EMAIL_NO_MESSAGE"),
    ("an e-mail without 'with'", "email a@x.org", "CMD_INVALID_SYNTAX"),
    ("write without 'into'", "write hello", "CMD_INVALID_SYNTAX"),
    ("write without file", "write hello into", "CMD_MISSING_TARGET_FILE"),
    ("execute without name", "execute", "CMD_MISSING_COMMAND_NAME"),
    ("execute an unknown file", "execute nope", "CMD_INEXISTING_COMMAND"),
    ("define without name", "define = x", "CMD_EMPTY_VARIABLE_NAME"),
    ("define without '='", "define x", "CMD_INVALID_SYNTAX"),
    (
        "a formatted time mixed with text",
        "define t = at $(FORMATTED_TIME HH)",
        "CMD_NO_MIX_FOR_PATTERNS",
    ),
    ("an unknown date letter", "define t = $(FORMATTED_TIME qq)", "CMD_INVALID_DATE_PATTERN"),
    ("an unclosed quote in a date", "define t = $(FORMATTED_TIME 'at)", "CMD_INVALID_DATE_PATTERN"),
    (
        "a formatted time without pattern",
        "define t = $(FORMATTED_TIME)",
        "CMD_INVALID_DATE_PATTERN",
    ),
    ("an invalid index query", "define i = vm $(EXISTING_INDEX LAST)", "CMD_INVALID_INDEX_PATTERN"),
    (
        "an index query with a smart index",
        "define i = $(EXISTING_INDEX MIN) $(SMART_INDEX)",
        "CMD_NO_MIX_FOR_PATTERNS",
    ),
    ("define under an unknown instance", "define i = x under /nope", "CMD_NO_MATCHING_INSTANCE"),
    ("a smart index outside 'define'", "create vm as $(SMART_INDEX)", "CMD_UNRESOLVED_VARIABLE"),
    ("an undefined variable", "create vm as $(nope)", "CMD_UNRESOLVED_VARIABLE"),
    ("an empty variable", "create vm as $()", "CMD_UNRESOLVED_VARIABLE"),
]


@pytest.mark.parametrize("text, code", [pytest.param(t, c, id=i) for i, t, c in ERRORS])
def test_a_wrong_instruction_gets_one_coded_diagnostic(text: str, code: str) -> None:
    result = parse(text)

    assert codes(result)[-1:] == [(code, 1)]
    assert not result.ok
    diagnostic = result.diagnostics[-1]
    assert diagnostic.file == "commands/test.commands"
    assert diagnostic.message and diagnostic.details


@pytest.mark.parametrize(
    "text, hint",
    [
        pytest.param("defin VAR = vm", "Did you mean 'define'?", id="an unknown keyword"),
        pytest.param(
            "create tomcatt as x under /tomcat-vm",
            "Did you mean 'tomcat'?",
            id="a typo in a component",
        ),
        pytest.param("stop all /tomcat-wm", "Did you mean '/tomcat-vm'?", id="a typo in a path"),
        pytest.param(
            "create tomcat as t", "instance of vm", id="a missing parent names the accepted ones"
        ),
    ],
)
def test_a_diagnostic_says_how_to_fix_it(text: str, hint: str) -> None:
    assert hint in parse(text).diagnostics[-1].message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="an empty text"),
        pytest.param("# only\n\n   # comments\n", id="only comments"),
    ],
)
def test_a_text_without_instruction_gets_a_warning(text: str) -> None:
    result = parse(text)

    assert codes(result) == [("CMD_NO_INSTRUCTION", 1)]
    assert result.diagnostics[0].level is Severity.WARNING
    assert result.ok


def test_unknown_lines_only_give_no_instruction_first_then_each_line() -> None:
    result = parse("foo\nbar")

    assert codes(result) == [
        ("CMD_NO_INSTRUCTION", 1),
        ("CMD_UNRECOGNIZED_INSTRUCTION", 1),
        ("CMD_UNRECOGNIZED_INSTRUCTION", 2),
    ]


def test_a_continued_instruction_keeps_its_first_line_and_lines_after_it_keep_theirs() -> None:
    text = "\r\ncreate vm \\\r\n\t\tas web  # a comment\r\n\r\nstop all /oops\r\n"

    result = parse(text)

    assert result.instructions[0] == Create(
        line=2, text="create vm as web", component="vm", name="web"
    )
    assert codes(result) == [("CMD_NO_MATCHING_INSTANCE", 5)]


def test_an_unresolved_variable_is_reported_once_and_nothing_else_is_checked() -> None:
    result = parse("create oops as instance $(id)")

    assert codes(result) == [("CMD_UNRESOLVED_VARIABLE", 1)]
    assert result.diagnostics[0].details["variable"] == "$(id)"
    assert len(result.instructions) == 1


SEQUENCES = [
    ("a created instance can be deployed", "create vm as web\ndeploy and start all /web", []),
    (
        "a deleted instance cannot be stopped",
        "delete /tomcat-vm\nstop all /tomcat-vm",
        [("CMD_NO_MATCHING_INSTANCE", 2)],
    ),
    (
        "deleting an instance deletes its subtree",
        "delete /tomcat-vm\nstop all /tomcat-vm/tomcat-server",
        [("CMD_NO_MATCHING_INSTANCE", 2)],
    ),
    (
        "a renamed instance moves with its subtree",
        "rename /tomcat-vm as t2\nstop all /t2/tomcat-server/hello-world\nstop all /tomcat-vm",
        [("CMD_NO_MATCHING_INSTANCE", 3)],
    ),
    (
        "a replica has the subtree of its source",
        "replicate /tomcat-vm as t2\nstop all /t2/tomcat-server/hello-world\nstop all /tomcat-vm",
        [],
    ),
    (
        "deleting all instances of a component deletes their subtrees",
        "delete all instances of tomcat\nstop all /tomcat-vm/tomcat-server/hello-world",
        [("CMD_NO_MATCHING_INSTANCE", 2)],
    ),
    (
        "a child can be created under a created parent",
        "create vm as v\ncreate tomcat as t under /v\ncreate war as w under /v/t",
        [],
    ),
    (
        "a wrong instruction changes nothing",
        "create oops as v\nstop all /v",
        [("CMD_INEXISTING_COMPONENT", 1), ("CMD_NO_MATCHING_INSTANCE", 2)],
    ),
    (
        "a variable is usable after its definition",
        "define VAR = tomcat-vm\nstop all /$(VAR)",
        [],
    ),
    (
        "a variable that failed is not defined",
        "define id = $(VAR) 1\ncreate vm as $(id)",
        [("CMD_UNRESOLVED_VARIABLE", 1), ("CMD_UNRESOLVED_VARIABLE", 2)],
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in SEQUENCES])
def test_instructions_are_checked_against_the_instances_left_by_the_previous_ones(
    text: str, expected: list[tuple[str, int]]
) -> None:
    assert codes(parse(text)) == expected


def test_smart_indexes_count_the_instances_created_before() -> None:
    text = "\n".join(["define n = vm $(SMART_INDEX)", "create vm as $(n)"] * 3)

    result = parse(text)

    assert [i.name for i in result.instructions if isinstance(i, Create)] == [
        "vm 1",
        "vm 2",
        "vm 3",
    ]


INDEX_QUERIES = [
    ("the smallest index", "MIN", "vm 1"),
    ("the largest index", "MAX", "vm 7"),
    ("the smallest index above a bound", "MIN > 1", "vm 3"),
    ("the largest index below a bound", "MAX<7", "vm 3"),
    ("nothing above the largest index", "MIN > 7", None),
    ("nothing below the smallest index", "max < 1", None),
]


@pytest.mark.parametrize("query, value", [pytest.param(q, v, id=i) for i, q, v in INDEX_QUERIES])
def test_an_index_query_finds_an_existing_instance_or_disables_the_variable(
    query: str, value: str | None
) -> None:
    instances = {"/vm 1": "vm", "/vm 3": "vm", "/vm 7": "vm", "/vm 7/t": "tomcat", "/xvm 9": "vm"}

    result = parse(f"define V = vm $(EXISTING_INDEX {query})\nstop all /$(V)", instances=instances)

    define, stop = result.instructions
    assert codes(result) == []
    assert isinstance(define, Define) and define.value == value
    assert define.disabled is stop.disabled is (value is None)


def test_a_disabled_variable_disables_the_variables_and_instructions_that_use_it() -> None:
    text = """
define A = vm $(EXISTING_INDEX MIN)
define B = /$(A)
stop all $(B)
append done into /f
define A = tomcat-vm
stop all /$(A)
"""
    result = parse(text)

    assert codes(result) == []
    assert [i.disabled for i in result.instructions] == [True, True, True, False, False, False]
    assert result.instructions[2].text == "stop all $(B)"


def test_a_formatted_time_follows_the_time_zone() -> None:
    from datetime import timedelta, timezone

    result = parse("define t = $(FORMATTED_TIME HH:mm Z)", timezone=timezone(timedelta(hours=2)))

    assert isinstance(define := result.instructions[0], Define)
    assert define.value == "16:07 +0200"


LOOPS = [
    ("a file that executes itself", {"self": "execute self"}, "self", "CMD_LOOPING_COMMAND"),
    (
        "a file that executes a file that executes it",
        {"a": "execute b", "b": "execute a"},
        "a",
        "CMD_NASTY_LOOPING_COMMAND",
    ),
    (
        "a file that executes a file that loops",
        {"a": "execute b", "b": "execute b"},
        "a",
        "CMD_NASTY_LOOPING_COMMAND",
    ),
    (
        "a longer loop",
        {"a": "execute b", "b": "\nexecute c", "c": "EXECUTE a.commands"},
        "a",
        "CMD_NASTY_LOOPING_COMMAND",
    ),
]


@pytest.mark.parametrize("files, name, code", [pytest.param(f, n, c, id=i) for i, f, n, c in LOOPS])
def test_execute_refuses_loops(files: dict[str, str], name: str, code: str) -> None:
    result = parse_commands_file(name, context(commands=files))

    assert codes(result) == [(code, 1)]
    assert result.diagnostics[0].file == f"commands/{name}.commands"


def test_a_text_may_execute_a_chain_without_loop() -> None:
    files = {"a": "execute b\nexecute c", "b": "execute c", "c": "write x into /f"}

    assert codes(parse("execute a", commands=files)) == []


def test_a_missing_commands_file_is_reported() -> None:
    result = parse_commands_file("nope", context())

    assert codes(result) == [("CMD_INEXISTING_COMMAND_FILE", 1)]
    assert result.instructions == ()


def test_instance_paths_come_from_instance_trees() -> None:
    tree = Instance(
        name="vm 1",
        component="vm",
        children=(
            Instance(name="t", component="tomcat", children=(Instance(name="w", component="war"),)),
        ),
    )

    assert instance_paths([tree, Instance(name="db", component="vm")]) == {
        "/vm 1": "vm",
        "/vm 1/t": "tomcat",
        "/vm 1/t/w": "war",
        "/db": "vm",
    }


def test_every_new_code_is_a_commands_error() -> None:
    assert all(code.category.value == "commands" for code in Code if code.name.startswith("CMD_"))
