"""Rich renderings of applications shared by the commands (trees of instances with states)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from roboconf.dm.application import Application, ManagedInstance
from roboconf.model import InstanceStatus

STATUS_STYLE = {
    InstanceStatus.NOT_DEPLOYED: "dim",
    InstanceStatus.DEPLOYING: "cyan",
    InstanceStatus.DEPLOYED_STOPPED: "yellow",
    InstanceStatus.UNRESOLVED: "magenta",
    InstanceStatus.WAITING_FOR_ANCESTOR: "magenta",
    InstanceStatus.STARTING: "cyan",
    InstanceStatus.DEPLOYED_STARTED: "green",
    InstanceStatus.STOPPING: "cyan",
    InstanceStatus.UNDEPLOYING: "cyan",
    InstanceStatus.PROBLEM: "bold red",
}


def instance_tree(application: Application, title: str | None = None) -> Tree:
    tree = Tree(escape(title or f"application {application.name}"))
    nodes: dict[str | None, Tree] = {None: tree}
    for record in application:
        parent = nodes.get(record.parent, tree)
        nodes[record.path] = parent.add(_label(record))
    return tree


def _label(record: ManagedInstance) -> str:
    style = STATUS_STYLE[record.status]
    name, component = escape(record.name), escape(record.component)
    text = f"{name} [dim]({component})[/] [{style}]{record.status.value}[/]"
    address = record.data.get("ip")
    if record.parent is None and address and record.status is not InstanceStatus.NOT_DEPLOYED:
        text += f" [dim]at[/] {escape(address)}"
    if record.reason and record.status is not InstanceStatus.DEPLOYED_STARTED:
        text += f" [red]— {escape(record.reason)}[/]"
    return text


def tree_as_json(application: Application) -> list[dict[str, Any]]:
    """The instances as a JSON-ready tree (for ``--json``)."""

    def node(record: ManagedInstance) -> dict[str, Any]:
        return {
            "name": record.name,
            "path": record.path,
            "component": record.component,
            "status": record.status.value,
            "reason": record.reason,
            "children": [node(child) for child in application.children(record.path)],
        }

    return [node(root) for root in application.roots()]
