"""Rich renderings of the DM API's JSON (trees of instances, tables, explanations, events).

They take the API's JSON as it comes, so that the human output and ``--json`` show the same
facts. Status colours live here (:data:`STATUS_STYLE`); nothing in this module imports the DM.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from roboconf.model import InstanceStatus

Json = Mapping[str, Any]

STATUS_STYLE: Mapping[InstanceStatus, str] = {
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
#: statuses in the order a summary lists them
_ORDER = [status.value for status in STATUS_STYLE]


def status(value: str | None) -> str:
    """A status in its colour (markup); unknown values as they are."""
    if value is None:
        return "[dim]-[/]"
    try:
        style = STATUS_STYLE[InstanceStatus(value)]
    except ValueError:
        return escape(value)
    return f"[{style}]{escape(value)}[/]"


def when(at: float) -> str:
    """A time stamp, in local time, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def counts(by_status: Mapping[str, int]) -> str:
    """``3 DEPLOYED_STARTED, 1 UNRESOLVED`` in colours, in life-cycle order."""
    ordered = sorted(by_status.items(), key=lambda item: _rank(item[0]))
    return ", ".join(f"{n} {status(s)}" for s, n in ordered if n) or "[dim]no instance[/]"


def _rank(value: str) -> int:
    return _ORDER.index(value) if value in _ORDER else len(_ORDER)


# -- instances --------------------------------------------------------------------------------


def instance_tree(instances: Iterable[Json], title: str) -> Tree:
    """The instances (parents first) as a tree; one whose parent is not listed hangs from the
    root under its full path."""
    tree = Tree(escape(title))
    nodes: dict[str, Tree] = {}
    for instance in instances:
        parent = nodes.get(instance.get("parent") or "")
        label = _label(instance, full_path=parent is None and instance.get("parent") is not None)
        nodes[instance["path"]] = (parent or tree).add(label)
    return tree


def _label(instance: Json, *, full_path: bool) -> str:
    name = escape(instance["path"] if full_path else instance["name"])
    text = f"{name} [dim]({escape(instance['component'])})[/] {status(instance['status'])}"
    reason = instance.get("reason")
    if reason and instance["status"] != InstanceStatus.DEPLOYED_STARTED.value:
        text += f" [red]— {escape(reason)}[/]"
    return text


def instance_details(instance: Json) -> RenderableType:
    """One instance: where it is, its states, what it exports and imports, its last output."""
    grid = _grid()
    desired = instance.get("desired")
    grid.add_row("path", escape(instance["path"]))
    grid.add_row("component", escape(instance["component"]))
    grid.add_row("machine", escape(instance.get("machine") or "-"))
    grid.add_row("status", status(instance["status"]))
    grid.add_row("requested", status(desired) if desired else "[dim]-[/]")
    if instance.get("reason"):
        grid.add_row("reason", f"[red]{escape(instance['reason'])}[/]")
    for title, values in (
        ("overrides", instance.get("overrides") or {}),
        ("exports", instance.get("exports") or {}),
        ("data", instance.get("data") or {}),
    ):
        if values:
            grid.add_row(title, _pairs(values))
    imports = instance.get("imports") or {}
    if imports:
        grid.add_row("imports", _pairs({k: ", ".join(v) or "-" for k, v in imports.items()}))
    parts: list[RenderableType] = [grid]
    if instance.get("output_tail"):
        parts += [Text("last recipe output:", style="bold"), Text(instance["output_tail"])]
    return Group(*parts)


def explanation(explained: Json) -> RenderableType:
    """Why an instance is in its state: one line per reason."""
    head = f"[bold]{escape(explained['path'])}[/] {status(explained['status'])}"
    lines = [f"  • {escape(reason)}" for reason in explained.get("reasons", [])]
    return Text.from_markup("\n".join([head, *lines]))


def plan(planned: Json) -> RenderableType:
    """A plan: machines to create and terminate, numbered steps with the imports each recipe
    would see, the end states, and what would be refused."""
    lines: list[str] = []
    for title, machines in (
        ("machines to create", planned.get("machines_to_create") or []),
        ("machines to terminate", planned.get("machines_to_terminate") or []),
    ):
        if machines:
            lines.append(f"[bold]{title}[/]: " + ", ".join(escape(m) for m in machines))
    steps = planned.get("steps") or []
    lines.append(f"[bold]steps[/]: {len(steps)}" if steps else "[bold]steps[/]: none")
    for step in steps:
        lines.append(
            f"  {step['order']:>3}. [cyan]{escape(step['step'])}[/] {escape(step['path'])} "
            f"[dim]({escape(step['component'])}, on {escape(step['machine'])})[/]"
        )
        for prefix, providers in sorted((step.get("imports") or {}).items()):
            for provider, values in sorted(providers.items()):
                shown = ", ".join(f"{k}={'?' if v is None else v}" for k, v in values.items())
                lines.append(
                    f"        imports {escape(prefix)} from {escape(provider)}: {escape(shown)}"
                )
    final = planned.get("final") or {}
    if final:
        lines.append("[bold]then[/]:")
        lines.extend(f"  {escape(path)} {status(value)}" for path, value in final.items())
    for path, prefixes in (planned.get("unresolved") or {}).items():
        missing = escape(", ".join(prefixes))
        lines.append(f"[magenta]{escape(path)} stays UNRESOLVED: no provider of {missing}[/]")
    lines.extend(f"[red]refused: {escape(reason)}[/]" for reason in planned.get("refused") or [])
    return Text.from_markup("\n".join(lines))


# -- templates, applications, targets ---------------------------------------------------------


def templates_table(templates: Sequence[Json]) -> Table:
    table = _table("name", "version", "description", "tags", "applications", "uploaded")
    for t in templates:
        table.add_row(
            escape(t["name"]),
            escape(t["version"]),
            escape(t.get("description") or ""),
            escape(", ".join(t.get("tags") or [])),
            escape(", ".join(t.get("applications") or [])),
            when(t["uploaded_at"]),
        )
    return table


def template_summary(template: Json) -> Table:
    grid = _grid()
    grid.add_row("template", f"[bold]{escape(template['name'])}[/] {escape(template['version'])}")
    for title, value in (
        ("description", template.get("description") or ""),
        ("tags", ", ".join(template.get("tags") or [])),
        ("exports prefix", template.get("exports_prefix") or ""),
        ("applications", ", ".join(template.get("applications") or [])),
    ):
        if value:
            grid.add_row(title, escape(value))
    grid.add_row("uploaded", when(template["uploaded_at"]))
    return grid


def components_table(components: Sequence[Json]) -> Table:
    """The components of a graph: what they extend, hold, export and import."""
    table = _table("component", "installer", "extends", "children", "exports", "imports")
    for c in components:
        imports = [
            f"{name}{' (optional)' if optional else ''}" for name, optional in c["imports"].items()
        ]
        table.add_row(
            f"[bold]{escape(c['name'])}[/]",
            escape(c.get("installer") or ""),
            escape(c.get("extends") or ""),
            escape("\n".join(c.get("children") or [])),
            escape("\n".join(f"{k} = {v}" if v else k for k, v in c["exports"].items())),
            escape("\n".join(imports)),
        )
    return table


def applications_table(applications: Sequence[Json]) -> Table:
    table = _table("name", "template", "instances", "statuses", "created")
    for a in applications:
        table.add_row(
            escape(a["name"]),
            escape(f"{a['template']} {a['version']}"),
            str(a.get("instances", "")),
            counts(a.get("counts") or {}),
            when(a["created_at"]),
        )
    return table


def application_summary(application: Json) -> Table:
    grid = _grid()
    grid.add_row("application", f"[bold]{escape(application['name'])}[/]")
    grid.add_row("template", escape(f"{application['template']} {application['version']}"))
    if application.get("description"):
        grid.add_row("description", escape(application["description"]))
    grid.add_row("created", when(application["created_at"]))
    grid.add_row("instances", f"{application.get('instances', 0)}: {counts(application['counts'])}")
    return grid


def targets_table(targets: Sequence[Json]) -> Table:
    table = _table("id", "handler", "name", "used by", "created")
    for t in targets:
        usage = ", ".join(f"{u['application']} {u['key']}" for u in t.get("usage") or [])
        table.add_row(
            escape(t["id"]),
            escape(t["handler"]),
            escape(t.get("name") or ""),
            escape(usage) or "[dim]-[/]",
            when(t["created_at"]),
        )
    return table


def associations_table(associations: Sequence[Json]) -> Table:
    table = _table("key", "target", "from")
    for a in associations:
        origin = "template" if a.get("from_template") else "association"
        table.add_row(escape(a["key"]), escape(a["target_id"]), origin)
    return table


# -- events -----------------------------------------------------------------------------------


def events_table(events: Sequence[Json]) -> Table:
    table = _table("id", "at", "kind", "application", "path", "status", "reason")
    for e in events:
        table.add_row(
            str(e["id"]),
            when(e["at"]),
            escape(e["kind"]),
            escape(e.get("application") or ""),
            escape(e.get("path") or ""),
            status(e["status"]) if e.get("status") else "",
            escape(e.get("reason") or ""),
        )
    return table


def event_line(event: Json) -> str:
    """One event on one line (markup), for ``watch``."""
    parts = [f"[dim]{when(event['at'])} #{event['id']}[/]", f"[bold]{escape(event['kind'])}[/]"]
    if event.get("application"):
        parts.append(escape(event["application"]))
    if event.get("path"):
        parts.append(escape(event["path"]))
    if event.get("status"):
        parts.append(status(event["status"]))
    if event.get("reason"):
        parts.append(f"[red]— {escape(event['reason'])}[/]")
    return " ".join(parts)


# -- helpers ----------------------------------------------------------------------------------


def _table(*columns: str) -> Table:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    return grid


def _pairs(values: Mapping[str, Any]) -> str:
    return "\n".join(f"{escape(str(k))} = {escape(str(v))}" for k, v in sorted(values.items()))
