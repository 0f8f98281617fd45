"""Diagnostics and exceptions shared by every layer.

Loading a template never stops at the first problem: every stage returns a list of
:class:`Diagnostic` values (a code, a severity, a location, a sentence a user can act on, and
structured details). Code names are Roboconf's own, so that tools and people who know Roboconf
recognise them; codes added for new features use the same prefixes.

Exceptions are for the shell (I/O failures, misuse of an API), never for bad user input:

- :class:`RoboconfError` — base of everything the package raises on purpose.
- :class:`InvalidModelError` — an operation needs a model without severe diagnostics; carries them.
- :class:`MessagingError` — a transport misused (unknown exchange or queue, closed) or failing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    """How serious a diagnostic is: errors make a template unusable, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


class Category(enum.Enum):
    PARSING = "parsing"
    PARSING_MODEL = "parsing-model"
    CONVERSION = "conversion"
    RUNTIME_MODEL = "runtime-model"
    PROJECT = "project"
    RECIPES = "recipes"
    COMMANDS = "commands"
    RULES = "rules"
    PROBES = "probes"


_E, _W = Severity.ERROR, Severity.WARNING
_P, _PM, _CO = Category.PARSING, Category.PARSING_MODEL, Category.CONVERSION
_RM, _PROJ, _REC = Category.RUNTIME_MODEL, Category.PROJECT, Category.RECIPES
_CMD, _RULE = Category.COMMANDS, Category.RULES
_PROBE = Category.PROBES


class Code(enum.Enum):
    """Every diagnostic code, with its severity, its category and a one-line summary.

    The summary is the default message; producers usually give a more precise one.
    """

    # Parsing: one file, line level.
    P_ONE_BLOCK_PER_LINE = (_E, _P, "only one declaration is allowed per line")
    P_PROPERTY_ENDS_WITH_SEMI_COLON = (_E, _P, "a property must end with ';'")
    P_IMPORT_ENDS_WITH_SEMI_COLON = (_E, _P, "an import must end with ';'")
    P_O_C_BRACKET_MISSING = (_E, _P, "the declaration must end with '{'")
    P_O_C_BRACKET_EXTRA_CHARACTERS = (_E, _P, "nothing but a comment may follow '{'")
    P_C_C_BRACKET_MISSING = (_E, _P, "the block is not closed: '}' is missing")
    P_C_C_BRACKET_EXTRA_CHARACTERS = (_E, _P, "nothing but a comment may follow '}'")
    P_UNRECOGNIZED_BLOCK = (_E, _P, "this line is no import, facet, component or instance")
    P_INVALID_PROPERTY = (_E, _P, "this line is not a property ('name: value;')")
    P_INVALID_PROPERTY_OR_INSTANCE = (
        _E,
        _P,
        "this line is neither a property ('name: value;') nor an 'instance of' block",
    )
    P_INVALID_FILE_TYPE = (_E, _P, "a file cannot mix instances with components or facets")
    P_EMPTY_FILE = (_W, _P, "the file contains no declaration")
    P_IO_ERROR = (_E, _P, "the file could not be read")

    # Parsing model: one block.
    PM_INVALID_BLOCK_TYPE = (_E, _PM, "unknown kind of block")
    PM_UNKNOWN_PROPERTY_NAME = (_W, _PM, "unknown property name")
    PM_EMPTY_PROPERTY_VALUE = (_E, _PM, "the property has no value")
    PM_EMPTY_IMPORT_LOCATION = (_E, _PM, "the import names no file")
    PM_EMPTY_FACET_NAME = (_E, _PM, "the facet has no name")
    PM_EMPTY_COMPONENT_NAME = (_E, _PM, "the component has no name")
    PM_EMPTY_REFERENCED_NAME = (_E, _PM, "an item of the list is empty")
    PM_EMPTY_VARIABLE_NAME = (_E, _PM, "a variable name is empty")
    PM_INVALID_NAME = (_E, _PM, "invalid name")
    PM_INVALID_CHILD_NAME = (_E, _PM, "invalid child name")
    PM_DOT_IS_NOT_ALLOWED = (_E, _PM, "component and facet names may not contain '.'")
    PM_INVALID_INSTALLER_NAME = (_E, _PM, "invalid installer name")
    PM_INVALID_EXPORTED_VAR_NAME = (_E, _PM, "invalid exported variable name")
    PM_INVALID_EXPORT_COMPLEX_VALUE = (_E, _PM, "badly quoted exported value")
    PM_EXTERNAL_IS_KEYWORD_FOR_IMPORTS = (_E, _PM, "'external' is a keyword reserved for imports")
    PM_INVALID_IMPORTED_VAR_NAME = (_E, _PM, "invalid imported variable name")
    PM_INCOMPLETE_IMPORTED_VAR_NAME = (_E, _PM, "an imported variable needs a 'Prefix.' part")
    PM_PROPERTY_NOT_APPLIABLE = (_E, _PM, "this property is not allowed in this kind of block")
    PM_DUPLICATE_PROPERTY = (_E, _PM, "the property is given twice in the same block")
    PM_MISSING_INSTANCE_NAME = (_E, _PM, "the instance has no 'name'")
    PM_INVALID_INSTANCE_NAME = (_E, _PM, "invalid instance name")
    PM_INVALID_INSTANCE_COUNT = (_E, _PM, "'count' must be an integer greater than or equal to 1")
    PM_USELESS_INSTANCE_COUNT = (_W, _PM, "'count: 1' is useless")
    PM_MALFORMED_COMMENT = (_W, _PM, "malformed comment block")
    PM_MALFORMED_BLANK = (_W, _PM, "malformed blank block")

    # Conversion: building graphs and instances from several files.
    CO_NOT_A_GRAPH = (_E, _CO, "the file is not a graph file")
    CO_NOT_INSTANCES = (_E, _CO, "the file is not an instances file")
    CO_UNREACHABLE_FILE = (_E, _CO, "the imported file cannot be read")
    CO_ALREADY_DEFINED_COMPONENT = (_E, _CO, "the component is defined more than once")
    CO_ALREADY_DEFINED_FACET = (_E, _CO, "the facet is defined more than once")
    CO_ALREADY_DEFINED_INSTANCE = (_E, _CO, "an instance with this path is defined more than once")
    CO_CONFLICTING_INFERRED_INSTANCE = (
        _E,
        _CO,
        "an instance created by 'count' has the path of another instance",
    )
    CO_CONFLICTING_NAME = (_E, _CO, "a component and a facet share a name")
    CO_GRAPH_COULD_NOT_BE_BUILT = (_E, _CO, "instances cannot be built without a graph")
    CO_INEXISTING_CHILD = (_E, _CO, "unknown child")
    CO_INEXISTING_COMPONENT = (_E, _CO, "unknown component")
    CO_INEXISTING_FACET = (_E, _CO, "unknown facet")
    CO_INVALID_INSTANCE_STATE = (_E, _CO, "unknown instance state")

    # Runtime model: validation of the built model.
    RM_NO_ROOT_COMPONENT = (_E, _RM, "the graph has no root component")
    RM_ROOT_INSTALLER_MUST_BE_TARGET = (_E, _RM, "a root component must use 'installer: target'")
    RM_UNRESOLVABLE_VARIABLE = (_E, _RM, "no component exports this imported variable")
    RM_COMPONENT_IMPORTS_EXPORTS = (
        _E,
        _RM,
        "a component imports a variable it exports itself without '(optional)'",
    )
    RM_CYCLE_IN_FACETS_INHERITANCE = (_E, _RM, "a facet extends itself")
    RM_CYCLE_IN_COMPONENTS_INHERITANCE = (_E, _RM, "a component extends itself")
    RM_CYCLE_IN_COMPONENTS = (_E, _RM, "a component contains itself")
    RM_INVALID_RANDOM_KIND = (_E, _RM, "random variables only support the kind 'port'")
    RM_NO_VALUE_FOR_RANDOM = (_E, _RM, "a random variable cannot be given a value")
    RM_MAGIC_INSTANCE_VARIABLE = (
        _W,
        _RM,
        "the instance sets a variable its component does not export",
    )
    RM_ORPHAN_FACET_WITH_CHILDREN = (_W, _RM, "a facet with children is used by no component")
    RM_ORPHAN_FACET = (_W, _RM, "no component lists this facet in its 'facets'")
    RM_UNRESOLVABLE_FACET_VARIABLE = (
        _E,
        _RM,
        "the imported variable is exported by a facet that no component uses",
    )
    RM_AMBIGUOUS_OVERRIDING = (_W, _RM, "the instance override matches several variables")
    RM_EMPTY_COMPONENT_INSTALLER = (_E, _RM, "the component has no installer")
    RM_UNREACHABLE_COMPONENT = (_E, _RM, "the component can never be instantiated")
    RM_MISSING_APPLICATION_GEP = (_E, _RM, "the descriptor names no graph entry point")
    RM_MISSING_APPLICATION_NAME = (_E, _RM, "the descriptor names no application")
    RM_MISSING_APPLICATION_VERSION = (_E, _RM, "the descriptor gives no version")
    RM_INVALID_APPLICATION_VERSION = (_E, _RM, "invalid application version")
    RM_INVALID_INSTANCE_PARENT = (_E, _RM, "this instance cannot be a child of that parent")
    RM_INVALID_INSTANCE_ROOT = (_E, _RM, "this instance cannot be a root instance")
    RM_MISSING_VARIABLE_VALUE = (_E, _RM, "an exported variable has no value")
    RM_INVALID_EXTERNAL_EXPORT = (_E, _RM, "invalid external export")

    # Project layout.
    PROJ_NO_DESC_DIR = (_E, _PROJ, "the template has no 'descriptor' folder")
    PROJ_NO_DESC_FILE = (_E, _PROJ, "the template has no 'descriptor/application.properties'")
    PROJ_NO_GRAPH_DIR = (_E, _PROJ, "the template has no 'graph' folder")
    PROJ_MISSING_GRAPH_EP = (_E, _PROJ, "the graph entry point does not exist")
    PROJ_MISSING_INSTANCE_EP = (_E, _PROJ, "the instance entry point does not exist")
    PROJ_NO_RESOURCE_DIRECTORY = (_W, _PROJ, "the component has no recipe folder")
    PROJ_UNREACHABLE_FILE = (_W, _PROJ, "no import reaches this file")
    PROJ_INVALID_FILE_LOCATION = (_W, _PROJ, "this file is outside the folder of its kind")
    PROJ_INVALID_COMMAND_EXT = (_E, _PROJ, "a commands file must end with '.commands'")
    PROJ_INVALID_RULE_EXT = (_E, _PROJ, "a rule file must end with '.drl'")
    PROJ_UNSAFE_ARCHIVE = (_E, _PROJ, "the archive is unsafe and was not extracted")
    PROJ_NOT_A_TEMPLATE = (_E, _PROJ, "this is neither a template folder, a zip nor a graph file")

    # Recipes and targets.
    REC_TARGET_NO_ID = (_E, _REC, "a target definition must have an 'id'")
    REC_TARGET_NO_HANDLER = (_E, _REC, "a target definition must have a 'handler'")

    # Commands.
    CMD_UNRECOGNIZED_INSTRUCTION = (_E, _CMD, "unknown instruction")
    CMD_UNRESOLVED_VARIABLE = (_E, _CMD, "the variable is not defined")
    CMD_NO_INSTRUCTION = (_W, _CMD, "the commands file contains no instruction")
    CMD_INEXISTING_COMMAND_FILE = (_E, _CMD, "the commands file does not exist")
    CMD_INVALID_SYNTAX = (_E, _CMD, "the instruction is not written as documented")
    CMD_EMPTY_VARIABLE_NAME = (_E, _CMD, "'define' needs a variable name before '='")
    CMD_INVALID_DATE_PATTERN = (_E, _CMD, "invalid date pattern in $(FORMATTED_TIME ...)")
    CMD_NO_MIX_FOR_PATTERNS = (_E, _CMD, "this variable must be alone in its 'define' value")
    CMD_INVALID_INDEX_PATTERN = (_E, _CMD, "write $(EXISTING_INDEX MIN|MAX [> n|< n])")
    CMD_MISSING_COMPONENT_NAME = (_E, _CMD, "a component name is expected")
    CMD_INEXISTING_COMPONENT = (_E, _CMD, "no component of the graph has this name")
    CMD_MISSING_INSTANCE_NAME = (_E, _CMD, "an instance name is expected")
    CMD_INVALID_INSTANCE_NAME = (_E, _CMD, "invalid instance name")
    CMD_NO_MATCHING_INSTANCE = (_E, _CMD, "no instance has this path")
    CMD_MISSING_PARENT_INSTANCE = (_E, _CMD, "this component needs a parent: add 'under /path'")
    CMD_CANNOT_HAVE_ANY_PARENT = (_E, _CMD, "this component can only be a root instance")
    CMD_NOT_AN_ACCEPTABLE_PARENT = (_E, _CMD, "this component cannot be created under that one")
    CMD_CONFLICTING_INSTANCE_NAME = (_E, _CMD, "an instance with this path already exists")
    CMD_NOT_A_ROOT_INSTANCE = (_E, _CMD, "only a root instance can be replicated")
    CMD_NOT_A_SCOPED_INSTANCE = (_E, _CMD, "only a scoped instance can be associated with a target")
    CMD_INVALID_TARGET_ID = (_E, _CMD, "a target id is expected")
    CMD_INVALID_INSTANCE_STATUS = (_E, _CMD, "unknown instance status")
    CMD_INSTABLE_INSTANCE_STATUS = (_E, _CMD, "only a stable status can be requested")
    CMD_EMAIL_NO_MESSAGE = (_E, _CMD, "the e-mail has no message")
    CMD_MISSING_TARGET_FILE = (_E, _CMD, "the file to write is missing")
    CMD_MISSING_COMMAND_NAME = (_E, _CMD, "'execute' needs the name of a commands file")
    CMD_INEXISTING_COMMAND = (_E, _CMD, "there is no commands file with this name")
    CMD_LOOPING_COMMAND = (_E, _CMD, "a commands file cannot execute itself")
    CMD_NASTY_LOOPING_COMMAND = (_E, _CMD, "the executed commands file leads back to a loop")

    # Rules.
    RULE_IO_ERROR = (_E, _RULE, "the rule file cannot be read")
    RULE_INVALID_SYNTAX = (_E, _RULE, "a rule must read 'rule \"name\" when ... then ... end'")
    RULE_EMPTY_NAME = (_E, _RULE, "the rule has no name")
    RULE_EMPTY_WHEN = (_E, _RULE, "the rule names no event")
    RULE_EMPTY_THEN = (_E, _RULE, "the rule runs no command")
    RULE_UNKNOWN_COMMAND = (_E, _RULE, "the rule runs a command that is not in 'commands/'")

    # Probes: measures files.
    PROBE_INVALID_EVENT = (_E, _PROBE, "a measure starts with '[EVENT <handler> <event-name>]'")
    PROBE_ORPHAN_LINE = (_E, _PROBE, "this line comes before any '[EVENT ...]' section")
    PROBE_UNKNOWN_HANDLER = (_E, _PROBE, "unknown measure handler")
    PROBE_EMPTY_MEASURE = (_E, _PROBE, "this measure has no handler line")
    PROBE_UNRESOLVED_PLACEHOLDER = (_E, _PROBE, "no property gives a value to this placeholder")

    @property
    def severity(self) -> Severity:
        return self.value[0]

    @property
    def category(self) -> Category:
        return self.value[1]

    @property
    def summary(self) -> str:
        return self.value[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One problem found in user input, with where it is and what to do about it."""

    code: Code
    message: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # None: the code's own severity

    @property
    def level(self) -> Severity:
        return self.severity if self.severity is not None else self.code.severity

    @property
    def is_error(self) -> bool:
        return self.level is Severity.ERROR

    @property
    def text(self) -> str:
        return self.message or self.code.summary

    def render(self) -> str:
        """One line: ``graph/main.graph:12:5: error P_PROPERTY_ENDS_WITH_SEMI_COLON <message>``."""
        where = [self.file or "<input>"]
        if self.line is not None:
            where.append(str(self.line))
            if self.column is not None:
                where.append(str(self.column))
        return f"{':'.join(where)}: {self.level.value} {self.code.name} {self.text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.name,
            "severity": self.level.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.text,
            "details": dict(self.details),
        }


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


class RoboconfError(Exception):
    """Base class of the exceptions raised on purpose by this package."""


class InvalidModelError(RoboconfError):
    """An operation needed a model without severe diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0].render() if errors else "no detail"
        super().__init__(f"{len(errors)} error(s) in the model; first: {first}")


class MessagingError(RoboconfError):
    """A transport was misused (an undeclared exchange, an unknown queue, used after closing)
    or failed (the broker cannot be reached)."""
