"""Per-block validation: every ``PM_*`` code from a small file, with its line."""

from __future__ import annotations

import pytest

from roboconf.dsl.blocks import Comment, Holder, HolderKind, Property
from roboconf.dsl.parser import parse
from roboconf.dsl.validator import validate_block, validate_definition, validate_property
from roboconf.errors import Code


def _problems(text: str) -> list[tuple[str, int | None]]:
    return [(d.code.name, d.line) for d in validate_definition(parse(text))]


PM_CODES = [
    pytest.param(
        "[ not dsl ]\n", [("PM_INVALID_BLOCK_TYPE", 1)], id="an unrecognized line is no block"
    ),
    pytest.param(
        "import ;\n", [("PM_EMPTY_IMPORT_LOCATION", 1)], id="an import of nothing has no location"
    ),
    pytest.param(
        "A {\n\tinstaller: ;\n}\n",
        [("PM_EMPTY_PROPERTY_VALUE", 2)],
        id="a property without value is empty",
    ),
    pytest.param(
        "facet  {\n}\n", [("PM_EMPTY_FACET_NAME", 1)], id="a facet without name is reported"
    ),
    pytest.param(
        "instance of  {\n\tname: x;\n}\n",
        [("PM_EMPTY_COMPONENT_NAME", 1)],
        id="an instance of no component is reported",
    ),
    pytest.param(
        "A {\n\tfacets: F, , G;\n}\n",
        [("PM_EMPTY_REFERENCED_NAME", 2)],
        id="an empty item of facets is reported",
    ),
    pytest.param(
        "A {\n\tchildren: B,,C;\n}\n",
        [("PM_EMPTY_REFERENCED_NAME", 2)],
        id="an empty item of children is reported",
    ),
    pytest.param(
        "A {\n\timports: B.x, , C.y;\n}\n",
        [("PM_EMPTY_VARIABLE_NAME", 2)],
        id="an empty imported variable is reported",
    ),
    pytest.param(
        "A {\n\texports: x, , y;\n}\n",
        [("PM_EMPTY_VARIABLE_NAME", 2)],
        id="an empty exported variable is reported",
    ),
    pytest.param(
        "my comp {\n}\n", [("PM_INVALID_NAME", 1)], id="a component name with a space is invalid"
    ),
    pytest.param(
        "A {\n\textends: 1B;\n}\n",
        [("PM_INVALID_NAME", 2)],
        id="an extended name starting with a digit is invalid",
    ),
    pytest.param(
        "A {\n\tchildren: B C;\n}\n",
        [("PM_INVALID_CHILD_NAME", 2)],
        id="a child name with a space is invalid",
    ),
    pytest.param(
        "a.b {\n}\n", [("PM_DOT_IS_NOT_ALLOWED", 1)], id="a dot in a component name is refused"
    ),
    pytest.param(
        "facet f.g {\n}\n", [("PM_DOT_IS_NOT_ALLOWED", 1)], id="a dot in a facet name is refused"
    ),
    pytest.param(
        'A {\n\tinstaller: "script";\n}\n',
        [("PM_INVALID_INSTALLER_NAME", 2)],
        id="a quoted installer is invalid",
    ),
    pytest.param(
        "A {\n\texports: ok, not!ok;\n}\n",
        [("PM_INVALID_EXPORTED_VAR_NAME", 2)],
        id="an exported name with a bang is invalid",
    ),
    pytest.param(
        'A {\n\texports: x = "open;\n}\n',
        [("PM_INVALID_EXPORT_COMPLEX_VALUE", 2)],
        id="an unclosed quote in an export value is reported",
    ),
    pytest.param(
        "A {\n\texports: external x;\n}\n",
        [("PM_INVALID_EXPORTED_VAR_NAME", 2), ("PM_EXTERNAL_IS_KEYWORD_FOR_IMPORTS", 2)],
        id="external is reserved to imports",
    ),
    pytest.param(
        "A {\n\timports: B.x!;\n}\n",
        [("PM_INVALID_IMPORTED_VAR_NAME", 2)],
        id="an imported name with a bang is invalid",
    ),
    pytest.param(
        "A {\n\timports: x;\n}\n",
        [("PM_INCOMPLETE_IMPORTED_VAR_NAME", 2)],
        id="an imported name without prefix is incomplete",
    ),
    pytest.param(
        "facet F {\n\tinstaller: script;\n}\n",
        [("PM_PROPERTY_NOT_APPLIABLE", 2)],
        id="a facet has no installer",
    ),
    pytest.param(
        "A {\n\tname: a;\n}\n",
        [("PM_PROPERTY_NOT_APPLIABLE", 2)],
        id="a component has no name property",
    ),
    pytest.param(
        "A {\n\tinstaller: x;\n\tInstaller: y;\n}\n",
        [("PM_DUPLICATE_PROPERTY", 3)],
        id="a property given twice is a duplicate whatever its case",
    ),
    pytest.param(
        "instance of A {\n\tname: a;\n\tport: 1;\n\tport: 2;\n}\n",
        [("PM_DUPLICATE_PROPERTY", 4)],
        id="an export override given twice is a duplicate",
    ),
    pytest.param(
        "instance of A {\n\tcount: 2;\n}\n",
        [("PM_MISSING_INSTANCE_NAME", 1)],
        id="an instance without name is reported on its declaration",
    ),
    pytest.param(
        "instance of A {\n\tname: a?;\n}\n",
        [("PM_INVALID_INSTANCE_NAME", 2)],
        id="an instance name with a question mark is invalid",
    ),
    pytest.param(
        "instance of A {\n\tname: a;\n\tcount: 0;\n}\n",
        [("PM_INVALID_INSTANCE_COUNT", 3)],
        id="a count of zero is invalid",
    ),
    pytest.param(
        "instance of A {\n\tname: a;\n\tcount: 1;\n}\n",
        [("PM_USELESS_INSTANCE_COUNT", 3)],
        id="a count of one is useless",
    ),
    pytest.param(
        "instance of A {\n\tname: a;\n\tinstance of B {\n\t\tcount: 2;\n\t}\n}\n",
        [("PM_MISSING_INSTANCE_NAME", 3)],
        id="nested instances are validated too",
    ),
]


@pytest.mark.parametrize("text, expected", PM_CODES)
def test_validation_reports_each_problem_at_its_line(
    text: str, expected: list[tuple[str, int]]
) -> None:
    assert _problems(text) == expected


VALID = [
    pytest.param(
        "# doc\nA {\n\tinstaller: target;\n\texports: ip, port = 80;\n\texports: x;\n"
        "\timports: B.*, C.x (optional), external D.y, exTernal E.z (Optional);\n\timports: F.g;\n"
        "\tfacets: F, G;\n\tchildren: B, G;\n\textends: Z;\n}\n",
        id="a component using every property, exports and imports repeated",
    ),
    pytest.param(
        "facet F {\n\tchildren: A;\n\texports: x = 1;\n\textends: G, H;\n}\n",
        id="a facet using every property",
    ),
    pytest.param(
        "instance of VM {\n\tname: Tomcat VM ;\n\tcount: 3;\n\tdata.ec2.ip: 1.2.3.4;\n"
        "\tTomcat.port: 8080;\n\tchannels: a, b;\n\tinstance-state: DEPLOYED_STARTED;\n"
        "\tinstance-data: ip = 1.2.3.4;\n\tinstance of App {\n\t\tname: app;\n\t}\n}\n",
        id="an instance with every kind of property",
    ),
    pytest.param(
        "A {\n\texports: ip, random[port] http, Random[PORT] ajp;\n}\n",
        id="random exports in any case",
    ),
]


@pytest.mark.parametrize("text", VALID)
def test_valid_blocks_give_no_problem(text: str) -> None:
    assert _problems(text) == []


def test_problems_have_a_file_and_details_naming_the_offending_value() -> None:
    (problem,) = validate_definition(parse("A {\n\tchildren: B C;\n}\n", "graph/x.graph"))
    assert problem.file == "graph/x.graph"
    assert problem.details == {"name": "B C"}
    assert "'B C'" in problem.message


def test_unknown_lone_property_is_only_a_warning() -> None:
    (problem,) = validate_property("colour", "blue")
    assert problem.code is Code.PM_UNKNOWN_PROPERTY_NAME
    assert not problem.is_error


def test_lone_property_gets_the_line_it_is_given() -> None:
    (problem,) = validate_property("count", "x", holder=HolderKind.INSTANCEOF, line=7, file="f")
    assert (problem.code, problem.line, problem.file) == (Code.PM_INVALID_INSTANCE_COUNT, 7, "f")


def test_malformed_comment_built_by_program_is_a_warning() -> None:
    (problem,) = validate_block(Comment(content="# a\nno sharp", line=3))
    assert (problem.code, problem.line, problem.is_error) == (Code.PM_MALFORMED_COMMENT, 4, False)


def test_block_of_unknown_type_is_reported() -> None:
    (problem,) = validate_block(object())  # type: ignore[arg-type]
    assert problem.code is Code.PM_INVALID_BLOCK_TYPE


def test_holder_built_by_program_is_validated_like_a_parsed_one() -> None:
    holder = Holder(
        kind=HolderKind.FACET, name="F", blocks=(Property(name="imports", value="A.x"),)
    )
    assert [p.code for p in validate_block(holder)] == [Code.PM_PROPERTY_NOT_APPLIABLE]
