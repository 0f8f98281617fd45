"""Providers coming, changing and going (spec 20 §3), with Roboconf's holes closed.

The agent keeps every provider's full values per prefix (newcomers start from that knowledge)
and, per importer, only the variables that importer imports (never from itself). A republish
with identical values changes nothing; with different values it replaces the stored ones and
triggers ``update`` with the new values. Changes that reach an instance while its ``start``
step runs, or while it is in a PROBLEM that a passing health check may end, are replayed as
updates once it is started. Every change is its own ``update``:
coalescing bursts needs a time window, which belongs to the shell (off by default).
"""

from __future__ import annotations

from dataclasses import replace

from roboconf.lifecycle._operations import (
    PROBLEM,
    RESTARTABLE,
    STARTED,
    STARTING,
    UNRESOLVED,
    lose_imports,
    start,
)
from roboconf.lifecycle._transaction import Transaction
from roboconf.lifecycle.events import ProviderRemoved, ProviderUpdated
from roboconf.lifecycle.rules import tailored
from roboconf.lifecycle.state import ImportChange, InstanceState, Step


def provider_updated(tx: Transaction, event: ProviderUpdated) -> None:
    state = tx.state
    key = (event.prefix, event.provider_path)
    if event.component is not None:
        state.provider_components[key] = event.component
    known = state.providers.setdefault(event.prefix, {})
    values = dict(event.values)
    if known.get(event.provider_path) == values:
        return
    known[event.provider_path] = values
    component = state.provider_components.get(key)
    for path in state.importers.get(event.prefix, ()):
        if path == event.provider_path:
            continue
        record = tx.record(path)
        kept = tailored(state.rules[record.component], event.prefix, values)
        current = record.imports.get(event.prefix, {})
        if current.get(event.provider_path) == kept:
            continue
        imports = {**record.imports, event.prefix: {**current, event.provider_path: kept}}
        record = tx.put(replace(record, imports=imports))
        change = ImportChange(
            prefix=event.prefix,
            provider_path=event.provider_path,
            added_or_changed=True,
            values=kept,
            component=component,
        )
        _changed(tx, record, change)


def provider_removed(tx: Transaction, event: ProviderRemoved) -> None:
    state = tx.state
    known = state.providers.get(event.prefix, {})
    if known.pop(event.provider_path, None) is None:
        return
    component = state.provider_components.pop((event.prefix, event.provider_path), None)
    for path in state.importers.get(event.prefix, ()):
        record = tx.record(path)
        current = record.imports.get(event.prefix, {})
        old = current.get(event.provider_path)
        if old is None:
            continue
        rest = dict(current)
        del rest[event.provider_path]
        imports = dict(record.imports)
        if rest:
            imports[event.prefix] = rest
        else:
            del imports[event.prefix]
        record = tx.put(replace(record, imports=imports))
        change = ImportChange(
            prefix=event.prefix,
            provider_path=event.provider_path,
            added_or_changed=False,
            values=old,
            component=component,
        )
        _changed(tx, record, change)


def _changed(tx: Transaction, record: InstanceState, change: ImportChange) -> None:
    status = record.status
    if status is STARTING or (status is PROBLEM and record.failed_step in RESTARTABLE):
        tx.put(replace(record, missed=(*record.missed, change)))
    elif status is UNRESOLVED and change.added_or_changed:
        if not tx.state.missing_prefixes(record):
            start(tx, record)
    elif status is STARTED:
        mandatory = tx.state.rules[record.component].mandatory_prefixes
        if (
            not change.added_or_changed
            and change.prefix in mandatory
            and (not record.imports.get(change.prefix))
        ):
            lose_imports(tx, record)
        else:
            tx.run_step(record.path, Step.UPDATE, change)
