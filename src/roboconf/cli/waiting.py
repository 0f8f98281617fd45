"""``--wait``: follow a request until the instances it is about reach the requested state.

A :class:`Goal` says which instances must reach which state; a :class:`Tracker` keeps their
statuses as the DM's events (and, when the stream is quiet, polls) tell them, and judges: reached,
failed (an instance in PROBLEM, or back in a stable state with a reason: a step failed, the
request was cancelled), or still waiting (UNRESOLVED and WAITING_FOR_ANCESTOR are waits). Both
are pure; :func:`wait` does the I/O and the progress display.

The stream is opened after the request with ``Last-Event-ID`` set to the newest event id read
*before* the request, so that no change is missed between the two; after every quiet second (and
every ten seconds anyway) the instances are read again and the stream reopened, so that the
deadline is kept and a change the stream missed is caught.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from roboconf.cli.actions import Action, Selection, is_under
from roboconf.cli.client import DmApi, Event
from roboconf.cli.session import EXIT_OK, EXIT_PROBLEM, EXIT_TIMEOUT, err, out
from roboconf.cli.views import explanation, instance_tree
from roboconf.model import InstanceStatus

#: seconds of a quiet event stream after which the instances are read again
POLL_S = 1.0
#: seconds after which the stream is reopened and the instances read again in any case
RESYNC_S = 10.0

#: how many unfinished instances are explained after a wait
EXPLAINED = 5

S = InstanceStatus
PROBLEM = S.PROBLEM.value
#: where an instance may rest after a failed request (with the failure as its reason)
FALLBACKS = frozenset(s.value for s in (S.NOT_DEPLOYED, S.DEPLOYED_STOPPED, S.DEPLOYED_STARTED))
NOT_DEPLOYED = S.NOT_DEPLOYED.value


class Outcome(enum.Enum):
    REACHED = "reached"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal:
    """``paths`` (parents first) must all reach ``status``."""

    paths: tuple[str, ...]
    status: InstanceStatus


def goal_of(action: Action, selection: Selection, instances: Iterable[Mapping[str, Any]]) -> Goal:
    """What a request waits for, given the instances before it (API JSON, parents first).

    The same instances as the DM's request: undeploying takes a subtree along; ``stop-all``
    leaves machines (they are started or not deployed) and instances not deployed alone."""
    listed = list(instances)
    chosen = [i for i in listed if selection.covers(i)]
    if action is Action.UNDEPLOY:
        tops = [i["path"] for i in chosen]
        chosen = [i for i in listed if any(is_under(i["path"], top) for top in tops)]
    elif action is Action.STOP and selection.is_bulk:
        chosen = [i for i in chosen if not i.get("scoped") and i["status"] != NOT_DEPLOYED]
    return Goal(paths=tuple(i["path"] for i in chosen), status=action.requested)


class Tracker:
    """The statuses of a goal's instances since a request, and the verdict on them.

    A failure counts only once the instance has changed since the request: undeploying an
    instance in PROBLEM is not a failure before it has even begun."""

    def __init__(self, goal: Goal, instances: Iterable[Mapping[str, Any]]) -> None:
        self.goal = goal
        self.instances: dict[str, dict[str, Any]] = {
            i["path"]: dict(i) for i in instances if i["path"] in goal.paths
        }
        self._before = {path: i["status"] for path, i in self.instances.items()}
        self._changed: set[str] = set()

    def saw_event(self, event: Event) -> None:
        if event.kind == "instance.changed" and event.path in self.instances and event.status:
            self._set(event.path, event.status, event.reason)

    def saw_instances(self, instances: Iterable[Mapping[str, Any]]) -> None:
        """A fresh read of the instances (from a poll)."""
        for instance in instances:
            path = instance["path"]
            if path in self.instances:
                if instance["status"] != self._before[path]:
                    self._changed.add(path)
                self.instances[path].update(instance)

    def _set(self, path: str, status: str, reason: str | None) -> None:
        self._changed.add(path)
        self.instances[path].update(status=status, reason=reason)

    @property
    def reached(self) -> int:
        wanted = self.goal.status.value
        return sum(1 for i in self.instances.values() if i["status"] == wanted)

    def failures(self) -> list[str]:
        """The instances that changed since the request and ended in PROBLEM, or in a stable
        state that is not the goal, with a reason."""
        wanted = self.goal.status.value
        return [
            path
            for path, i in self.instances.items()
            if path in self._changed
            and i["status"] != wanted
            and (i["status"] == PROBLEM or (i["status"] in FALLBACKS and i.get("reason")))
        ]

    def pending(self) -> list[str]:
        wanted = self.goal.status.value
        return [path for path, i in self.instances.items() if i["status"] != wanted]

    def verdict(self) -> Outcome | None:
        """REACHED, FAILED, or None while waiting."""
        if self.failures():
            return Outcome.FAILED
        return None if self.pending() else Outcome.REACHED

    def ordered(self) -> list[dict[str, Any]]:
        return [self.instances[path] for path in self.goal.paths if path in self.instances]


def newest_event_id(api: DmApi) -> int | None:
    """The id of the DM's newest event (read before a request, to follow it from there)."""
    newest = api.events(limit=1)
    return int(newest[0]["id"]) if newest else None


def wait(
    api: DmApi,
    app: str,
    tracker: Tracker,
    *,
    after: int | None,
    timeout_s: float,
    console: Console,
    what: str,
) -> Outcome:
    """Follow ``app``'s events (after event ``after``) until the tracker's verdict, or until
    ``timeout_s`` have passed; shows a progress bar and the instances on ``console``."""
    deadline = time.monotonic() + timeout_s
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task(what, total=len(tracker.goal.paths))

    def screen() -> Group:
        progress.update(task, completed=tracker.reached)
        return Group(progress, instance_tree(tracker.ordered(), f"{app}: {what}"))

    last_id = after
    with Live(get_renderable=screen, console=console, transient=True, refresh_per_second=8):
        while (verdict := tracker.verdict()) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome.TIMEOUT
            events = api.stream_events(
                app, last_id, read_timeout_s=POLL_S, duration_s=min(RESYNC_S, remaining)
            )
            with contextlib.closing(events):
                for event in events:
                    last_id = event.id
                    tracker.saw_event(event)
                    if tracker.verdict() is not None:
                        break
                else:
                    tracker.saw_instances(api.list_instances(app))
    return verdict


def follow(
    api: DmApi,
    app: str,
    goal: Goal,
    *,
    before: Iterable[Mapping[str, Any]],
    after: int | None,
    timeout_s: float,
    what: str,
) -> int:
    """Wait for ``goal`` (progress on standard error), print where the instances ended and
    explain those that did not make it; the exit code (0 reached, 3 timeout, 4 failed)."""
    tracker = Tracker(goal, before)
    started = time.monotonic()
    outcome = wait(api, app, tracker, after=after, timeout_s=timeout_s, console=err(), what=what)
    console = out()
    console.print(instance_tree(tracker.ordered(), f"{app}: {what}"))
    console.print(summary(tracker, outcome, time.monotonic() - started), soft_wrap=True)
    for path in unfinished(tracker, outcome)[:EXPLAINED]:
        err().print(explanation(api.explain(app, path)), soft_wrap=True)
    return _EXIT[outcome]


def summary(tracker: Tracker, outcome: Outcome, elapsed_s: float) -> str:
    """One line (markup) saying how the wait ended."""
    total, wanted = len(tracker.goal.paths), tracker.goal.status.value
    head = f"{tracker.reached}/{total} instance(s) {wanted}"
    if outcome is Outcome.REACHED:
        return f"[green]done[/]: {head} ({elapsed_s:.1f} s)"
    if outcome is Outcome.FAILED:
        failed = (f"{path} {tracker.instances[path]['status']}" for path in tracker.failures())
        return f"[red]failed[/]: {head}; " + ", ".join(failed)
    return f"[red]timeout[/] after {elapsed_s:.1f} s: {head}; waiting: " + ", ".join(
        tracker.pending()
    )


def unfinished(tracker: Tracker, outcome: Outcome) -> Sequence[str]:
    """The instances to explain after a wait that did not reach its goal."""
    if outcome is Outcome.FAILED:
        return tracker.failures()
    return tracker.pending() if outcome is Outcome.TIMEOUT else ()


_EXIT = {Outcome.REACHED: EXIT_OK, Outcome.FAILED: EXIT_PROBLEM, Outcome.TIMEOUT: EXIT_TIMEOUT}
