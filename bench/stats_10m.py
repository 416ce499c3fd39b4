"""Statistics over 10 million cases (PostgreSQL): how fast is ``GET /api/v1/stats/completion``?

    createdb -h 127.0.0.1 -U postgres sh_bench
    SERVICE_HALL_DATABASE_URL=postgresql://postgres@127.0.0.1/sh_bench flask --app wsgi db upgrade
    SERVICE_HALL_DATABASE_URL=postgresql://postgres@127.0.0.1/sh_bench \
        python -m bench.stats_10m --cases 10000000 --counties 66 --distinct 4

A province of ``--counties`` bench counties (B001…), each with 20 departments, 60 items and 30
windows. ``service_hall.cases.history`` (the generator behind ``seed-demo --history``) writes two
years of cases for ``--distinct`` of them with different seeds, streamed with COPY; the other
counties get copies of those rows (new ids, their own hall/department/item/window ids) by
``INSERT … SELECT`` inside PostgreSQL, which is what makes 10 million rows take minutes rather
than an hour of Python. The case indexes are dropped during the load and rebuilt after it.

Then it times the endpoint through the WSGI app (warm, median and p95 of ``--repeat`` calls):
a county-month (``hall=B001&from=2026-10-01&to=2026-10-31``) and a province-year
(deployment-wide supervisor, ``from=2025-01-01&to=2025-12-31``), grouped and ungrouped.
Run it on an empty bench database; ``--measure-only`` re-times an existing load.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import insert, select, text

TODAY = date(2026, 11, 27)
DEPARTMENTS, ITEMS, WINDOWS = 20, 60, 30
CASE_COLUMNS = ("id", "case_no", "hall_id", "department_id", "item_id", "window_id", "ticket_id",
                "handled_by_user_id", "status", "kind", "promised_days", "accepted_on",
                "accepted_at", "due_on", "held_days", "held_since", "completed_on",
                "completed_at", "elapsed_days", "outcome", "light", "warned_level",
                "reject_reason", "imported")
INDEXES = {
    "ix_cases_hall_completed": "(hall_id, completed_on, outcome)",
    "ix_cases_department_completed": "(department_id, completed_on, outcome)",
    "ix_cases_hall_open": "(hall_id, status, due_on)",
    "ix_cases_applicant_id_hash": "(applicant_id_hash)",
    "ix_cases_ticket_id": "(ticket_id)",
}


def make_counties(count: int) -> list:
    """Bench counties with identical catalog shapes (so rows can be copied between them)."""
    from service_hall.catalog.models import Department, Hall, ServiceItem
    from service_hall.db import new_id
    from service_hall.extensions import db
    from windows.models import Window, window_items
    halls, departments, items, windows, served = [], [], [], [], []
    for c in range(1, count + 1):
        code = f"B{c:03d}"
        hall_id = new_id()
        halls.append({"id": hall_id, "code": code, "name": f"压测县{c}政务服务中心",
                      "level": "county", "county_id": hall_id, "linked": True, "address": "",
                      "hours": "", "phone": ""})
        dept_ids = [new_id() for _ in range(DEPARTMENTS)]
        departments += [{"id": d, "code": f"{code}-D{k + 1:02d}", "name": f"压测局{k + 1}",
                         "hall_id": hall_id} for k, d in enumerate(dept_ids)]
        by_dept: dict = {}
        for n in range(ITEMS):
            kind = "immediate" if n % 5 in (0, 1) else "promise"
            item_id = new_id()
            by_dept.setdefault(n % DEPARTMENTS, []).append(item_id)
            items.append({"id": item_id, "code": f"{code}-I{n + 1:03d}", "name": f"压测事项{n + 1}",
                          "department_id": dept_ids[n % DEPARTMENTS], "prefix": "ABCDEFGH"[n % 8],
                          "kind": kind, "statutory_days": 0 if kind == "immediate" else 20,
                          "promised_days": 0 if kind == "immediate" else (3, 5, 7, 10)[n % 4],
                          "materials": [], "levels": ["county"], "agent_loggable": False,
                          "daily_cap": None, "active": True, "note": ""})
        for w in range(WINDOWS):
            window_id = new_id()
            windows.append({"id": window_id, "code": f"{code}-{w + 1}", "hall_id": hall_id,
                            "number": w + 1, "department_id": dept_ids[w % DEPARTMENTS],
                            "state": "closed", "state_reason": "", "mix_cycle": 0})
            served += [{"window_id": window_id, "item_id": i} for i in by_dept[w % DEPARTMENTS]]
    db.session.execute(insert(Hall.__table__), halls)
    db.session.execute(insert(Department.__table__), departments)
    db.session.execute(insert(ServiceItem.__table__), items)
    db.session.execute(insert(Window.__table__), windows)
    db.session.execute(insert(window_items), served)
    db.session.commit()
    return list(db.session.scalars(select(Hall).where(Hall.code.like("B%")).order_by(Hall.code)))


def copy_history(raw, county, cases_per_day: float, seed: int) -> int:
    """Generate two years for one county and COPY them in; returns the number of cases."""
    from service_hall.calendar.rules import snapshot
    from service_hall.cases.history import HistoryGenerator, HistoryParams
    from service_hall.cases.history_load import catalog_specs
    halls, items = catalog_specs(county)
    params = HistoryParams(start=TODAY - timedelta(days=730), today=TODAY,
                           cases_per_day=cases_per_day, seed=seed, tickets=False, ratings=False)
    generator = HistoryGenerator(halls, items, snapshot(), params, protect=None)
    total = 0
    with raw.cursor() as cur:
        with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
            for day in generator.days():
                for row in day.cases:
                    copy.write_row([row[c] for c in CASE_COLUMNS])
                total += len(day.cases)
    raw.commit()
    return total


def replicate(raw, sources: list[str], targets: list[str]) -> None:
    """Copy every case of the source counties to the targets (target k gets source k mod n),
    matching catalog rows by code, in one INSERT … SELECT."""
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS id_map; CREATE TEMP TABLE id_map (src uuid, "
                    "dst uuid, target text)")
        for k, target in enumerate(targets):
            source = sources[k % len(sources)]
            for table in ("halls", "departments", "service_items", "windows"):
                cur.execute(f"""INSERT INTO id_map SELECT s.id, t.id, %(target)s
                    FROM {table} s JOIN {table} t ON t.code = %(target)s || substr(s.code, 5)
                    WHERE s.code LIKE %(source)s || '%%'""", {"source": source, "target": target})
        cur.execute("CREATE INDEX ON id_map (src, target); ANALYZE id_map")
        cols = ", ".join(CASE_COLUMNS)
        picked = ", ".join({
            "id": "gen_random_uuid()", "case_no": "h.target || substr(c.case_no, 5)",
            "hall_id": "h.dst", "department_id": "d.dst", "item_id": "i.dst",
            "window_id": "w.dst"}.get(c, f"c.{c}") for c in CASE_COLUMNS)
        cur.execute(f"""INSERT INTO cases ({cols}) SELECT {picked} FROM cases c
            JOIN id_map h ON h.src = c.hall_id
            JOIN id_map d ON d.src = c.department_id AND d.target = h.target
            JOIN id_map i ON i.src = c.item_id AND i.target = h.target
            LEFT JOIN id_map w ON w.src = c.window_id AND w.target = h.target""")
    raw.commit()


CONSTRAINTS = {
    "pk_cases": "PRIMARY KEY (id)",
    "uq_cases_hall_case_no": "UNIQUE (hall_id, case_no)",
    "fk_cases_department_id_departments": "FOREIGN KEY (department_id) REFERENCES departments (id)",
    "fk_cases_hall_id_halls": "FOREIGN KEY (hall_id) REFERENCES halls (id)",
    "fk_cases_item_id_service_items": "FOREIGN KEY (item_id) REFERENCES service_items (id)",
}


def load(args) -> None:
    from service_hall.calendar.operations import seed_calendar
    from service_hall.extensions import db
    seed_calendar(2024, 2026)
    db.session.commit()
    counties = make_counties(args.counties)
    working = sum(1 for k in range(730) if (TODAY - timedelta(days=k + 1)).weekday() < 5) - 20
    per_day = args.cases / args.counties / working
    db.session.commit()
    pooled = db.engine.raw_connection()  # held: a dropped wrapper returns it to the pool
    raw = pooled.driver_connection
    with raw.cursor() as cur:  # bulk load without indexes or constraints, rebuilt after
        for name in INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {name}")
        for name in CONSTRAINTS:
            cur.execute(f"ALTER TABLE cases DROP CONSTRAINT IF EXISTS {name} CASCADE")
    raw.commit()
    started = time.perf_counter()
    generated = 0
    for k, county in enumerate(counties[:args.distinct]):
        generated += copy_history(raw, county, per_day, seed=1000 + k)
        print(f"  generated {county.code}: {generated:,} cases, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    replicate(raw, [c.code for c in counties[:args.distinct]],
              [c.code for c in counties[args.distinct:]])
    loaded = time.perf_counter() - started
    print(f"  replicated to {len(counties) - args.distinct} counties, {loaded:.0f} s", flush=True)
    with raw.cursor() as cur:
        t = time.perf_counter()
        for name, definition in CONSTRAINTS.items():
            cur.execute(f"ALTER TABLE cases ADD CONSTRAINT {name} {definition}")
        cur.execute("ALTER TABLE case_holds ADD CONSTRAINT fk_case_holds_case_id_cases "
                    "FOREIGN KEY (case_id) REFERENCES cases (id)")  # dropped with pk_cases
        for name, columns in INDEXES.items():
            cur.execute(f"CREATE INDEX {name} ON cases {columns}")
        raw.commit()
        indexed = time.perf_counter() - t
    raw.autocommit = True
    with raw.cursor() as cur:
        cur.execute("VACUUM ANALYZE cases")
    total = db.session.scalar(text("SELECT count(*) FROM cases"))
    print(f"loaded {total:,} cases in {loaded:.0f} s (+ {indexed:.0f} s to build indexes)")


def measure(args) -> dict:
    import secrets

    from werkzeug.security import generate_password_hash

    from service_hall.auth.models import User
    from service_hall.extensions import db
    password = secrets.token_urlsafe(12)
    user = db.session.scalars(select(User).where(User.username == "bench-supervisor")).first()
    if user is None:
        user = User(username="bench-supervisor", name="省督查", role="supervisor", hall_id=None,
                    password_hash="")
        db.session.add(user)
    user.password_hash = generate_password_hash(password)
    db.session.commit()
    from flask import current_app
    client = current_app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "bench-supervisor",
                                                    "password": password}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    queries = {
        "county-month": "hall=B001&from=2026-10-01&to=2026-10-31",
        "county-month by department": "hall=B001&from=2026-10-01&to=2026-10-31&group_by=department",
        "county-year by month": "hall=B001&from=2025-01-01&to=2025-12-31&group_by=month",
        "province-year": "from=2025-01-01&to=2025-12-31",
        "province-year by hall": "from=2025-01-01&to=2025-12-31&group_by=hall",
    }
    results = {}
    for label, query in queries.items():
        times, answer = [], None
        for _ in range(args.repeat + 1):
            t = time.perf_counter()
            response = client.get(f"/api/v1/stats/completion?{query}", headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
            answer = response.get_json()
        warm = sorted(times[1:])
        results[label] = {"first_ms": times[0], "median_ms": statistics.median(warm),
                          "p95_ms": warm[max(0, int(len(warm) * 0.95) - 1)],
                          "completed": answer["completed"], "on_time_rate": answer["on_time_rate"],
                          "open": answer["open"]}
        print(f"{label:28s} first {times[0]:7.1f} ms  median {results[label]['median_ms']:7.1f} ms"
              f"  p95 {results[label]['p95_ms']:7.1f} ms  completed {answer['completed']:>9,}"
              f"  on-time {answer['on_time_rate']}  open {answer['open']:,}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--counties", type=int, default=66)
    parser.add_argument("--distinct", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--measure-only", action="store_true")
    args = parser.parse_args()
    from service_hall import create_app
    from service_hall.extensions import db
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("this benchmark needs PostgreSQL (COPY)")
        print(f"{platform.node()} {platform.processor() or platform.machine()}, "
              f"{__import__('os').cpu_count()} CPUs, {db.session.scalar(text('SHOW server_version'))}"
              f", {date.today()}", flush=True)
        if not args.measure_only:
            load(args)
        measure(args)


if __name__ == "__main__":
    main()
