"""Where containers reach the host: the address of the Docker engine's default bridge.

A DM whose agents run in containers (``docker`` target) must serve its API, which routes their
messages, on an address they reach; the loopback is not one. dockerd gives its bridge network a
gateway address on the host (``172.17.0.1`` unless configured otherwise).
"""

from __future__ import annotations

import ipaddress

from roboconf.targets.base import TargetError

DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"


def bridge_gateway(endpoint: str = DEFAULT_ENDPOINT) -> str:
    """The host's address on the engine's ``bridge`` network (what its containers reach)."""
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        raise TargetError(
            "the docker target needs the Docker SDK: pip install 'roboconf[docker]'"
        ) from None
    try:
        client = docker.DockerClient(base_url=endpoint, timeout=20)
        try:
            configs = client.networks.get("bridge").attrs["IPAM"]["Config"] or []
        finally:
            client.close()
    except docker.errors.DockerException as error:
        raise TargetError(
            f"no Docker engine answers at {endpoint}: start dockerd ({error})"
        ) from None
    for config in configs:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):
            # dockerd gives the bridge its subnet's first address unless told another (--bip)
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    raise TargetError(f"the Docker engine at {endpoint} has no bridge network with an address")
