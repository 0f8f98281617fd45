"""``descriptor/application.properties``: the identity of a template.

Keys may carry Roboconf's legacy ``application-`` prefix (``application-name`` = ``name``).
``exports`` lists external exports, ``Component.variable as alias``, comma-separated; an entry
that does not have this shape is reported instead of being silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roboconf.errors import Code, Diagnostic
from roboconf.model import ApplicationDescriptor
from roboconf.project.properties import Properties, parse_properties

DESCRIPTOR_PATH = "descriptor/application.properties"
VERSION_PATTERN = re.compile(r"^\d+\.\d+(\.\d+)?([.-].+)?$")
_EXTERNAL_EXPORT = re.compile(r"^\s*([A-Za-z_][\w-]*\.[\w.-]+)\s+as\s+([A-Za-z_][\w.-]*)\s*$")
_KEYS = (
    "name",
    "version",
    "description",
    "tags",
    "dsl-id",
    "graph-entry-point",
    "instance-entry-point",
    "exports-prefix",
    "exports",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DescriptorRead:
    descriptor: ApplicationDescriptor
    #: descriptor key (without legacy prefix) → line where it is defined
    lines: dict[str, int]
    #: raw ``exports`` items that are not ``Component.variable as alias``
    invalid_external_exports: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]


def read_descriptor(text: str, *, file: str = DESCRIPTOR_PATH) -> DescriptorRead:
    """Parse a descriptor and check what can be checked without the graph."""
    values, lines = _normalised(parse_properties(text))
    external, invalid = parse_external_exports(values.get("exports", ""))
    descriptor = ApplicationDescriptor(
        name=values.get("name") or None,
        version=values.get("version") or None,
        description=values.get("description", ""),
        tags=tuple(t.strip() for t in values.get("tags", "").split(",") if t.strip()),
        dsl_id=values.get("dsl-id") or None,
        graph_entry_point=values.get("graph-entry-point") or None,
        instance_entry_point=values.get("instance-entry-point") or None,
        exports_prefix=values.get("exports-prefix") or None,
        external_exports=external,
    )
    diagnostics = []

    def report(code: Code, key: str, message: str, **details: str) -> None:
        diagnostics.append(
            Diagnostic(code=code, file=file, line=lines.get(key), message=message, details=details)
        )

    if descriptor.name is None:
        report(
            Code.RM_MISSING_APPLICATION_NAME,
            "name",
            "the descriptor gives no application name: add 'name = <template name>'",
        )
    if descriptor.version is None:
        report(
            Code.RM_MISSING_APPLICATION_VERSION,
            "version",
            "the descriptor gives no version: add 'version = 1.0.0' (or any 'X.Y[.Z][-qualifier]')",
        )
    elif not VERSION_PATTERN.match(descriptor.version):
        report(
            Code.RM_INVALID_APPLICATION_VERSION,
            "version",
            f"invalid version {descriptor.version!r}: use 'X.Y', 'X.Y.Z' or either with a "
            "'.qualifier' or '-qualifier' (e.g. 1.0.1-SNAPSHOT)",
            version=descriptor.version,
        )
    if descriptor.graph_entry_point is None:
        report(
            Code.RM_MISSING_APPLICATION_GEP,
            "graph-entry-point",
            "the descriptor names no graph entry point: add 'graph-entry-point = <file>.graph'",
        )
    for item in invalid:
        report(
            Code.RM_INVALID_EXTERNAL_EXPORT,
            "exports",
            f"invalid external export {item!r}: write 'Component.variable as alias', "
            "entries separated by commas",
            export=item,
        )
    if external and descriptor.exports_prefix is None:
        report(
            Code.RM_INVALID_EXTERNAL_EXPORT,
            "exports",
            "external exports need a prefix: add 'exports-prefix = <Prefix>'",
        )
    return DescriptorRead(
        descriptor=descriptor,
        lines=lines,
        invalid_external_exports=invalid,
        diagnostics=tuple(diagnostics),
    )


def parse_external_exports(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """``"A.x as a, B.y as b"`` → ``({"A.x": "a", "B.y": "b"}, invalid items)``."""
    valid: dict[str, str] = {}
    invalid: list[str] = []
    for item in text.split(","):
        if not item.strip():
            continue
        match = _EXTERNAL_EXPORT.match(item)
        if match:
            valid[match.group(1)] = match.group(2)
        else:
            invalid.append(item.strip())
    return valid, tuple(invalid)


def _normalised(properties: Properties) -> tuple[dict[str, str], dict[str, int]]:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for raw_key, value in properties.values.items():
        key = raw_key.strip().lower()
        if key.startswith("application-") and key[len("application-") :] in _KEYS:
            key = key[len("application-") :]
        values[key] = value.strip()
        lines[key] = properties.lines[raw_key]
    return values, lines
