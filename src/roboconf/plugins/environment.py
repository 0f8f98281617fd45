"""The environment variables a recipe sees (Roboconf's contract, spec 40).

On top of the agent's environment:

- ``<var>``: each export of the instance by local name (``port``, ``ip``);
- ``ANCESTOR_<Component>_<var>``: the exports of each ancestor;
- ``ROBOCONF_INSTANCE_NAME``, ``ROBOCONF_INSTANCE_PATH``, ``ROBOCONF_COMPONENT_NAME``,
  ``ROBOCONF_CLEAN_INSTANCE_PATH``, ``ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH``,
  ``ROBOCONF_FILES_DIR``;
- ``<Prefix>_size``, ``<Prefix>_<i>_name`` (provider path), ``<Prefix>_<i>_<var>``;
- for ``update`` with a change: ``ROBOCONF_UPDATE_STATUS`` (``DEPLOYED_STARTED`` when the
  provider was added or changed, ``DEPLOYED_STOPPED`` when removed),
  ``ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH``, ``ROBOCONF_IMPORT_CHANGED_COMPONENT`` (the
  provider's component, else the prefix) and
  ``ROBOCONF_IMPORT_CHANGED_<var>`` (the provider's values; Roboconf documented them and never
  set them).

Names are made valid for every shell: each character other than an ASCII letter, digit or ``_``
becomes ``_`` (``mongo-db.port`` → ``mongo_db_port``; Roboconf did this for ``-`` in exports only
and passed import prefixes unchanged, which no shell could read). A variable with no value is not
set. Values are passed as they are (spaces, quotes, ``$``...): nothing is ever interpolated into a
command line. The ``ROBOCONF_*`` identity variables are set last, so no export can hide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from roboconf.model.graph import split_variable
from roboconf.model.variables import substitute_placeholders
from roboconf.plugins.base import ImportChange, StepContext

_INVALID = re.compile(r"[^A-Za-z0-9_]")
_CLEAN_PATHS = ("ROBOCONF_CLEAN_INSTANCE_PATH", "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH")


def env_name(text: str) -> str:
    """A valid environment variable name for ``text`` (never starting with a digit)."""
    name = _INVALID.sub("_", text)
    return f"_{name}" if name[:1].isdigit() else name


def local_values(variables: Mapping[str, str | None], owner: str | None = None) -> dict[str, str]:
    """Local name → value of the variables that have one.

    An instance exports one value under several prefixes (its component, super components,
    facets); when two disagree, the one of ``owner`` wins, else the first given.
    """
    result: dict[str, str] = {}
    for name, value in variables.items():
        if value is None:
            continue
        prefix, local = split_variable(name)
        if local not in result or prefix == owner:
            result[local] = value
    return result


def recipe_environment(step: str, context: StepContext) -> dict[str, str]:
    """The full environment of a recipe running ``step`` for the instance of ``context``."""
    env = dict(context.environment)
    for local, value in local_values(context.exports, context.component).items():
        _put(env, local, value)
    for component, variables in context.ancestors.items():
        for local, value in local_values(variables, component).items():
            _put(env, f"ANCESTOR_{component}_{local}", value)
    for prefix, providers in context.imports.items():
        _put(env, f"{prefix}_size", str(len(providers)))
        for index, provider in enumerate(providers):
            _put(env, f"{prefix}_{index}_name", provider.path)
            for local, value in local_values(provider.variables, prefix).items():
                _put(env, f"{prefix}_{index}_{local}", value)
    env.update(_identity(context))
    if step == "update" and context.change is not None:
        env.update(_change(context.change))
    return env


def _identity(context: StepContext) -> dict[str, str]:
    env = {
        "ROBOCONF_INSTANCE_NAME": context.name,
        "ROBOCONF_INSTANCE_PATH": context.instance_path,
        "ROBOCONF_COMPONENT_NAME": context.component,
        "ROBOCONF_FILES_DIR": str(context.files_dir),
    }
    for name in _CLEAN_PATHS:  # the same values as the $(…) placeholders of exports
        env[name] = substitute_placeholders(
            f"$({name})", path=context.instance_path, component=context.component
        )
    return {name: _value(value) for name, value in env.items()}


def _change(change: ImportChange) -> dict[str, str]:
    provider = change.provider
    env = {
        "ROBOCONF_UPDATE_STATUS": "DEPLOYED_STOPPED" if change.removed else "DEPLOYED_STARTED",
        "ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH": _value(provider.path),
        "ROBOCONF_IMPORT_CHANGED_COMPONENT": _value(provider.component or change.prefix),
    }
    for local, value in local_values(provider.variables, change.prefix).items():
        _put(env, f"ROBOCONF_IMPORT_CHANGED_{local}", value)
    return env


def _put(env: dict[str, str], name: str, value: str) -> None:
    key = env_name(name)
    if key:
        env[key] = _value(value)


def _value(text: str) -> str:
    """An environment value cannot hold NUL characters (the OS would refuse the whole call)."""
    return text.replace("\0", "")
