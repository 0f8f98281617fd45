"""Installer names, and the plug-ins that run nothing: logger and simulated."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from roboconf.clock import ManualClock
from roboconf.plugins import (
    STEPS,
    FilePlugin,
    LoggerPlugin,
    ScriptPlugin,
    SimulatedPlugin,
    UnknownInstaller,
    installer_names,
    plugin_for,
)
from tests.plugins.helpers import context


@pytest.mark.parametrize(
    "installer, kind",
    [
        pytest.param("script", ScriptPlugin, id="script"),
        pytest.param("bash", ScriptPlugin, id="bash is an alias of script"),
        pytest.param("Bash", ScriptPlugin, id="names are case-insensitive"),
        pytest.param("file", FilePlugin, id="file"),
        pytest.param("logger", LoggerPlugin, id="logger"),
    ],
)
def test_plugin_for(installer: str, kind: type) -> None:
    assert isinstance(plugin_for(installer), kind)


@pytest.mark.parametrize(
    "installer, message",
    [
        pytest.param(
            "scrpit", "no plug-in for installer 'scrpit': did you mean 'script'?", id="a typo"
        ),
        pytest.param(
            "chef",
            "no plug-in for installer 'chef': known installers: bash, file, logger, script",
            id="an unknown name lists the known ones",
        ),
        pytest.param(
            "target",
            "no plug-in for installer 'target': machines (installer 'target') are created by "
            "target handlers, not plug-ins",
            id="machines have no plug-in",
        ),
    ],
)
def test_unknown_installers(installer: str, message: str) -> None:
    with pytest.raises(UnknownInstaller) as caught:
        plugin_for(installer)
    assert str(caught.value) == message
    assert caught.value.installer == installer


def test_installer_names() -> None:
    assert installer_names() == ("bash", "file", "logger", "script")


def test_the_logger_logs_each_step_and_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = context(tmp_path, installer="logger")
    with caplog.at_level(logging.INFO, logger="roboconf.plugins.logger"):
        results = [asyncio.run(LoggerPlugin().run(step, ctx)) for step in STEPS]
    assert all(r.ok for r in results)
    assert caplog.messages == [
        f"/vm/app: {step} (component App, application shop)" for step in STEPS
    ]
    assert not ctx.work_dir.exists()


def test_simulated_steps_succeed_after_their_delay(tmp_path: Path) -> None:
    ctx = context(tmp_path)

    async def scenario() -> tuple[bool, bool]:
        clock = ManualClock()
        plugin = SimulatedPlugin(delay_s=2.0, clock=clock)
        deploy = asyncio.create_task(plugin.run("deploy", ctx))
        await asyncio.sleep(0)  # let it start sleeping
        await clock.advance(1.0)
        early = deploy.done()
        await clock.advance(1.0)
        return early, (await deploy).ok

    assert asyncio.run(scenario()) == (False, True)
    assert not ctx.work_dir.exists(), "nothing is executed, nothing is written"


def test_simulated_steps_are_counted(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    plugin = SimulatedPlugin()

    async def scenario() -> None:
        await asyncio.gather(
            plugin.run("deploy", ctx), *(plugin.run("start", ctx) for _ in range(3))
        )

    asyncio.run(scenario())
    assert (plugin.counts, plugin.steps_run) == ({"deploy": 1, "start": 3}, 4)
