"""The LAMP example on real containers: ``roboconf run examples/lamp --target docker``, as a user
runs it, then driven through the DM's API.

Apache httpd balances (mod_proxy_balancer, AJP) over Tomcat 10 servers whose web application
reads MariaDB, each on a container of its own, with the software from Debian. One test runs the
phases in order on one deployment (pytest-xdist would spread separate tests over its workers:
its ``xdist_group`` does not hold with pytest 9):

1. HTTP through Apache reaches a page rendered by Tomcat with data read from MariaDB;
2. a Tomcat added hot is balanced over, nothing else restarted (same process identities);
3. a Tomcat removed is dropped by Apache, nothing else restarted;
4. F6: a Tomcat's JVM killed: health check, PROBLEM, restart; Apache drops then re-adds it;
5. F4: a Tomcat's container disconnected from the network: PROBLEM, withdrawal, Apache drops
   it; reconnected: started again, Apache re-adds it;
6. Ctrl-C undeploys everything: exit 0, no container left.

Each phase prints its duration (``pytest -s``). The first run on a machine also builds the base
image (debootstrap, about 85 s) and the agent image with Apache, Tomcat and MariaDB (about 90 s).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from roboconf.cli.client import ApiError, DmApi, DmUnreachable
from tests.conftest import ROOT
from tests.docker_env import ensure_base_image
from tests.helpers import free_port, terminated_with_parent

pytestmark = pytest.mark.integration

APP = "lamp"
LABEL = f"roboconf.application={APP}"
#: seconds for the first deployment: the agent image may have to be built (apt-get inside)
FIRST_DEPLOYMENT_S = 900.0
#: seconds for a change to be carried out (a Tomcat started, a machine found silent...)
CHANGE_S = 180.0
#: seconds for Ctrl-C to undeploy everything
UNDEPLOY_S = 300.0
HEARTBEAT_S = 2.0
TOMCATS = ("/Tomcat VM 1", "/Tomcat VM 2")


@dataclass
class Lamp:
    api: DmApi
    engine: Any
    process: subprocess.Popen[bytes]
    log: Path

    def statuses(self) -> dict[str, str]:
        return {i["path"]: i["status"] for i in self.api.list_instances(APP)}

    def until(self, what: str, check: Callable[[], bool], timeout_s: float = CHANGE_S) -> float:
        """Poll ``check`` until it holds; its duration. Fails with the instances' states."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                pytest.fail(f"roboconf run exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(DmUnreachable, ApiError):  # not created yet
                if check():
                    return time.monotonic() - started
            time.sleep(0.5)
        details = {i["path"]: (i["status"], i.get("reason")) for i in self.api.list_instances(APP)}
        pytest.fail(f"{what}: not within {timeout_s:.0f} s; the instances: {details}")

    def all_started(self) -> bool:
        return all(status == "DEPLOYED_STARTED" for status in self.statuses().values())

    def container(self, machine: str) -> Any:
        found = self.engine.containers.list(
            filters={"label": [LABEL, f"roboconf.scoped-path={machine}"]}
        )
        assert len(found) == 1, f"{machine}: {len(found)} container(s)"
        return found[0]

    def ip(self, machine: str) -> str:
        container = self.container(machine)
        container.reload()
        return str(container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"])

    def sh(self, machine: str, command: str) -> str:
        result = self.container(machine).exec_run(["sh", "-c", command])
        assert result.exit_code == 0, (machine, command, result.output.decode())
        return str(result.output.decode())

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class Page:
    status: int
    served_by: str
    body: str


def fetch(url: str) -> Page:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return Page(
                response.status,
                response.headers.get("X-Lamp-Served-By", ""),
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return Page(error.code, "", error.read().decode(errors="replace"))
    except (urllib.error.URLError, OSError) as error:
        return Page(0, "", str(error))


def served_by(lamp: Lamp, requests: int = 12) -> set[str]:
    """The Tomcat machines that answered ``requests`` requests through Apache (the web
    application's instance path, its machine first); ``"error <code>"`` for a failed one."""
    url = f"http://{lamp.ip('/Apache VM')}/"
    machines = set()
    for _ in range(requests):
        page = fetch(url)
        if page.status == 200 and page.served_by:
            machines.add("/" + page.served_by.split("/")[1])
        else:
            machines.add(f"error {page.status}")
    return machines


def identities(lamp: Lamp, machines: tuple[str, ...]) -> dict[str, str]:
    """Each server's main process (pid and start time): a restart changes it."""
    pid_files = {
        "/Apache VM": "/var/run/apache2/apache2.pid",
        "/MySQL VM": "/run/mysqld/mysqld.pid",
    }
    found = {}
    for machine in machines:
        pid_file = pid_files.get(machine, "/var/run/roboconf-tomcat.pid")
        command = f'pid=$(cat {pid_file}); echo "$pid $(cut -d" " -f22 /proc/$pid/stat)"'
        found[machine] = lamp.sh(machine, command).strip()
    return found


def members(lamp: Lamp) -> list[str]:
    """Apache's balancer members, as its update recipe wrote them."""
    text = lamp.sh("/Apache VM", "cat /etc/apache2/roboconf-lamp-members.conf")
    return [line.split('"')[1] for line in text.splitlines() if "BalancerMember" in line]


def members_history(lamp: Lamp) -> list[str]:
    return lamp.sh("/Apache VM", "cat /var/log/apache2/roboconf-members.log").splitlines()


def last_event_id(lamp: Lamp) -> int:
    events = lamp.api.events(application=APP, limit=1)
    return int(events[0]["id"]) if events else 0


def statuses_since(lamp: Lamp, after: int, path: str) -> list[str]:
    """The states ``path`` went through since event ``after``, oldest first."""
    events = lamp.api.events(application=APP, after=after, limit=1000)
    return [e["status"] for e in reversed(events) if e.get("path") == path and e.get("status")]


def remove_containers(engine: Any) -> int:
    left = engine.containers.list(all=True, filters={"label": LABEL})
    for container in left:
        container.remove(force=True)
    return len(left)


@pytest.fixture
def lamp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lamp]:
    """``roboconf run examples/lamp --target docker`` until the last phase stops it."""
    import docker  # type: ignore[import-untyped]

    from roboconf.targets.docker_network import bridge_gateway

    ensure_base_image()
    engine = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=120)
    remove_containers(engine)  # what an earlier, killed run left
    gateway = bridge_gateway()
    port = free_port(gateway)
    folder = tmp_path_factory.mktemp("lamp")
    log = folder / "run.log"
    command = [
        sys.executable,
        "-m",
        "roboconf",
        "run",
        str(ROOT / "examples" / "lamp"),
        "--target",
        "docker",
        "--port",
        str(port),
        "--heartbeat",
        str(HEARTBEAT_S),
        "--data-dir",
        str(folder / "data"),
    ]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=terminated_with_parent,
            env={**os.environ, "COLUMNS": "160"},
        )
    api = DmApi(f"http://{gateway}:{port}", timeout_s=30)
    lamp = Lamp(api=api, engine=engine, process=process, log=log)
    try:
        spent = lamp.until("the whole application started", lamp.all_started, FIRST_DEPLOYMENT_S)
        print(f"\nLAMP deployed and started in {spent:.1f} s (image builds included)")
        yield lamp
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=UNDEPLOY_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        api.close()
        remove_containers(engine)
        engine.close()


def http_through_apache_reaches_a_page_rendered_by_tomcat_from_mariadb(lamp: Lamp) -> None:
    page = fetch(f"http://{lamp.ip('/Apache VM')}/")
    assert page.status == 200, page.body[-2000:]
    assert "Hello from MariaDB" in page.body  # read from the database by the JSP page
    assert page.served_by.startswith(("/Tomcat VM 1/Tomcat/DemoApp", "/Tomcat VM 2/Tomcat/DemoApp"))
    mysql_ip = lamp.ip("/MySQL VM")
    assert f"Read from MariaDB at {mysql_ip}:3306" in page.body
    # Apache balances over both Tomcat servers
    spent = lamp.until("both Tomcat servers answering", lambda: served_by(lamp) == set(TOMCATS))
    print(f"both Tomcat servers answering through Apache after {spent:.1f} s more")
    assert sorted(members(lamp)) == sorted(f"ajp://{lamp.ip(m)}:8009" for m in TOMCATS)


def a_tomcat_added_hot_is_balanced_over_without_restarting_the_others(lamp: Lamp) -> None:
    others = ("/Apache VM", *TOMCATS, "/MySQL VM")
    before = identities(lamp, others)
    lamp.api.add_instance(APP, parent=None, component="VM", name="Tomcat VM 3")
    lamp.api.add_instance(APP, parent="/Tomcat VM 3", component="Tomcat", name="Tomcat")
    lamp.api.add_instance(APP, parent="/Tomcat VM 3/Tomcat", component="Webapp", name="DemoApp")
    started = time.monotonic()
    lamp.api.deploy_and_start_all(APP, under="/Tomcat VM 3")
    lamp.until("Tomcat VM 3 started", lamp.all_started)
    lamp.until(
        "Apache balancing over the three Tomcat servers",
        lambda: served_by(lamp) == {*TOMCATS, "/Tomcat VM 3"},
    )
    print(f"a Tomcat added and balanced over in {time.monotonic() - started:.1f} s")
    assert f"ajp://{lamp.ip('/Tomcat VM 3')}:8009" in members(lamp)
    assert identities(lamp, others) == before  # Apache reloaded gracefully: same main process


def a_tomcat_removed_is_dropped_by_apache_without_restarting_the_others(
    lamp: Lamp,
) -> None:
    others = ("/Apache VM", "/Tomcat VM 2", "/Tomcat VM 3", "/MySQL VM")
    before = identities(lamp, others)
    removed_ip = lamp.ip("/Tomcat VM 1")
    started = time.monotonic()
    lamp.api.undeploy_all(APP, under="/Tomcat VM 1")
    lamp.until(
        "Tomcat VM 1 undeployed",
        lambda: lamp.statuses()["/Tomcat VM 1"] == "NOT_DEPLOYED",
    )
    lamp.api.remove_instance(APP, "/Tomcat VM 1")
    lamp.until(
        "Apache balancing over the two Tomcat servers left",
        lambda: served_by(lamp) == {"/Tomcat VM 2", "/Tomcat VM 3"},
    )
    print(f"a Tomcat removed and dropped in {time.monotonic() - started:.1f} s")
    assert f"ajp://{removed_ip}:8009" not in members(lamp)
    assert not lamp.engine.containers.list(
        all=True, filters={"label": [LABEL, "roboconf.scoped-path=/Tomcat VM 1"]}
    )
    assert identities(lamp, others) == before


def f6_a_killed_tomcat_is_restarted_and_apache_drops_then_re_adds_it(lamp: Lamp) -> None:
    tomcat = "/Tomcat VM 2/Tomcat"
    member = f"{lamp.ip('/Tomcat VM 2')}:8009"
    history = len(members_history(lamp))
    after = last_event_id(lamp)
    before = identities(lamp, ("/Tomcat VM 2",))
    started = time.monotonic()
    lamp.sh("/Tomcat VM 2", "kill -9 $(cat /var/run/roboconf-tomcat.pid)")
    lamp.until("Tomcat VM 2 in PROBLEM", lambda: "PROBLEM" in statuses_since(lamp, after, tomcat))
    lamp.until("Tomcat VM 2 back", lamp.all_started)
    lamp.until(
        "Apache balancing over Tomcat VM 2 again",
        lambda: served_by(lamp) == {"/Tomcat VM 2", "/Tomcat VM 3"},
    )
    spent = time.monotonic() - started
    print(f"a killed Tomcat detected, restarted and balanced over in {spent:.1f} s")
    went = statuses_since(lamp, after, tomcat)
    assert went.index("PROBLEM") < len(went) - 1 - went[::-1].index("DEPLOYED_STARTED")
    problem = lamp.api.events(application=APP, after=after, limit=1000)
    reasons = [e.get("reason") or "" for e in problem if e.get("status") == "PROBLEM"]
    assert any("health check failed" in reason for reason in reasons), reasons
    changes = members_history(lamp)[history:]
    dropped = [i for i, line in enumerate(changes) if member not in line]
    assert dropped, f"Apache never dropped {member}: {changes}"
    assert member in changes[-1], changes  # then re-added
    assert identities(lamp, ("/Tomcat VM 2",)) != before  # a new JVM


def f4_a_disconnected_container_is_dropped_then_back_when_reconnected(lamp: Lamp) -> None:
    machine = "/Tomcat VM 3"
    network = lamp.engine.networks.get("bridge")
    container = lamp.container(machine)
    member = f"{lamp.ip(machine)}:8009"
    history = len(members_history(lamp))
    started = time.monotonic()
    network.disconnect(container)
    try:
        lamp.until(
            "Tomcat VM 3 in PROBLEM (silent)",
            lambda: lamp.statuses()[machine] == "PROBLEM",
        )
        lamp.until(
            "Apache balancing over Tomcat VM 2 alone",
            lambda: served_by(lamp) == {"/Tomcat VM 2"},
        )
        assert member not in members(lamp)
        print(f"a disconnected machine found and dropped in {time.monotonic() - started:.1f} s")
    finally:
        network.connect(container)
    reconnected = time.monotonic()
    lamp.until("Tomcat VM 3 back", lamp.all_started)
    # the engine may give the container another address: the agent reads it at each heartbeat
    # and publishes its exports again, so Apache is told the new one
    address = f"{lamp.ip(machine)}:8009"
    lamp.until(
        "Apache balancing over Tomcat VM 3 again",
        lambda: served_by(lamp) == {"/Tomcat VM 2", "/Tomcat VM 3"},
    )
    spent = time.monotonic() - reconnected
    print(f"reconnected ({member} → {address}), back in the balancer in {spent:.1f} s")
    assert f"ajp://{address}" in members(lamp)
    changes = members_history(lamp)[history:]
    assert any(member not in line for line in changes) and address in changes[-1], changes
    lamp.until(  # the DM knows the new address too (from the next heartbeat)
        "the DM telling Tomcat VM 3's new address",
        lambda: address == f"{lamp.api.get_instance(APP, machine)['data'].get('ip')}:8009",
    )


def ctrl_c_undeploys_everything_and_leaves_no_container(lamp: Lamp) -> None:
    started = time.monotonic()
    lamp.process.send_signal(signal.SIGINT)
    assert lamp.process.wait(timeout=UNDEPLOY_S) == 0, lamp.tail()
    print(f"undeployed on Ctrl-C in {time.monotonic() - started:.1f} s")
    assert lamp.engine.containers.list(all=True, filters={"label": LABEL}) == []


PHASES = (
    http_through_apache_reaches_a_page_rendered_by_tomcat_from_mariadb,
    a_tomcat_added_hot_is_balanced_over_without_restarting_the_others,
    a_tomcat_removed_is_dropped_by_apache_without_restarting_the_others,
    f6_a_killed_tomcat_is_restarted_and_apache_drops_then_re_adds_it,
    f4_a_disconnected_container_is_dropped_then_back_when_reconnected,
    ctrl_c_undeploys_everything_and_leaves_no_container,
)


def test_the_lamp_example_on_containers(lamp: Lamp) -> None:
    """Every phase, in order, on one deployment; a failure names its phase."""
    for phase in PHASES:
        started = time.monotonic()
        print(f"-- {phase.__name__}")
        phase(lamp)
        print(f"-- {phase.__name__}: passed in {time.monotonic() - started:.1f} s")
