"""The supervisors' tables: ONE function per table gives its columns and rows, used both by the
dashboard (JSON) and by the xlsx export, so a download always holds what the table shows.

Tables: ``departments`` (on-time completion by department, drill-down to ``windows``), ``halls``
(county hall and township halls, drill-down to a township's ``windows``), ``windows``,
``months`` (the trend), ``open_cases`` (yellow and red), ``rectifications``, ``letters``,
``live`` (window states of every hall of the county).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.auth.actor import Actor
from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases.models import OPEN_STATUSES, Case
from service_hall.cases.operations import applicant, case_light, effective_due_on
from service_hall.catalog.models import Department, Hall
from service_hall.errors import bad_request, forbidden, not_found
from service_hall.extensions import db
from service_hall.ratings.models import Rectification
from service_hall.stats.queries import completion, live
from service_hall.supervision.models import KIND_TITLES, Letter

RATE_COLUMNS = [("completed", "办结 Completed"), ("early", "提前 Early"),
                ("on_time", "按时 On time"), ("overdue", "超期 Overdue"),
                ("on_time_rate", "按时办结率 On-time rate"), ("open", "在办 Open"),
                ("open_overdue", "超期未办结 Open overdue")]
LIGHT_NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
STATE_NAMES = {"closed": "未开窗", "idle": "空闲", "serving": "办理中", "paused": "暂停",
               "away": "离岗"}
MAX_ROWS = 5000


@dataclass
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    # Per row, the table and arguments it drills down to (None: no drill-down).
    drill: list = field(default_factory=list)

    def json(self) -> dict:
        return {"name": self.name, "title": self.title,
                "columns": [{"key": k, "label": label} for k, label in self.columns],
                "rows": self.rows, "drill": self.drill}


@dataclass(frozen=True)
class Context:
    actor: Actor
    county: Hall
    hall_ids: list       # the county hall and its township halls
    cal: WorkingCalendar
    today: date
    yellow_days: int


def county_for(actor: Actor, code: str | None) -> Hall:
    """The county a supervisor looks at: their own, or (deployment-wide) the one asked for."""
    stmt = select(Hall).where(Hall.level == "county")
    if code:
        stmt = stmt.where(Hall.code == code)
    elif actor.hall_id is not None:
        own = db.session.get(Hall, actor.hall_id)
        stmt = stmt.where(Hall.id == (own.county_id or own.id))
    county = db.session.scalars(stmt.order_by(Hall.code)).first()
    if county is None:
        raise not_found("没有这个县级大厅 (no such county hall)", "unknown_hall")
    if not actor.may_see_hall(county):
        raise forbidden(f"您无权查看 {county.name} (outside your scope)", "out_of_scope")
    return county


def _rate_rows(answer: dict, label: str) -> list[dict]:
    """Rows in code order (windows by number); cases with no window come last."""
    groups = sorted(answer.get("groups", []), key=lambda g: (
        g.get("key") is None, g.get("number") or 0, str(g.get("key"))))
    return [{"key": g["key"], label: g.get("name") or g["key"] or "（未指定窗口）",
             **{k: g[k] for k, _ in RATE_COLUMNS}} for g in groups]


def build(name: str, ctx: Context, args) -> Table:
    builder = BUILDERS.get(name)
    if builder is None:
        raise not_found(f"没有表格 {name} (no such table)", "unknown_table")
    return builder(ctx, args)


def _bounds(ctx: Context, args) -> tuple[date, date]:
    """The period asked for; by default the year so far."""
    from service_hall.calendar.api import parse_date
    end = parse_date(args["to"], "to") if args.get("to") else ctx.today
    start = parse_date(args["from"], "from") if args.get("from") else date(end.year, 1, 1)
    if start > end:
        raise bad_request("from 不能晚于 to (from must not be after to)", "invalid_period")
    return start, end


def _department(ctx: Context, code: str) -> Department:
    department = db.session.scalars(select(Department).where(
        Department.code == code, Department.hall_id == ctx.county.id)).first()
    if department is None:
        raise not_found("没有这个部门 (no such department)", "unknown_department")
    return department


def _hall(ctx: Context, code: str) -> Hall:
    hall = db.session.scalars(select(Hall).where(Hall.code == code,
                                                 Hall.id.in_(ctx.hall_ids))).first()
    if hall is None:
        raise not_found("没有这个大厅 (no such hall)", "unknown_hall")
    return hall


def departments(ctx: Context, args) -> Table:
    start, end = _bounds(ctx, args)
    answer = completion(hall_ids=[ctx.county.id], department_id=None, start=start, end=end,
                        group_by="department", cal=ctx.cal, today=ctx.today)
    rows = _rate_rows(answer, "department")
    return Table("departments", f"各部门按时办结率 {start} – {end}",
                 [("department", "部门 Department")] + RATE_COLUMNS, rows,
                 [{"table": "windows", "department": r["key"]} for r in rows])


def halls(ctx: Context, args) -> Table:
    start, end = _bounds(ctx, args)
    answer = completion(hall_ids=ctx.hall_ids, department_id=None, start=start, end=end,
                        group_by="hall", cal=ctx.cal, today=ctx.today)
    rows = _rate_rows(answer, "hall")
    return Table("halls", f"县中心与乡镇便民服务中心 {start} – {end}",
                 [("hall", "大厅 Hall")] + RATE_COLUMNS, rows,
                 [{"table": "windows", "hall": r["key"]} for r in rows])


def windows(ctx: Context, args) -> Table:
    start, end = _bounds(ctx, args)
    hall_ids, department_id, where = [ctx.county.id], None, ctx.county.name
    if args.get("department"):
        department = _department(ctx, args["department"])
        department_id, where = department.id, department.name
    elif args.get("hall"):
        hall = _hall(ctx, args["hall"])
        hall_ids, where = [hall.id], hall.name
    answer = completion(hall_ids=hall_ids, department_id=department_id, start=start, end=end,
                        group_by="window", cal=ctx.cal, today=ctx.today)
    rows = _rate_rows(answer, "window")
    return Table("windows", f"{where} 各窗口 {start} – {end}",
                 [("window", "窗口 Window")] + RATE_COLUMNS, rows)


def months(ctx: Context, args) -> Table:
    end = ctx.today
    start = date(end.year - 1, end.month, 1)
    department_id, hall_ids = None, ctx.hall_ids
    if args.get("department"):
        department_id = _department(ctx, args["department"]).id
    answer = completion(hall_ids=hall_ids, department_id=department_id, start=start, end=end,
                        group_by="month", cal=ctx.cal, today=ctx.today)
    rows = [{"month": g["key"], **{k: g[k] for k, _ in RATE_COLUMNS[:5]}}
            for g in answer.get("groups", [])]
    return Table("months", f"按月趋势 {start:%Y-%m} – {end:%Y-%m}",
                 [("month", "月份 Month")] + RATE_COLUMNS[:5], rows)


def open_cases(ctx: Context, args) -> Table:
    bound = ctx.cal.due_on(ctx.today, ctx.yellow_days)
    stmt = (select(Case).options(joinedload(Case.item), joinedload(Case.department),
                                 joinedload(Case.hall))
            .where(Case.hall_id.in_(ctx.hall_ids), Case.status.in_(OPEN_STATUSES),
                   Case.due_on <= bound).order_by(Case.due_on, Case.case_no))
    if args.get("department"):
        stmt = stmt.where(Case.department_id == _department(ctx, args["department"]).id)
    rows = []
    for case in db.session.scalars(stmt.limit(MAX_ROWS)):
        lit = case_light(case, ctx.cal, ctx.today, ctx.yellow_days)
        if lit not in ("yellow", "red"):
            continue
        person = applicant(case)
        due = effective_due_on(case, ctx.cal, ctx.today)
        rows.append({"light": LIGHT_NAMES[lit], "case_no": case.case_no,
                     "hall": case.hall.name, "department": case.department.name,
                     "item": case.item.name, "accepted_on": case.accepted_on.isoformat(),
                     "due_on": due.isoformat(),
                     "days_left": ctx.cal.working_days_left(due, ctx.today),
                     "status": "补正中" if case.status == "on_hold" else "办理中",
                     "applicant": person["name"] if person else ""})
    return Table("open_cases", "黄灯、红灯在办件 Open cases at yellow and red",
                 [("light", "灯 Light"), ("case_no", "办件编号 Case"), ("hall", "大厅 Hall"),
                  ("department", "部门 Department"), ("item", "事项 Item"),
                  ("accepted_on", "受理日 Accepted"), ("due_on", "到期日 Due"),
                  ("days_left", "剩余工作日 Days left"), ("status", "状态 Status"),
                  ("applicant", "申请人 Applicant")], rows)


def rectifications(ctx: Context, args) -> Table:
    status = args.get("status") or "open"
    if status not in ("open", "closed", "all"):
        raise bad_request("status 须为 open、closed 或 all", "invalid_status")
    stmt = (select(Rectification).options(joinedload(Rectification.department),
                                          joinedload(Rectification.hall),
                                          joinedload(Rectification.rating))
            .where(Rectification.hall_id.in_(ctx.hall_ids))
            .order_by(Rectification.opened_on.desc()))
    if status != "all":
        stmt = stmt.where(Rectification.status == status)
    rows = [{"opened_on": r.opened_on.isoformat(), "due_on": r.due_on.isoformat(),
             "hall": r.hall.name, "department": r.department.name, "level": r.rating.level,
             "reasons": "、".join(r.rating.reasons or []),
             "status": "已整改" if r.status == "closed" else
             ("逾期未整改" if r.due_on < ctx.today else "整改中"),
             "closed_on": r.closed_on.isoformat() if r.closed_on else "", "result": r.result}
            for r in db.session.scalars(stmt.limit(MAX_ROWS))]
    return Table("rectifications", "差评整改 Rectifications",
                 [("opened_on", "发起日 Opened"), ("due_on", "期限 Due"), ("hall", "大厅 Hall"),
                  ("department", "部门 Department"), ("level", "评价 Level"),
                  ("reasons", "原因 Reasons"), ("status", "状态 Status"),
                  ("closed_on", "整改日 Closed"), ("result", "整改结果 Result")], rows)


def letters(ctx: Context, args) -> Table:
    stmt = select(Letter).where(Letter.county_id == ctx.county.id).order_by(
        Letter.month.desc(), Letter.kind, Letter.serial)
    if args.get("month"):
        stmt = stmt.where(Letter.month == args["month"])
    found = list(db.session.scalars(stmt.limit(MAX_ROWS)))
    rows = [{"id": str(letter.id), "number": letter.number, "title": KIND_TITLES[letter.kind],
             "month": letter.month, "subject": letter.subject_name,
             "cases": len(letter.content.get("cases", [])),
             "rectifications": len(letter.content.get("rectifications", [])),
             "created_at": letter.created_at.date().isoformat()} for letter in found]
    return Table("letters", "三函 Letters",
                 [("number", "文号 Number"), ("title", "类别 Kind"), ("month", "月份 Month"),
                  ("subject", "致 To"), ("cases", "办件 Cases"),
                  ("rectifications", "整改 Rectifications"), ("created_at", "印发日 Issued")],
                 rows, [{"letter": r["id"]} for r in rows])


def live_windows(ctx: Context, args) -> Table:
    rows = []
    for hall in db.session.scalars(select(Hall).where(Hall.id.in_(ctx.hall_ids))
                                   .order_by(Hall.level, Hall.code)):
        figures = live(hall, today=ctx.today)
        for w in figures["windows"]:
            rows.append({"hall": hall.name, "window": f"{w['number']}号窗口",
                         "state": STATE_NAMES.get(w["state"], w["state"]),
                         "reason": w["state_reason"] or ""})
    return Table("live", "窗口状态 Window states",
                 [("hall", "大厅 Hall"), ("window", "窗口 Window"), ("state", "状态 State"),
                  ("reason", "原因 Reason")], rows)


def township_links(ctx: Context, args) -> Table:
    """Each township node's link (SPEC 6): when it last synced, what it still has to send."""
    from realtime.sync.county import node_status
    codes = set(db.session.scalars(select(Hall.code).where(Hall.id.in_(ctx.hall_ids))))
    rows = [{"hall": n["hall_name"] or n["node"], "linked": "是" if n["linked"] else "否",
             "connected": "在线" if n["connected"] else "离线",
             "last_sync_at": n["last_sync_at"] or "—", "unsent_backlog": n["unsent_backlog"],
             "down_backlog": n["down_backlog"], "last_error": n["last_error"] or ""}
            for n in node_status() if n["node"] in codes]
    return Table("links", "乡镇节点同步 Township nodes",
                 [("hall", "乡镇 Township"), ("linked", "互联 Linked"),
                  ("connected", "连接 Link"), ("last_sync_at", "最近同步 Last sync"),
                  ("unsent_backlog", "待上传 Unsent"), ("down_backlog", "待下发 To send down"),
                  ("last_error", "错误 Error")], rows)


BUILDERS = {"departments": departments, "halls": halls, "windows": windows, "months": months,
            "open_cases": open_cases, "rectifications": rectifications, "letters": letters,
            "live": live_windows, "links": township_links}
