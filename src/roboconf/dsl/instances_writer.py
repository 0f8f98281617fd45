"""An instance tree → ``.instances`` text that reads back into the same tree.

Each instance is written on its own (``count`` is never written back): ``name``, ``channels``,
its overrides, and either its runtime state (``instance-data: k = v, ...;`` and
``instance-state: ...;``, how the DM persists instances) or, without ``runtime``, its data as
``data.KEY: value;`` lines (what a user would write). Values that would not read back as they
are (a ``;``, a ``#``, surrounding spaces, quotes, an empty value) are quoted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from roboconf.dsl.blocks import Blank, Block, Holder, HolderKind, Property
from roboconf.dsl.instances_builder import DATA_PREFIX, RUNTIME_DATA, RUNTIME_STATE
from roboconf.dsl.writer import write_blocks
from roboconf.model.types import Instance, InstanceStatus

_UNSAFE_IN_PROPERTY = (";", "#", '"')
_UNSAFE_IN_LIST = (",", "=", ";", "#", '"')


def write_instances(instances: Iterable[Instance], *, runtime: bool = True) -> str:
    """The text of an ``.instances`` file holding ``instances`` (a blank line between roots)."""
    return write_blocks(instances_to_blocks(instances, runtime=runtime))


def instances_to_blocks(instances: Iterable[Instance], *, runtime: bool = True) -> list[Block]:
    """Top-level blocks: the instances separated by a blank line, and the final newline."""
    blocks: list[Block] = []
    for instance in instances:
        if blocks:
            blocks.append(Blank(content=""))
        blocks.append(instance_block(instance, runtime=runtime))
    blocks.append(Blank(content=""))  # the writer's way to end the last line
    return blocks


def instance_block(instance: Instance, *, runtime: bool = True) -> Holder:
    """The ``instance of`` block of ``instance`` and of its children."""
    inner: list[Block] = [Property(name="name", value=instance.name)]
    if instance.channels:
        inner.append(Property(name="channels", value=", ".join(instance.channels)))
    inner += (Property(name=k, value=_property_value(v)) for k, v in instance.overrides.items())
    inner += _runtime_lines(instance) if runtime else _data_lines(instance)
    inner += (instance_block(child, runtime=runtime) for child in instance.children)
    return Holder(kind=HolderKind.INSTANCEOF, name=instance.component, blocks=tuple(inner))


def _runtime_lines(instance: Instance) -> Iterator[Property]:
    if instance.data:
        pairs = (f"{k} = {_list_value(v)}" for k, v in instance.data.items())
        yield Property(name=RUNTIME_DATA, value=", ".join(pairs))
    if instance.status is not InstanceStatus.NOT_DEPLOYED:
        yield Property(name=RUNTIME_STATE, value=instance.status.value)


def _data_lines(instance: Instance) -> Iterator[Property]:
    for key, value in instance.data.items():
        yield Property(name=DATA_PREFIX + key, value=_property_value(value))


def _property_value(value: str) -> str:
    """Quote a property value when reading it back would change it."""
    if value and value == value.strip() and not any(c in value for c in _UNSAFE_IN_PROPERTY):
        return value
    return f'"{value}"'


def _list_value(value: str) -> str:
    """Quote an ``instance-data`` value when reading it back would change it."""
    if value and value == value.strip() and not any(c in value for c in _UNSAFE_IN_LIST):
        return value
    return f'"{value}"'
