"""Capturing INSERT, UPDATE and DELETE statements run through a session on synced tables.

Such statements bypass the flush, so ``capture``'s ``after_flush`` never sees their rows. They
are noted here, whether written against a model (``insert(Case)``, ``update(Window)``) or its
table (``insert(Case.__table__)``, the executemany inserts of case import and of the demo
history), and likewise statements on the association table of a synced many-to-many collection
(they change the owning row's list). Rows are noted by key and serialised at commit like any
other change (``capture.route``).

A statement whose rows cannot be known before it runs is refused with ``UncapturedWrite``
rather than left unsynced: an insert that does not give each row's key, ``INSERT … SELECT``,
and an upsert whose conflict target is not the primary key (the row it updates is not the one
it names). Statements sent past the session (``session.connection().execute``, ``psql``) are
not seen at all: synced tables are written through the session only.
"""
from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from realtime.sync import capture
from realtime.sync.registry import (Collection, SyncedModel, collection_owners, from_wire,
                                    hall_expression, spec_for_table)
from service_hall.db import watches_statements


class UncapturedWrite(RuntimeError):
    """A write to a synced table that township sync could not follow: refused."""


watches_statements(lambda table: spec_for_table(table) is not None
                   or bool(collection_owners(table)))


@sa_event.listens_for(Session, "do_orm_execute")
def _statement(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) \
            or state.session.info.get(capture.APPLYING):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name is None or capture.node_config() is None:
        return
    spec = spec_for_table(name)
    if spec is not None:
        _note_rows(state, spec)
        return
    owners = collection_owners(name)
    if owners:
        _note_owners(state, owners)


def _note_rows(state, spec: SyncedModel) -> None:
    session = state.session
    if state.is_insert:
        _refuse_uncapturable_insert(state.statement, spec)
        keys, halls = _inserted_rows(state, spec)
        capture.note_inserted(session, spec, keys, halls)
        return
    hall = hall_expression(spec)
    for row_id, hall_id in _matching(state, select(spec.pk, hall), spec):
        capture.note(session, spec, row_id, "delete" if state.is_delete else "upsert",
                     hall_id=hall_id, refresh=True)


def _matching(state, query, spec: SyncedModel | None = None) -> list:
    """The rows an UPDATE or DELETE is about to touch, read before it runs. An ORM bulk update
    by primary key (a list of rows, no WHERE) touches exactly the rows it names."""
    stmt, params = state.statement, state.parameters
    many = isinstance(params, (list, tuple))
    if stmt.whereclause is None and many and spec is not None and state.bind_mapper is not None:
        keys = [row.get(spec.pk_attr, row.get(spec.pk.name)) for row in params]
        return _in_chunks(state.session, query, spec.pk, keys)
    if stmt.whereclause is not None:
        query = query.where(stmt.whereclause)
    rows = []
    for one in (params if many else [params or {}]):
        rows.extend(state.session.execute(query, one).all())
    return rows


def _in_chunks(session: Session, query, column, keys: list, size: int = 500) -> list:
    rows = []
    for i in range(0, len(keys), size):
        rows.extend(session.execute(query.where(column.in_(keys[i:i + size]))).all())
    return rows


def _refuse_uncapturable_insert(stmt, spec: SyncedModel) -> None:
    if getattr(stmt, "select", None) is not None:
        raise UncapturedWrite(f"INSERT … SELECT into synced table {spec.name} cannot be synced "
                              f"(its rows are not known before it runs): insert the rows "
                              f"with their {spec.pk.name}")
    conflict = getattr(stmt, "_post_values_clause", None)
    target = getattr(conflict, "inferred_target_elements", None)
    if conflict is not None and type(conflict).__name__ == "OnConflictDoUpdate":
        names = [getattr(t, "name", t) for t in (target or ())]
        if names != [spec.pk.name]:
            raise UncapturedWrite(
                f"an upsert into synced table {spec.name} must conflict on {spec.pk.name}, "
                f"not {names or getattr(conflict, 'constraint_target', None)!r}: the row it "
                f"updates would not be the one it names, and would not be synced")


def _inserted_rows(state, spec: SyncedModel) -> tuple[list, list | None]:
    """Primary keys of the rows an insert writes, from its parameters (a list of rows), its
    ``.values()`` row or rows, and their halls when the insert gives every row's hall. A key
    that would only be made during the insert cannot be captured: refused, not left unsynced."""
    rows = _insert_rows(state)
    keys = [_typed(spec.pk, row.get(spec.pk_attr, row.get(spec.pk.name))) for row in rows]
    if not keys or any(key is None for key in keys):
        raise UncapturedWrite(f"a bulk insert into synced table {spec.name} must give each "
                              f"row's {spec.pk.name} (as a list of rows or in .values()), or "
                              f"the rows would never reach the other nodes")
    halls = None
    if spec.hall_column:
        column = spec.table.c[spec.hall_column]
        halls = [_typed(column, row.get(spec.hall_attr, row.get(column.name))) for row in rows]
        if None in halls:
            halls = None  # left to a default: read at commit like any row
    return keys, halls


def _insert_rows(state) -> list[dict]:
    """The rows of an INSERT as dicts: its parameters, or what its ``.values()`` holds."""
    stmt, params = state.statement, state.parameters
    if isinstance(params, (list, tuple)) and params:
        return list(params)
    if isinstance(params, dict) and params:
        return [params]
    if getattr(stmt, "_multi_values", None):
        return [{getattr(k, "key", k): v for k, v in row.items()}
                for batch in stmt._multi_values for row in batch]
    return [stmt.compile(dialect=state.session.get_bind().dialect).params]


def _typed(column, value):
    """A value as the column holds it (ids given as text are compared as UUIDs)."""
    value = getattr(value, "value", value)  # a BindParameter in .values(...)
    if isinstance(value, str):
        try:
            return from_wire(column, value)
        except (TypeError, ValueError):
            return value
    return value


# -- association tables of synced many-to-many collections --------------------------------------

def _note_owners(state, owners: list[tuple[SyncedModel, Collection]]) -> None:
    """A statement on ``window_items`` changes the item list of the windows it names."""
    for spec, coll in owners:
        if state.is_insert:
            if getattr(state.statement, "select", None) is not None:
                raise UncapturedWrite(f"INSERT … SELECT into {coll.secondary.name} cannot be "
                                      f"synced: insert the rows one by one")
            ids = {_typed(coll.local, row.get(coll.local.name)) for row in _insert_rows(state)}
            if None in ids:
                raise UncapturedWrite(f"an insert into {coll.secondary.name} must give "
                                      f"{coll.local.name} to be synced")
        else:
            ids = {row_id for row_id, in _matching(state, select(coll.local))}
        for row_id in ids:
            capture.note(state.session, spec, row_id, "upsert", collections={coll.key},
                         refresh=True)
