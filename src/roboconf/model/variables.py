"""The variables of an instance: overrides, ``$(ROBOCONF_…)`` placeholders, IP, random ports.

An instance exports what its component exports (see :mod:`roboconf.model.graph`), changed by its
overrides: a full name replaces that variable; a local name replaces the one variable with that
local name, or every one of them when several match (the override is then also kept under its
own name, as Roboconf does), or is added as an extra variable when none does. Then the machine's
IP fills the ``ip`` variables left empty and placeholders are substituted.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from roboconf.model.graph import resolver, split_variable
from roboconf.model.instances import rebuild, scoped_paths, walk
from roboconf.model.types import Graph, Instance

#: the variable the runtime fills with the machine's address.
IP_VARIABLE = "ip"

#: random ports are allocated from here up.
FIRST_RANDOM_PORT = 10000

_PLACEHOLDER = re.compile(r"\$\((ROBOCONF_[A-Z_]+)\)")


class OverrideKind(enum.Enum):
    EXACT = "exact"  # a full name, or the one variable with that local name
    AMBIGUOUS = "ambiguous"  # a local name matching several variables
    MAGIC = "magic"  # matches nothing the component exports


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideMatch:
    name: str
    kind: OverrideKind
    targets: tuple[str, ...]


def match_override(graph: Graph, component: str, name: str) -> OverrideMatch:
    """Which exported variables (full names) an override named ``name`` replaces."""
    targets = resolver(graph).designated(component, name)
    if not targets:
        kind = OverrideKind.MAGIC
    elif len(targets) == 1:
        kind = OverrideKind.EXACT
    else:
        kind = OverrideKind.AMBIGUOUS
    return OverrideMatch(name=name, kind=kind, targets=targets)


def with_overrides(
    graph: Graph, component: str, overrides: Mapping[str, str]
) -> dict[str, str | None]:
    """The component's exports (full names) with an instance's overrides applied."""
    result: dict[str, str | None] = {
        name: v.value for name, v in resolver(graph).exports(component).items()
    }
    for name, value in overrides.items():
        match = match_override(graph, component, name)
        for target in match.targets:
            result[target] = value
        if match.kind is not OverrideKind.EXACT:
            result[name] = value
    return result


def instance_exports(
    graph: Graph, instance: Instance, path: str, *, ip: str | None = None
) -> dict[str, str | None]:
    """What ``instance`` (at ``path``) exports, by full name, values resolved.

    ``ip`` is its machine's address: it fills the ``ip`` variables that have no value.
    """
    result = with_overrides(graph, instance.component, instance.overrides)
    for name, value in result.items():
        if ip is not None and not value and is_ip_variable(name):
            result[name] = ip
        elif value is not None and "$(" in value:
            result[name] = substitute_placeholders(value, path=path, component=instance.component)
    return result


def is_ip_variable(name: str) -> bool:
    """``ip``, ``Tomcat.ip``: variables set at runtime from the machine's address."""
    lowered = name.lower()
    return lowered == IP_VARIABLE or lowered.endswith("." + IP_VARIABLE)


def clean_path(path: str) -> str:
    """``/vm 1/app`` → ``vm_1_app``: a path usable as a file or host name."""
    return re.sub(r"[/\s]", "_", path.strip("/"))


def substitute_placeholders(value: str, *, path: str, component: str) -> str:
    """Replace ``$(ROBOCONF_INSTANCE_NAME)`` and friends; unknown placeholders stay."""
    names = path.split("/")[1:]
    known = {
        "ROBOCONF_INSTANCE_NAME": names[-1] if names else "",
        "ROBOCONF_INSTANCE_PATH": path,
        "ROBOCONF_COMPONENT_NAME": component,
        "ROBOCONF_CLEAN_INSTANCE_PATH": clean_path(path),
        "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH": clean_path("/".join(reversed(names))),
    }
    return _PLACEHOLDER.sub(lambda m: known.get(m.group(1), m.group(0)), value)


def random_variables(graph: Graph, component: str) -> tuple[str, ...]:
    """Full names of the random variables the component exports."""
    return tuple(name for name, v in resolver(graph).exports(component).items() if v.random)


def ports_wanted(graph: Graph, component: str, overrides: Mapping[str, str]) -> list[list[str]]:
    """The random variables still without value, one group per port to allocate.

    A variable exported under several names (``MySQL.port``, ``MyDB.port``: super components,
    facets) is one group: its recipe listens where importers of any name connect.
    """
    exports = with_overrides(graph, component, overrides)
    by_local: dict[str, list[str]] = {}
    for name in random_variables(graph, component):
        if not exports.get(name):
            by_local.setdefault(split_variable(name)[1], []).append(name)
    return list(by_local.values())


def lowest_free_port(used: Collection[int], forbidden: Collection[int] = ()) -> int:
    """The lowest port from :data:`FIRST_RANDOM_PORT` that is neither used nor forbidden."""
    port = FIRST_RANDOM_PORT
    while port in used or port in forbidden:
        port += 1
    return port


def assign_random_ports(
    graph: Graph, instances: tuple[Instance, ...], forbidden: Iterable[int] = ()
) -> tuple[tuple[Instance, ...], dict[str, dict[str, str]]]:
    """Give a port to every random variable left without value, as the DM does.

    Each port is the lowest free one on the instance's machine (its scoped instance): not a value
    any instance of that machine exports, not in ``forbidden``. A variable exported under several
    names (``MySQL.port``, ``MyDB.port``) gets one port, stored as an override of each name.
    Returns the new tree and the overrides added, by instance path.
    """
    blocked = frozenset(forbidden)
    machines = scoped_paths(graph, instances)
    used: dict[str | None, set[int]] = {}
    for path, instance in walk(instances):
        ports = used.setdefault(machines[path], set())
        for value in with_overrides(graph, instance.component, instance.overrides).values():
            if value is not None and value.isdigit():
                ports.add(int(value))
    added: dict[str, dict[str, str]] = {}
    for path, instance in walk(instances):
        for names in ports_wanted(graph, instance.component, instance.overrides):
            ports = used[machines[path]]
            port = lowest_free_port(ports, blocked)
            ports.add(port)
            added.setdefault(path, {}).update(dict.fromkeys(names, str(port)))
    if not added:
        return instances, added

    def change(path: str, instance: Instance) -> Instance:
        extra = added.get(path)
        if extra is None:
            return instance
        return replace(instance, overrides={**instance.overrides, **extra})

    return rebuild(instances, change), added
