"""Scripts generated from Mustache templates (``roboconf-templates/<step>.template``).

Rendered with pystache. Values are inserted verbatim (no HTML escaping: these are scripts, not
pages); a missing key renders as nothing; ``{{> name}}`` includes
``roboconf-templates/name.template``.
The data, Roboconf's ``importLists`` and more:

- ``step``, ``application``, ``name``, ``path``, ``component``, ``filesDir``;
- ``exports`` (local name → value) and ``exportedVars`` (a list of ``{name, value}``);
- ``importLists``: ``[{prefix, imports: [{instancePath, componentName, vars, exportedVars}]}]``;
- ``change`` (``update`` only): ``{prefix, instancePath, componentName, status, vars,
  exportedVars}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pystache  # type: ignore[import-untyped]
from pystache.parser import ParsingError  # type: ignore[import-untyped]

from roboconf.plugins.base import Provider, StepContext
from roboconf.plugins.environment import local_values


class TemplateError(Exception):
    """A template that cannot be rendered (bad syntax)."""


def render_template(text: str, data: Mapping[str, Any], partials_dir: Path) -> str:
    renderer = pystache.Renderer(
        escape=lambda value: value,
        missing_tags="ignore",
        search_dirs=[str(partials_dir)],
        file_extension="template",
    )
    try:
        return str(renderer.render(text, dict(data)))
    except (ParsingError, UnicodeDecodeError) as error:
        raise TemplateError(str(error)) from error


def template_data(step: str, context: StepContext) -> dict[str, Any]:
    exports = local_values(context.exports, context.component)
    data: dict[str, Any] = {
        "step": step,
        "application": context.application,
        "name": context.name,
        "path": context.instance_path,
        "component": context.component,
        "filesDir": str(context.files_dir),
        "exports": exports,
        "exportedVars": _pairs(exports),
        "importLists": [
            {"prefix": prefix, "imports": [_provider(p, prefix) for p in providers]}
            for prefix, providers in context.imports.items()
        ],
    }
    change = context.change
    if step == "update" and change is not None:
        data["change"] = {
            "prefix": change.prefix,
            "status": "DEPLOYED_STOPPED" if change.removed else "DEPLOYED_STARTED",
            **_provider(change.provider, change.prefix),
        }
    return data


def _provider(provider: Provider, prefix: str) -> dict[str, Any]:
    values = local_values(provider.variables, prefix)
    return {
        "instancePath": provider.path,
        "componentName": provider.component or prefix,
        "vars": values,
        "exportedVars": _pairs(values),
    }


def _pairs(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]
