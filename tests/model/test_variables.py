"""Instance variables: overrides, placeholders, the machine's IP, random ports."""

from __future__ import annotations

import pytest

from roboconf.model import variables as v
from roboconf.model.instances import find
from roboconf.model.types import Instance
from tests.model.graphs import graph_of, instances_of, one_per_line

GRAPH = graph_of(
    one_per_line(
        "VM { installer: target; children: Db, MyDb, App; } "
        "Db { installer: script; exports: ip, port = 3306; } "
        "MyDb { extends: Db; exports: user = root; } "
        "App { installer: script; exports: ip, random[port] http, random[port] admin, "
        "name = $(ROBOCONF_INSTANCE_NAME); }"
    )
)


@pytest.mark.parametrize(
    ("overrides", "changed"),
    [
        pytest.param({"Db.port": "1"}, {"Db.port": "1"}, id="a full name replaces that variable"),
        pytest.param(
            {"user": "me"}, {"MyDb.user": "me"}, id="a local name replaces the one variable"
        ),
        pytest.param(
            {"port": "2"},
            {"Db.port": "2", "MyDb.port": "2", "port": "2"},
            id="a local name matching several sets all of them and is kept as written",
        ),
        pytest.param({"extra": "x"}, {"extra": "x"}, id="a name matching nothing is added"),
    ],
)
def test_overrides(overrides: dict[str, str], changed: dict[str, str]) -> None:
    defaults = v.with_overrides(GRAPH, "MyDb", {})
    assert v.with_overrides(GRAPH, "MyDb", overrides) == {**defaults, **changed}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("Db.port", v.OverrideKind.EXACT, id="a full name is exact"),
        pytest.param("user", v.OverrideKind.EXACT, id="one local match is exact"),
        pytest.param("port", v.OverrideKind.AMBIGUOUS, id="several local matches are ambiguous"),
        pytest.param("nothing", v.OverrideKind.MAGIC, id="no match is magic"),
    ],
)
def test_match_override(name: str, kind: v.OverrideKind) -> None:
    assert v.match_override(GRAPH, "MyDb", name).kind is kind


def test_instance_exports_substitute_placeholders_and_fill_the_ip() -> None:
    app = Instance(name="web", component="App", overrides={"http": "10000"})
    exports = v.instance_exports(GRAPH, app, "/vm/web", ip="10.0.0.1")
    assert exports == {
        "App.ip": "10.0.0.1",
        "App.http": "10000",
        "App.admin": None,
        "App.name": "web",
    }


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [
        pytest.param("$(ROBOCONF_INSTANCE_NAME)", "app", id="instance name"),
        pytest.param("$(ROBOCONF_INSTANCE_PATH)", "/vm 1/app", id="instance path"),
        pytest.param("$(ROBOCONF_COMPONENT_NAME)", "App", id="component name"),
        pytest.param("$(ROBOCONF_CLEAN_INSTANCE_PATH)", "vm_1_app", id="clean path"),
        pytest.param(
            "x $(ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH)", "x app_vm_1", id="clean reversed path"
        ),
        pytest.param("$(ROBOCONF_UNKNOWN)", "$(ROBOCONF_UNKNOWN)", id="unknown placeholders stay"),
    ],
)
def test_placeholders(placeholder: str, value: str) -> None:
    assert v.substitute_placeholders(placeholder, path="/vm 1/app", component="App") == value


@pytest.mark.parametrize(
    ("used", "forbidden", "port"),
    [
        pytest.param(set(), (), 10000, id="the first random port"),
        pytest.param({10000, 10001}, (), 10002, id="the lowest one not used"),
        pytest.param({10000}, (10001,), 10002, id="nor forbidden"),
        pytest.param({80, 8080}, (), 10000, id="ports below the range do not matter"),
    ],
)
def test_lowest_free_port(used: set[int], forbidden: tuple[int, ...], port: int) -> None:
    assert v.lowest_free_port(used, forbidden) == port


def test_random_ports_are_allocated_per_machine_and_stored_as_overrides() -> None:
    tree = instances_of(
        one_per_line(
            "instance of VM { name: vm1; instance of App { name: a; } "
            "instance of App { name: b; http: 10000; } } "
            "instance of VM { name: vm2; instance of App { name: a; } }"
        ),
        GRAPH,
    )
    assigned, added = v.assign_random_ports(GRAPH, tree, forbidden=[10002])
    assert added == {
        "/vm1/a": {"App.http": "10001", "App.admin": "10003"},
        "/vm1/b": {"App.admin": "10004"},
        "/vm2/a": {"App.http": "10000", "App.admin": "10001"},
    }
    b = find(assigned, "/vm1/b")
    assert b is not None and dict(b.overrides) == {"http": "10000", "App.admin": "10004"}
    again, nothing = v.assign_random_ports(GRAPH, assigned)
    assert again is assigned and nothing == {}
