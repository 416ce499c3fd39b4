"""``service_hall.db.execute_direct``: the hot paths' statements past the ORM's execute path,
refused for a table whose writes a session hook must see (sync capture, caches, roll-up)."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from kiosks.models import TicketCounter
from service_hall.audit.models import AuditEntry
from service_hall.cases.models import Case
from service_hall.catalog.models import ServiceItem
from service_hall.clock import service_day
from service_hall.db import bump_counter, execute_direct
from service_hall.extensions import db


@pytest.mark.parametrize("model", [AuditEntry, ServiceItem, Case],
                         ids=["synced", "cached", "rolled-up"])
def test_a_write_a_hook_must_see_is_refused(app, model):
    with pytest.raises(RuntimeError, match="session hook"):
        execute_direct(db.session, update(model).values(id=model.id))
    db.session.rollback()


def test_counters_and_reads_run_in_the_session_transaction(app, factory):
    hall = factory.hall("C1")
    db.session.commit()
    keys = {"hall_id": hall.id, "key": "no:A", "day": service_day()}
    assert [bump_counter(db.session, TicketCounter, keys) for _ in range(3)] == [1, 2, 3]
    db.session.rollback()           # the same transaction as the session's: nothing kept
    assert execute_direct(db.session, select(TicketCounter.value)).all() == []
    assert bump_counter(db.session, TicketCounter, keys) == 1
    db.session.commit()
    assert db.session.scalar(select(TicketCounter.value)) == 1
    with pytest.raises(RuntimeError):
        execute_direct(db.session, insert(AuditEntry).values(action="x"))
