"""Township catch-up after an outage: N queued transactions (one ticket each: the ticket, its
audit entry and its ``ticket.issued`` event), then the county comes back; time to fully synced.

    python bench/sync_catchup.py [--events 10000] [--batch 500]

Two real server processes on loopback (county and township), SQLite files by default; set
SERVICE_HALL_TEST_DATABASE_URL=postgresql://…/NAME to run on two PostgreSQL databases
(NAME_county, NAME_town). Prints the figures; nothing is asserted beyond exactly-once counts.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sync.nodes import fresh_folder, wait_for  # noqa: E402
from tests.sync.scenario import make_pair  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    pair = make_pair(fresh_folder(), town_env={"SERVICE_HALL_SYNC_BATCH": str(args.batch)})
    try:
        pair.town.start()                  # initial snapshot while the county is up
        pair.county.stop()                 # the outage
        pair.town.stop()
        started = time.monotonic()
        pair.issue_offline(args.events)
        generated = time.monotonic() - started
        pair.town.start()                  # serving, its worker retrying the county
        head = pair.town_head()
        assert head == args.events, head

        pair.county.start()                # the link returns
        back = time.monotonic()
        wait_for(lambda: pair.county_applied() == head and pair.town_acked() == head,
                 timeout=3600, what="catch-up", interval=0.05)
        took = time.monotonic() - back
        tickets = pair.county.scalar("SELECT count(*) FROM tickets")
        events = pair.county.scalar("SELECT count(*) FROM events")
        assert tickets == events == args.events, (tickets, events)
        backend = "postgresql" if pair.county.url.startswith("postgresql") else "sqlite"
        print(f"sync catch-up ({backend}, batch {args.batch}): {args.events} queued transactions "
              f"({3 * args.events} rows) fully synced {took:.1f} s after the county came back "
              f"= {args.events / took:.0f} transactions/s "
              f"(queue generated in {generated:.1f} s; township retry backoff capped at 1 s)")
    finally:
        pair.close()


if __name__ == "__main__":
    main()
