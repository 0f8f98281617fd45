from __future__ import annotations

import pytest

from roboconf.project.descriptor import parse_external_exports, read_descriptor

BASE = "name = app\nversion = 1.0\ngraph-entry-point = main.graph\n"


def codes(text: str) -> list[str]:
    return [d.code.name for d in read_descriptor(text).diagnostics]


def test_legacy_prefixed_keys_are_the_same_keys() -> None:
    read = read_descriptor(
        "application-name = A\napplication-version = 1.0\n"
        "application-description = d\napplication-dsl-id = roboconf-1.0\n"
        "graph-entry-point = g.graph\n"
    )
    d = read.descriptor
    assert (d.name, d.version, d.description, d.dsl_id) == ("A", "1.0", "d", "roboconf-1.0")
    assert read.diagnostics == ()


@pytest.mark.parametrize(
    ("version", "valid"),
    [
        ("1.0", True),
        ("1.0.1", True),
        ("1.0.1-SNAPSHOT", True),
        ("1.0.simple", True),
        ("1", False),
        ("@inval!d", False),
        ("v1.0", False),
    ],
)
def test_version_pattern(version: str, valid: bool) -> None:
    text = BASE.replace("1.0", version)
    assert ("RM_INVALID_APPLICATION_VERSION" not in codes(text)) is valid


def test_invalid_version_points_at_its_line() -> None:
    (diagnostic,) = read_descriptor("name = a\n\nversion = x\ngraph-entry-point = g\n").diagnostics
    assert (diagnostic.code.name, diagnostic.line) == ("RM_INVALID_APPLICATION_VERSION", 3)
    assert "'x'" in diagnostic.message


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("version = 1.0\ngraph-entry-point = g", "RM_MISSING_APPLICATION_NAME"),
        ("name = a\ngraph-entry-point = g", "RM_MISSING_APPLICATION_VERSION"),
        ("name = a\nversion = 1.0", "RM_MISSING_APPLICATION_GEP"),
    ],
)
def test_mandatory_keys(text: str, missing: str) -> None:
    assert codes(text) == [missing]


def test_external_exports_need_a_prefix() -> None:
    assert codes(BASE + "exports = A.b as c") == ["RM_INVALID_EXTERNAL_EXPORT"]
    assert codes(BASE + "exports = A.b as c\nexports-prefix = P") == []


@pytest.mark.parametrize(
    ("text", "valid", "invalid"),
    [
        ("A.x as a, B.y as b", {"A.x": "a", "B.y": "b"}, ()),
        ("A.x as a,", {"A.x": "a"}, ()),
        ("A.x a", {}, ("A.x a",)),
        ("x as a", {}, ("x as a",)),
    ],
)
def test_external_exports_syntax(
    text: str, valid: dict[str, str], invalid: tuple[str, ...]
) -> None:
    assert parse_external_exports(text) == (valid, invalid)
