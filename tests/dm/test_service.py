"""The DM service on the embedded platform (simulated plug-ins, SQLite in ``tmp_path``): what it
acknowledges is stored, a restarted service finds everything again and drives instances back
to the states last requested, and refusals are values with a code and a sentence."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from roboconf.dm import library
from roboconf.dm.service import DmService
from roboconf.dm.views import BadRequest, Conflict, InvalidTemplate, NotFound
from roboconf.model import InstanceStatus
from tests.conftest import ROOT
from tests.dm.databases import new_database

S = InstanceStatus
WEBSTACK = ROOT / "examples" / "webstack"
#: a guard against waiting forever (not a timing check)
PATIENCE = 20.0


def scenario(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 90))

    return run


def options(data_dir: Path, database: str | None = None) -> EmbeddedOptions:
    return EmbeddedOptions(
        data_dir=data_dir, database=database, simulate=True, heartbeat_s=1.0, flush_s=0.02
    )


@pytest.fixture(params=["sqlite", "postgresql"], ids=["on SQLite", "on PostgreSQL"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_database(request.param, tmp_path) as url:
        yield url


async def until(service: DmService, app: str, check: Callable[[dict[str, int]], bool]) -> None:
    async with asyncio.timeout(PATIENCE):
        while not check(dict(service.get_application(app).counts)):
            await asyncio.sleep(0.02)


def all_in(status: InstanceStatus, total: int) -> Callable[[dict[str, int]], bool]:
    return lambda counts: counts.get(status.value, 0) == total


@scenario
async def test_a_template_is_uploaded_listed_and_refused_twice(tmp_path: Path) -> None:
    async with embedded_service(options(tmp_path)) as service:
        view = await service.upload_template(library.pack(WEBSTACK))
        assert (view.name, view.version) == ("WebStack", "1.0.0") or view.name
        assert {c.name for c in view.components} >= {"VM", "LoadBalancer", "AppServer"}
        assert [t.name for t in service.list_templates()] == [view.name]
        with pytest.raises(Conflict):
            await service.upload_template(library.pack(WEBSTACK))
        with pytest.raises(NotFound):
            service.get_template("nope", "1")


@scenario
async def test_an_invalid_template_is_refused_with_its_diagnostics(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "descriptor").mkdir(parents=True)
    (broken / "graph").mkdir()
    (broken / "descriptor" / "application.properties").write_text(
        "name = broken\nversion = 1\ngraph-entry-point = main.graph\n"
    )
    (broken / "graph" / "main.graph").write_text("VM {\n\tinstaller target;\n}\n")
    async with embedded_service(options(tmp_path / "dm")) as service:
        with pytest.raises(InvalidTemplate) as refused:
            await service.upload_template(library.pack(broken))
        assert refused.value.diagnostics
        assert all(d.file for d in refused.value.diagnostics)
        assert service.list_templates() == []


@scenario
async def test_deploy_add_stop_explain_undeploy_delete(tmp_path: Path) -> None:
    async with embedded_service(options(tmp_path)) as service:
        template = await service.upload_template(library.pack(WEBSTACK))
        await service.create_application("shop", template.name, template.version)
        total = service.get_application("shop").instances
        assert await service.bulk("shop", "deploy-and-start-all", None, None) == total
        await until(service, "shop", all_in(S.DEPLOYED_STARTED, total))

        added = await service.add_instance("shop", "/host", "AppServer", "app3")
        assert added.status == "NOT_DEPLOYED"
        await service.request_state("shop", "/host/app3", S.DEPLOYED_STARTED)
        await until(service, "shop", all_in(S.DEPLOYED_STARTED, total + 1))
        assert service.instance("shop", "/host/app3").exports["AppServer.port"]

        await service.request_state("shop", "/host/database", S.DEPLOYED_STOPPED)
        await until(service, "shop", lambda c: c.get("UNRESOLVED", 0) >= 3)
        reasons = " ".join(service.explain("shop", "/host/app 1"))
        assert "Database" in reasons

        with pytest.raises(Conflict):
            await service.remove_instance("shop", "/host/app3")
        with pytest.raises(Conflict):
            await service.delete_application("shop")
        with pytest.raises(Conflict):
            await service.request_state("shop", "/host", S.DEPLOYED_STOPPED)
        with pytest.raises(BadRequest):
            await service.request_state("shop", "/host", S.DEPLOYING)

        await service.shutdown_application("shop")
        await until(service, "shop", all_in(S.NOT_DEPLOYED, total + 1))
        await service.remove_instance("shop", "/host/app3")
        with pytest.raises(Conflict):
            await service.delete_template(template.name, template.version)
        await service.delete_application("shop")
        await service.delete_template(template.name, template.version)
        kinds = {e.kind for e in await service.history(limit=1000)}
        assert {
            "template.uploaded",
            "application.created",
            "instance.requested",
            "instance.changed",
            "instance.added",
            "instance.removed",
            "machine.up",
            "machine.down",
            "application.deleted",
            "template.deleted",
        } <= kinds


@scenario
async def test_a_restarted_service_finds_everything_and_converges_again(
    tmp_path: Path, database: str
) -> None:
    async with embedded_service(options(tmp_path, database)) as service:
        template = await service.upload_template(library.pack(WEBSTACK))
        await service.create_application("shop", template.name, template.version)
        await service.add_instance("shop", "/host", "AppServer", "app3", {"port": "9999"})
        total = service.get_application("shop").instances
        await service.bulk("shop", "deploy-and-start-all", None, None)
        await until(service, "shop", all_in(S.DEPLOYED_STARTED, total))
        await service.request_state("shop", "/host/app 2", S.DEPLOYED_STOPPED)
        await until(service, "shop", lambda c: c.get("DEPLOYED_STOPPED", 0) == 1)
        await service.put_target("id = spare\nhandler = in-memory\n")
        await service.associate("shop", "@VM", "spare")
        await service.set_preference("email", "ops@example.org")
        before = await service.history(limit=1)

    async with embedded_service(options(tmp_path, database)) as service:
        assert [a.name for a in service.list_applications()] == ["shop"]
        assert service.instance("shop", "/host/app3").overrides == {"port": "9999"}
        assert service.get_preferences() == {"email": "ops@example.org"}
        assert {(a.key, a.target_id) for a in service.associations("shop")} >= {("@VM", "spare")}
        # the in-memory machine did not survive: deployed again, to the states last requested
        await until(
            service,
            "shop",
            lambda c: c.get("DEPLOYED_STARTED", 0) == total - 1 and c.get("DEPLOYED_STOPPED") == 1,
        )
        assert service.instance("shop", "/host/app 2").status == "DEPLOYED_STOPPED"
        after = await service.history(limit=1000)
        assert min(e.id for e in after) <= before[0].id < max(e.id for e in after)


@scenario
async def test_subscribers_receive_stored_events_of_their_application(tmp_path: Path) -> None:
    async with embedded_service(options(tmp_path)) as service:
        template = await service.upload_template(library.pack(WEBSTACK))
        await service.create_application("a", template.name, template.version)
        await service.create_application("b", template.name, template.version)
        only_a = service.subscribe("a")
        await service.bulk("a", "deploy-and-start-all", None, None)
        await service.bulk("b", "deploy-and-start-all", None, None)
        total = service.get_application("a").instances
        await until(service, "a", all_in(S.DEPLOYED_STARTED, total))
        await until(service, "b", all_in(S.DEPLOYED_STARTED, total))
        await asyncio.sleep(0.1)
        received = []
        while not only_a.empty():
            received.append(only_a.get_nowait())
        assert received and {e.application for e in received if e} == {"a"}
        ids = [e.id for e in received if e]
        assert ids == sorted(ids) and all(i > 0 for i in ids)
        service.unsubscribe(only_a)


@scenario
async def test_targets_are_checked_and_not_deleted_while_used(tmp_path: Path) -> None:
    async with embedded_service(options(tmp_path)) as service:
        with pytest.raises(BadRequest):
            await service.put_target("handler = in-memory\n")
        with pytest.raises(BadRequest):
            await service.put_target("id = a\nhandler = in-memory\n", target_id="b")
        target = await service.put_target("id = a\nhandler = in-memory\nname = A\n")
        assert (target.id, target.handler, target.name) == ("a", "in-memory", "A")
        template = await service.upload_template(library.pack(WEBSTACK))
        await service.create_application("shop", template.name, template.version)
        with pytest.raises(NotFound):
            await service.associate("shop", "@Nope", "a")
        with pytest.raises(BadRequest):
            await service.associate("shop", "/host/database", "a")
        await service.associate("shop", "default", "a")
        assert service.get_target("a").usage[0].application == "shop"
        with pytest.raises(Conflict):
            await service.delete_target("a")


@scenario
async def test_bindings_are_checked_stored_and_kept_across_a_restart(
    tmp_path: Path, database: str
) -> None:
    templates = ROOT / "tests" / "data" / "inter_app"
    async with embedded_service(options(tmp_path, database)) as service:
        for name in ("balancer", "shop"):
            await service.upload_template(library.pack(templates / name))
        await service.create_application("lb", "balancer", "1.0")
        await service.create_application("shop", "shop", "1.0")
        events = service.subscribe("shop")
        with pytest.raises(NotFound):
            await service.bind("shop", "Lb", ["ghost"])
        with pytest.raises(NotFound):
            await service.bind("ghost", "Lb", ["lb"])
        with pytest.raises(BadRequest) as refused:
            await service.bind("shop", "Db", ["lb"])
        assert refused.value.details == {"prefix": "Db"}
        with pytest.raises(NotFound):
            await service.unbind("shop", "Lb")
        assert await service.bind("shop", "Lb", ["lb", "lb"]) == ("lb",)
        changed = await asyncio.wait_for(events.get(), PATIENCE)
        assert changed is not None and changed.kind == "application.changed"
        assert changed.details == {"binding": "Lb", "applications": ["lb"]}
        await service.bulk("lb", "deploy-and-start-all", None, None)
        await service.bulk("shop", "deploy-and-start-all", None, None)
        await until(service, "shop", all_in(S.DEPLOYED_STARTED, 2))
        service.unsubscribe(events)

    async with embedded_service(options(tmp_path, database)) as service:
        assert service.bindings("shop") == {"Lb": ("lb",)}
        await until(service, "shop", all_in(S.DEPLOYED_STARTED, 2))
        assert service.instance("shop", "/web-vm/web").imports == {"Lb": ("lb:/lb-vm/haproxy",)}
        await service.unbind("shop", "Lb")
        assert service.bindings("shop") == {}
        await until(service, "shop", lambda c: c.get("UNRESOLVED") == 1)
