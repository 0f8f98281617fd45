"""The codec: every message survives a round trip; nothing malformed raises or gets through."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roboconf.messaging import codec
from roboconf.messaging.codec import decode, encode
from roboconf.messaging.messages import (
    MESSAGE_TYPES,
    AddImport,
    ChangeInstanceState,
    Echo,
    Heartbeat,
    InstanceChanged,
    Message,
    RecipeFiles,
    SetScopedInstance,
)
from roboconf.model.instances import instance_count
from roboconf.model.types import Graph, Instance, InstanceStatus
from tests.messaging.strategies import messages_of

ROUND_TRIP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    "cls", MESSAGE_TYPES, ids=lambda c: f"a {c.__name__} survives a round trip"
)
def test_round_trip(cls: type[Message]) -> None:
    @ROUND_TRIP
    @given(messages_of(cls))
    def check(message: Message) -> None:
        data = encode(message)
        assert data.isascii()
        assert decode(data) == message

    check()


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: f"{c.__name__} is its wire type")
def test_wire_type_is_the_class_name(cls: type[Message]) -> None:
    @settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(messages_of(cls))
    def check(message: Message) -> None:
        raw = json.loads(encode(message))
        assert raw["type"] == cls.__name__
        assert raw["version"] == codec.PROTOCOL_VERSION

    check()


def test_missing_optional_fields_take_their_defaults() -> None:
    data = b'{"type":"Heartbeat","version":1,"application":"app","scoped_path":"/vm"}'
    assert decode(data) == Heartbeat(application="app", scoped_path="/vm")


def test_unknown_members_and_newer_versions_are_accepted() -> None:
    raw = {"type": "Echo", "version": 7, "content": "hi", "added_later": [1, 2]}
    assert decode(json.dumps(raw).encode()) == Echo(content="hi")


def test_huge_strings_are_carried() -> None:
    message = Echo(content="x" * 5_000_000)
    assert decode(encode(message)) == message


def test_deep_instance_trees_are_carried() -> None:
    leaf = Instance(name="leaf", component="C")
    for depth in range(5000):
        leaf = Instance(name=f"n{depth}", component="C", children=(leaf,))
    message = SetScopedInstance(scoped_path="/n4999", graph=Graph(), root=leaf)
    decoded = decode(encode(message))
    assert isinstance(decoded, SetScopedInstance)
    assert instance_count([decoded.root]) == 5001
    assert encode(decoded) == encode(message)  # == on the trees themselves would recurse


def test_encoding_something_else_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        encode("Echo")  # type: ignore[arg-type]


def heartbeat(**changes: Any) -> bytes:
    raw = {"type": "Heartbeat", "version": 1, "application": "app", "scoped_path": "/vm"}
    raw.update(changes)
    return json.dumps({k: v for k, v in raw.items() if v is not ...}).encode()


def scoped(root: Any = ..., graph: Any = ...) -> bytes:
    raw = {
        "type": "SetScopedInstance",
        "version": 1,
        "scoped_path": "/vm",
        "graph": {"components": {}} if graph is ... else graph,
        "root": [{"name": "vm", "component": "VM"}] if root is ... else root,
    }
    return json.dumps(raw).encode()


VALID = encode(
    InstanceChanged(application="a", path="/vm/x", status=InstanceStatus.DEPLOYED_STARTED)
)

MALFORMED = [
    ("empty input", b""),
    ("truncated JSON", b'{"type":"Echo","ver'),
    ("a truncated message", VALID[:-3]),
    ("not UTF-8", b"\xff\xfe\xfa{}"),
    ("JSON null", b"null"),
    ("a JSON list", b"[]"),
    ("a JSON number", b"42"),
    ("a JSON string", b'"Echo"'),
    ("no type", b'{"version":1,"content":"x"}'),
    ("an unknown type", b'{"type":"Explode","version":1}'),
    ("a type that is not a string", b'{"type":["Echo"],"version":1,"content":"x"}'),
    ("no version", b'{"type":"Echo","content":"x"}'),
    ("a version as text", b'{"type":"Echo","version":"1","content":"x"}'),
    ("version zero", b'{"type":"Echo","version":0,"content":"x"}'),
    ("a version that is a boolean", b'{"type":"Echo","version":true,"content":"x"}'),
    ("a missing required field", heartbeat(application=...)),
    ("a number for a string", heartbeat(application=5)),
    ("null for a string", heartbeat(scoped_path=None)),
    ("NaN for a string", b'{"type":"Echo","version":1,"content":NaN}'),
    ("a number for a boolean", heartbeat(model_required=1)),
    ("text for a boolean", heartbeat(model_required="yes")),
    ("a list for an optional string", heartbeat(ip=["10.0.0.1"])),
    (
        "an unknown instance state",
        b'{"type":"ChangeInstanceState","version":1,"path":"/a","requested":"RUNNING"}',
    ),
    (
        "recipe files that are not base64",
        b'{"type":"RecipeFiles","version":1,"component":"C","files":{"a":"@@"},"digest":"d"}',
    ),
    (
        "a number among export values",
        b'{"type":"AddImport","version":1,"application":"a","prefix":"P",'
        b'"exporter_path":"/x","component":"C","values":{"P.port":8080}}',
    ),
    (
        "numbers as provider paths",
        b'{"type":"InstanceChanged","version":1,"application":"a","path":"/x",'
        b'"status":"DEPLOYED_STARTED","imports":{"P":[1,2]}}',
    ),
    (
        "an instance without its announced children",
        scoped(root=[{"name": "vm", "component": "VM", "children": 2}]),
    ),
    (
        "two roots for one",
        scoped(root=[{"name": "a", "component": "C"}, {"name": "b", "component": "C"}]),
    ),
    ("no root at all", scoped(root=[])),
    ("an instance without a name", scoped(root=[{"component": "VM"}])),
    ("a negative child count", scoped(root=[{"name": "vm", "component": "VM", "children": -1}])),
    (
        "a child count that is a boolean",
        scoped(root=[{"name": "v", "component": "V", "children": True}]),
    ),
    ("a graph that is a list", scoped(graph=[])),
    ("components as a list", scoped(graph={"components": ["VM"]})),
    ("an export that is a string", scoped(graph={"components": {"VM": {"exports": {"ip": "x"}}}})),
    (
        "a non-boolean optional import",
        scoped(graph={"components": {"VM": {"imports": {"A.b": {"optional": "no"}}}}}),
    ),
    ("deeply nested JSON", b"[" * 200_000 + b"]" * 200_000),
    ("an integer too long to read", b'{"type":"Echo","version":' + b"9" * 10_000 + b"}"),
    ("more than the size limit", b" " * (codec.MAX_MESSAGE_BYTES + 1)),
]


@pytest.mark.parametrize(
    "data", [d for _, d in MALFORMED], ids=[f"{what} is dropped" for what, _ in MALFORMED]
)
def test_malformed_input_is_dropped_with_a_warning(
    data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="roboconf.messaging.codec"):
        assert decode(data) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    decode(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "application",
        "scoped_path",
        "path",
        "graph",
        "root",
        "instance",
        "files",
        "values",
        "imports",
        "status",
        "requested",
        "model_required",
        "ip",
        "components",
        "exports",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([cls.__name__ for cls in MESSAGE_TYPES]),
    st.dictionaries(FIELDS, JSON, max_size=6),
)
def test_random_members_for_a_known_type_never_raise(name: str, members: dict[str, Any]) -> None:
    data = json.dumps({**members, "type": name, "version": 1}).encode()
    message = decode(data)
    assert message is None or type(message).__name__ == name


def test_examples_read_as_written_by_hand() -> None:
    data = (
        b'{"type":"ChangeInstanceState","version":1,"path":"/vm 1/tomcat",'
        b'"requested":"DEPLOYED_STARTED"}'
    )
    assert decode(data) == ChangeInstanceState(
        path="/vm 1/tomcat", requested=InstanceStatus.DEPLOYED_STARTED
    )
    data = (
        b'{"type":"AddImport","version":1,"application":"lamp","prefix":"Tomcat",'
        b'"exporter_path":"/vm/t","component":"Tomcat","values":{"Tomcat.ip":null}}'
    )
    assert decode(data) == AddImport(
        application="lamp",
        prefix="Tomcat",
        exporter_path="/vm/t",
        component="Tomcat",
        values={"Tomcat.ip": None},
    )
    files = {"scripts/deploy.sh": b"#!/bin/sh\n"}
    raw = json.loads(encode(RecipeFiles(component="C", files=files, digest="d")))
    assert raw["files"] == {"scripts/deploy.sh": "IyEvYmluL3NoCg=="}
