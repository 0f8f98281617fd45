"""Installers: run the recipe steps of one instance on its agent's machine.

:func:`plugin_for` gives the plug-in of an installer name (``script``/``bash``, ``file``,
``logger``); :class:`SimulatedPlugin` replaces them all when simulating. Each plug-in runs one
step (:data:`STEPS`) with a :class:`StepContext` built by the agent and answers a
:class:`StepResult`: failures (exit code, timeout, output tail) are values, never exceptions.
"""

from roboconf.plugins.base import (
    STEPS,
    ImportChange,
    Plugin,
    Provider,
    StepContext,
    StepLimits,
    StepResult,
)
from roboconf.plugins.file import FilePlugin
from roboconf.plugins.logger import LoggerPlugin
from roboconf.plugins.registry import UnknownInstaller, installer_names, plugin_for
from roboconf.plugins.script import ScriptPlugin
from roboconf.plugins.simulated import SimulatedPlugin
from roboconf.plugins.workdir import work_dir

__all__ = [
    "STEPS",
    "FilePlugin",
    "ImportChange",
    "LoggerPlugin",
    "Plugin",
    "Provider",
    "ScriptPlugin",
    "SimulatedPlugin",
    "StepContext",
    "StepLimits",
    "StepResult",
    "UnknownInstaller",
    "installer_names",
    "plugin_for",
    "work_dir",
]
