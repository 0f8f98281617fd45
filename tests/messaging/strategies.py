"""Hypothesis strategies for messages and the model values they carry."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from roboconf.messaging.messages import Message
from roboconf.model.types import (
    Component,
    ExportedVariable,
    Facet,
    Graph,
    ImportedVariable,
    Instance,
    InstanceStatus,
)

#: any text, lone surrogates included (JSON escapes them)
TEXT = st.text(st.characters(codec=None), max_size=12)
SHORT = st.text(max_size=8)
NAMES = st.text(st.characters(exclude_characters="/"), min_size=1, max_size=8)
STRINGS = st.lists(TEXT, max_size=3).map(tuple)


def _keyed(values: st.SearchStrategy[Any], keys: st.SearchStrategy[str] = SHORT) -> Any:
    return st.dictionaries(keys, values, max_size=3)


def _exports() -> st.SearchStrategy[dict[str, ExportedVariable]]:
    def build(name: str, value: str | None, random: bool, kind: str | None) -> ExportedVariable:
        return ExportedVariable(name=name, value=value, random=random, random_kind=kind)

    variables = st.builds(build, SHORT, st.none() | TEXT, st.booleans(), st.none() | SHORT)
    return st.lists(variables, max_size=3).map(lambda vs: {v.name: v for v in vs})


def _imports() -> st.SearchStrategy[dict[str, ImportedVariable]]:
    variables = st.builds(
        lambda name, optional, external: ImportedVariable(
            name=name, optional=optional, external=external
        ),
        SHORT,
        st.booleans(),
        st.booleans(),
    )
    return st.lists(variables, max_size=3).map(lambda vs: {v.name: v for v in vs})


def _component(name: str) -> st.SearchStrategy[Component]:
    return st.builds(
        Component,
        name=st.just(name),
        installer=st.none() | SHORT,
        extends=st.none() | SHORT,
        facets=STRINGS,
        children=STRINGS,
        exports=_exports(),
        imports=_imports(),
    )


def _facet(name: str) -> st.SearchStrategy[Facet]:
    return st.builds(
        Facet, name=st.just(name), extends=STRINGS, children=STRINGS, exports=_exports()
    )


def _by_name(names: list[str], build: Any) -> Any:
    return st.tuples(*(build(n) for n in names)).map(lambda items: {i.name: i for i in items})


GRAPHS: st.SearchStrategy[Graph] = st.builds(
    Graph,
    components=st.lists(SHORT, max_size=4, unique=True).flatmap(
        lambda names: _by_name(names, _component)
    ),
    facets=st.lists(SHORT, max_size=2, unique=True).flatmap(lambda names: _by_name(names, _facet)),
)


def _instance(children: st.SearchStrategy[tuple[Instance, ...]]) -> st.SearchStrategy[Instance]:
    return st.builds(
        Instance,
        name=NAMES,
        component=SHORT,
        children=children,
        overrides=_keyed(TEXT),
        data=_keyed(TEXT),
        status=st.sampled_from(InstanceStatus),
        channels=STRINGS,
    )


INSTANCES: st.SearchStrategy[Instance] = st.recursive(
    _instance(st.just(())),
    lambda inner: _instance(st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12,
)

_BY_TYPE: dict[object, st.SearchStrategy[Any]] = {
    str: TEXT,
    bool: st.booleans(),
    str | None: st.none() | TEXT,
    tuple[str, ...]: STRINGS,
    Mapping[str, str]: _keyed(TEXT),
    Mapping[str, str | None]: _keyed(st.none() | TEXT),
    Mapping[str, tuple[str, ...]]: _keyed(STRINGS),
    Mapping[str, bytes]: _keyed(st.binary(max_size=40)),
    InstanceStatus: st.sampled_from(InstanceStatus),
    Graph: GRAPHS,
    Instance: INSTANCES,
}


def messages_of(cls: type[Message]) -> st.SearchStrategy[Message]:
    """Messages of ``cls`` with every field drawn, optional ones included."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: _BY_TYPE[hints[f.name]] for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)
