"""What every installer receives and returns, and the shape of an installer.

The agent resolves everything an instance's recipes may need (its exports, its ancestors'
exports, its imports, the change that triggered an ``update``) into one frozen
:class:`StepContext`; a :class:`Plugin` runs one step with it and answers a :class:`StepResult`.
Failures are values: a recipe that fails, hangs or cannot be found never raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from roboconf.plugins.workdir import work_dir

#: the life cycle steps a plug-in runs, in the order an instance usually meets them.
STEPS = ("initialize", "deploy", "start", "update", "stop", "undeploy", "check")

#: the step at which a plug-in copies the recipes into the instance's work directory afresh.
DEPLOY = "deploy"
#: the step after which a plug-in removes the instance's work directory.
UNDEPLOY = "undeploy"


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """One instance that exports what an importer imports (under one prefix).

    ``variables`` are keyed by full name (``Tomcat.ip``) or local name (``ip``); a variable
    with no value (None) reaches no recipe.
    """

    path: str
    component: str | None = None
    variables: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportChange:
    """What triggered an ``update``: a provider of ``prefix`` added, changed or removed."""

    prefix: str
    provider: Provider
    removed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLimits:
    """How long a step may run and how much of its output is kept (settings of the agent)."""

    timeout_s: float = 300.0
    #: after the timeout, SIGTERM to the recipe's process group, then SIGKILL after this delay.
    kill_grace_s: float = 5.0
    #: the output tail keeps at most this many bytes (stdout and stderr together)...
    tail_bytes: int = 64 * 1024
    #: ...and at most this many lines.
    tail_lines: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class StepContext:
    """Everything the recipes of one instance may use, resolved by the agent.

    - ``exports``: the instance's own exports by full name, values resolved
      (:func:`roboconf.model.variables.instance_exports`);
    - ``ancestors``: component of each ancestor → its exports (full or local names);
    - ``imports``: prefix → providers, in a stable order (the index scripts see). Give every
      imported prefix, even with no provider, so that scripts see ``<Prefix>_size=0``;
    - ``change``: what triggered an ``update`` (None otherwise);
    - ``recipe_dirs``: ``graph/<Component>/`` of the component, then of its super components
      (extends order: the first one holding a file wins);
    - ``environment``: the agent's environment, given by the composition root (plug-ins never
      read ``os.environ``).
    """

    application: str
    instance_path: str
    name: str
    component: str
    installer: str
    data_dir: Path
    recipe_dirs: tuple[Path, ...] = ()
    exports: Mapping[str, str | None] = field(default_factory=dict)
    ancestors: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    imports: Mapping[str, Sequence[Provider]] = field(default_factory=dict)
    change: ImportChange | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    limits: StepLimits = StepLimits()

    @property
    def work_dir(self) -> Path:
        """``<data dir>/<installer>/<clean path>``: always inside ``data_dir``."""
        return work_dir(self.data_dir, self.installer, self.instance_path)

    @property
    def files_dir(self) -> Path:
        return self.work_dir / "files"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """How a step went. ``reason`` is a sentence for people; ``output`` the tail of the output.

    ``executed`` is False when there was nothing to run (no recipe for that step), which is a
    success. ``exit_code`` is None when no process ran or it was killed.
    """

    step: str
    ok: bool
    reason: str
    executed: bool = True
    exit_code: int | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    output: str = ""


def no_recipe(step: str) -> StepResult:
    return StepResult(step=step, ok=True, executed=False, reason=f"no recipe for step {step}")


def check_step(step: str) -> None:
    """Refuse a step name that is not one of :data:`STEPS` (a programming error)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: expected one of {', '.join(STEPS)}")


class Plugin(Protocol):
    """An installer: runs the recipe of ``step`` for the instance described by ``context``."""

    async def run(self, step: str, context: StepContext) -> StepResult: ...
