"""Profile the hot paths in one process with pyinstrument: ticket issuing and call-next.

    python -m bench.profile_hot --database-url sqlite:////tmp/hot.db --n 300 [--html out.html]

Also counts the SQL statements each request runs (the figure to watch for N+1 queries).
"""
from __future__ import annotations

import argparse
import os
from collections import Counter

from bench.common import COUNTY, SECRET, kiosk_token, recreate_pg, seed, sqlite_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--path", choices=["tickets", "call-next"], default="tickets")
    parser.add_argument("--html", default=None)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--cpu", action="store_true",
                        help="no profiler: print this process's CPU time per request")
    args = parser.parse_args()
    url = args.database_url or sqlite_url()
    if url.startswith("postgresql") and "bench" in url:
        recreate_pg(url)
    seed(url)
    os.environ.update({"SERVICE_HALL_DATABASE_URL": url, "SERVICE_HALL_SECRET_KEY": SECRET,
                       "SERVICE_HALL_RATE_LIMITS": "0"})
    from pyinstrument import Profiler
    from sqlalchemy import event

    from service_hall import create_app
    from service_hall.extensions import db
    app = create_app()
    client = app.test_client()
    statements: Counter = Counter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.update([" ".join(a[2].split())[:300]]))
    headers = {"Authorization": f"Bearer {kiosk_token()}"}
    with app.app_context():
        from sqlalchemy import select

        from service_hall.catalog.models import ServiceItem
        codes = list(db.session.scalars(select(ServiceItem.code).order_by(ServiceItem.code)))
        db.session.remove()

    def issue(i: int):
        answer = client.post(f"/api/v1/halls/{COUNTY}/tickets", headers={
            **headers, "Idempotency-Key": f"p-{i}"}, json={"item_code": codes[i % len(codes)]})
        assert answer.status_code == 201, answer.get_json()

    for i in range(20):
        issue(i)
    statements.clear()
    issue(len(codes) * 40)  # an item asked for before (the catalog cache is warm)
    per_request = sum(statements.values())
    if args.sql:
        for text, n in statements.most_common():
            print(f"{n:3} {text}")
    work = issue
    if args.path == "call-next":
        work = _call_next_work(app, client, issue, args.n)
        statements.clear()
        work(0)
        per_request = sum(statements.values())
        if args.sql:
            for text, n in statements.most_common():
                print(f"{n:3} {text}")
    if args.cpu:
        import time
        cpu, wall = time.process_time(), time.perf_counter()
        if os.environ.get("CPROFILE"):
            import cProfile
            cProfile.runctx("for i in range(1, args.n): work(i)", globals(), locals(),
                            os.environ["CPROFILE"])
        else:
            for i in range(1, args.n):
                work(i)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{per_request} SQL statements per {args.path} request; {args.n - 1} requests: "
              f"{cpu / (args.n - 1) * 1000:.2f} ms CPU, {wall / (args.n - 1) * 1000:.2f} ms wall each")
        return
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(1, args.n):
        work(i)
    profiler.stop()
    print(f"{per_request} SQL statements per {args.path} request")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as f:
            f.write(profiler.output_html())


def _call_next_work(app, client, issue, n: int):
    """Open every county window and issue ``n`` tickets; each step is one call-next + finish."""
    from sqlalchemy import select

    from windows.models import Window
    from service_hall.extensions import db
    from tests.factories import token_for
    for i in range(n * 2):
        issue(100_000 + i)
    with app.app_context():
        windows = list(db.session.scalars(select(Window.code).where(Window.code.startswith(f"{COUNTY}-"))
                                          .order_by(Window.number)))
        db.session.remove()
    tokens = {}
    for code in windows[:8]:
        tokens[code] = {"Authorization": f"Bearer {token_for(client, f'clerk-{code}', 'demo-2026')}"}
        answer = client.put(f"/api/v1/windows/{code}/state", json={"state": "idle"},
                            headers=tokens[code])
        assert answer.status_code == 200, answer.get_json()
    order = list(tokens)

    def step(i: int):
        code = order[i % len(order)]
        answer = client.post(f"/api/v1/windows/{code}/call-next", headers=tokens[code])
        assert answer.status_code in (200, 204), answer.get_json()
        if answer.status_code == 200:
            for action in ("start", "finish"):
                client.post(f"/api/v1/windows/{code}/{action}", headers=tokens[code])
    return step


if __name__ == "__main__":
    main()
