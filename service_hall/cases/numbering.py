"""Case numbers: ``{hall code}-{YYYYMMDD}-{serial:04d}``, the serial from the node's counter
row of that hall and acceptance day (``CaseCounter``).

More than one node may number a hall's cases: a township node numbers the cases of its halls,
and the county still creates cases for them (an import at the county for the township's hall).
Counter rows are never synced, so neither counter knows the other's serials. The numbers never
meet, whatever is offline, because each node numbers in a space of its own: the node serving
the hall numbers plainly (``T1-20261127-0001``), and a node numbering a hall it does not serve
puts its mark before the serial (``T1-20261127-C0001`` from the county). Every path that
numbers cases (accepting, importing, the demo history) takes the mark from :func:`number_mark`.

A counter can also be behind the numbers a hall already has: numbers the county gave a hall
before a township node served it arrive at the node with its first copy, while the node's
counter starts at 0 (likewise after a hall is taken back, or a restore). So a number is only
handed out once no case of the hall has it (:func:`taken_numbers`); a taken one is skipped.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from realtime.sync.capture import node_config, node_halls
from service_hall.cases.models import Case

COUNTY_MARK = "C"


class _Coded(Protocol):
    code: str


def case_number(hall: _Coded, day: date, serial: int, mark: str = "") -> str:
    """``610826-20261127-0001``: hall code, acceptance day, serial of that hall and day, after
    the numbering node's mark when it does not serve the hall."""
    return f"{hall.code}-{day:%Y%m%d}-{mark}{serial:04d}"


def number_mark(session: Session, hall_id) -> str:
    """The mark this node puts in the numbers it gives ``hall_id``'s cases: none for a hall it
    serves; ``C`` at the county for a hall a township node serves; at a township (whose
    accounts are scoped to its own halls, so this does not arise) its node code and a dash."""
    config = node_config()
    if config is None:
        return ""
    if config.role == "county":
        return COUNTY_MARK if hall_id in node_halls(session) else ""
    return "" if hall_id in node_halls(session, config.node_code) else f"{config.node_code}-"


def taken_numbers(session: Session, hall_id, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` a case of the hall already has."""
    numbers = list(numbers)
    taken: set[str] = set()
    for i in range(0, len(numbers), 1000):
        taken.update(session.scalars(select(Case.case_no).where(
            Case.hall_id == hall_id, Case.case_no.in_(numbers[i:i + 1000]))))
    return taken
