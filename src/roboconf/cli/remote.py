"""The remote commands: a DM's client on the command line, over its REST API only.

``register`` adds them to the ``roboconf`` command: ``template``, ``app``, ``instance`` and
``target`` groups, and ``plan``, ``watch``, ``history``. Each takes ``--dm URL`` (default:
``$ROBOCONF_DM``, else ``http://127.0.0.1:8181``); each read command takes ``--json``, which
prints the API's JSON as it came.

Exit codes:

- 0: done;
- 1: the DM refused the request (its error code and message are printed as
  ``error CODE: message`` on standard error, with the details), or bad input (a missing file);
- 2: usage error (missing or contradictory options);
- 3: ``--wait`` timed out before the instances reached the requested state;
- 4: ``--wait``: an instance failed — it ended in PROBLEM, or a step of the request failed and
  it is back in a stable state with the failure as its reason (it is explained);
- 5: no DM answers at the URL.
"""

from __future__ import annotations

import typer

from roboconf.cli.cmd_app import application
from roboconf.cli.cmd_events import history, watch
from roboconf.cli.cmd_instance import instance
from roboconf.cli.cmd_plan import plan
from roboconf.cli.cmd_target import target
from roboconf.cli.cmd_template import template
from roboconf.cli.session import EXIT_CODES


def register(app: typer.Typer) -> None:
    """Add the remote commands to ``app`` (the ``roboconf`` command)."""
    for group in (template, application, instance, target):
        app.add_typer(group)
    app.command("plan", epilog=EXIT_CODES)(plan)
    app.command("watch", epilog=EXIT_CODES)(watch)
    app.command("history", epilog=EXIT_CODES)(history)
