"""Acceptance: ``roboconf run`` deploys the web-stack example for real, as a user runs it.

Both tests run ``roboconf run examples/webstack`` as a subprocess, in each way it composes the
platform: agents in its process on the embedded router, agent processes (``--target local``)
talking through RabbitMQ, and agent processes talking through the DM (``http`` messaging).
The example's balancer listens on 8080 (``roboconf run`` takes no overrides): the tests hold
:func:`exclusive_port` so that no other test uses it at the same time. Every recipe runs in
the run's ``--data-dir``: a process whose working directory or command line is in there is a
process left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import forget_domain, require_shared_broker
from tests.conftest import ROOT
from tests.engine.conftest import exclusive_port, port_is_free, processes_under, write_template
from tests.helpers import free_port

WEBSTACK = ROOT / "examples" / "webstack"
BALANCER = 8080
APP_SERVERS = {"/host/app 1", "/host/app 2"}
#: bounds on waits (a guard, not a timing check)
PATIENCE = 60.0


def roboconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "roboconf", *args]


VARIANTS = [
    pytest.param((), id="in-memory agents, embedded router"),
    pytest.param(
        ("--target", "local", "--messaging", "rabbitmq"),
        marks=pytest.mark.integration,
        id="agent processes, RabbitMQ",
    ),
    pytest.param(("--target", "local"), id="agent processes, through the DM (http)"),
]


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """How ``roboconf run`` composes the platform; a domain of its own on a shared broker."""
    options: tuple[str, ...] = request.param
    if "rabbitmq" not in options:
        yield options
        return
    url = require_shared_broker()
    domain = f"test-{os.getpid()}-{tmp_path.name}"
    yield (*options, "--domain", domain)
    asyncio.run(forget_domain(url, domain, {"webstack": ["/host"]}))


@pytest.fixture
def balancer_port() -> Iterator[None]:
    """8080, for this test only, once whatever used it before is gone."""
    with exclusive_port(BALANCER):
        deadline = time.monotonic() + PATIENCE
        while not port_is_free(BALANCER):
            if time.monotonic() > deadline:
                pytest.fail(f"port {BALANCER} is taken by another program: free it first")
            time.sleep(0.1)
        yield


def no_process_left(data_dir: Path) -> None:
    left = processes_under(data_dir)
    for line in left:  # leave nothing behind, even when failing
        os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    assert left == []


def test_run_once_as_json_starts_and_undeploys_the_web_stack(
    balancer_port: None, variant: tuple[str, ...], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    result = subprocess.run(
        roboconf("run", str(WEBSTACK), "--once", "--json", "--data-dir", str(data_dir), *variant),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    no_process_left(data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["started"] is True and report["undeployed"] is True

    def statuses(nodes: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for node in nodes:
            yield node["path"], node["status"]
            yield from statuses(node["children"])

    final = dict(statuses(report["instances"]))
    assert set(final) == {"/host", "/host/database", "/host/balancer", *APP_SERVERS}
    assert set(final.values()) == {"NOT_DEPLOYED"}
    assert port_is_free(BALANCER)


@contextlib.contextmanager
def roboconf_run(tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``roboconf run *args`` with its data in ``tmp_path / "data"`` and its output in
    ``output.txt``; killed if still running at the end, and then nothing may be left."""
    data_dir = tmp_path / "data"
    with (tmp_path / "output.txt").open("w") as output:
        process = subprocess.Popen(
            roboconf("run", *args, "--data-dir", str(data_dir)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            no_process_left(data_dir)


def backend(url: str) -> str | None:
    """The app server that answered through the balancer, or None while it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.headers["X-Webstack-Backend"]).split(" (")[0]
    except (OSError, urllib.error.URLError):
        return None


def test_run_serves_through_the_balancer_from_every_app_server_until_ctrl_c(
    balancer_port: None, variant: tuple[str, ...], tmp_path: Path
) -> None:
    with roboconf_run(tmp_path, str(WEBSTACK), *variant) as process:
        answered: set[str] = set()
        deadline = time.monotonic() + PATIENCE
        while answered != APP_SERVERS and process.poll() is None:
            assert time.monotonic() < deadline, f"only {answered} answered"
            found = backend(f"http://127.0.0.1:{BALANCER}/")
            if found is None:
                time.sleep(0.1)
            else:
                answered.add(found)
        assert answered == APP_SERVERS, output_of(tmp_path)

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=PATIENCE) == 0, output_of(tmp_path)
    assert port_is_free(BALANCER)


def test_a_second_ctrl_c_exits_without_waiting_for_the_undeploy(tmp_path: Path) -> None:
    """The first Ctrl-C undeploys; one more, while a stop recipe hangs, exits at once (130),
    saying what may be left; the recipes of in-memory agents do not outlive the run."""
    template = write_template(
        tmp_path / "slow",
        "VM {\n\tinstaller: target;\n\tchildren: Slow;\n}\nSlow {\n\tinstaller: script;\n}\n",
        "instance of VM {\n\tname: vm;\n\tinstance of Slow {\n\t\tname: slow;\n\t}\n}\n",
        {"Slow": {"start": "true\n", "stop": "sleep 120\n"}},
    )
    port = free_port()
    with roboconf_run(tmp_path, str(template), "--port", str(port)) as process:
        url = f"http://127.0.0.1:{port}/api/v1/applications/scenario/instances"
        deadline = time.monotonic() + PATIENCE
        while statuses(url) != {"DEPLOYED_STARTED"}:
            assert process.poll() is None and time.monotonic() < deadline, output_of(tmp_path)
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        while "STOPPING" not in statuses(url):  # the stop recipe hangs
            assert time.monotonic() < deadline, output_of(tmp_path)
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130, output_of(tmp_path)
    assert "interrupted again: exited without waiting for the undeploy" in output_of(tmp_path)


def statuses(url: str) -> set[str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return {instance["status"] for instance in json.load(response)}
    except (OSError, urllib.error.URLError):
        return set()


def output_of(tmp_path: Path) -> str:
    return (tmp_path / "output.txt").read_text(errors="replace")[-3000:]
