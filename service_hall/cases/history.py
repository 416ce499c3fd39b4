"""Plausible past activity for a demo or a benchmark: tickets, cases, holds, ratings and
rectifications, generated day by day from a seeded RNG over a catalog.

One generator, two sinks: ``seed-demo --history`` inserts its rows with Core ``executemany``
(``service_hall.cases.history_load``), ``bench/stats_10m.py`` streams them into PostgreSQL with
COPY. Every figure follows the rules of SPEC 3.4 through the same ``WorkingCalendar``: due dates,
holds pushing the due date, elapsed working days, outcome and traffic light.

Shape (defaults reproduce Suide: ~306 cases per working day, ~99% on time):
- busier Mondays and days before the Spring Festival, quieter Fridays, ±10% noise;
- departments weighted Zipf-like (police, civil affairs, social security … take most);
- about 12% of cases at township halls, the four linked ones busier;
- immediate items done the same day; promise items mostly early, some exactly on the promise,
  a small overdue share that differs by department and shrinks over the two years;
- ~6% of promise cases stop the clock for missing materials (1–5 working days);
- cases that would finish after ``today`` are still open (green, yellow or red);
- applicants (encrypted) on the cases of the last ``applicant_days`` only;
- ~45% of cases rated, mostly 5 and 4; a 1 or 2 opens a rectification, most closed in time.
"""
from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Iterator
from zoneinfo import ZoneInfo

from service_hall.calendar.rules import WorkingCalendar, light, outcome
from service_hall.cases.numbering import case_number
from service_hall.errors import ApiError

RATING_LEVELS = (5, 4, 3, 2, 1)
RATING_CUMULATIVE = tuple(accumulate((0.78, 0.17, 0.035, 0.01, 0.005)))
RATING_REASONS = {
    5: ["服务热情周到", "办事效率高", "一次办成"], 4: ["服务态度好", "办理较快"],
    3: ["等候时间偏长", "流程有待简化"], 2: ["等候时间过长", "材料要求反复"],
    1: ["多次跑腿仍未办成", "态度生硬推诿"],
}
RECTIFY_RESULTS = ["已约谈窗口人员并开展业务培训，当事群众已回访满意。",
                   "已优化办理流程，一次性告知所需材料，已向群众致歉。",
                   "已调整窗口人员配置，高峰期增开窗口，回访群众表示认可。"]
SURNAMES = "王李张刘陈杨赵黄周吴高郭马白崔薛贺田冯霍党曹辛苗姬雷韩"
GIVEN = "建国伟华明军平芳丽娟强磊洋艳勇杰涛超秀英兰霞红梅海燕鹏飞志刚"


@dataclass
class ItemSpec:
    id: uuid.UUID
    department_id: uuid.UUID
    kind: str
    promised_days: int
    prefix: str


@dataclass
class HallSpec:
    id: uuid.UUID
    code: str
    weight: float
    # item id -> windows (id, department id or None, clerk user id or None) serving it here
    windows: dict[uuid.UUID, list[tuple]]
    # The mark in the numbers the seeding node gives this hall (service_hall.cases.numbering).
    mark: str = ""


@dataclass
class HistoryParams:
    start: date
    today: date                   # history covers [start, today); open cases are as of today
    cases_per_day: float = 306.0
    seed: int = 610826
    overdue_share: float = 0.012  # of promise cases, before the department factor and the trend
    hold_share: float = 0.06
    reject_share: float = 0.004
    rating_share: float = 0.45
    green_share: float = 0.03
    rectify_days: int = 15
    yellow_days: int = 1
    tickets: bool = True
    ratings: bool = True
    # Applicants (encrypted) only on the cases of the last N days: enough for the lists staff
    # and letters show; older history comes without personal data, as from an old system.
    applicant_days: int = 62
    timezone: str = "Asia/Shanghai"


@dataclass
class DayRows:
    day: date
    cases: list[dict] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)
    rectifications: list[dict] = field(default_factory=list)
    case_counters: dict = field(default_factory=dict)   # hall id -> cases that day


def first_case_id(seed: int) -> uuid.UUID:
    """The id the generator gives its first case: finding it means the history is there."""
    return _ids(seed)()


def _ids(seed: int):
    rng = random.Random(seed ^ 0x5EED1D)

    def make() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)
    return make


def _applicant(rng: random.Random, day: date) -> tuple[str, str, str]:
    from stdnum.cn import ric
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    born = day - timedelta(days=rng.randint(18 * 365, 80 * 365))
    body = f"610826{born:%Y%m%d}{rng.randint(0, 999):03d}"
    phone = f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
    return name, body + ric.calc_check_digit(body), phone


class HistoryGenerator:
    def __init__(self, halls: list[HallSpec], items: dict[uuid.UUID, ItemSpec],
                 cal: WorkingCalendar, params: HistoryParams, *, protect=None):
        self.halls, self.items, self.cal, self.p = halls, items, cal, params
        self.rng = random.Random(params.seed)
        self.new_id = _ids(params.seed)
        self.tz = ZoneInfo(params.timezone)
        # protect(name, id_number, phone) -> dict of the encrypted columns (service_hall.privacy)
        self.protect = protect
        departments = sorted({i.department_id for i in items.values()}, key=str)
        shuffled = departments[:]
        random.Random(params.seed + 1).shuffle(shuffled)
        # Zipf-like demand per department and a per-department lateness factor (a few lag).
        self.dept_weight = {d: 1 / (k + 1) ** 0.9 for k, d in enumerate(shuffled)}
        lag = random.Random(params.seed + 2)
        self.dept_lateness = {d: lag.choice((0.3, 0.5, 0.8, 1.0, 1.0, 1.2, 2.5, 4.0))
                              for d in departments}
        self._hall_items = {}
        for hall in halls:
            offered = [i for i in hall.windows if hall.windows[i]]
            weights = [self.dept_weight[items[i].department_id]
                       * (1.4 if items[i].kind == "immediate" else 1.0) for i in offered]
            self._hall_items[hall.id] = (offered, list(accumulate(weights)))
        total = sum(h.weight for h in halls)
        self._hall_weights = [h.weight / total for h in halls]
        self.span = max(1, (params.today - params.start).days)

    def days(self) -> Iterator[DayRows]:
        day = self.p.start
        while day < self.p.today:
            if self.cal.is_working_day(day):
                yield self._day(day)
            day += timedelta(days=1)

    def _volume(self, day: date) -> int:
        factor = {0: 1.2, 1: 1.05, 2: 1.0, 3: 0.95, 4: 0.85}.get(day.weekday(), 0.6)
        if day.month in (1, 2) and day.day < 25 or day.month == 12 and day.day > 15:
            factor *= 1.15   # before the Spring Festival: certificates, social security
        if day.month == 8:
            factor *= 0.9
        return max(0, round(self.p.cases_per_day * factor * self.rng.uniform(0.9, 1.1)))

    def _day(self, day: date) -> DayRows:
        rows = DayRows(day)
        rng, p = self.rng, self.p
        # Improves over time: the lateness trend goes from 1.4× to 0.6× across the span.
        trend = 1.4 - 0.8 * (day - p.start).days / self.span
        per_hall = defaultdict(list)
        for hall in rng.choices(self.halls, self._hall_weights, k=self._volume(day)):
            per_hall[hall.id].append(hall)
        for hall_id, picks in per_hall.items():
            hall = picks[0]
            offered, cumulative = self._hall_items[hall_id]
            if not offered:
                continue
            opened = datetime.combine(day, time(8, 30), self.tz)
            moments = sorted(opened + timedelta(seconds=rng.randint(0, 8 * 3600))
                             for _ in picks)
            serials: dict = defaultdict(int)
            for n, issued in enumerate(moments, start=1):
                item = self.items[rng.choices(offered, cum_weights=cumulative)[0]]
                window = rng.choice(hall.windows[item.id])
                try:
                    self._case(rows, hall, item, window, day, issued, n, serials, trend)
                except ApiError:
                    # Its dates reach a year the calendar does not cover yet: not generated
                    # (a due date is never guessed).
                    continue
            rows.case_counters[hall_id] = len(picks)
        return rows

    def _case(self, rows: DayRows, hall: HallSpec, item: ItemSpec, window: tuple, day: date,
              issued: datetime, serial: int, serials: dict, trend: float) -> None:
        rng, p, cal = self.rng, self.p, self.cal
        window_id, window_department, clerk_id = window
        called = issued + timedelta(seconds=rng.randint(60, 40 * 60))
        started = called + timedelta(seconds=rng.randint(20, 120))
        finished = started + timedelta(seconds=rng.randint(3 * 60, 20 * 60))
        case_id = self.new_id()
        ticket_id = self.new_id() if p.tickets else None
        ticket = None
        if p.tickets:
            serials[item.prefix] += 1
            ticket = {
                "id": ticket_id, "hall_id": hall.id, "service_day": day,
                "number": f"{item.prefix}{serials[item.prefix]:03d}", "item_id": item.id,
                "status": "done", "green_channel": rng.random() < p.green_share,
                "appointment_at": None, "transferred_in": False, "transferred_from_id": None,
                "target_window_id": None, "window_id": window_id,
                "queue_at": _utc(issued), "issued_at": _utc(issued), "called_at": _utc(called),
                "first_called_at": _utc(called), "started_at": _utc(started),
                "finished_at": _utc(finished), "call_count": 1, "reactivated": False,
                "track_token": f"h{rng.getrandbits(124):031x}", "issued_by_user_id": None,
                "issued_by_device_id": None}
        promised = item.promised_days if item.kind == "promise" else 0
        case = {"id": case_id, "case_no": case_number(hall, day, serial, hall.mark),
                "hall_id": hall.id, "department_id": item.department_id, "item_id": item.id,
                "window_id": window_id, "ticket_id": ticket_id, "handled_by_user_id": clerk_id,
                "kind": item.kind, "promised_days": promised, "accepted_on": day,
                "accepted_at": _utc(finished), "held_days": 0, "held_since": None,
                "completed_on": None, "completed_at": None, "elapsed_days": None,
                "outcome": None, "light": None, "warned_level": 0, "reject_reason": "",
                "imported": True, "applicant_name_enc": None, "applicant_id_enc": None,
                "applicant_id_hash": None, "applicant_phone_enc": None}
        if self.protect is not None and (p.today - day).days <= p.applicant_days:
            case.update(self.protect(*_applicant(rng, day)))
        elapsed = self._planned_elapsed(item, promised, trend)
        holds = []
        if promised and rng.random() < p.hold_share:
            start_k = rng.randint(0, max(0, elapsed - 1))
            length = rng.randint(1, 5)
            holds.append((cal.due_on(day, start_k), cal.due_on(day, start_k + length), length))
        held = sum(h[2] for h in holds)
        finish_on = cal.due_on(day, elapsed + held)
        last = p.today - timedelta(days=1)
        closed = [h for h in holds if h[1] <= last]
        case["held_days"] = sum(h[2] for h in closed)
        case["due_on"] = cal.due_on(day, promised + case["held_days"])
        if finish_on <= last and rng.random() < p.reject_share:
            case.update(status="rejected", reject_reason="申请材料不符合法定条件，不予受理。",
                        completed_at=None)
        elif finish_on <= last:
            done_at = (datetime.combine(finish_on, time(9), self.tz)
                       + timedelta(seconds=rng.randint(0, 8 * 3600)))
            case.update(status="completed", completed_on=finish_on, completed_at=_utc(done_at),
                        elapsed_days=elapsed, outcome=outcome(elapsed, promised))
        else:
            open_hold = next((h for h in holds if h[1] > last and h[0] <= last), None)
            due = case["due_on"]
            if open_hold is not None:
                case.update(status="on_hold", held_since=open_hold[0])
                due = cal.due_on(day, promised + case["held_days"]
                                 + cal.working_days(open_hold[0], p.today))
            else:
                case["status"] = "accepted"
            case["light"] = light(cal.working_days_left(due, p.today), yellow_days=p.yellow_days)
            case["warned_level"] = {"green": 0, "yellow": 1, "red": 2}[case["light"]]
        for start, end, length in holds:
            if start > last:
                continue
            rows.holds.append({"id": self.new_id(), "case_id": case_id, "kind": "materials",
                               "reason": "申请材料不齐全，一次性告知补正",
                               "start_on": start, "end_on": end if end <= last else None,
                               "working_days": length if end <= last else None})
        rows.cases.append(case)
        if ticket is not None:
            rows.tickets.append(ticket)
        if p.ratings and case["status"] == "completed" and rng.random() < p.rating_share:
            self._rating(rows, hall, item, window_department, case, finished, ticket_id)

    def _planned_elapsed(self, item: ItemSpec, promised: int, trend: float) -> int:
        if not promised:
            return 0
        rng = self.rng
        late = self.p.overdue_share * self.dept_lateness[item.department_id] * trend
        roll = rng.random()
        if roll < late:
            return promised + rng.choice((1, 1, 1, 2, 2, 3, 5))
        if roll < late + 0.22:
            return promised
        return rng.randint(max(0, promised // 3), promised - 1) if promised > 1 else 0

    def _rating(self, rows: DayRows, hall: HallSpec, item: ItemSpec, window_department,
                case: dict, finished: datetime, ticket_id) -> None:
        rng, p = self.rng, self.p
        level = rng.choices(RATING_LEVELS, cum_weights=RATING_CUMULATIVE)[0]
        if case["outcome"] == "overdue" and rng.random() < 0.3:
            level = rng.choice((1, 2, 3))
        by_case = item.kind == "promise" or ticket_id is None
        rated_at = (_utc(case["completed_at"]) if by_case
                    else _utc(finished + timedelta(seconds=rng.randint(5, 55))))
        rating = {"id": self.new_id(), "hall_id": hall.id,
                  "department_id": window_department or item.department_id,
                  "window_id": case["window_id"], "ticket_id": None if by_case else ticket_id,
                  "case_id": case["id"] if by_case else None, "level": level,
                  "reasons": [rng.choice(RATING_REASONS[level])], "comment": "",
                  "channel": rng.choice(("pad", "pad", "qr")), "created_at": rated_at}
        if level > 2:
            rows.ratings.append(rating)
            return
        opened = rated_at.astimezone(self.tz).date()
        due = self.cal.due_on(opened, p.rectify_days)
        closed_on = self.cal.due_on(opened, rng.randint(3, p.rectify_days + 3))
        rows.ratings.append(rating)
        closing = closed_on < p.today and rng.random() < 0.9
        rows.rectifications.append({
            "id": self.new_id(), "hall_id": hall.id, "department_id": rating["department_id"],
            "rating_id": rating["id"], "status": "closed" if closing else "open",
            "opened_on": opened, "due_on": due,
            "result": rng.choice(RECTIFY_RESULTS) if closing else "",
            "closed_on": closed_on if closing else None, "closed_by_user_id": None})


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
