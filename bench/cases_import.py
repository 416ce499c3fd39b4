"""Bulk import of past cases through the same operation as ``POST /api/v1/cases/import``.

    SERVICE_HALL_DATABASE_URL=postgresql://postgres@127.0.0.1/sh_bench \
        python -m bench.cases_import --rows 200000 --batch 10000

Needs a migrated database (``flask --app wsgi db upgrade``). Creates a bench county with two
items if missing, seeds the 2025–2026 calendar, imports ``--rows`` random past cases (a third
with a hold) in batches, one transaction per batch, and prints rows per second. Then times the
completion figures for the hall over the year.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from sqlalchemy import select


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    from service_hall import create_app
    from service_hall.auth.actor import SYSTEM
    from service_hall.calendar.operations import seed_calendar
    from service_hall.calendar.rules import snapshot
    from service_hall.cases.importer import import_cases
    from service_hall.catalog.models import Department, Hall, ServiceItem
    from service_hall.extensions import db
    from service_hall.stats.queries import completion

    app = create_app()
    with app.app_context():
        seed_calendar(2025, 2026)
        hall = db.session.scalars(select(Hall).where(Hall.code == "BENCH")).first()
        if hall is None:
            hall = Hall(code="BENCH", name="压测县", level="county")
            db.session.add(hall)
            db.session.flush()
            hall.county_id = hall.id
            dept = Department(code="BENCH-D1", name="压测局", hall_id=hall.id)
            db.session.add(dept)
            db.session.flush()
            for code, days in (("BENCH-P5", 5), ("BENCH-P10", 10)):
                db.session.add(ServiceItem(code=code, name=code, department_id=dept.id,
                                           prefix="A", kind="promise", promised_days=days,
                                           statutory_days=days * 2, levels=["county"]))
        db.session.commit()
        rng = random.Random(4)
        today = date(2026, 11, 27)
        start = time.perf_counter()
        done = 0
        while done < args.rows:
            rows = []
            for _ in range(min(args.batch, args.rows - done)):
                accepted = date(2025, 1, 2) + timedelta(days=rng.randrange(650))
                completed = accepted + timedelta(days=rng.randrange(0, 25))
                row = {"item_code": rng.choice(["BENCH-P5", "BENCH-P10"]), "hall_code": "BENCH",
                       "accepted_on": accepted.isoformat(),
                       "completed_on": completed.isoformat()}
                if rng.random() < 0.33 and completed > accepted + timedelta(days=3):
                    row["holds"] = [{"from": (accepted + timedelta(days=1)).isoformat(),
                                     "to": (accepted + timedelta(days=3)).isoformat()}]
                rows.append(row)
            import_cases(rows, actor=SYSTEM, cal=snapshot(), today=today, yellow_days=1)
            db.session.commit()
            done += len(rows)
        elapsed = time.perf_counter() - start
        print(f"imported {done} cases in {elapsed:.1f} s: {done / elapsed:,.0f} rows/s "
              f"(batches of {args.batch}, {db.engine.dialect.name})")
        t = time.perf_counter()
        figures = completion(hall_ids=[hall.id], department_id=None, start=date(2026, 1, 1),
                             end=date(2026, 12, 31), group_by="month", cal=snapshot(), today=today)
        print(f"completion by month for 2026: {figures['completed']} completed, on-time rate "
              f"{figures['on_time_rate']}, in {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
