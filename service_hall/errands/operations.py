"""What happens to an errand (SPEC 3.7): log, submit, accept (a case, in one step), follow the
case to its end, hand the result back.

Plain functions: they change state, flush, audit and record events; the caller commits.
Villagers' personal data goes through ``service_hall.privacy`` exactly as case applicants'.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime

from realtime.events import record_event
from service_hall import documents, privacy
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases import operations as case_ops
from service_hall.cases.models import Case
from service_hall.catalog.models import Hall, ServiceItem
from service_hall.catalog.queries import offered_item
from service_hall.db import bump_counter, get_by
from service_hall.errands.models import Errand, ErrandCounter
from service_hall.errors import conflict, forbidden, unprocessable
from service_hall.extensions import db

STATUS_LABELS = {"logged": "已登记", "submitted": "已送交", "accepted": "已受理",
                 "completed": "已办结", "returned": "已送达"}


def errand_number(point: Hall, day: date, serial: int) -> str:
    """``DB610826100200-20261127-001``: 代办, village point code, day, serial of that point."""
    return f"DB{point.code}-{day:%Y%m%d}-{serial:03d}"


def targets(point: Hall) -> list[Hall]:
    """The halls an errand of this point may be handed to: its township, then its county."""
    chain, hall = [], point.parent
    while hall is not None:
        if hall.level in ("township", "county"):
            chain.append(hall)
        hall = hall.parent
    return chain


def loggable_item(point: Hall, code: str) -> ServiceItem:
    item = offered_item(point, code)
    if not item.agent_loggable:
        raise unprocessable(f"事项 {code} 不可代办 (item {code!r} cannot be logged by an agent)",
                            "not_agent_loggable")
    return item


def _event(errand: Errand, hall: Hall, type_: str, *, audience: str) -> None:
    data = {"errand_id": str(errand.id), "errand_no": errand.errand_no, "status": errand.status,
            "point_code": errand.point.code, "item_code": errand.item.code,
            "item_name": errand.item.name}
    if audience == "public":  # the villager's QR page: status only, no ids that open records
        data = {"errand_no": errand.errand_no, "status": errand.status,
                "status_label": STATUS_LABELS[errand.status], "result": errand.result}
    record_event(db.session, hall, type_, data, audience=audience,
                 track_token=errand.track_token if audience == "public" else None)


def _change(errand: Errand, status: str, actor: Actor, action: str, *, hall: Hall,
            **details) -> None:
    before = errand.status
    errand.status = status
    audit(actor, action, "errand", errand.id, hall_id=hall.id, from_state=before,
          to_state=status, details=details or None)
    _event(errand, errand.point, "errand.status", audience="public")


def log_errand(point: Hall, item: ServiceItem, villager: dict, *, materials: list[str],
               note: str, actor: Actor, today: date, now: datetime) -> Errand:
    """Log (登记) a villager's request at a village point; materials must be the item's own."""
    if point.level != "village":
        raise unprocessable("代办只能在村便民服务站登记 (errands are logged at village points)",
                            "not_a_village_point")
    name = privacy.normalise_name(villager.get("name", ""))
    document = documents.from_person(villager, today=today)
    phone = privacy.normalise_phone(villager.get("phone", ""))
    known = list(item.materials or [])
    unknown = [m for m in materials if m not in known]
    if unknown:
        raise unprocessable(f"材料不在该事项的清单中：{unknown[0]} (not a material of this item)",
                            "unknown_material")
    received = [m for m in known if m in materials]  # checklist order, no duplicates
    document_enc, document_hash = documents.protect(document)
    serial = bump_counter(db.session, ErrandCounter, {"hall_id": point.id, "day": today})
    errand = Errand(errand_no=errand_number(point, today, serial), point_hall_id=point.id,
                    point=point, item_id=item.id, item=item, status="logged",
                    track_token=secrets.token_urlsafe(12), materials=received,
                    note=(note or "").strip(), logged_by_user_id=actor.user_id,
                    logged_on=today, logged_at=now,
                    villager_name_enc=privacy.encrypt(name),
                    villager_id_enc=document_enc, villager_id_hash=document_hash,
                    villager_phone_enc=privacy.encrypt(phone))
    db.session.add(errand)
    db.session.flush()
    audit(actor, "errand.log", "errand", errand.id, hall_id=point.id, to_state="logged",
          details={"errand_no": errand.errand_no, "item": item.code, "materials": received})
    _event(errand, point, "errand.status", audience="public")
    return errand


def _require(errand: Errand, *statuses: str) -> None:
    if errand.status not in statuses:
        raise conflict(f"代办件状态为{STATUS_LABELS.get(errand.status, errand.status)}，不能执行此"
                       f"操作 (errand is {errand.status})", "invalid_errand_state")


def submit_errand(errand: Errand, target: Hall, *, actor: Actor, now: datetime) -> Errand:
    """Hand (送交) the errand to its township hall or the county; that hall must offer the item."""
    _require(errand, "logged")
    if target.id not in {hall.id for hall in targets(errand.point)}:
        raise unprocessable("只能送交本乡镇便民服务大厅或县政务服务中心 (hand errands to the "
                            "point's township hall or county centre)", "invalid_target")
    offered_item(target, errand.item.code)
    errand.target_hall_id, errand.target, errand.submitted_at = target.id, target, now
    _change(errand, "submitted", actor, "errand.submit", hall=errand.point, to_hall=target.code)
    _event(errand, target, "errand.submitted", audience="staff")
    return errand


def accept_errand(errand: Errand, *, actor: Actor, cal: WorkingCalendar, today: date,
                  now: datetime, yellow_days: int) -> Case:
    """Accept (受理) a submitted errand at its hall: a case is created there, in one step, with
    the villager as applicant, and linked to the errand."""
    _require(errand, "submitted")
    if actor.hall_id != errand.target_hall_id:
        raise forbidden("只有受理大厅的窗口人员可以受理 (only a clerk of the hall it was handed "
                        "to may accept it)", "out_of_scope")
    case = case_ops.accept_case(errand.target, errand.item, villager(errand, reveal=True),
                                actor=actor, cal=cal, today=today, now=now,
                                yellow_days=yellow_days)
    errand.case_id, errand.case, errand.accepted_at = case.id, case, now
    _change(errand, "accepted", actor, "errand.accept", hall=errand.target, case_no=case.case_no)
    _event(errand, errand.target, "errand.accepted", audience="staff")
    return case


def follow_case(case: Case, *, actor: Actor, now: datetime) -> Errand | None:
    """Called when a case ends (completed or rejected): its errand, if any, becomes completed
    so the agent can hand the result back."""
    errand = get_by(Errand, case_id=case.id)
    if errand is None or errand.status != "accepted":
        return None
    errand.result = "completed" if case.status == "completed" else "rejected"
    errand.completed_at = now
    _change(errand, "completed", actor, "errand.complete", hall=case.hall,
            case_no=case.case_no, result=errand.result)
    return errand


def return_errand(errand: Errand, *, actor: Actor, now: datetime) -> Errand:
    """Hand the result back to the villager (送达)."""
    _require(errand, "completed")
    errand.returned_at = now
    _change(errand, "returned", actor, "errand.return", hall=errand.point)
    return errand


def villager(errand: Errand, *, reveal: bool = False) -> dict:
    """The villager, masked by ``service_hall.documents.person`` unless revealed."""
    return documents.person(errand.villager_name_enc, errand.villager_id_enc,
                          errand.villager_phone_enc, reveal=reveal)
