"""The ``dsl`` corpus, from parsed files to a validated model: stages ``graph``,
``graph_flexible``, ``instances`` and ``runtime``, and the graph and instance facts.

Parse-level stages and facts (``parse``, ``parse_block``, ``validate``, ``file_type``,
``block_tree``...) are checked by the parser's own conformance test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from roboconf.dsl.convert import GraphLoad, load_graph, load_instances
from roboconf.errors import Code, Diagnostic
from roboconf.model.types import Component, ExportedVariable, Graph
from roboconf.model.validation import validate_graph, validate_instances
from tests.conformance import corpus
from tests.conformance.model_facts import (
    check_annotations,
    check_graph_facts,
    check_instance_facts,
)

MODEL_STAGES = ("graph", "graph_flexible", "instances", "runtime")
GRAPH_FACTS = {
    "root_components",
    "root_component_count",
    "first_root_component",
    "component_count",
    "facet_count",
    "components",
    "facets",
    "every_root_component",
}
INSTANCE_FACTS = {
    "root_instance_count",
    "instance_count",
    "instance_paths",
    "instance_paths_present",
    "instance_paths_absent",
    "root_instances",
    "every_root_instance",
    "instances",
    "same_component_and_channels",
    "instances_model_round_trip",
}
#: the codes Roboconf's recipe filter drops (``runtime_error_count_after_recipe_filter``)
RECIPE_FILTER = {
    "RM_ROOT_INSTALLER_MUST_BE_TARGET",
    "RM_UNRESOLVABLE_FACET_VARIABLE",
    "RM_UNREACHABLE_COMPONENT",
    "RM_ORPHAN_FACET",
    "RM_ORPHAN_FACET_WITH_CHILDREN",
}
#: facts that depend on an accident of Roboconf's implementation, with the reason we differ
DEVIATIONS = {
    ("invalid/instanceof-name-conflict-with-count.instances", "root_instance_count"): (
        "Roboconf returns 5 root instances because of a hash-set accident; we keep paths "
        "unique (the explicit instance wins over the one made by 'count'), giving 4"
    ),
}


def _stages(entry: dict[str, Any]) -> set[str]:
    named = {e["stage"] for e in entry.get("errors", ())}
    named |= set(entry.get("error_count", {})) | set(entry.get("min_error_count", {}))
    return named & set(MODEL_STAGES)


def _with_stage(stage: str) -> Any:
    return lambda _key, entry: (
        entry.get("kind") in ("graph", "instances") and stage in _stages(entry)
    )


def _file(key: str) -> Path:
    return corpus.root() / "dsl" / key


def _reader(key: str) -> Any:
    folder = _file(key).parent

    def read(relative: str) -> str | None:
        path = folder / relative
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return read


def _graph_load(key: str, *, flexible: bool = False) -> GraphLoad:
    return load_graph(_file(key).name, _reader(key), flexible=flexible)


def given_graph(name: str) -> Graph:
    """A graph of ``expectations.json`` → ``given_graphs`` (built in code by Roboconf's tests)."""
    spec = corpus.expectations()["given_graphs"][name]
    components = {
        component: Component(
            name=component,
            installer=details.get("installer"),
            children=tuple(details.get("children", ())),
            exports={
                variable: ExportedVariable(name=variable, value=value)
                for variable, value in details.get("exports", {}).items()
            },
        )
        for component, details in spec["components"].items()
    }
    return Graph(components=components)


def _instances_load(key: str, entry: dict[str, Any]) -> tuple[Graph, Any]:
    graph = given_graph(entry["given_graph"])
    return graph, load_instances(_file(key).name, _reader(key), graph)


def _diagnostics_at(stage: str, key: str, entry: dict[str, Any]) -> Sequence[Diagnostic]:
    if stage in ("graph", "graph_flexible"):
        return _graph_load(key, flexible=stage == "graph_flexible").diagnostics
    if stage == "instances":
        return _instances_load(key, entry)[1].diagnostics
    if entry["kind"] == "instances":
        graph, loaded = _instances_load(key, entry)
        return validate_instances(graph, loaded.instances)
    loaded_graph = _graph_load(key)
    assert not loaded_graph.diagnostics, [d.render() for d in loaded_graph.diagnostics]
    return validate_graph(loaded_graph.graph)


def _matches(diagnostic: Diagnostic, expected: dict[str, Any]) -> bool:
    if diagnostic.code.name != expected["code"]:
        return False
    if expected.get("line") is not None and diagnostic.line != expected["line"]:
        return False
    if "level" in expected and diagnostic.level.name != expected["level"]:
        return False
    if "object" in expected:
        kind, _, name = expected["object"].partition(":")
        if diagnostic.details.get(kind) != name:
            return False
    values = [str(v) for v in diagnostic.details.values()]
    for detail in expected.get("details", ()):
        if detail["kind"] == "FILE" and diagnostic.file is None:
            return False
        if detail["kind"] == "LINE" and diagnostic.line is None:
            return False
        if "value" in detail and detail["value"] not in values:
            return False
        if "contains" in detail and not any(detail["contains"] in v for v in values):
            return False
    return True


def check_stage(stage: str, diagnostics: Sequence[Diagnostic], entry: dict[str, Any]) -> None:
    rendered = [d.render() for d in diagnostics]
    expected = [e for e in entry.get("errors", ()) if e["stage"] == stage]
    exact = entry.get("error_count", {}).get(stage)
    if exact is not None:
        assert len(diagnostics) == exact, rendered
    minimum = entry.get("min_error_count", {}).get(stage)
    if minimum is not None:
        assert len(diagnostics) >= minimum, rendered
    if entry.get("ordered") and exact == len(expected):
        assert [d.code.name for d in diagnostics] == [e["code"] for e in expected], rendered
        for diagnostic, wanted in zip(diagnostics, expected, strict=True):
            assert _matches(diagnostic, wanted), (diagnostic.render(), wanted)
        return
    available = list(diagnostics)
    for wanted in expected:
        found = next((d for d in available if _matches(d, wanted)), None)
        assert found is not None, (wanted, rendered)
        available.remove(found)
    if exact == len(expected):
        assert Counter(d.code.name for d in diagnostics) == Counter(e["code"] for e in expected)


# -- stages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "entry"), corpus.entries("dsl", _with_stage("graph")))
def test_graph_stage_reports_what_roboconf_reports(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    diagnostics = _graph_load(key).diagnostics
    check_stage("graph", diagnostics, entry)
    allowed = entry.get("facts", {}).get("graph_error_codes_all_in")
    if allowed is not None:
        assert {d.code.name for d in diagnostics} <= set(allowed)


@pytest.mark.parametrize(("key", "entry"), corpus.entries("dsl", _with_stage("graph_flexible")))
def test_flexible_graph_stage_still_reports_errors(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    check_stage("graph_flexible", _graph_load(key, flexible=True).diagnostics, entry)


@pytest.mark.parametrize(("key", "entry"), corpus.entries("dsl", _with_stage("instances")))
def test_instances_stage_reports_what_roboconf_reports(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    check_stage("instances", _instances_load(key, entry)[1].diagnostics, entry)


@pytest.mark.parametrize(("key", "entry"), corpus.entries("dsl", _with_stage("runtime")))
def test_runtime_model_checks_report_what_roboconf_reports(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    diagnostics = _diagnostics_at("runtime", key, entry)
    check_stage("runtime", diagnostics, entry)
    after_filter = entry.get("facts", {}).get("runtime_error_count_after_recipe_filter")
    if after_filter is not None:
        kept = [d for d in diagnostics if d.code.name not in RECIPE_FILTER]
        assert len(kept) == after_filter, [d.render() for d in kept]


def test_every_code_the_corpus_expects_at_model_stages_exists() -> None:
    for entry in corpus.expectations().get("dsl", {}).values():
        for error in entry.get("errors", ()):
            if error["stage"] in MODEL_STAGES:
                assert error["code"] in Code.__members__, error["code"]


# -- facts -----------------------------------------------------------------------------------


def _has_facts(names: set[str], kind: str) -> Any:
    return lambda _key, entry: (
        entry.get("kind") == kind and bool(names & set(entry.get("facts", {})))
    )


def _applicable(key: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in facts.items() if (key, name) not in DEVIATIONS}


@pytest.mark.parametrize(("key", "entry"), corpus.entries("dsl", _has_facts(GRAPH_FACTS, "graph")))
def test_graph_facts_hold(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    check_graph_facts(_graph_load(key).graph, _applicable(key, entry["facts"]))


@pytest.mark.parametrize(
    ("key", "entry"),
    corpus.entries("dsl", _has_facts({"flexible", "flexible_type_annotations"}, "graph")),
)
def test_flexible_graph_keeps_what_can_be_kept(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    graph = _graph_load(key, flexible=True).graph
    facts = entry["facts"]
    check_graph_facts(graph, facts.get("flexible", {}))
    if "flexible_type_annotations" in facts:
        check_annotations(graph, facts["flexible_type_annotations"])


@pytest.mark.parametrize(
    ("key", "entry"), corpus.entries("dsl", _has_facts(INSTANCE_FACTS, "instances"))
)
def test_instance_facts_hold(key: str, entry: dict[str, Any]) -> None:
    corpus.require(entry)
    graph, loaded = _instances_load(key, entry)
    check_instance_facts(graph, loaded.instances, _applicable(key, entry["facts"]))


def test_deviations_name_facts_that_exist() -> None:
    dsl = corpus.expectations().get("dsl", {})
    for key, fact in DEVIATIONS:
        assert fact in dsl.get(key, {}).get("facts", {}), (key, fact)
