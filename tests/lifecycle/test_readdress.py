"""A machine's new address: which exports follow it (``readdress``)."""

from __future__ import annotations

import pytest

from roboconf.lifecycle import AgentState, InstanceState, Values, readdress

OLD, NEW = "172.17.0.6", "172.17.0.3"


@pytest.mark.parametrize(
    ("exports", "expected"),
    [
        (
            {"Tomcat": {"Tomcat.ip": OLD, "Tomcat.portAJP": "8009"}},
            {"Tomcat": {"Tomcat.ip": NEW, "Tomcat.portAJP": "8009"}},
        ),
        # an ip overridden with another address is the user's: kept
        (
            {"Db": {"Db.ip": "10.0.0.1", "Db.port": "5432"}},
            {"Db": {"Db.ip": "10.0.0.1", "Db.port": "5432"}},
        ),
        # the old address under another name is no address of the machine's own
        ({"Proxy": {"Proxy.upstream": OLD}}, {"Proxy": {"Proxy.upstream": OLD}}),
        # facets: every prefix's ip
        (
            {"Server": {"Server.ip": OLD}, "Web": {"Web.ip": OLD, "Web.port": None}},
            {"Server": {"Server.ip": NEW}, "Web": {"Web.ip": NEW, "Web.port": None}},
        ),
        ({}, {}),
    ],
)
def test_ip_exports_holding_the_old_address_take_the_new_one(
    exports: dict[str, Values], expected: dict[str, Values]
) -> None:
    state = AgentState(rules={}, scoped_path="/vm")
    state.instances["/vm/x"] = InstanceState(
        path="/vm/x", component="X", parent="/vm", exports=exports
    )
    changed = readdress(state, OLD, NEW)
    assert state.instances["/vm/x"].exports == expected
    assert changed == (["/vm/x"] if expected != exports else [])
