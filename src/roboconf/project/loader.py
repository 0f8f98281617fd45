"""Loading a template: every validation stage, every diagnostic collected.

Stages, in order: layout (descriptor, graph folder), descriptor, graph (parse, blocks,
conversion, then model checks when it could be built), recipe folders and target definitions,
instances, unreachable and misplaced DSL files, external exports, commands, rules, probes.
A stage that lacks what it needs (no graph) is skipped and says why once; the others still run.
Diagnostics carry paths relative to the template root (``graph/main.graph``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from roboconf.dsl.convert import load_graph, load_instances
from roboconf.errors import Code, Diagnostic, has_errors
from roboconf.model import ApplicationDescriptor, ApplicationTemplate, Graph, Instance
from roboconf.model.graph import exported_variables, recipe_component, resolved_installer
from roboconf.model.validation import validate_graph, validate_instances
from roboconf.project.descriptor import DESCRIPTOR_PATH, read_descriptor
from roboconf.project.properties import parse_properties
from roboconf.project.source import TemplateFiles, UnsafeArchiveError, open_template

GRAPH_DIR = "graph"
INSTANCES_DIR = "instances"
COMMANDS_DIR = "commands"
RULES_DIR = "rules.autonomic"
PROBES_DIR = "probes"


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateLoad:
    """The result of loading a template: what could be built, and every diagnostic."""

    template: ApplicationTemplate | None
    diagnostics: tuple[Diagnostic, ...]
    #: commands files by name (without ``.commands``) → text
    commands: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.template is not None and not has_errors(self.diagnostics)


def load_template(path: Path, *, flexible: bool = False) -> TemplateLoad:
    """Load a template folder or zip. ``flexible`` accepts a template without descriptor."""
    try:
        with open_template(path) as files:
            return load_template_files(files, flexible=flexible)
    except UnsafeArchiveError as error:
        return TemplateLoad(
            template=None,
            diagnostics=(
                Diagnostic(
                    code=Code.PROJ_UNSAFE_ARCHIVE,
                    file=str(path),
                    message=f"{error}; nothing was extracted",
                ),
            ),
        )


def load_template_files(files: TemplateFiles, *, flexible: bool = False) -> TemplateLoad:
    return _Loader(files, flexible).run()


def load_graph_file(path: Path) -> tuple[Graph, tuple[Diagnostic, ...]]:
    """Validate a lone ``.graph`` file (imports resolved against its folder): graph checks only."""
    folder = path.parent

    def read(relative: str) -> str | None:
        try:
            return (folder / relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    loaded = load_graph(path.name, read)
    diagnostics = list(loaded.diagnostics)
    if not has_errors(diagnostics):
        diagnostics += validate_graph(loaded.graph)
    return loaded.graph, tuple(diagnostics)


class _Loader:
    def __init__(self, files: TemplateFiles, flexible: bool) -> None:
        self.files = files
        self.flexible = flexible
        self.diagnostics: list[Diagnostic] = []
        self.descriptor = ApplicationDescriptor()
        self.graph: Graph | None = None
        self.instances: tuple[Instance, ...] = ()
        self.commands: dict[str, str] = {}

    def run(self) -> TemplateLoad:
        if not self._check_descriptor_layout():
            return self._result()
        if not self.files.is_dir(GRAPH_DIR):
            self._report(
                Code.PROJ_NO_GRAPH_DIR,
                GRAPH_DIR,
                "create a 'graph' folder holding the .graph files",
            )
            return self._result()
        self._load_graph()
        if self.graph is not None:
            self._check_recipe_folders(self.graph)
        self._load_instances()
        self._check_dsl_files_placement()
        if self.graph is not None:
            self._check_external_exports(self.graph)
        self._check_commands()
        self._check_rules()
        self._check_probes()
        return self._result()

    # -- stages ---------------------------------------------------------------------------

    def _check_descriptor_layout(self) -> bool:
        if not self.files.is_dir("descriptor"):
            if self.flexible:
                return True
            self._report(
                Code.PROJ_NO_DESC_DIR,
                "descriptor",
                "create 'descriptor/application.properties' with at least name, version and "
                "graph-entry-point",
            )
            return False
        text = self.files.read_text(DESCRIPTOR_PATH)
        if text is None:
            if self.flexible:
                return True
            self._report(
                Code.PROJ_NO_DESC_FILE,
                DESCRIPTOR_PATH,
                "create 'descriptor/application.properties' with at least name, version and "
                "graph-entry-point",
            )
            return False
        read = read_descriptor(text)
        self.descriptor = read.descriptor
        self.diagnostics += read.diagnostics
        return True

    def _load_graph(self) -> None:
        entry = self.descriptor.graph_entry_point
        if entry is None and self.flexible:
            candidates = sorted(f for f in self.files.under(GRAPH_DIR) if f.endswith(".graph"))
            entry = candidates[0][len(GRAPH_DIR) + 1 :] if candidates else None
        if entry is None:
            return
        if not self.files.exists(f"{GRAPH_DIR}/{entry}"):
            self._report(
                Code.PROJ_MISSING_GRAPH_EP,
                f"{GRAPH_DIR}/{entry}",
                f"the graph entry point {entry!r} named in the descriptor does not exist "
                f"in '{GRAPH_DIR}/'",
                entry=entry,
            )
            return
        loaded = load_graph(entry, self._reader(GRAPH_DIR), flexible=self.flexible)
        self.reached_graph_files = {f"{GRAPH_DIR}/{f}" for f in loaded.files}
        produced = _relocated(loaded.diagnostics, GRAPH_DIR)
        self.diagnostics += produced
        if has_errors(produced) and not self.flexible:
            return
        self.graph = loaded.graph
        self.diagnostics += validate_graph(loaded.graph)

    def _check_recipe_folders(self, graph: Graph) -> None:
        checked: set[str] = set()
        for name in sorted(graph.components):
            owner = recipe_component(graph, name, has_recipes=self._has_recipe_folder)
            folder = f"{GRAPH_DIR}/{owner}"
            if not self.files.is_dir(folder):
                self._report(
                    Code.PROJ_NO_RESOURCE_DIRECTORY,
                    folder,
                    f"component {name!r} has no recipe folder: create '{folder}/' "
                    "(scripts, templates, target definitions...)",
                    component=name,
                )
                continue
            if resolved_installer(graph, name) == "target" and folder not in checked:
                checked.add(folder)
                self._check_target_definitions(folder)

    def _check_target_definitions(self, folder: str) -> None:
        for path in self.files.under(folder):
            if path.count("/") != folder.count("/") + 1 or not path.endswith(".properties"):
                continue
            properties = parse_properties(self.files.read_text(path) or "")
            for key, code in (
                ("id", Code.REC_TARGET_NO_ID),
                ("handler", Code.REC_TARGET_NO_HANDLER),
            ):
                if not (properties.get(key) or "").strip():
                    self._report(
                        code,
                        path,
                        f"the target definition has no {key!r}: add '{key} = ...'",
                        key=key,
                    )

    def _has_recipe_folder(self, component: str) -> bool:
        return self.files.is_dir(f"{GRAPH_DIR}/{component}")

    def _load_instances(self) -> None:
        entry = self.descriptor.instance_entry_point
        # Roboconf ignores the entry point of a template that has no instances folder at all.
        if entry is None or not self.files.is_dir(INSTANCES_DIR):
            return
        if not self.files.exists(f"{INSTANCES_DIR}/{entry}"):
            self._report(
                Code.PROJ_MISSING_INSTANCE_EP,
                f"{INSTANCES_DIR}/{entry}",
                f"the instance entry point {entry!r} named in the descriptor does not exist "
                f"in '{INSTANCES_DIR}/'",
                entry=entry,
            )
            return
        if self.graph is None:
            self._report(
                Code.CO_GRAPH_COULD_NOT_BE_BUILT,
                f"{INSTANCES_DIR}/{entry}",
                "the instances were not read because the graph could not be built: fix the "
                "graph errors first",
            )
            return
        loaded = load_instances(entry, self._reader(INSTANCES_DIR), self.graph)
        self.reached_instance_files = {f"{INSTANCES_DIR}/{f}" for f in loaded.files}
        produced = _relocated(loaded.diagnostics, INSTANCES_DIR)
        self.diagnostics += produced
        if has_errors(produced):
            return
        self.instances = loaded.instances
        self.diagnostics += validate_instances(self.graph, loaded.instances)

    def _check_dsl_files_placement(self) -> None:
        reached = (
            getattr(self, "reached_graph_files", None),
            getattr(self, "reached_instance_files", None),
        )
        for extension, folder, seen in (
            (".graph", GRAPH_DIR, reached[0]),
            (".instances", INSTANCES_DIR, reached[1]),
        ):
            for path in self.files.files:
                if not path.endswith(extension):
                    continue
                if not path.startswith(folder + "/"):
                    self._report(
                        Code.PROJ_INVALID_FILE_LOCATION,
                        path,
                        f"'{path}' is outside '{folder}/' and is ignored: move it there or "
                        "delete it",
                    )
                elif seen is not None and path not in seen:
                    self._report(
                        Code.PROJ_UNREACHABLE_FILE,
                        path,
                        f"no import reaches '{path}': import it from the entry point or delete it",
                    )

    def _check_external_exports(self, graph: Graph) -> None:
        exported: set[str] = set()
        for name in graph.components:
            exported.update(exported_variables(graph, name))
        for variable in self.descriptor.external_exports:
            if variable not in exported:
                self._report(
                    Code.RM_INVALID_EXTERNAL_EXPORT,
                    DESCRIPTOR_PATH,
                    f"external export {variable!r} names a variable that no component exports",
                    variable=variable,
                )

    def _check_commands(self) -> None:
        paths = self.files.under(COMMANDS_DIR)
        for path in paths:
            if path.endswith(".commands"):
                self.commands[path[len(COMMANDS_DIR) + 1 : -len(".commands")]] = (
                    self.files.read_text(path) or ""
                )
        if self.graph is None or not paths:
            return
        # Imported here, like the rule and probe parsers: most templates have none of these
        # files, and importing them costs a tenth of the start-up of `roboconf run`.
        from roboconf.autonomic.commands import CommandsContext, instance_paths, parse_commands

        context = CommandsContext(
            graph=self.graph,
            instances=instance_paths(self.instances),
            commands=frozenset(self.commands),
            read=self.commands.get,
        )
        for path in paths:
            if not path.endswith(".commands"):
                self._report(
                    Code.PROJ_INVALID_COMMAND_EXT,
                    path,
                    f"'{path}' is not a commands file: rename it to '<name>.commands'",
                )
                continue
            name = path[len(COMMANDS_DIR) + 1 : -len(".commands")]
            parsed = parse_commands(
                self.commands[name], dataclasses.replace(context, command_name=name), file=path
            )
            self.diagnostics += parsed.diagnostics

    def _check_rules(self) -> None:
        paths = self.files.under(RULES_DIR)
        if not paths:
            return
        from roboconf.autonomic.rules import parse_rule

        for path in paths:
            if not path.endswith(".drl"):
                self._report(
                    Code.PROJ_INVALID_RULE_EXT,
                    path,
                    f"'{path}' is not a rule file: rename it to '<rule name>.drl'",
                )
                continue
            text = self.files.read_text(path)
            if text is None:
                self._report(Code.RULE_IO_ERROR, path, f"'{path}' cannot be read")
                continue
            self.diagnostics += parse_rule(
                text, file=path, known_commands=self.commands
            ).diagnostics

    def _check_probes(self) -> None:
        paths = self.files.under(PROBES_DIR)
        if not paths:
            return
        from roboconf.autonomic.measures import parse_measures

        for path in paths:
            if not path.endswith(".measures"):
                continue
            values = parse_properties(self.files.read_text(path + ".properties") or "").values
            parsed = parse_measures(self.files.read_text(path) or "", values, file=path)
            self.diagnostics += parsed.diagnostics

    # -- helpers --------------------------------------------------------------------------

    def _reader(self, folder: str):  # type: ignore[no-untyped-def]
        def read(relative: str) -> str | None:
            return self.files.read_text(f"{folder}/{relative}")

        return read

    def _report(self, code: Code, file: str, message: str, **details: str) -> None:
        self.diagnostics.append(Diagnostic(code=code, file=file, message=message, details=details))

    def _result(self) -> TemplateLoad:
        template = None
        if self.graph is not None:
            template = ApplicationTemplate(
                descriptor=self.descriptor,
                graph=self.graph,
                instances=self.instances,
                files={f: (self.files.root / f).stat().st_size for f in self.files.files},
            )
        return TemplateLoad(
            template=template, diagnostics=tuple(self.diagnostics), commands=self.commands
        )


def _relocated(diagnostics: Iterable[Diagnostic], folder: str) -> list[Diagnostic]:
    """Make paths of the DSL layer (relative to ``graph/`` or ``instances/``) template-relative."""
    return [
        dataclasses.replace(d, file=f"{folder}/{d.file}")
        if d.file and not d.file.startswith("<")
        else d
        for d in diagnostics
    ]
