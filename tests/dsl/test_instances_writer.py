"""Instance trees → ``.instances`` text that reads back into the same trees."""

from __future__ import annotations

from typing import Any

import pytest

from roboconf.dsl.convert import instances_from_text
from roboconf.dsl.instances_writer import write_instances
from roboconf.model.instances import walk
from roboconf.model.types import Instance, InstanceStatus
from tests.model.graphs import graph_of, one_per_line

GRAPH = graph_of(
    one_per_line(
        "VM { installer: target; children: App; } "
        "App { installer: script; exports: ip, port = 80, msg = x; }"
    )
)


def _app(**fields: Any) -> Instance:
    return Instance(name="vm", component="VM", children=(Instance(component="App", **fields),))


def _state(instances: tuple[Instance, ...]) -> list[tuple[Any, ...]]:
    return [
        (p, i.component, i.status, i.channels, dict(i.data), dict(i.overrides))
        for p, i in walk(instances)
    ]


@pytest.mark.parametrize(
    "tree",
    [
        pytest.param((_app(name="app"),), id="names and components"),
        pytest.param((_app(name="app "),), id="a trailing space in a name"),
        pytest.param((_app(name="a", overrides={"port": "81", "App.msg": "y"}),), id="overrides"),
        pytest.param(
            (_app(name="a", overrides={"msg": "a; b # c", "port": " 8 ", "ip": "", "x": '"q"'}),),
            id="override values that need quotes",
        ),
        pytest.param((_app(name="a", channels=("c1", "c2")),), id="channels"),
        pytest.param(
            (_app(name="a", data={"ip": "1.2.3.4", "note": "a, b = c", "empty": ""}),),
            id="runtime data, quoted where needed",
        ),
        pytest.param(
            (_app(name="a", status=InstanceStatus.DEPLOYED_STARTED),), id="the runtime state"
        ),
        pytest.param(
            (Instance(name="v1", component="VM"), Instance(name="v2", component="VM")),
            id="several root instances",
        ),
    ],
)
def test_written_instances_read_back_the_same(tree: tuple[Instance, ...]) -> None:
    loaded = instances_from_text(write_instances(tree), GRAPH)
    assert loaded.diagnostics == (), [d.render() for d in loaded.diagnostics]
    assert _state(loaded.instances) == _state(tree)


def test_the_text_is_canonical() -> None:
    tree = (_app(name="a", overrides={"port": "81"}, status=InstanceStatus.DEPLOYED_STOPPED),)
    assert write_instances(tree) == (
        "instance of VM {\n"
        "\tname: vm;\n"
        "\tinstance of App {\n"
        "\t\tname: a;\n"
        "\t\tport: 81;\n"
        "\t\tinstance-state: DEPLOYED_STOPPED;\n"
        "\t}\n"
        "}\n"
    )


def test_without_runtime_data_is_written_as_data_lines_and_the_state_is_left_out() -> None:
    tree = (_app(name="a", data={"ec2.elastic.ip": "1.2.3.4"}, status=InstanceStatus.PROBLEM),)
    text = write_instances(tree, runtime=False)
    assert "\t\tdata.ec2.elastic.ip: 1.2.3.4;\n" in text
    assert "instance-state" not in text
    [vm] = instances_from_text(text, GRAPH).instances
    assert dict(vm.children[0].data) == {"ec2.elastic.ip": "1.2.3.4"}
