"""Which models are synced and how their rows travel as JSON.

A model takes part by declaring class attributes, nothing else:

``__sync__ = "up"``
    Rows belong to the node serving the row's hall (a township node for its hall and its
    village points, else the county). The owner pushes every change to the county; the county
    hands down the rows it creates or changes for a township hall (work routed to it).
``__sync__ = "down"``
    Rows belong to the county (catalog, calendar, accounts) and are copied to township nodes.
``__sync_scope__ = "all" | "hall"``
    For ``down`` models: every node gets every row (default), or only the node whose hall (or
    village point) the row's hall column names.
``__sync_hall__ = "hall_id"``
    The column naming the row's hall (required for ``up`` models and ``hall`` scope).
``__sync_exclude__ = ("column", …)``
    Node-local columns that are never sent (e.g. sign-in failure counters).
``__sync_handover__ = False``
    The county never sends such ``up`` rows down (e.g. its copies of township events).
``__sync_parent__ = ("case_id", "cases")``
    For ``up`` rows without a hall column: the row belongs to the hall of its parent row.
``__sync_carry__ = ("case_id", …)``
    Foreign keys to ``up`` rows that may belong to another node (an errand of a township's
    village point accepted into a county case): when the county sends the row to a node that
    does not own the referenced row, a copy of that row travels first, or the row could not be
    applied there.

Synced models have a single-column primary key (a UUID ``id``, or a natural key such as a
calendar day). Many-to-many collections (relationships
with a ``secondary`` table) travel with the row as lists of ids under ``"@<name>"``.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from sqlalchemy import Column, Table, event, null, select
from sqlalchemy.types import TypeDecorator
from sqlalchemy.orm import Mapper, configure_mappers

from service_hall.extensions import db

DIRECTIONS = ("up", "down")


@dataclass
class Collection:
    key: str                  # relationship attribute, e.g. "items"
    secondary: Table          # association table, e.g. window_items
    local: Column             # association column pointing at this row
    remote: Column            # association column pointing at the related row
    remote_attr: str          # attribute of the related object holding the remote id


@dataclass
class SyncedModel:
    cls: type
    mapper: Mapper
    table: Table
    direction: str
    scope: str
    hall_column: str | None
    hall_attr: str | None
    pk: Column
    pk_attr: str
    exclude: frozenset[str]
    handover: bool
    snapshot: bool
    order: int
    # FK columns set in a second pass (self references and use_alter cycles).
    deferred: tuple[str, ...]
    collections: list[Collection] = field(default_factory=list)
    # Custom apply at the receiving end (e.g. events are renumbered in the county's log).
    applier: Callable | None = None
    # (column here, parent spec's table name) for rows owned through their parent.
    parent: tuple[str, str] | None = None
    # (column here, referenced table name): referenced rows copied along (``__sync_carry__``).
    carry: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.table.name

    def key_of(self, obj):
        return getattr(obj, self.pk_attr)

    def hall_of(self, row: dict) -> uuid.UUID | None:
        value = row.get(self.hall_column) if self.hall_column else None
        try:
            return uuid.UUID(str(value)) if value is not None else None
        except ValueError:
            return None


_models: dict[str, SyncedModel] = {}
_by_class: dict[type, SyncedModel] = {}
_owners: dict[str, list[tuple[SyncedModel, Collection]]] = {}  # association table -> owners
_appliers: dict[str, Callable] = {}
_stale = True   # a mapper was made since the last _build (checked on every synced write)


@event.listens_for(Mapper, "instrument_class")
def _new_mapper(mapper, cls) -> None:
    global _stale
    _stale = True


def register_applier(table: str, applier: Callable) -> None:
    """Replace the default upsert for one table at the receiving end."""
    _appliers[table] = applier
    if table in _models:
        _models[table].applier = applier


def _build() -> None:
    global _stale
    if not _stale:
        return
    configure_mappers()
    mappers = list(db.Model.registry.mappers)
    order = {table.name: i for i, table in enumerate(db.metadata.sorted_tables)}
    _models.clear()
    _by_class.clear()
    _owners.clear()
    for mapper in mappers:
        cls = mapper.class_
        direction = cls.__dict__.get("__sync__")
        if direction is None:
            continue
        if direction not in DIRECTIONS:
            raise ValueError(f"{cls.__name__}.__sync__ must be 'up' or 'down'")
        table = mapper.local_table
        if len(table.primary_key.columns) != 1:
            raise ValueError(f"synced model {cls.__name__} needs a single-column primary key")
        pk = list(table.primary_key.columns)[0]
        scope = getattr(cls, "__sync_scope__", "all")
        hall_column = getattr(cls, "__sync_hall__", "hall_id")
        hall_column = hall_column if hall_column is not None and hall_column in table.c else None
        parent = getattr(cls, "__sync_parent__", None)
        if (direction == "up" or scope == "hall") and hall_column is None and not parent:
            raise ValueError(f"synced model {cls.__name__} needs a hall column or a parent")
        hall_attr = (mapper.get_property_by_column(table.c[hall_column]).key
                     if hall_column else None)
        carry = []
        for name in getattr(cls, "__sync_carry__", ()):
            keys = list(table.c[name].foreign_keys) if name in table.c else []
            if len(keys) != 1:
                raise ValueError(f"{cls.__name__}.__sync_carry__: {name!r} is not a foreign key")
            carry.append((name, keys[0].column.table.name))
        deferred = tuple(
            column.name for column in table.columns
            if any(fk.use_alter or fk.column.table is table for fk in column.foreign_keys))
        spec = SyncedModel(
            cls=cls, mapper=mapper, table=table, direction=direction, scope=scope,
            hall_column=hall_column, hall_attr=hall_attr,
            pk=pk, pk_attr=mapper.get_property_by_column(pk).key, parent=parent,
            carry=tuple(carry),
            exclude=frozenset(getattr(cls, "__sync_exclude__", ())),
            handover=getattr(cls, "__sync_handover__", True),
            snapshot=getattr(cls, "__sync_snapshot__", True),
            order=order.get(table.name, 0), deferred=deferred,
            applier=_appliers.get(table.name))
        for rel in mapper.relationships:
            if rel.secondary is None or rel.viewonly:
                continue
            (_, local), = rel.synchronize_pairs
            (remote_parent, remote), = rel.secondary_synchronize_pairs
            spec.collections.append(Collection(
                key=rel.key, secondary=rel.secondary, local=local, remote=remote,
                remote_attr=rel.mapper.get_property_by_column(remote_parent).key))
        _models[table.name] = spec
        _by_class[cls] = spec
        for coll in spec.collections:
            _owners.setdefault(coll.secondary.name, []).append((spec, coll))
    _stale = False


def synced_models() -> list[SyncedModel]:
    _build()
    return sorted(_models.values(), key=lambda spec: spec.order)


def spec_for_table(name: str) -> SyncedModel | None:
    _build()
    return _models.get(name)


def collection_owners(table_name: str) -> list[tuple[SyncedModel, Collection]]:
    """The synced models whose many-to-many collection is kept in that association table."""
    _build()
    return _owners.get(table_name, [])


def spec_for(obj_or_cls) -> SyncedModel | None:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    if "__sync__" not in cls.__dict__ and not any("__sync__" in c.__dict__ for c in cls.__mro__):
        return None
    _build()
    return _by_class.get(cls)


def hall_expression(spec: SyncedModel):
    """SQL for the hall of a stored row: its hall column, its parent row's, or NULL."""
    if spec.hall_column:
        return spec.table.c[spec.hall_column]
    if not spec.parent:
        return null()
    column, table = spec.parent
    parent = spec_for_table(table)
    return (select(parent.table.c[parent.hall_column]).where(parent.pk == spec.table.c[column])
            .scalar_subquery())


# -- values on the wire ------------------------------------------------------------------------

def to_wire(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):  # binary columns (voice clips) travel as base64 text
        return base64.b64encode(value).decode("ascii")
    return value


def _python_type(column: Column):
    kind = column.type
    kind = getattr(kind, "impl_instance", None) or getattr(kind, "impl", None) or kind \
        if isinstance(kind, TypeDecorator) else kind
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def from_wire(column: Column, value):
    """Turn a JSON value back into what the column expects; ValueError for nonsense."""
    if value is None:
        return None
    kind = _python_type(column)
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"{column.name}: naive datetime")
        return parsed
    if kind is date:
        return date.fromisoformat(value)
    if kind is bytes:
        if not isinstance(value, str):
            raise ValueError(f"{column.name}: expected base64 text")
        return base64.b64decode(value, validate=True)
    if kind in (int, bool) and not isinstance(value, (int, bool)):
        raise ValueError(f"{column.name}: expected {kind.__name__}")
    if kind is str and not isinstance(value, str):
        raise ValueError(f"{column.name}: expected text")
    return value


def serialize(spec: SyncedModel, obj, *, collections: bool | set = True) -> dict:
    """The full row as JSON, plus the many-to-many collections asked for."""
    row = {}
    for prop in spec.mapper.column_attrs:
        column = prop.columns[0]
        if column.table is not spec.table or column.name in spec.exclude:
            continue
        row[column.name] = to_wire(getattr(obj, prop.key))
    for coll in spec.collections:
        if collections is True or (collections and coll.key in collections):
            related = getattr(obj, coll.key)
            row["@" + coll.key] = sorted(str(getattr(r, coll.remote_attr)) for r in related)
    return row
