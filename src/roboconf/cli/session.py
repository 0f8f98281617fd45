"""What every remote command shares: the options (``--dm``, ``--app``, ``--json``), the exit
codes, the consoles, and the one place where failures become a message and an exit code.

Exit codes (also in every remote command's ``--help``):

====  ==========================================================================
0     done
1     the DM refused the request (an error answer), or the input is bad (a missing file)
2     usage error: options missing or contradicting each other (typer's own code)
3     ``--wait`` timed out before the instances reached the requested state
4     ``--wait``: an instance failed: it ended in PROBLEM, or a step of the request failed
5     no DM answers at the URL
====  ==========================================================================
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from roboconf.cli.actions import BadArguments
from roboconf.cli.client import ApiError, DmApi, DmUnreachable

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_PROBLEM = 4
EXIT_UNREACHABLE = 5

EXIT_CODES = (
    "Exit codes: 0 done; 1 the DM refused the request or bad input; 2 usage error; "
    "3 --wait timed out; 4 an instance failed (PROBLEM, a failed step); 5 no DM answers at --dm."
)

DmOption = Annotated[
    str,
    typer.Option(
        "--dm",
        envvar="ROBOCONF_DM",
        help="The DM's URL (default: $ROBOCONF_DM, else the local DM).",
        metavar="URL",
    ),
]
AppOption = Annotated[str, typer.Option("--app", "-a", help="The application.", metavar="APP")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead.")]
WaitOption = Annotated[
    bool,
    typer.Option("--wait", help="Follow the instances until they reach the requested state."),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", help="With --wait: give up after this many seconds (exit 3).", min=0),
]
DEFAULT_TIMEOUT_S = 600.0
EverythingOption = Annotated[bool, typer.Option("--all", help="Every instance.")]
UnderOption = Annotated[
    str | None, typer.Option("--under", help="The subtree of this path.", metavar="PATH")
]
ComponentOption = Annotated[
    str | None,
    typer.Option("--component", help="Every instance of this component.", metavar="NAME"),
]
OverrideOption = Annotated[
    list[str] | None,
    typer.Option(
        "--override",
        "-o",
        help="NAME=VALUE: a value of the new instance's own (e.g. port=18080); repeatable.",
        metavar="NAME=VALUE",
    ),
]


class InputError(Exception):
    """Input this side refuses before asking the DM (a missing file): exit 1, with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def out() -> Console:
    """Where results go (standard output)."""
    return Console(highlight=False)


def err() -> Console:
    """Where errors and progress go (standard error)."""
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    """The API's JSON, as it came (indented)."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@contextlib.contextmanager
def connect(dm: str) -> Iterator[DmApi]:
    """The DM's API for one command; failures leave as an error message and an exit code."""
    try:
        with DmApi(dm) as api:
            yield api
    except BadArguments as error:
        raise typer.BadParameter(str(error)) from None
    except InputError as error:
        fail(error.code, error.message, EXIT_REFUSED)
    except ApiError as error:
        fail(error.code, error.message, EXIT_REFUSED, error.details)
    except DmUnreachable as error:
        fail("DM_UNREACHABLE", str(error), EXIT_UNREACHABLE)


def fail(
    code: str, message: str, exit_code: int, details: Mapping[str, Any] | None = None
) -> NoReturn:
    """Print ``error CODE: message`` (and the details) on standard error, exit ``exit_code``."""
    console = err()
    console.print(f"[bold red]error {escape(code)}[/]: {escape(message)}", soft_wrap=True)
    for line in _detail_lines(details or {}):
        console.print(f"  {escape(line)}", soft_wrap=True)
    raise typer.Exit(exit_code)


def _detail_lines(details: Mapping[str, Any]) -> Iterator[str]:
    """Diagnostics as ``file:line:column: severity CODE message``, anything else as JSON."""
    for key, value in details.items():
        if key == "diagnostics" and isinstance(value, list):
            yield from (_diagnostic(d) for d in value if isinstance(d, dict))
        else:
            yield f"{key}: {json.dumps(value, ensure_ascii=False)}"


def _diagnostic(d: Mapping[str, Any]) -> str:
    where = ":".join(str(d[k]) for k in ("file", "line", "column") if d.get(k) not in (None, ""))
    text = f"{d.get('severity', 'error')} {d.get('code', '')} {d.get('message', '')}".strip()
    return f"{where}: {text}" if where else text
