"""Instances files → instance trees: properties, ``count``, unique paths, ``CO_*`` codes."""

from __future__ import annotations

import pytest

from roboconf.dsl.convert import instances_from_text, load_instances
from roboconf.errors import Code
from roboconf.model.instances import walk
from roboconf.model.types import InstanceStatus
from tests.model.graphs import graph_of, one_per_line

C = Code
GRAPH = graph_of(
    one_per_line(
        "VM { installer: target; children: App; } "
        "App { installer: script; exports: ip, port = 80; children: War; } "
        "War { installer: file; }"
    )
)


def _load(text: str) -> tuple[list[str], list[Code]]:
    loaded = instances_from_text(one_per_line(text), GRAPH)
    return [p for p, _ in walk(loaded.instances)], [d.code for d in loaded.diagnostics]


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        pytest.param(
            "instance of VM { name: vm ; count: 3; }",
            ["/vm 1", "/vm 2", "/vm 3"],
            id="count makes numbered instances and keeps the trailing space",
        ),
        pytest.param(
            "instance of VM { name: vm; "
            "instance of App { name: a-; count: 2; instance of War { name: w; } } }",
            ["/vm", "/vm/a-1", "/vm/a-1/w", "/vm/a-2", "/vm/a-2/w"],
            id="a nested count replicates the children",
        ),
        pytest.param(
            "instance of VM { name: v; count: 10; }",
            ["/v01", "/v02", "/v03", "/v04", "/v05", "/v06", "/v07", "/v08", "/v09", "/v10"],
            id="numbers are zero-padded to the width of count",
        ),
    ],
)
def test_count(text: str, paths: list[str]) -> None:
    assert _load(text) == (paths, [])


@pytest.mark.parametrize(
    ("text", "paths", "codes"),
    [
        pytest.param(
            "instance of VM { name: vm; } instance of VM { name: vm; }",
            ["/vm"],
            [C.CO_ALREADY_DEFINED_INSTANCE, C.CO_ALREADY_DEFINED_INSTANCE],
            id="two blocks with one path are both reported, the first is kept",
        ),
        pytest.param(
            "instance of VM { name: vm; "
            "instance of App { name: a; } instance of App { name: a; } }",
            ["/vm", "/vm/a"],
            [C.CO_ALREADY_DEFINED_INSTANCE, C.CO_ALREADY_DEFINED_INSTANCE],
            id="nested duplicates too",
        ),
        pytest.param(
            "instance of VM { name: v1; } instance of VM { name: v2; } "
            "instance of VM { name: v; count: 3; }",
            ["/v1", "/v2", "/v3"],
            [C.CO_CONFLICTING_INFERRED_INSTANCE],
            id="a count block taking existing paths is reported once, explicit instances win",
        ),
        pytest.param(
            "instance of VM { name: vm; "
            "instance of Nope { name: n; instance of War { name: w; } } }",
            ["/vm"],
            [C.CO_INEXISTING_COMPONENT],
            id="an instance of an unknown component is dropped with its children",
        ),
        pytest.param(
            "instance of VM { name: vm; instance-state: FLYING; }",
            ["/vm"],
            [C.CO_INVALID_INSTANCE_STATE],
            id="an unknown instance state",
        ),
        pytest.param(
            "instance of VM { count: 2; }",
            [],
            [C.PM_MISSING_INSTANCE_NAME],
            id="block errors prevent the conversion",
        ),
    ],
)
def test_conversion_problems(text: str, paths: list[str], codes: list[Code]) -> None:
    assert _load(text) == (paths, codes)


def test_properties_become_the_instance() -> None:
    loaded = instances_from_text(
        "instance of VM {\n"
        "\tname: vm 1;\n"
        "\tchannels: blue, green;\n"
        "\tdata.ec2.elastic.ip: 1.2.3.4;\n"
        '\tinstance-data: ip = 10.0.0.1, note = "a, b";\n'
        "\tinstance-state: deployed_started;\n"
        '\tmessage: "semi; colons";\n'
        "\tport: 81;\n"
        "}\n",
        GRAPH,
    )
    assert loaded.diagnostics == ()
    [vm] = loaded.instances
    assert (vm.name, vm.component, vm.status) == ("vm 1", "VM", InstanceStatus.DEPLOYED_STARTED)
    assert vm.channels == ("blue", "green")
    assert dict(vm.data) == {"ec2.elastic.ip": "1.2.3.4", "ip": "10.0.0.1", "note": "a, b"}
    assert dict(vm.overrides) == {"message": "semi; colons", "port": "81"}
    assert vm.location is not None and vm.location.line == 1


def test_instances_files_import_each_other_and_reject_graphs() -> None:
    files = {
        "main.instances": "import more.instances;\nimport g.graph;\n"
        "instance of VM {\n\tname: a;\n}\n",
        "more.instances": "import main.instances;\ninstance of VM {\n\tname: b;\n}\n",
        "g.graph": "X {\n}\n",
    }
    loaded = load_instances("main.instances", files.get, GRAPH)
    assert [i.name for i in loaded.instances] == ["a", "b"]
    assert [d.code for d in loaded.diagnostics] == [C.CO_NOT_INSTANCES]
    assert loaded.files == ("main.instances", "more.instances", "g.graph")
