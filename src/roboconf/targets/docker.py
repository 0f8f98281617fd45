"""The ``docker`` handler: each machine is a container with a ``roboconf agent`` inside.

The container is named from the application and the scoped path (``roboconf-<app>-<path>-<hash>``)
and labelled ``roboconf.application`` / ``roboconf.scoped-path``; the machine id is the container's
id and its public IP the container's address on its network. The agent learns its identity from
``ROBOCONF_*`` environment variables and from ``/etc/roboconf/agent.properties``, copied into the
container before it starts (every key: identity, messaging, what the composition root adds such
as ``recipes.dir``, and ``docker.agent.*``); its IP is the container's on its route to the DM
or the broker (``ip = auto``), read again at each heartbeat.

Keys:

- ``docker.endpoint``: the engine's address (``unix:///var/run/docker.sock`` by default,
  ``tcp://host:2375``...);
- ``docker.image``: an image with python3 and roboconf installed (``python3 -m roboconf agent``);
- ``docker.generate.image.from``: instead, a Debian-based image (the same python3 version as the
  DM's if it has one: the wheels are the DM's host's); the handler builds the agent image from it
  by installing this project's wheel and its dependencies into ``/opt/roboconf`` (a venv); the
  wheels are built on the DM's host (``pip wheel``, with its pip configuration), so the build
  needs no package index. A base without python3 and venv (plain ``debian:bookworm``) gets
  ``python3 python3-venv`` from ``apt-get`` (the build then needs the Debian mirror). The image is
  tagged ``roboconf-agent:<hash>``, the hash of the wheel's content, of the base image and of the
  packages below: it is built once and reused while none changes. It is labelled
  ``roboconf.base`` (the base image's id) and ``roboconf.packages``; the other ``roboconf-agent``
  images with the same labels (built from an older wheel) are removed once no container uses
  them;
- ``docker.additional.packages``: with ``docker.generate.image.from`` only, Debian packages
  (space- or comma-separated) installed into the agent image with ``apt-get`` before roboconf;
- ``docker.option.run.*``: options of ``docker run`` (see :data:`RUN_OPTIONS`: ``network``,
  ``volume``/``volumes`` (``/host:/container[:ro]``, comma-separated), ``hostname``, ``user``,
  ``memory``, ``cpus``, ``privileged``, ``cap-add``, ``cap-drop``, ``dns``, ``add-host``,
  ``publish``, ``restart``, ``workdir``, ``shm-size``...); others are refused with the list;
  ``init`` is on unless set: PID 1 then reaps the daemons recipes start detached, which would
  otherwise stay zombies that look alive to the recipes' checks;
- ``docker.option.env.NAME``: environment variable ``NAME`` of the container;
- ``docker.agent.*``: agent configuration keys (``docker.agent.heartbeat.period = 2``).

Recipes: ``docker.recipes.mount`` (``true`` by default with an engine on a ``unix://`` socket,
``false`` otherwise): when true and the agent is told a ``recipes.dir`` (the template's
``graph/`` folder), that folder is bind-mounted read-only at the same path (the engine runs on
the DM's host); when false, the agent is told none and gets the recipes from the DM over its
messaging (a remote engine). Messaging: the agent must reach the broker
or the DM from inside the container; an address on the loopback (``127.0.0.1``) does not, unless
``docker.option.run.network = host``: serve the DM on the bridge's address (``172.17.0.1``) or
on ``0.0.0.0``, and a broker there too.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from roboconf.targets.base import (
    AGENT_ENVIRONMENT,
    AUTO_ADDRESS,
    AgentProperties,
    MachineIdentity,
    TargetDefinition,
    TargetError,
    agent_configuration,
    properties_text,
)

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
LABEL_APPLICATION = "roboconf.application"
LABEL_SCOPED_PATH = "roboconf.scoped-path"
LABEL_WHEEL = "roboconf.wheel"
#: the id of the image an agent image was generated from, and its additional packages
LABEL_BASE = "roboconf.base"
LABEL_PACKAGES = "roboconf.packages"
PACKAGES_KEY = "docker.additional.packages"
GENERATED_REPOSITORY = "roboconf-agent"
CONFIG_DIR = "/etc/roboconf"
CONFIG_FILE = f"{CONFIG_DIR}/agent.properties"
DATA_DIR = "/var/lib/roboconf-agent"
#: seconds an engine call may take (a build streams its output: the limit is per read)
ENGINE_TIMEOUT_S = 120
#: seconds a container has to stop before it is killed, on terminate
STOP_GRACE_S = 10
#: seconds ``pip wheel`` may take, for the project and for its dependencies
WHEEL_TIMEOUT_S = 900

_RUN_PREFIX = "docker.option.run."
_ENV_PREFIX = "docker.option.env."
_AGENT_PREFIX = "docker.agent."
#: a Debian package's name (Debian policy 5.6.1)
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_PROJECT_ROOT = Path(__file__).resolve().parents[3]
_AGENT_COMMAND = f"exec python3 -m roboconf agent --config {CONFIG_FILE}"


def _words(value: str) -> list[str]:
    return [word.strip() for word in value.split(",") if word.strip()]


def _flag(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1", "on")


def _volumes(value: str) -> list[str]:
    return _words(value)


def _ports(value: str) -> dict[str, Any]:
    """``8080:80, 53:53/udp, 9000`` → ``{"80/tcp": 8080, "53/udp": 53, "9000/tcp": None}``."""
    ports: dict[str, Any] = {}
    for word in _words(value):
        host, _, container = word.rpartition(":")
        key = container if "/" in container else f"{container}/tcp"
        ports[key] = int(host) if host.isdigit() else (host or None)
    return ports


def _hosts(value: str) -> dict[str, str]:
    """``db:10.0.0.2, cache:10.0.0.3`` → ``{"db": "10.0.0.2", ...}``."""
    hosts = {}
    for word in _words(value):
        name, _, address = word.partition(":")
        hosts[name] = address
    return hosts


def _restart(value: str) -> dict[str, Any]:
    name, _, count = value.strip().partition(":")
    policy: dict[str, Any] = {"Name": name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy


def _cpus(value: str) -> int:
    return int(float(value) * 1_000_000_000)


#: ``docker.option.run.<name>`` → (keyword of ``containers.run``, converter)
RUN_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "network": ("network", str.strip),
    "net": ("network", str.strip),
    "volume": ("volumes", _volumes),
    "volumes": ("volumes", _volumes),
    "hostname": ("hostname", str.strip),
    "user": ("user", str.strip),
    "workdir": ("working_dir", str.strip),
    "memory": ("mem_limit", str.strip),
    "memory-swap": ("memswap_limit", str.strip),
    "shm-size": ("shm_size", str.strip),
    "cpus": ("nano_cpus", _cpus),
    "cpu-shares": ("cpu_shares", int),
    "privileged": ("privileged", _flag),
    "read-only": ("read_only", _flag),
    "init": ("init", _flag),
    "cap-add": ("cap_add", _words),
    "cap-drop": ("cap_drop", _words),
    "dns": ("dns", _words),
    "dns-search": ("dns_search", _words),
    "add-host": ("extra_hosts", _hosts),
    "extra-hosts": ("extra_hosts", _hosts),
    "publish": ("ports", _ports),
    "ports": ("ports", _ports),
    "restart": ("restart_policy", _restart),
    "security-opt": ("security_opt", _words),
    "tmpfs": ("tmpfs", lambda value: dict.fromkeys(_words(value), "")),
    "device": ("devices", _words),
    "devices": ("devices", _words),
    "pid": ("pid_mode", str.strip),
    "ipc": ("ipc_mode", str.strip),
    "runtime": ("runtime", str.strip),
}


def container_name(identity: MachineIdentity) -> str:
    """A valid, unique container name that a user recognizes."""
    digest = hashlib.sha256(
        f"{identity.domain}\0{identity.application}\0{identity.scoped_path}".encode()
    ).hexdigest()[:8]
    readable = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"{identity.application}-{identity.scoped_path}")
    return f"roboconf-{readable.strip('-.')[:80]}-{digest}"


def additional_packages(value: str) -> tuple[str, ...]:
    """The packages of ``docker.additional.packages`` (space- or comma-separated), sorted and once
    each (the same list in another order is the same image); refuses what is no Debian name."""
    names = [name for name in re.split(r"[\s,]+", value) if name]
    wrong = [name for name in names if not _PACKAGE_NAME.fullmatch(name)]
    if wrong:
        raise TargetError(
            f"{PACKAGES_KEY} = {value!r}: {', '.join(map(repr, wrong))} is not a Debian package "
            "name (lower-case letters, digits, '+', '-' and '.', two characters at least; "
            "names separated by spaces or commas)"
        )
    return tuple(sorted(set(names)))


def run_options(target: TargetDefinition) -> dict[str, Any]:
    """The keywords of ``containers.run`` from ``docker.option.run.*``; refuses unknown ones."""
    options: dict[str, Any] = {}
    for key, value in sorted(target.properties.items()):
        if not key.startswith(_RUN_PREFIX):
            continue
        name = key[len(_RUN_PREFIX) :].strip().lower().replace("_", "-")
        if name not in RUN_OPTIONS:
            raise TargetError(
                f"{key}: docker run option {name!r} is not supported by the docker handler; "
                f"supported: {', '.join(sorted(RUN_OPTIONS))}"
            )
        keyword, convert = RUN_OPTIONS[name]
        try:
            converted = convert(value)
        except ValueError as error:
            raise TargetError(f"{key} = {value!r} is not a valid value: {error}") from None
        if keyword == "volumes" and keyword in options:
            converted = [*options[keyword], *converted]
        options[keyword] = converted
    return options


class DockerHandler:
    """Creates, checks and removes agent containers on one or more Docker engines."""

    handler_id = "docker"

    def __init__(
        self,
        agent_properties: AgentProperties | None = None,
        *,
        python: str = sys.executable,
        project_root: Path = _PROJECT_ROOT,
    ) -> None:
        self._agent_properties = agent_properties or (lambda _identity: {})
        #: the interpreter whose pip builds the wheels of generated images
        self._python = python
        self._project_root = project_root
        self._clients: dict[str, Any] = {}
        #: (endpoint, base image, packages) → the agent image generated in this process
        self._generated: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._build_lock = asyncio.Lock()

    # -- the protocol

    async def create_machine(self, target: TargetDefinition, identity: MachineIdentity) -> str:
        client = await self._client(target)
        image = await self._image(target, client)
        name = container_name(identity)
        properties = self.agent_properties(target, identity)
        # an init process as PID 1 reaps what recipes start detached (a daemon whose parent
        # exited): without one, a killed daemon stays a zombie that looks alive to its recipes
        options = {"init": True, **run_options(target)}
        recipes = properties.get("recipes.dir")
        if recipes and _mounts_recipes(target):
            options["volumes"] = [*options.get("volumes", []), f"{recipes}:{recipes}:ro"]
        else:  # the agent gets them from the DM
            properties.pop("recipes.dir", None)
        environment = {
            variable: properties[key]
            for variable, key in AGENT_ENVIRONMENT.items()
            if key in properties
        }
        environment.update(
            {
                key[len(_ENV_PREFIX) :]: value
                for key, value in target.properties.items()
                if key.startswith(_ENV_PREFIX)
            }
        )
        _warn_on_loopback(properties, options)
        labels = {
            LABEL_APPLICATION: identity.application,
            LABEL_SCOPED_PATH: identity.scoped_path,
        }
        config = properties_text(properties).encode()

        def create() -> str:
            errors = _errors()
            existing = _find(client, name)
            if existing is not None:
                if existing.status == "running":
                    return str(existing.id)
                existing.remove(force=True)
            try:
                container = client.containers.create(
                    image,
                    command=["sh", "-c", _AGENT_COMMAND],
                    name=name,
                    labels=labels,
                    environment=environment,
                    detach=True,
                    **options,
                )
                container.put_archive("/", _config_archive(config))
                container.start()
            except errors.ImageNotFound as error:
                raise TargetError(
                    f"image {image!r} is not on the Docker engine: pull or build it there, "
                    f"or set docker.generate.image.from ({_explanation(error)})"
                ) from None
            except errors.APIError as error:
                raise TargetError(
                    f"the Docker engine cannot create container {name} from {image!r}: "
                    f"{_explanation(error)}"
                ) from None
            return str(container.id)

        machine_id = await asyncio.to_thread(create)
        log.info("%s: container %s started (%s)", identity.scoped_path, name, machine_id[:12])
        return machine_id

    async def configure_machine(
        self, target: TargetDefinition, machine_id: str, identity: MachineIdentity
    ) -> None:
        """Nothing to do: the agent read its identity when its container started."""

    async def is_machine_running(self, target: TargetDefinition, machine_id: str) -> bool:
        container = await self._container(target, machine_id)
        return container is not None and container.status in ("created", "running", "restarting")

    async def terminate_machine(self, target: TargetDefinition, machine_id: str) -> None:
        client = await self._client(target)

        def remove() -> None:
            errors = _errors()
            try:
                container = client.containers.get(machine_id)
                container.stop(timeout=STOP_GRACE_S)
                container.remove(force=True)
            except errors.NotFound:
                return
            except errors.APIError as error:
                if error.status_code == 404 or "removal of container" in str(error):
                    return  # gone, or being removed by another call
                raise TargetError(
                    f"the Docker engine cannot remove container {machine_id[:12]}: "
                    f"{_explanation(error)}"
                ) from None

        await asyncio.to_thread(remove)

    async def public_ip(self, target: TargetDefinition, machine_id: str) -> str | None:
        container = await self._container(target, machine_id)
        if container is None:
            return None
        settings = container.attrs.get("NetworkSettings") or {}
        for network in (settings.get("Networks") or {}).values():
            if network.get("IPAddress"):
                return str(network["IPAddress"])
        return str(settings.get("IPAddress") or "") or None

    # -- what the agent is told

    def agent_properties(
        self, target: TargetDefinition, identity: MachineIdentity
    ) -> dict[str, str]:
        """Every configuration key of the agent of ``identity`` (what the container gets)."""
        return agent_configuration(
            target,
            identity,
            # the container's address on the route to the DM or the broker, read again at each
            # heartbeat: a container reconnected to its network may get another one
            {"data.dir": DATA_DIR, "ip": AUTO_ADDRESS},
            self._agent_properties(identity),
            prefix=_AGENT_PREFIX,
        )

    # -- the engine

    async def _client(self, target: TargetDefinition) -> Any:
        endpoint = (target.get("docker.endpoint") or "").strip() or DEFAULT_ENDPOINT
        client = self._clients.get(endpoint)
        if client is not None:
            return client
        try:
            import docker  # type: ignore[import-untyped]
        except ImportError:
            raise TargetError(
                "the docker handler needs the Docker SDK: pip install 'roboconf[docker]'"
            ) from None

        def connect() -> Any:
            try:
                client = docker.DockerClient(base_url=endpoint, timeout=ENGINE_TIMEOUT_S)
                client.ping()
            except docker.errors.DockerException as error:
                raise TargetError(
                    f"no Docker engine answers at {endpoint} (docker.endpoint): start dockerd "
                    f"or point docker.endpoint at a running engine ({_explanation(error)})"
                ) from None
            return client

        client = await asyncio.to_thread(connect)
        self._clients[endpoint] = client
        return client

    async def _container(self, target: TargetDefinition, machine_id: str) -> Any:
        client = await self._client(target)

        def get() -> Any:
            errors = _errors()
            try:
                return client.containers.get(machine_id)
            except errors.NotFound:
                return None
            except errors.APIError as error:
                raise TargetError(
                    f"the Docker engine cannot tell about container {machine_id[:12]}: "
                    f"{_explanation(error)}"
                ) from None

        return await asyncio.to_thread(get)

    async def _image(self, target: TargetDefinition, client: Any) -> str:
        image = (target.get("docker.image") or "").strip()
        base = (target.get("docker.generate.image.from") or "").strip()
        packages = additional_packages(target.get(PACKAGES_KEY) or "")
        if image and base:
            raise TargetError(
                f"target {target.id}: set docker.image or docker.generate.image.from, not both"
            )
        if image and packages:
            raise TargetError(
                f"target {target.id}: {PACKAGES_KEY} is installed into generated images only: "
                f"set docker.generate.image.from instead of docker.image, or install the "
                f"packages into {image!r}"
            )
        if image:
            return image
        if not base:
            raise TargetError(
                f"target {target.id}: set docker.image (an image with python3 and roboconf) "
                "or docker.generate.image.from (a Debian-based image)"
            )
        endpoint = (target.get("docker.endpoint") or "").strip() or DEFAULT_ENDPOINT
        key = (endpoint, base, packages)
        async with self._build_lock:
            tag = self._generated.get(key)
            # another DM on this engine may have pruned it since
            if tag is None or not await asyncio.to_thread(_has_image, client, tag):
                tag = self._generated[key] = await asyncio.to_thread(
                    self.generate_image, client, base, packages
                )
        return tag

    def generate_image(self, client: Any, base: str, packages: Iterable[str] = ()) -> str:
        """The agent image built from ``base`` with ``packages`` (reused when already built);
        its tag. The older ones of the same base and packages that no container uses are
        removed."""
        packages = additional_packages(" ".join(packages))
        base_id = _base_image_id(client, base)
        dockerfile = agent_dockerfile(base, packages)
        labels = {LABEL_BASE: base_id, LABEL_PACKAGES: " ".join(packages)}
        with tempfile.TemporaryDirectory(prefix="roboconf-image-") as folder:
            context = Path(folder)
            wheel = self._project_wheel(context / "project")
            digest = hashlib.sha256(
                f"{_wheel_digest(wheel)}\0{base_id}\0{labels[LABEL_PACKAGES]}\0{dockerfile}".encode()
            ).hexdigest()
            tag = f"{GENERATED_REPOSITORY}:{digest[:16]}"
            if _has_image(client, tag):
                log.info("agent image %s (from %s) already built", tag, base)
            else:
                started = time.monotonic()
                self._wheels(wheel, context / "wheels")
                labelled = dockerfile + _label_line({LABEL_WHEEL: digest, **labels})
                (context / "Dockerfile").write_text(labelled, encoding="utf-8")
                build_image(client, context, tag, base)
                log.info(
                    "agent image %s built from %s in %.0f s", tag, base, time.monotonic() - started
                )
        prune_agent_images(client, tag, labels)
        return tag

    def _project_wheel(self, folder: Path) -> Path:
        if not (self._project_root / "pyproject.toml").is_file():
            raise TargetError(
                f"docker.generate.image.from needs roboconf's source tree (no pyproject.toml in "
                f"{self._project_root}): set docker.image to an image with roboconf instead"
            )
        self._pip("wheel", "--no-deps", "--quiet", "-w", str(folder), str(self._project_root))
        wheels = sorted(folder.glob("roboconf-*.whl"))
        if not wheels:
            raise TargetError(f"pip built no roboconf wheel from {self._project_root}")
        return wheels[0]

    def _wheels(self, project: Path, folder: Path) -> None:
        """The project's wheel and every dependency's, in ``folder`` (pip's own configuration:
        its indexes and caches)."""
        folder.mkdir()
        self._pip("wheel", "--quiet", "-w", str(folder), str(project))

    def _pip(self, *arguments: str) -> None:
        command = [self._python, "-m", "pip", *arguments]
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=WHEEL_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise TargetError(f"{shlex.join(command)} failed: {error}") from None
        if result.returncode != 0:
            raise TargetError(
                f"{shlex.join(command)} failed (exit {result.returncode}): "
                f"{result.stderr.strip()[-1500:]}"
            )


def build_image(client: Any, context: Path, tag: str, base: str) -> None:
    """``docker build`` of the folder ``context`` (its ``Dockerfile``) as ``tag``."""
    errors = _errors()
    try:
        client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False)
    except errors.BuildError as error:
        output = "".join(str(line.get("stream", "")) for line in error.build_log)
        raise TargetError(
            f"cannot build the agent image from {base!r}: {error.msg}; the base image needs "
            f"python3 {sys.version_info.major}.{sys.version_info.minor} with venv (the DM's, "
            f"whose wheels are installed) or apt-get and a Debian mirror to install them, and "
            f"the packages of {PACKAGES_KEY} must be in its Debian release. Build output ends:\n"
            f"{output[-1500:]}"
        ) from None
    except errors.APIError as error:
        raise TargetError(
            f"cannot build the agent image from {base!r}: {_explanation(error)}"
        ) from None


def prune_agent_images(client: Any, keep: str, labels: Mapping[str, str]) -> list[str]:
    """Remove the ``roboconf-agent`` images other than ``keep`` with these ``labels`` (the same
    base image and packages: built from older wheels) that no container uses; the tags removed.
    A removal that fails is logged, never raised: the new image is there."""
    errors = _errors()
    removed: list[str] = []
    try:
        kept = client.images.get(keep).id
        base = labels.get(LABEL_BASE, "")
        filters = {"label": f"{LABEL_BASE}={base}"} if base else {}
        images = client.images.list(name=GENERATED_REPOSITORY, filters=filters)
    except errors.DockerException as error:
        log.warning("cannot list the older agent images: %s", _explanation(error))
        return removed
    for image in images:
        found = image.labels or {}
        if image.id == kept or any(found.get(k) != v for k, v in labels.items()):
            continue
        tags = [tag for tag in image.tags if tag.startswith(f"{GENERATED_REPOSITORY}:")]
        try:
            if client.containers.list(all=True, filters={"ancestor": image.id}):
                log.info("agent image %s is used by a container: kept", ", ".join(tags))
                continue
            for tag in tags:
                client.images.remove(tag)
                removed.append(tag)
                log.info("older agent image %s removed (superseded by %s)", tag, keep)
        except errors.DockerException as error:
            log.warning("cannot remove agent image %s: %s", ", ".join(tags), _explanation(error))
    return removed


def _has_image(client: Any, name: str) -> bool:
    try:
        client.images.get(name)
    except _errors().ImageNotFound:
        return False
    return True


def _base_image_id(client: Any, base: str) -> str:
    """The id of ``base``, pulled from its registry when the engine lacks it."""
    errors = _errors()
    try:
        return str(client.images.get(base).id)
    except errors.ImageNotFound:
        pass
    log.info("base image %s is not on the engine: pulling it", base)
    try:
        return str(client.images.pull(base).id)
    except errors.APIError as error:
        raise TargetError(
            f"base image {base!r} (docker.generate.image.from) is not on the Docker engine and "
            f"cannot be pulled ({_explanation(error)}): pull, load or import a Debian-based "
            "image under that name (without a registry: debootstrap a Debian, then docker "
            "import it, see examples/lamp/README.md)"
        ) from None


def _mounts_recipes(target: TargetDefinition) -> bool:
    """Whether the DM's recipes folder is bind-mounted (``docker.recipes.mount``; by default,
    when the engine is on this host's socket)."""
    value = (target.get("docker.recipes.mount") or "").strip()
    if value:
        return _flag(value)
    endpoint = (target.get("docker.endpoint") or "").strip() or DEFAULT_ENDPOINT
    return endpoint.startswith("unix://")


def _errors() -> Any:
    import docker.errors  # type: ignore[import-untyped]

    return docker.errors


def _find(client: Any, name: str) -> Any:
    containers = client.containers.list(all=True, filters={"name": f"^/{name}$"})
    return containers[0] if containers else None


def _explanation(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)


def _wheel_digest(wheel: Path) -> str:
    """The hash of what the wheel holds (its members and their content), not of its zip bytes,
    which carry timestamps."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for member in sorted(archive.namelist()):
            digest.update(member.encode() + b"\0" + archive.read(member) + b"\0")
    return digest.hexdigest()


def agent_dockerfile(base: str, packages: Sequence[str]) -> str:
    """The agent image's recipe (its labels apart): ``packages`` and, when the base has none,
    python3 with venv installed by ``apt-get``; then roboconf's wheels into a venv."""
    return (
        f"FROM {base}\n"
        f"RUN packages='{' '.join(packages)}'; \\\n"
        " if ! { command -v python3 && python3 -c 'import venv, ensurepip'; } >/dev/null 2>&1;"
        ' then packages="python3 python3-venv $packages"; fi; \\\n'
        ' if [ -n "$packages" ]; then apt-get update \\\n'
        " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages"
        " \\\n && rm -rf /var/lib/apt/lists/*; fi\n"
        "COPY wheels /tmp/roboconf-wheels\n"
        "RUN python3 -m venv /opt/roboconf \\\n"
        " && /opt/roboconf/bin/pip install --no-cache-dir --no-index"
        " --find-links /tmp/roboconf-wheels roboconf \\\n"
        " && rm -rf /tmp/roboconf-wheels\n"
        "ENV PATH=/opt/roboconf/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    )


def _label_line(labels: Mapping[str, str]) -> str:
    return "LABEL " + " ".join(f'{key}="{value}"' for key, value in labels.items()) + "\n"


def _config_archive(content: bytes) -> bytes:
    """A tar of ``/etc/roboconf/agent.properties`` (readable by root only)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(CONFIG_DIR.lstrip("/"))
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        member = tarfile.TarInfo(CONFIG_FILE.lstrip("/"))
        member.size = len(content)
        member.mode = 0o600
        member.mtime = int(time.time())
        archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _warn_on_loopback(properties: Mapping[str, str], options: Mapping[str, Any]) -> None:
    if options.get("network") == "host":
        return
    for key in ("rabbitmq.url", "http.url"):
        url = properties.get(key, "")
        if re.search(r"//([^/@]*@)?(127\.|localhost|\[::1\])", url):
            log.warning(
                "%s = %s: an agent in a container does not reach the loopback of the DM's host; "
                "use an address of the docker bridge (172.17.0.1) or network = host",
                key,
                url,
            )
