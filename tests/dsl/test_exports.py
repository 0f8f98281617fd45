"""The ``exports:`` and ``imports:`` value languages (the corpus table is in conformance)."""

from __future__ import annotations

import pytest

from roboconf.dsl.exports import parse_exports, split_import, split_random
from roboconf.errors import Code

EXPORTS = [
    pytest.param("ip", {"ip": None}, [], id="a bare name has no value"),
    pytest.param(
        'msg = "a, b; c # d", n = 1', {"msg": "a, b; c # d", "n": "1"}, [], id="quotes protect"
    ),
    pytest.param('v = "  "', {"v": "  "}, [], id="a quoted value keeps its spaces"),
    pytest.param("v = a b ,w", {"v": "a b", "w": None}, [], id="a bare value is trimmed"),
    pytest.param(
        "random[port]  http", {"random[port]  http": None}, [], id="the random prefix is kept"
    ),
    pytest.param(
        'a = "x" y, b',
        {"b": None, "y": None},
        [Code.PM_INVALID_EXPORT_COMPLEX_VALUE],
        id="text after a closing quote drops the variable and is read again",
    ),
    pytest.param('a = x "y"', {}, [Code.PM_INVALID_EXPORT_COMPLEX_VALUE], id="text before a quote"),
    pytest.param("a,", {"a": None}, [Code.PM_EMPTY_VARIABLE_NAME], id="a trailing comma"),
    pytest.param("= 3", {}, [Code.PM_EMPTY_VARIABLE_NAME], id="a value without a name"),
    pytest.param("a = 1, a = 2", {"a": "2"}, [], id="the last of two values wins"),
]


@pytest.mark.parametrize("text, exports, codes", EXPORTS)
def test_exports_are_read_with_their_values(
    text: str, exports: dict[str, str | None], codes: list[Code]
) -> None:
    found, problems = parse_exports(text)
    assert found == exports
    assert [p.code for p in problems] == codes


def test_bad_quote_problem_names_the_variable_and_the_value() -> None:
    _exports, (problem,) = parse_exports('ip, path = "open')
    assert problem.details == {"variable": "path", "value": '"open'}
    assert "path" in problem.message


RANDOMS = [
    pytest.param("ip", ("ip", False, None), id="a plain name is not random"),
    pytest.param("random[port] http", ("http", True, "port"), id="a random port"),
    pytest.param("Random[PORT]   ajp", ("ajp", True, "PORT"), id="the kind is kept as written"),
    pytest.param("random[string] s", ("s", True, "string"), id="an unknown kind is kept"),
    pytest.param("random[port]", ("random[port]", False, None), id="a prefix alone is a name"),
]


@pytest.mark.parametrize("raw, expected", RANDOMS)
def test_random_prefix_is_split_from_the_name(
    raw: str, expected: tuple[str, bool, str | None]
) -> None:
    assert split_random(raw) == expected


IMPORTS = [
    pytest.param("A.x", ("A.x", False, False), id="a plain import"),
    pytest.param(" A.* (optional) ", ("A.*", True, False), id="an optional wildcard"),
    pytest.param("A.x\t  (Optional)", ("A.x", True, False), id="optional in any case and space"),
    pytest.param("external App.x", ("App.x", False, True), id="an external import"),
    pytest.param("exTernal App.x (optional)", ("App.x", True, True), id="both, in any case"),
    pytest.param("externalA.x", ("externalA.x", False, False), id="external needs a space"),
]


@pytest.mark.parametrize("item, expected", IMPORTS)
def test_import_item_is_split_into_name_optional_external(
    item: str, expected: tuple[str, bool, bool]
) -> None:
    assert split_import(item) == expected
