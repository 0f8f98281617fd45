from __future__ import annotations

import pytest

from roboconf.project.properties import parse_properties


@pytest.mark.parametrize(
    ("text", "values"),
    [
        pytest.param("a = 1", {"a": "1"}, id="equals with spaces"),
        pytest.param("a:1", {"a": "1"}, id="colon"),
        pytest.param("a 1", {"a": "1"}, id="whitespace separator"),
        pytest.param("a =", {"a": ""}, id="empty value"),
        pytest.param("# c\n! c\n\n a = b ", {"a": "b "}, id="comments and blanks skipped"),
        pytest.param("a = x,\\\n   y", {"a": "x,y"}, id="continuation drops leading space"),
        pytest.param("a = x\\\\", {"a": "x\\"}, id="escaped backslash does not continue"),
        pytest.param("a\\:b = c", {"a:b": "c"}, id="escaped separator in the key"),
        pytest.param("a = \\u00e9t\\u00e9", {"a": "été"}, id="unicode escapes"),
        pytest.param("a = 1\r\nb = 2\r\n", {"a": "1", "b": "2"}, id="CRLF line endings"),
        pytest.param("a = 1\na = 2", {"a": "2"}, id="the last definition wins"),
    ],
)
def test_values(text: str, values: dict[str, str]) -> None:
    assert dict(parse_properties(text).values) == values


def test_lines_point_at_the_first_physical_line_of_a_definition() -> None:
    parsed = parse_properties("# head\n\nexports = a,\\\n  b\nname = x\n")
    assert parsed.lines == {"exports": 3, "name": 5}
