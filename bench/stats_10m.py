"""Statistics over 10 million cases (PostgreSQL): how fast is ``GET /api/v1/stats/completion``?

    python -m bench.stats_10m --cases 10000000 --counties 66 --distinct 4

Drops and recreates ``--database-url`` (default ``sh_stats_bench``; the name must contain
``bench``) and migrates it. A province of ``--counties`` bench counties (B001…), each with 20
departments, 60 items and 30 windows. ``service_hall.cases.history`` (the generator behind
``seed-demo --history``) writes two years of cases for ``--distinct`` of them with different
seeds, streamed with COPY; the other counties get copies of those rows (new ids, their own
hall/department/item/window ids) by ``INSERT … SELECT`` inside PostgreSQL, which is what makes
10 million rows take minutes rather than an hour of Python. The case indexes are dropped during
the load and rebuilt after it. COPY and ``INSERT … SELECT`` go past the application, so the
completion roll-up (``service_hall.stats.rollup``) is then built from the cases, as
``flask hall stats-rollup --rebuild`` does after such a load, and timed.

Then it times the endpoint through the WSGI app (warm, median and p95 of ``--repeat`` calls),
each query beside its target (≤ 100 ms, issue 7): a county-month
(``hall=B001&from=2026-10-01&to=2026-10-31``) and a province-year (deployment-wide supervisor,
``from=2025-01-01&to=2025-12-31``), grouped and ungrouped; and checks each ungrouped answer
against a count of the base rows. ``--measure-only`` re-times an existing load; ``--no-write``
leaves docs/PERFORMANCE.md alone.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import insert, select, text

from bench.common import recreate_pg, verdict, write_section
from bench.stack import app_env, upgrade

TODAY = date(2026, 11, 27)
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1/sh_stats_bench"
TARGET_MS = 100.0
DEPARTMENTS, ITEMS, WINDOWS = 20, 60, 30
CASE_COLUMNS = ("id", "case_no", "hall_id", "department_id", "item_id", "window_id", "ticket_id",
                "handled_by_user_id", "status", "kind", "promised_days", "accepted_on",
                "accepted_at", "due_on", "held_days", "held_since", "completed_on",
                "completed_at", "elapsed_days", "outcome", "light", "warned_level",
                "reject_reason", "imported")
INDEXES = {
    "ix_cases_hall_completed": "(hall_id, completed_on, outcome)",
    "ix_cases_department_completed": "(department_id, completed_on, outcome)",
    "ix_cases_hall_open": "(hall_id, status, due_on) WHERE status IN ('accepted', 'on_hold')",
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


def load(args) -> dict:
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
    generate_s = time.perf_counter() - started
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
    pooled.invalidate()  # in autocommit now: not for the pool
    total = db.session.scalar(text("SELECT count(*) FROM cases"))
    db.session.rollback()
    print(f"loaded {total:,} cases in {loaded:.0f} s (+ {indexed:.0f} s to build indexes)")
    return {"total": total, "generated": generated, "generate_s": generate_s,
            "replicate_s": loaded - generate_s, "index_s": indexed}


def build_rollup() -> dict:
    """The completion roll-up from the loaded cases (the load went past the session hooks)."""
    from service_hall.extensions import db
    from service_hall.stats.rollup import rebuild
    started = time.perf_counter()
    built = rebuild(db.session)
    db.session.commit()
    with db.engine.connect() as conn:  # visibility map for index-only scans, fresh statistics
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE completion_days, completion_months")
    built["seconds"] = time.perf_counter() - started
    print(f"built the completion roll-up in {built['seconds']:.0f} s: {built['day_rows']:,} day "
          f"rows, {built['month_rows']:,} month rows for {built['cases']:,} completed cases",
          flush=True)
    return built


# (label, query, target in ms or None for a figure shown without a target)
QUERIES = (
    ("county-month", "hall=B001&from=2026-10-01&to=2026-10-31", TARGET_MS),
    ("county-month by department", "hall=B001&from=2026-10-01&to=2026-10-31&group_by=department",
     TARGET_MS),
    ("county-month by item", "hall=B001&from=2026-10-01&to=2026-10-31&group_by=item", TARGET_MS),
    ("county-month by window", "hall=B001&from=2026-10-01&to=2026-10-31&group_by=window",
     TARGET_MS),
    ("county-year by month", "hall=B001&from=2025-01-01&to=2025-12-31&group_by=month", TARGET_MS),
    ("province-year", "from=2025-01-01&to=2025-12-31", TARGET_MS),
    ("province-year by hall", "from=2025-01-01&to=2025-12-31&group_by=hall", TARGET_MS),
    ("province-year by department", "from=2025-01-01&to=2025-12-31&group_by=department",
     TARGET_MS),
    ("province-year by month", "from=2025-01-01&to=2025-12-31&group_by=month", TARGET_MS),
    ("province year to date", "from=2026-01-01&to=2026-11-27", None),
    ("province-year by item", "from=2025-01-01&to=2025-12-31&group_by=item", None),
)


def base_counts(query: str) -> dict:
    """The ungrouped completed figures counted from the base rows (the reference)."""
    from urllib.parse import parse_qs

    from sqlalchemy import func

    from service_hall.cases.models import Case
    from service_hall.catalog.models import Hall
    from service_hall.extensions import db
    args = {k: v[0] for k, v in parse_qs(query).items()}
    stmt = (select(Case.outcome, func.count()).where(
        Case.status == "completed", Case.completed_on >= date.fromisoformat(args["from"]),
        Case.completed_on <= date.fromisoformat(args["to"])).group_by(Case.outcome))
    if "hall" in args:
        stmt = stmt.where(Case.hall_id == select(Hall.id).where(Hall.code == args["hall"])
                          .scalar_subquery())
    counts = dict(db.session.execute(stmt).all())
    db.session.rollback()
    return {k: counts.get(k, 0) for k in ("early", "on_time", "overdue")}


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
    results = {}
    for label, query, target in QUERIES:
        times, answer = [], None
        for _ in range(args.repeat + 1):
            t = time.perf_counter()
            response = client.get(f"/api/v1/stats/completion?{query}", headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
            answer = response.get_json()
        warm = sorted(times[1:])
        median = statistics.median(warm)
        figures = {k: answer[k] for k in ("early", "on_time", "overdue")}
        checked = None
        if "group_by" not in query:
            checked = base_counts(query) == figures
            assert checked, (label, base_counts(query), figures)
        results[label] = {"query": query, "target": target, "first_ms": times[0],
                          "median_ms": median,
                          "p95_ms": warm[max(0, int(len(warm) * 0.95) - 1)],
                          "completed": answer["completed"], "on_time_rate": answer["on_time_rate"],
                          "open": answer["open"], "groups": len(answer.get("groups", [])),
                          "checked": checked}
        aim = f"target ≤ {target:.0f} ms: {verdict(median, target, higher_is_better=False)}" \
            if target else "no target"
        print(f"{label:28s} first {times[0]:7.1f} ms  median {median:7.1f} ms"
              f"  p95 {results[label]['p95_ms']:7.1f} ms  ({aim})  completed "
              f"{answer['completed']:>9,}  on-time {answer['on_time_rate']}  open "
              f"{answer['open']:,}" + ("  = base rows" if checked else ""), flush=True)
    return results


def report(load_figures: dict | None, built: dict | None, results: dict, args) -> str:
    lines = []
    if load_figures and load_figures["total"] < 10_000_000:
        lines += [f"**A development run at {load_figures['total']:,} cases**: the targets are "
                  "for 10 million; the full run is `python -m bench.stats_10m` (defaults: "
                  "10,000,000 cases, 66 counties).", ""]
    lines += [
        f"A province of {args.counties} bench counties, each with {DEPARTMENTS} departments, "
        f"{ITEMS} items and {WINDOWS} windows, and two years ({TODAY - timedelta(days=730)} – "
        f"{TODAY - timedelta(days=1)}) of cases from `service_hall.cases.history` (the generator "
        "of `seed-demo --history`: ~99% on time, holds, open cases at today). "
        f"{args.distinct} counties are generated with different seeds and streamed with COPY; "
        "the others get copies of them with new ids inside PostgreSQL (`INSERT … SELECT`); "
        "indexes and constraints are dropped for the load and rebuilt after it. The load goes "
        "past the application, so the completion roll-up is then built from the cases "
        "(`service_hall.stats.rollup.rebuild`, what `flask hall stats-rollup --rebuild` runs).",
        ""]
    if load_figures:
        lines += ["| step | figure |", "|---|---|",
                  f"| cases loaded | {load_figures['total']:,} |",
                  f"| generate + COPY {args.distinct} counties ({load_figures['generated']:,} "
                  f"cases) | {load_figures['generate_s']:.0f} s |",
                  f"| copy to {args.counties - args.distinct} more counties | "
                  f"{load_figures['replicate_s']:.0f} s |",
                  "| rebuild primary key, unique, foreign keys and 5 indexes | "
                  f"{load_figures['index_s']:.0f} s |"]
        if built:
            lines.append(f"| build the completion roll-up: {built['day_rows']:,} day rows, "
                         f"{built['month_rows']:,} month rows for {built['cases']:,} completed "
                         f"cases | {built['seconds']:.0f} s |")
        lines.append("")
    lines += [
        "`GET /api/v1/stats/completion` through the WSGI app with a bearer token (deployment-wide "
        f"supervisor); warm: median and p95 of {args.repeat} calls after a first one. Completed "
        "counts come from the roll-up (whole months from `completion_months`, the days at either "
        "end and the item/window groupings from `completion_days`); open cases from `cases`. "
        "Each ungrouped answer was checked against a count of the base rows.", "",
        "| query | completed | groups | first | median | p95 | target (on the median) |",
        "|---|---:|---:|---:|---:|---:|---|"]
    for label, r in results.items():
        target = (f"≤ {r['target']:.0f} ms: {verdict(r['median_ms'], r['target'], higher_is_better=False)}"
                  if r["target"] else "—")
        lines.append(f"| {label} `{r['query']}` | {r['completed']:,} | {r['groups'] or ''} | "
                     f"{r['first_ms']:,.0f} ms | **{r['median_ms']:,.1f} ms** | "
                     f"{r['p95_ms']:,.1f} ms | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--counties", type=int, default=66)
    parser.add_argument("--distinct", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--measure-only", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from service_hall import create_app
    from service_hall.config import Settings
    from service_hall.extensions import db
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("this benchmark needs PostgreSQL (COPY)")
    if not args.measure_only:
        recreate_pg(args.database_url)
        upgrade(app_env(args.database_url, None))
    app = create_app(Settings(database_url=args.database_url, redis_url=None))
    with app.app_context():
        print(f"{platform.node()} {platform.processor() or platform.machine()}, "
              f"{__import__('os').cpu_count()} CPUs, {db.session.scalar(text('SHOW server_version'))}"
              f", {date.today()}", flush=True)
        db.session.rollback()
        load_figures = built = None
        if not args.measure_only:
            load_figures = load(args)
            built = build_rollup()
        results = measure(args)
    if not args.no_write:
        write_section("stats_10m", "Statistics over 10 million cases",
                      report(load_figures, built, results, args))


if __name__ == "__main__":
    main()
