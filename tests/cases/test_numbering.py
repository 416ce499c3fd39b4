"""Case numbers: each node numbers a hall in a space of its own (service_hall.cases.numbering),
so the county's numbers for a hall a township node serves never meet that node's."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select

from realtime.sync.county import register_node
from service_hall.cases.history_load import catalog_specs
from service_hall.cases.operations import next_case_number
from service_hall.cases.models import Case, CaseCounter
from service_hall.catalog.models import Hall
from service_hall.extensions import db
from tests.casework import IMPORT_TODAY, freeze_today, seed_2026
from tests.conftest import as_township
from tests.factories import bearer, token_for

DAY = date(2026, 11, 20)


@pytest.fixture()
def halls(client, factory, monkeypatch):
    """County C1; T1 runs a node (registered here), T2 does not."""
    seed_2026()
    freeze_today(monkeypatch, IMPORT_TODAY)
    c1 = factory.hall("C1")
    t1 = factory.hall("T1", "township", parent=c1, linked=True)
    t2 = factory.hall("T2", "township", parent=c1, linked=True)
    department = factory.department(c1, code="C1-D1")
    factory.item(department, code="P5", prefix="A", kind="promise", promised=5, statutory=20,
                 levels=("county", "township"))
    factory.user("admin", "admin", c1)
    register_node("T1")
    db.session.commit()
    return {"C1": c1, "T1": t1, "T2": t2, "admin": bearer(token_for(client, "admin"))}




def test_the_county_marks_its_numbers_for_a_hall_a_township_node_serves(halls):
    assert next_case_number(halls["C1"], DAY) == "C1-20261120-0001"
    assert next_case_number(halls["T2"], DAY) == "T2-20261120-0001"  # no node: the county's
    assert next_case_number(halls["T1"], DAY) == "T1-20261120-C0001"
    assert next_case_number(halls["T1"], DAY) == "T1-20261120-C0002"
    # The demo history seeded at the county numbers by the same rule.
    assert {spec.code: spec.mark for spec in catalog_specs(halls["C1"])[0]} == {
        "C1": "", "T1": "C", "T2": ""}
    db.session.commit()


def test_a_township_numbers_its_own_halls_plainly(halls):
    day = date(2026, 11, 23)
    with as_township("T1"):
        own = db.session.scalars(select(Hall).where(Hall.code == "T1")).one()
        county = db.session.scalars(select(Hall).where(Hall.code == "C1")).one()
        assert next_case_number(own, day) == "T1-20261123-0001"
        assert next_case_number(own, day) == "T1-20261123-0002"
        # Not a hall it serves (its accounts never reach one): its own mark all the same.
        assert next_case_number(county, day) == "C1-20261123-T1-0001"
        db.session.rollback()


def test_an_import_at_the_county_numbers_by_the_same_rule(client, halls):
    rows = [{"item_code": "P5", "hall_code": code, "accepted_on": DAY.isoformat(),
             "completed_on": "2026-11-26"} for code in ("T1", "C1", "T1")]
    answer = client.post("/api/v1/cases/import", headers=halls["admin"], json=rows)
    assert answer.status_code == 201, answer.get_json()
    assert [row["case_no"] for row in answer.get_json()] == [
        "T1-20261120-C0001", "C1-20261120-0001", "T1-20261120-C0002"]


def _import(client, halls, *codes):
    rows = [{"item_code": "P5", "hall_code": code, "accepted_on": DAY.isoformat(),
             "completed_on": "2026-11-26"} for code in codes]
    answer = client.post("/api/v1/cases/import", headers=halls["admin"], json=rows)
    assert answer.status_code == 201, answer.get_json()
    return [row["case_no"] for row in answer.get_json()]


def test_numbers_a_hall_already_has_are_skipped_when_the_counter_is_behind(client, halls):
    """The county numbered T2 before T2 ran a node; the node's first copy brings those cases
    while its own counter starts at 0 (the test database is shared, as after the snapshot)."""
    assert _import(client, halls, "T2", "T2") == ["T2-20261120-0001", "T2-20261120-0002"]
    register_node("T2")
    db.session.commit()
    with as_township("T2"):
        own = db.session.scalars(select(Hall).where(Hall.code == "T2")).one()
        db.session.execute(delete(CaseCounter))   # the node's counters start empty
        assert next_case_number(own, DAY) == "T2-20261120-0003"
        assert next_case_number(own, DAY) == "T2-20261120-0004"
        db.session.rollback()


def test_an_import_skips_numbers_a_hall_already_has(client, halls):
    assert _import(client, halls, "C1", "C1") == ["C1-20261120-0001", "C1-20261120-0002"]
    db.session.execute(delete(CaseCounter))       # e.g. restored from an older backup
    db.session.commit()
    # The reserved block was 0001–0003: 0003 is kept, the two taken ones replaced by the next.
    assert sorted(_import(client, halls, "C1", "C1", "C1")) == [
        "C1-20261120-0003", "C1-20261120-0004", "C1-20261120-0005"]
    numbers = db.session.scalars(select(Case.case_no).where(Case.case_no.like("C1-%")))
    assert sorted(numbers) == [f"C1-20261120-000{n}" for n in range(1, 6)]
