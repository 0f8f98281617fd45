"""Which target a machine component gets when its template ships several definitions (one per
handler, as ``graph/VM/docker.target.properties`` and ``graph/VM/in-memory.target.properties``)
and the DM has a default target: the template's definition of the default's handler, with the
template's own keys; the default itself when the template ships none of that handler; the first
definition when the DM has no default. A default that does not override (``roboconf run`` with
no ``--target``) serves only the machine components with no definition."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roboconf.dm.manager import DeploymentManager
from roboconf.messaging.embedded import EmbeddedRouter
from roboconf.project.loader import load_template
from roboconf.targets.base import TargetDefinition

IN_MEMORY_DEFAULT = TargetDefinition(
    id="dm-in-memory", handler="in-memory", properties={"id": "dm-in-memory"}
)
DOCKER_DEFAULT = TargetDefinition(
    id="dm-docker",
    handler="docker",
    properties={"id": "dm-docker", "handler": "docker", "docker.image": "dm-image"},
)
LOCAL_DEFAULT = TargetDefinition(id="dm-local", handler="local", properties={"id": "dm-local"})

DOCKER_FILE = (
    "id = tpl-docker\nhandler = docker\ndocker.image = tpl-image\n"
    "docker.option.run.cap-add = SYS_PTRACE\n"
)
IN_MEMORY_FILE = "id = tpl-in-memory\nhandler = in-memory\n"
BOTH = {"docker.target.properties": DOCKER_FILE, "in-memory.target.properties": IN_MEMORY_FILE}


def template(folder: Path, targets: dict[str, str]) -> Path:
    """One machine component ``VM`` whose recipe folder holds ``targets`` (file name → text)."""
    files = {
        "descriptor/application.properties": (
            "name = targets\nversion = 1.0\n"
            "graph-entry-point = main.graph\ninstance-entry-point = model.instances\n"
        ),
        "graph/main.graph": "VM {\n\tinstaller: target;\n}\n",
        "instances/model.instances": "instance of VM {\n\tname: vm;\n}\n",
        **{f"graph/VM/{name}": text for name, text in targets.items()},
    }
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("targets", "default", "chosen", "keys", "overrides"),
    [
        pytest.param(
            BOTH,
            None,
            "tpl-docker",
            {"docker.image": "tpl-image"},
            True,
            id="without a default target, the first definition in name order",
        ),
        pytest.param(
            {"target.properties": IN_MEMORY_FILE, "docker.target.properties": DOCKER_FILE},
            None,
            "tpl-in-memory",
            {},
            True,
            id="without a default target, target.properties before the others",
        ),
        pytest.param(
            BOTH,
            DOCKER_DEFAULT,
            "tpl-docker",
            {"docker.image": "tpl-image", "docker.option.run.cap-add": "SYS_PTRACE"},
            True,
            id="a default docker target takes the template's docker definition and its keys",
        ),
        pytest.param(
            BOTH,
            IN_MEMORY_DEFAULT,
            "tpl-in-memory",
            {},
            True,
            id="a default in-memory target takes the template's in-memory one, though not first",
        ),
        pytest.param(
            BOTH,
            LOCAL_DEFAULT,
            "dm-local",
            {},
            True,
            id="a default target of a handler the template does not ship is taken itself",
        ),
        pytest.param(
            {"target.properties": DOCKER_FILE},
            IN_MEMORY_DEFAULT,
            "dm-in-memory",
            {},
            True,
            id="a lone definition of another handler gives way to the default target",
        ),
        pytest.param(
            {},
            DOCKER_DEFAULT,
            "dm-docker",
            {"docker.image": "dm-image"},
            True,
            id="a template with no definition gets the default target",
        ),
        pytest.param(
            {"target.properties": DOCKER_FILE},
            IN_MEMORY_DEFAULT,
            "tpl-docker",
            {"docker.image": "tpl-image"},
            False,
            id="a default that does not override leaves the template's own (roboconf run)",
        ),
        pytest.param(
            {},
            IN_MEMORY_DEFAULT,
            "dm-in-memory",
            {},
            False,
            id="a default that does not override serves the machines with no definition",
        ),
    ],
)
def test_the_target_of_a_machine_component(
    tmp_path: Path,
    targets: dict[str, str],
    default: TargetDefinition | None,
    chosen: str,
    keys: dict[str, str],
    overrides: bool,
) -> None:
    folder = template(tmp_path / "template", targets)
    load = load_template(folder)
    assert load.template is not None, load.diagnostics

    async def associations() -> dict[str, TargetDefinition]:
        async with DeploymentManager(EmbeddedRouter(), {}) as dm:
            await dm.create_application(
                "app", load.template, folder, default_target=default, default_overrides=overrides
            )
            return dict(dm.associations("app"))

    found = asyncio.run(asyncio.wait_for(associations(), 30))
    target = found.get("@VM", found.get(""))
    assert target is not None
    assert target.id == chosen
    assert {key: target.properties.get(key) for key in keys} == keys
    if default is not None:
        assert found[""] == default  # the machines of other components
