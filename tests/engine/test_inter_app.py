"""Exports shared between applications (Roboconf's ``external`` imports) through bindings.

One DM runs the ``shop`` application (its web server imports ``external Lb.*``, mandatorily) and
two applications of the ``balancer`` template (exports prefix ``Lb``), over the embedded router
and the in-memory target, with the shop's real recipes appending what they see to ``$LOG``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roboconf.dm.application import InstanceError
from tests.conftest import ROOT
from tests.engine.conftest import Engine, S, running, scenario

TEMPLATES = ROOT / "tests" / "data" / "inter_app"
WEB = "/web-vm/web"
HAPROXY = "/lb-vm/haproxy"


async def balancer(engine: Engine, name: str, status: S) -> None:
    """Request ``status`` for a balancer application's HAProxy and wait for it."""
    await engine.dm.request(name, HAPROXY, status)
    reached = await engine.dm.wait_until(
        name, lambda app: app.get(HAPROXY).status is status, timeout=15
    )
    assert reached, f"{name}{HAPROXY}: {engine.dm.application(name).get(HAPROXY).status}"


def providers(engine: Engine) -> list[str]:
    """The web server's providers of ``Lb``, as its agent last reported them with its state."""
    return sorted(engine.app.get(WEB).imports.get("Lb", []))


@scenario
async def test_an_external_import_follows_its_bindings(tmp_path: Path) -> None:
    others = {"lb1": TEMPLATES / "balancer", "lb2": TEMPLATES / "balancer"}
    async with running(TEMPLATES / "shop", tmp_path, others=others) as engine:
        for name in others:
            await engine.dm.deploy_and_start_all(name)
        await engine.dm.deploy_and_start_all(engine.app.name)
        for name in others:
            await balancer(engine, name, S.DEPLOYED_STARTED)
        await engine.reach({"/web-vm": S.DEPLOYED_STARTED, WEB: S.UNRESOLVED})
        # Exports of an application that is not bound are not accepted.
        assert providers(engine) == []
        assert "no application is bound to it" in " ".join(engine.dm.explain("scenario", WEB))

        await engine.dm.bind("scenario", "Lb", ["lb1"])
        await engine.reach({WEB: S.DEPLOYED_STARTED})
        assert providers(engine) == [f"lb1:{HAPROXY}"]
        assert "start behind 1 balancer(s): 127.0.0.1:8080" in engine.lines()

        await engine.dm.bind("scenario", "Lb", ["lb1", "lb2"])
        await engine.logged(f"update DEPLOYED_STARTED lb2:{HAPROXY}")

        # An exporter that stops withdraws its exports from the other applications too.
        await balancer(engine, "lb2", S.DEPLOYED_STOPPED)
        await engine.logged(f"update DEPLOYED_STOPPED lb2:{HAPROXY}")
        assert engine.status(WEB) is S.DEPLOYED_STARTED
        await balancer(engine, "lb1", S.DEPLOYED_STOPPED)
        await engine.reach({WEB: S.UNRESOLVED})
        await balancer(engine, "lb1", S.DEPLOYED_STARTED)
        await engine.reach({WEB: S.DEPLOYED_STARTED})

        # Unbinding removes the provider as a withdrawal would.
        await engine.dm.bind("scenario", "Lb", [])
        await engine.reach({WEB: S.UNRESOLVED})
        assert providers(engine) == []
        assert engine.dm.bindings("scenario") == {}


@scenario
async def test_the_dm_withdraws_the_shared_exports_of_a_lost_machine(tmp_path: Path) -> None:
    others = {"lb": TEMPLATES / "balancer"}
    async with running(TEMPLATES / "shop", tmp_path, others=others) as engine:
        await engine.dm.deploy_and_start_all("lb")
        await balancer(engine, "lb", S.DEPLOYED_STARTED)
        await engine.dm.bind("scenario", "Lb", ["lb"])
        await engine.start_all()

        engine.links["/lb-vm"].cut()
        await engine.advance(5)
        assert engine.dm.application("lb").get("/lb-vm").status is S.PROBLEM
        await engine.reach({WEB: S.UNRESOLVED})


@pytest.mark.parametrize(
    ("app", "prefix", "bound", "message"),
    [
        ("scenario", "Db", ["lb1"], "imports no 'external Db.*'"),
        (
            "lb1",
            "Lb",
            ["lb1"],
            r"'lb1' imports no 'external Lb\.\*'.*\(its external prefixes: none",
        ),
        ("scenario", "Lb", ["scenario"], "its template's exports prefix is None"),
        ("scenario", "Lb", ["ghost"], "no application named 'ghost'"),
    ],
    ids=[
        "a prefix the application does not import as external",
        "an application without external imports",
        "an application whose template exports nothing",
        "an unknown application",
    ],
)
@scenario
async def test_a_binding_that_could_never_match_is_refused(
    tmp_path: Path, app: str, prefix: str, bound: list[str], message: str
) -> None:
    async with running(
        TEMPLATES / "shop", tmp_path, others={"lb1": TEMPLATES / "balancer"}
    ) as engine:
        with pytest.raises(InstanceError, match=message):
            await engine.dm.bind(app, prefix, bound)
        assert engine.dm.bindings(app) == {}
