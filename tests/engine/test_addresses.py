"""A machine whose address changes while it runs (a container reconnected to its network with
another address): its ``ip`` exports follow, importers are updated with the new address, and the
DM learns it from the next heartbeat. Nothing is redeployed or restarted."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import HEARTBEAT, S, running, scenario, write_template
from tests.engine.test_failures import PROVIDERS_AND_IMPORTERS, TWO_MACHINES

IMPORTS_LOG = (
    'echo "$ROBOCONF_INSTANCE_PATH sees ${Database_0_ip:-none} ${ROBOCONF_UPDATE_STATUS:-}" '
    '>> "$LOG"\n'
)


@scenario
async def test_a_machine_reached_at_a_new_address_is_republished_to_its_importers(
    tmp_path: Path,
) -> None:
    template = write_template(
        tmp_path / "app",
        TWO_MACHINES,
        PROVIDERS_AND_IMPORTERS,
        {"App": {"start": IMPORTS_LOG, "update": IMPORTS_LOG}, "Database": {"start": ""}},
    )
    address = {"/data": "10.0.0.5"}

    async def data_address() -> str | None:
        return address["/data"]

    async with running(template, tmp_path, addresses={"/data": data_address}) as engine:
        await engine.start_all()  # the agent read its address before its first heartbeat
        assert engine.lines() == ["/apps/app sees 10.0.0.5 "]
        await engine.advance(HEARTBEAT)  # the DM hears the address
        await engine.reach(lambda app: app.get("/data").data.get("ip") == "10.0.0.5")

        address["/data"] = "10.0.0.9"
        await engine.advance(HEARTBEAT)
        await engine.logged("/apps/app sees 10.0.0.9 DEPLOYED_STARTED")
        await engine.advance(HEARTBEAT)  # the DM hears the new address
        await engine.reach(lambda app: app.get("/data").data.get("ip") == "10.0.0.9")

        address["/data"] = None  # cut off: no route, the address is kept
        await engine.advance(2 * HEARTBEAT)
        assert engine.app.get("/data").data.get("ip") == "10.0.0.9"
        starts = [line for line in engine.lines() if not line.endswith("DEPLOYED_STARTED")]
        assert starts == ["/apps/app sees 10.0.0.5 "]  # started once
        assert engine.statuses() == dict.fromkeys(engine.statuses(), S.DEPLOYED_STARTED)
