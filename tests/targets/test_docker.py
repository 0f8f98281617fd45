"""The ``docker`` handler on a real engine: it builds the agent image from the offline base image,
runs an agent per container, which joins a DM served on the docker bridge (``http`` messaging),
and removes the containers.

The engine and the base image come from :mod:`tests.docker_env` (``dockerd`` started, the image
built with ``debootstrap`` once); the agent image is built once per change of the project's
wheel. Each test names its own application; the containers of an application are removed
afterwards by their labels.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from roboconf.cli.embedded import EmbeddedOptions, embedded_service
from roboconf.cli.serving import serving
from roboconf.dm.service import DmService
from roboconf.messaging.clients import DmClient
from roboconf.messaging.http import connect_http
from roboconf.messaging.messages import Heartbeat
from roboconf.messaging.settings import MessagingSettings, MessagingType
from roboconf.model import InstanceStatus as S
from roboconf.targets.base import MachineIdentity, TargetDefinition, TargetError
from roboconf.targets.docker import (
    GENERATED_REPOSITORY,
    LABEL_APPLICATION,
    LABEL_BASE,
    LABEL_PACKAGES,
    LABEL_WHEEL,
    DockerHandler,
    additional_packages,
    agent_dockerfile,
    container_name,
    prune_agent_images,
    run_options,
)
from roboconf.targets.docker_network import bridge_gateway
from tests.conftest import ROOT
from tests.docker_env import ensure_base_image, exclusively
from tests.helpers import bounded_by, free_port
from tests.served_dm import API, served_dm

pytestmark = pytest.mark.integration

#: the longest a test may last once the images exist (a guard, not a timing check)
BOUND_S = 120.0


#: runs an ``async def`` test in a fresh event loop, for at most :data:`BOUND_S`
bounded = bounded_by(BOUND_S)


@pytest.fixture(scope="module")
def base_image() -> str:
    return ensure_base_image()


@pytest.fixture(scope="module")
def engine(base_image: str) -> Iterator[Any]:
    import docker  # type: ignore[import-untyped]

    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="module")
def agent_image(engine: Any, base_image: str) -> str:
    """The agent image, built from the base image (or found built)."""
    started = time.monotonic()
    with exclusively():  # pytest-xdist workers: one builds, the others find it built
        tag = DockerHandler().generate_image(engine, base_image)
    print(f"agent image {tag}: {time.monotonic() - started:.1f} s")
    return tag


@pytest.fixture
def application(engine: Any) -> Iterator[str]:
    """A name of its own; its containers are removed afterwards."""
    name = f"docker-test-{uuid.uuid4().hex[:8]}"
    yield name
    for container in engine.containers.list(
        all=True, filters={"label": f"{LABEL_APPLICATION}={name}"}
    ):
        container.remove(force=True)


@contextlib.asynccontextmanager
async def dm_on(address: str, data_dir: Path) -> AsyncIterator[str]:
    """A DM (embedded router) whose API listens on ``address``; its URL."""
    port = free_port(address)
    url = f"http://{address}:{port}"
    options = EmbeddedOptions(data_dir=data_dir, simulate=True, heartbeat_s=0.5, dm_url=url)
    async with embedded_service(options) as service, serving(service, address, port, api=API):
        yield url


def target(**keys: str) -> TargetDefinition:
    return TargetDefinition(
        id="docker", handler="docker", properties={"id": "docker", "handler": "docker", **keys}
    )


def test_an_agent_in_a_container_joins_the_dm_and_the_container_is_removed(
    engine: Any, base_image: str, agent_image: str, application: str, tmp_path: Path
) -> None:
    recipes = tmp_path / "graph"
    recipes.mkdir()
    (recipes / "marker").write_text("shared")

    @bounded
    async def scenario() -> None:
        async with dm_on(bridge_gateway(), tmp_path / "dm") as url:
            domain = f"d{uuid.uuid4().hex[:8]}"
            identity = MachineIdentity(
                application=application,
                scoped_path="/vm 1",
                domain=domain,
                messaging={"messaging.type": "http", "http.url": url},
            )
            settings = MessagingSettings(type=MessagingType.HTTP, url=url, domain=domain)
            transport = await connect_http(settings, name="test-dm")
            try:
                dm = DmClient(transport, domain=domain)
                await dm.start()
                await dm.manage(application)
                handler = DockerHandler(
                    lambda _identity: {"recipes.dir": str(recipes), "heartbeat.period": "1"}
                )
                docker_target = target(
                    **{
                        "docker.generate.image.from": base_image,
                        "docker.option.env.GREETING": "hello",
                        "docker.agent.check.period": "0",
                    }
                )
                machine_id = await handler.create_machine(docker_target, identity)
                assert await handler.is_machine_running(docker_target, machine_id)
                container = engine.containers.get(machine_id)
                assert container.name == container_name(identity)
                assert container.image.tags == [agent_image]
                assert container.labels["roboconf.scoped-path"] == "/vm 1"
                ip = await handler.public_ip(docker_target, machine_id)
                assert ip and ip.startswith("172.")

                async for message in dm.messages():
                    if isinstance(message, Heartbeat) and message.scoped_path == "/vm 1":
                        assert message.application == application
                        assert message.ip == ip  # the agent knows its container's address
                        break

                # what the agent was told, and the recipes shared read-only
                def inside(command: str) -> str:
                    result = container.exec_run(["sh", "-c", command])
                    return str(result.output.decode())

                config = inside("cat /etc/roboconf/agent.properties")
                assert "scoped.path = /vm 1" in config and "check.period = 0" in config
                assert inside("echo $GREETING") == "hello\n"
                assert inside(f"cat '{recipes}/marker'") == "shared"
                assert "Read-only" in inside(f"touch '{recipes}/x' 2>&1 || true")

                # the same identity again: the running container is reused
                assert await handler.create_machine(docker_target, identity) == machine_id

                await handler.terminate_machine(docker_target, machine_id)
                assert not await handler.is_machine_running(docker_target, machine_id)
                assert await handler.public_ip(docker_target, machine_id) is None
                assert not engine.containers.list(all=True, filters={"id": machine_id})
                await handler.terminate_machine(docker_target, machine_id)  # gone: fine
            finally:
                await transport.close()

    scenario()


NOWHERE = {"messaging.type": "http", "http.url": "http://192.0.2.1:9"}


def identity_of(application: str) -> MachineIdentity:
    return MachineIdentity(application=application, scoped_path="/vm", messaging=NOWHERE)


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        pytest.param(
            {"docker.image": "roboconf-no-such-image:1"},
            "image 'roboconf-no-such-image:1' is not on the Docker engine",
            id="an unknown image",
        ),
        pytest.param(
            {"docker.generate.image.from": "roboconf-no-such-base:1"},
            "base image 'roboconf-no-such-base:1' .* is not on the Docker engine",
            id="an unknown base image",
        ),
        pytest.param(
            {"docker.image": "x", "docker.endpoint": "unix:///nonexistent/docker.sock"},
            r"no Docker engine answers at unix:///nonexistent/docker.sock \(docker.endpoint\)",
            id="no engine at the endpoint",
        ),
        pytest.param({}, "set docker.image .* or docker.generate.image.from", id="no image"),
        pytest.param(
            {"docker.image": "x", "docker.option.run.frobnicate": "1"},
            "docker run option 'frobnicate' is not supported",
            id="an unsupported run option",
        ),
        pytest.param(
            {"docker.image": "x", "docker.additional.packages": "curl"},
            "docker.additional.packages is installed into generated images only",
            id="additional packages with a ready-made image",
        ),
        pytest.param(
            {"docker.generate.image.from": "x", "docker.additional.packages": "curl, Bad_Name"},
            "docker.additional.packages = 'curl, Bad_Name': 'Bad_Name' is not a Debian package",
            id="an additional package that is no Debian name",
        ),
    ],
)
def test_errors_say_what_to_do(
    engine: Any, application: str, keys: dict[str, str], error: str
) -> None:
    with pytest.raises(TargetError, match=error):
        asyncio.run(DockerHandler().create_machine(target(**keys), identity_of(application)))


def test_a_container_that_is_gone_is_not_running(engine: Any) -> None:
    handler = DockerHandler()
    gone = "0" * 64
    assert not asyncio.run(handler.is_machine_running(target(), gone))
    assert asyncio.run(handler.public_ip(target(), gone)) is None
    asyncio.run(handler.terminate_machine(target(), gone))


def test_run_options_map_to_the_sdk() -> None:
    options = run_options(
        target(
            **{
                "docker.option.run.network": "host",
                "docker.option.run.volume": "/a:/b:ro, /c:/d",
                "docker.option.run.memory": "256m",
                "docker.option.run.cpus": "1.5",
                "docker.option.run.privileged": "true",
                "docker.option.run.publish": "8080:80, 53/udp",
                "docker.option.run.add-host": "db:10.0.0.2",
            }
        )
    )
    assert options == {
        "network": "host",
        "volumes": ["/a:/b:ro", "/c:/d"],
        "mem_limit": "256m",
        "nano_cpus": 1_500_000_000,
        "privileged": True,
        "ports": {"80/tcp": 8080, "53/udp": None},
        "extra_hosts": {"db": "10.0.0.2"},
    }


@pytest.mark.parametrize(
    ("value", "packages"),
    [
        pytest.param("curl", ("curl",), id="one package"),
        pytest.param(" vim, curl  git,,", ("curl", "git", "vim"), id="spaces and commas, sorted"),
        pytest.param("curl curl", ("curl",), id="a package named twice is installed once"),
        pytest.param("libc6 g++ python3.11-venv", ("g++", "libc6", "python3.11-venv"), id="+.-"),
        pytest.param("", (), id="none"),
    ],
)
def test_additional_packages_are_read_once_each_in_order(
    value: str, packages: tuple[str, ...]
) -> None:
    assert additional_packages(value) == packages


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Curl", id="upper case"),
        pytest.param("curl;reboot", id="a shell separator"),
        pytest.param("$(reboot)", id="a substitution"),
        pytest.param("-y", id="an option"),
        pytest.param("c", id="one character"),
        pytest.param("curl=7.88", id="a version"),
    ],
)
def test_what_is_no_debian_package_name_is_refused_naming_the_key(value: str) -> None:
    with pytest.raises(TargetError, match=r"^docker\.additional\.packages = .* Debian package"):
        additional_packages(f"curl {value}")


def test_the_dockerfile_installs_the_packages_then_the_venv() -> None:
    text = agent_dockerfile("debian:bookworm", ("curl", "git"))
    install = (
        "apt-get update \\\n && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends $packages \\\n && rm -rf /var/lib/apt/lists/*"
    )
    assert text.startswith("FROM debian:bookworm\nRUN packages='curl git';")
    assert text.count("apt-get install") == 1 and install in text
    # python3 and venv too, when the base has none
    assert "command -v python3 && python3 -c 'import venv, ensurepip'" in text
    assert 'packages="python3 python3-venv $packages"' in text
    assert text.index(install) < text.index("python3 -m venv /opt/roboconf")
    assert "RUN packages='';" in agent_dockerfile("debian:bookworm", ())


@contextlib.contextmanager
def tiny_images(engine: Any, base_image: str, *labels: dict[str, str]) -> Iterator[list[str]]:
    """``roboconf-agent:test-…`` images with these labels (a ``LABEL`` on the base image: built
    in a moment), removed afterwards when still there."""
    tags = []
    try:
        for index, image_labels in enumerate(labels):
            tag = f"{GENERATED_REPOSITORY}:test-{uuid.uuid4().hex[:8]}-{index}"
            unique = {**image_labels, LABEL_WHEEL: tag}  # else the same image under two tags
            line = " ".join(f'{key}="{value}"' for key, value in unique.items())
            dockerfile = f"FROM {base_image}\nLABEL {line}\n".encode()
            engine.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, pull=False)
            tags.append(tag)
        yield tags
    finally:
        for tag in tags:
            with contextlib.suppress(Exception):
                engine.images.remove(tag)


def tagged(engine: Any) -> set[str]:
    return {tag for image in engine.images.list(name=GENERATED_REPOSITORY) for tag in image.tags}


def test_older_agent_images_are_removed_once_no_container_uses_them(
    engine: Any, base_image: str
) -> None:
    base = f"sha256:test-{uuid.uuid4().hex}"  # no real image's: only these images match
    same = {LABEL_BASE: base, LABEL_PACKAGES: "curl"}
    other_packages = {LABEL_BASE: base, LABEL_PACKAGES: "git"}
    with tiny_images(engine, base_image, same, same, same, other_packages) as tags:
        used, unused, new, other = tags
        container = engine.containers.create(used, command=["true"])
        try:
            assert prune_agent_images(engine, new, same) == [unused]
            assert {used, new, other} <= tagged(engine) and unused not in tagged(engine)
        finally:
            container.remove(force=True)
        assert prune_agent_images(engine, new, same) == [used]
        assert {new, other} <= tagged(engine) and used not in tagged(engine)
        assert prune_agent_images(engine, new, same) == []
        # what fails is said, not raised: the new image is there
        assert prune_agent_images(engine, f"{GENERATED_REPOSITORY}:test-none", same) == []


def project_copy(folder: Path) -> Path:
    """The project's sources as they are now: edits made while a test runs change no wheel."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, folder / name)
    shutil.copytree(ROOT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_a_generated_image_has_the_additional_packages(
    engine: Any, base_image: str, agent_image: str, tmp_path: Path
) -> None:
    base_id = engine.images.get(base_image).id
    handler = DockerHandler(project_root=project_copy(tmp_path))
    with tiny_images(engine, base_image, {LABEL_BASE: base_id, LABEL_PACKAGES: "curl"}) as tags:
        (older,) = tags
        started = time.monotonic()
        with exclusively():
            tag = handler.generate_image(engine, base_image, ["curl"])
        print(f"agent image {tag} with curl: {time.monotonic() - started:.1f} s")
        assert tag != agent_image
        assert older not in tagged(engine)  # built from the same base with the same packages
    image = engine.images.get(tag)
    assert image.labels[LABEL_BASE] == base_id and image.labels[LABEL_PACKAGES] == "curl"
    output = engine.containers.run(tag, ["curl", "--version"], remove=True)
    assert output.decode().startswith("curl ")
    assert engine.images.get(agent_image)  # the image without packages is another one, kept
    with exclusively():
        assert handler.generate_image(engine, base_image, ["curl", "curl"]) == tag  # reused


def tiny_template(folder: Path, base_image: str, *target_lines: str) -> Path:
    """A machine on the docker target (with ``target_lines`` more) and one script component,
    which writes a file."""
    files = {
        "descriptor/application.properties": (
            "name = docker-demo\nversion = 1.0.0\n"
            "graph-entry-point = main.graph\ninstance-entry-point = initial.instances\n"
        ),
        "graph/main.graph": (
            "VM {\n\tinstaller: target;\n\tchildren: Marker;\n}\n"
            "Marker {\n\tinstaller: script;\n}\n"
        ),
        "graph/VM/target.properties": (
            f"id = docker-demo\nhandler = docker\ndocker.generate.image.from = {base_image}\n"
            + "".join(f"{line}\n" for line in target_lines)
        ),
        "graph/Marker/scripts/deploy.sh": (
            '#!/bin/sh\necho "deployed on $(hostname -i)" > /tmp/roboconf-marker\n'
        ),
        "instances/initial.instances": (
            "instance of VM {\n\tname: vm;\n\tinstance of Marker {\n\t\tname: marker;\n\t}\n}\n"
        ),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "graph/Marker/scripts/deploy.sh").chmod(0o755)
    return folder


def docker_handlers(graph_of: Callable[[str], Path]) -> dict[str, DockerHandler]:
    def agent(identity: MachineIdentity) -> dict[str, str]:
        return {"recipes.dir": str(graph_of(identity.application)), "heartbeat.period": "1"}

    return {"docker": DockerHandler(agent)}


@pytest.mark.parametrize(
    "mount",
    [
        pytest.param("true", id="recipes bind-mounted from the DM's host"),
        pytest.param("false", id="recipes sent by the DM (a remote engine)"),
    ],
)
def test_the_dm_deploys_a_template_on_the_docker_target(
    engine: Any, base_image: str, agent_image: str, tmp_path: Path, mount: str
) -> None:
    template = tiny_template(tmp_path / "template", base_image, f"docker.recipes.mount = {mount}")
    name = f"docker-demo-{uuid.uuid4().hex[:8]}"

    async def until(check: Callable[[], bool], service: DmService) -> None:
        try:
            async with asyncio.timeout(BOUND_S / 3):
                while not check():
                    await asyncio.sleep(0.1)
        except TimeoutError:
            states = {i.path: i.status for i in service.instances(name)}
            pytest.fail(f"not reached in {BOUND_S / 3:.0f} s; the instances: {states}")

    def containers() -> list[Any]:
        return list(
            engine.containers.list(all=True, filters={"label": f"{LABEL_APPLICATION}={name}"})
        )

    @bounded
    async def scenario() -> None:
        async with served_dm(bridge_gateway(), tmp_path / "dm", docker_handlers) as service:
            view = await service.load_template_from(str(template))
            await service.create_application(name, view.name, view.version)
            await service.bulk(name, "deploy-and-start-all", None, None)
            marker = "/vm/marker"
            await until(
                lambda: service.instance(name, marker).status == S.DEPLOYED_STARTED.value, service
            )
            (container,) = containers()
            ip = container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
            written = container.exec_run(["cat", "/tmp/roboconf-marker"]).output.decode()
            assert written == f"deployed on {ip}\n"  # the recipe ran in the container
            assert container.attrs["HostConfig"]["Init"] is True  # PID 1 reaps orphans
            assert bool(container.attrs["Mounts"]) == (mount == "true")

            await service.bulk(name, "undeploy-all", None, None)
            await until(
                lambda: service.instance(name, "/vm").status == S.NOT_DEPLOYED.value, service
            )
            await until(lambda: not containers(), service)

    try:
        scenario()
    finally:
        for container in containers():
            container.remove(force=True)
