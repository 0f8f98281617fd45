"""Conformance: whole templates (``applications``, ``examples``, ``project_cases``) and
descriptors (``descriptor_cases``, the descriptor entry of ``dsl``)."""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from roboconf.errors import Diagnostic
from roboconf.project.descriptor import read_descriptor
from roboconf.project.loader import TemplateLoad, load_template
from tests.conformance import corpus


def _codes(diagnostics: tuple[Diagnostic, ...], severe_only: bool = False) -> list[str]:
    return [d.code.name for d in diagnostics if d.is_error or not severe_only]


def _check_errors(load: TemplateLoad, expected: dict[str, Any]) -> None:
    """``errors`` (listed codes/lines/files), ``error_count.load`` and ``severe_errors``."""
    found = list(load.diagnostics)
    codes = [d.code.name for d in found]
    listed = [e for e in expected.get("errors", []) if e.get("stage", "load") == "load"]
    count = expected.get("error_count", {}).get("load")
    if count is not None:
        assert len(found) == count, [d.render() for d in found]
    if expected.get("ordered") and count is not None:
        assert codes == [e["code"] for e in listed]
    for item in listed:
        matches = [d for d in found if d.code.name == item["code"]]
        assert matches, f"{item['code']} not reported; got {codes}"
        if item.get("line") is not None:
            assert item["line"] in [d.line for d in matches], [d.render() for d in matches]
        if item.get("file") is not None:
            assert item["file"] in [d.file for d in matches]
    if "severe_errors" in expected:
        assert _codes(load.diagnostics, severe_only=True) == expected["severe_errors"]
    if expected.get("valid") is True:
        assert not [d.render() for d in found if d.is_error]


def _check_template_facts(load: TemplateLoad, facts: dict[str, Any]) -> None:
    template = load.template
    assert template is not None
    descriptor = template.descriptor
    simple = {
        "name": descriptor.name,
        "description": descriptor.description,
        "version": descriptor.version,
        "dsl_id": descriptor.dsl_id,
    }
    for key, value in simple.items():
        if key in facts:
            assert value == facts[key], key
    if "tags" in facts:
        assert set(descriptor.tags) == set(facts["tags"])
    if "external_exports" in facts:
        prefix = descriptor.exports_prefix
        resolved = {k: f"{prefix}.{v}" for k, v in descriptor.external_exports.items()}
        assert resolved == facts["external_exports"]
    from tests.conformance.model_facts import check_graph_facts, check_instance_facts

    check_graph_facts(template.graph, facts)
    check_instance_facts(template.graph, template.instances, facts)


def _apply(project: Path, ops: list[dict[str, Any]]) -> None:
    for op in ops:
        kind = op["op"]
        if kind == "copy":
            shutil.copyfile(project / op["from"], project / op["to"])
        elif kind == "write":
            (project / op["path"]).write_text(op["content"], encoding="utf-8")
        elif kind == "replace":
            path = project / op["path"]
            path.write_text(path.read_text(encoding="utf-8").replace(op["old"], op["new"]))
        elif kind == "regex_replace":
            path = project / op["path"]
            text = re.sub(op["pattern"], op["replacement"], path.read_text(encoding="utf-8"))
            path.write_text(text, encoding="utf-8")
        else:
            raise AssertionError(f"unknown op {kind}")


@pytest.mark.parametrize("name, entry", corpus.entries("applications"))
def test_application_loads_as_roboconf_says(name: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    load = load_template(corpus.root() / "applications" / name)
    _check_errors(load, entry)
    _check_template_facts(load, entry.get("facts", {}))


def _variants() -> list[Any]:
    params = []
    for name, entry in corpus.expectations().get("applications", {}).items():
        for variant in entry.get("variants", []):
            params.append(pytest.param(name, variant, id=f"{name}: {variant['name']}"))
    return params or [pytest.param(None, None, id="corpus-missing")]


@pytest.mark.parametrize("name, variant", _variants())
def test_application_variant(name: str, variant: dict[str, Any], tmp_path: Path) -> None:
    corpus.require(variant)
    project = tmp_path / name
    shutil.copytree(corpus.root() / "applications" / name, project)
    _apply(project, variant["ops"])
    _check_errors(load_template(project), variant)


@pytest.mark.parametrize("name, entry", corpus.entries("examples"))
def test_example_has_no_severe_error(name: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    ignored = entry.get("ignore_codes", [])
    load = load_template(corpus.root() / "examples" / name)
    severe = [
        d.render()
        for d in load.diagnostics
        if d.is_error and not any(fnmatch.fnmatch(d.code.name, p) for p in ignored)
    ]
    assert not severe


@pytest.mark.parametrize("index, case", corpus.entries("project_cases"))
def test_project_case(index: int, case: dict[str, Any], tmp_path: Path) -> None:
    corpus.require(case)
    for folder in case["dirs"]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    for relative, content in case["files"].items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    load = load_template(tmp_path, flexible=case.get("flexible", False))
    codes = _codes(load.diagnostics)
    expected = case["errors"]
    if case["exact"]:
        assert codes == expected, [d.render() for d in load.diagnostics]
    else:
        assert codes[: len(expected)] == expected, [d.render() for d in load.diagnostics]
    if "error_count" in case:
        assert len(codes) == case["error_count"]
    if "error_files" in case:
        files = [d.file for d in load.diagnostics]
        assert files[: len(case["error_files"])] == case["error_files"]


@pytest.mark.parametrize("index, case", corpus.entries("descriptor_cases"))
def test_descriptor_external_exports(index: int, case: dict[str, Any]) -> None:
    corpus.require(case)
    read = read_descriptor(case["content"])
    assert dict(read.descriptor.external_exports) == case["external_exports"]
    assert list(read.invalid_external_exports) == case["invalid_external_exports"]


@pytest.mark.parametrize(
    "key, entry", corpus.entries("dsl", lambda key, entry: entry.get("kind") == "descriptor")
)
def test_descriptor_key_lines(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    read = read_descriptor((corpus.root() / "dsl" / key).read_text(encoding="utf-8"))
    for name, line in entry["facts"]["property_lines"].items():
        assert read.lines[name] == line, name
