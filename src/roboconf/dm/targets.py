"""Which target definition creates which machine.

Definitions come from a template (the ``*.properties`` files in the recipe folder of each target
component) or are registered by hand. Association, most specific first: the scoped instance's
path, then ``@Component``, then the application's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from roboconf.model import Graph
from roboconf.model.graph import is_target, recipe_component, resolved_installer
from roboconf.plugins.configure import AGENT_SCRIPT, DM_ONLY, DM_SCRIPT
from roboconf.targets.base import TargetDefinition, TargetError, parse_target

#: file names in recipe folders that are no target definitions
_NOT_TARGETS = frozenset({"modules.properties", "instructions.properties"})


def template_targets(graph_dir: Path, graph: Graph) -> dict[str, list[TargetDefinition]]:
    """Target definitions shipped with a template, by target component (``target.properties``
    first, then the others in name order)."""
    found: dict[str, list[TargetDefinition]] = {}
    for component in graph.components:
        if not is_target(resolved_installer(graph, component)):
            continue
        owner = recipe_component(graph, component, lambda n: (graph_dir / n).is_dir())
        folder = graph_dir / owner
        if not folder.is_dir():
            continue
        files = sorted(
            (p for p in folder.glob("*.properties") if p.name not in _NOT_TARGETS),
            key=lambda p: (p.name != "target.properties", p.name),
        )
        for path in files:
            try:
                definition = parse_target(path.read_text(encoding="utf-8"), str(path))
            except (OSError, TargetError):
                continue  # reported by validation (REC_TARGET_NO_ID...)
            found.setdefault(component, []).append(definition)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetScripts:
    """A target component's configuration scripts: run by the DM, and sent to agents."""

    on_dm: tuple[Path, ...] = ()
    #: file name → content (the files whose name starts with ``local.`` stay on the DM)
    on_agent: dict[str, str] = field(default_factory=dict)


def target_scripts(graph_dir: Path, graph: Graph, component: str) -> TargetScripts:
    """The configuration scripts in the recipe folder of a target component (name order)."""
    owner = recipe_component(graph, component, lambda n: (graph_dir / n).is_dir())
    folder = graph_dir / owner
    if not folder.is_dir():
        return TargetScripts()
    files = sorted(p for p in folder.iterdir() if p.is_file())
    on_agent = {}
    for path in files:
        if AGENT_SCRIPT in path.name and not path.name.startswith(DM_ONLY):
            on_agent[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return TargetScripts(on_dm=tuple(p for p in files if DM_SCRIPT in p.name), on_agent=on_agent)


@dataclass(slots=True, kw_only=True)
class TargetAssociations:
    """The targets of one application and which machine uses which."""

    by_key: dict[str, TargetDefinition] = field(default_factory=dict)

    DEFAULT = ""

    def associate(self, key: str, target: TargetDefinition) -> None:
        """``key``: a scoped instance path, ``@Component``, or "" for the default."""
        self.by_key[key] = target

    def target_for(self, path: str, component: str) -> TargetDefinition:
        for key in (path, f"@{component}", self.DEFAULT):
            target = self.by_key.get(key)
            if target is not None:
                return target
        raise TargetError(
            f"no target for machine {path!r} (component {component!r}): ship a "
            f"'graph/{component}/target.properties' or associate a target with it"
        )
