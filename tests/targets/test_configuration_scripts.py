"""Target configuration scripts (spec 50) shipped beside a target component's definitions:
``dm.configure.script.*`` run by the DM once the machine has its address, ``agent.script.*`` run
by the agent when it gets its model, ``local.*`` files never sent to agents. Real DM, real agent
processes (local target), RabbitMQ."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.brokers import require_shared_broker
from tests.faults.conftest import (  # journal: the recipes' journal, for each test
    PROBLEM,
    STARTED,
    TWO_MACHINES,
    journal,  # noqa: F401
    platform,
    run,
)

pytestmark = pytest.mark.integration

RECORD = (
    'echo "$0 ip=$IP_ADDRESS app=$APPLICATION_NAME path=$SCOPED_INSTANCE_PATH" >> "$FAULTS_JOURNAL"'
)
USER_DATA_CHECK = (
    'echo "$USER_DATA" | grep -q "scoped.path = $SCOPED_INSTANCE_PATH"'
    ' && echo user-data-ok >> "$FAULTS_JOURNAL"'
)


def test_the_dm_and_the_agents_run_their_scripts_and_local_ones_stay_on_the_dm(
    tmp_path: Path,
) -> None:
    url = require_shared_broker()
    files = {
        "graph/VM/dm.configure.script.sh": f"{RECORD}\n{USER_DATA_CHECK}",
        "graph/VM/agent.script.sh": RECORD,
        "graph/VM/local.agent.script.sh": RECORD,
    }

    async def scenario() -> None:
        instances = TWO_MACHINES.format(db_data="")
        async with platform(tmp_path, url, instances, files=files) as p:
            await p.start_all()
            lines = p.journal_lines()
            for machine in ("/db-vm", "/app-vm"):
                ran = [line for line in lines if f"path={machine}" in line]
                on_dm = [line for line in ran if "/dm.configure.script.sh " in line]
                on_agent = [line for line in ran if "/agent.script.sh " in line]
                assert len(on_dm) == 1 and "ip=127.0.0.1 app=faults" in on_dm[0], lines
                assert len(on_agent) == 1, lines
            assert lines.count("user-data-ok") == 2
            assert not [line for line in lines if "local.agent.script" in line], "sent to an agent"
            first = next(i for i, line in enumerate(lines) if "/agent.script.sh " in line)
            assert first < lines.index("/db-vm/db deploy "), "the agent ran it after deploying"
            await p.undeploy_all()

    run(scenario)


def test_a_failing_dm_script_puts_the_machine_in_problem_with_its_reason(tmp_path: Path) -> None:
    url = require_shared_broker()
    files = {"graph/VM/dm.configure.script.sh": 'echo "no route to the firewall" >&2\nexit 4'}

    async def scenario() -> None:
        async with platform(tmp_path, url, TWO_MACHINES.format(db_data=""), files=files) as p:
            await p.service.bulk(p.app.name, "deploy-and-start-all", None, None)
            await p.until_status({"/db-vm": PROBLEM, "/app-vm": PROBLEM})
            machine = p.app.get("/db-vm")
            assert "exited with code 4" in (machine.reason or ""), machine.reason
            assert "no route to the firewall" in machine.output_tail
            await p.undeploy_all()
            assert p.status("/db-vm/db") is not STARTED

    run(scenario)
