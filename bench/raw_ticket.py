"""One ticket issued by the app's INSERTs sent through psycopg alone: the raw rate in
bench/tickets.py and the bare-Flask ceiling in bench/bare_server.py run exactly these."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # psycopg must be imported after gevent patches (bench/bare_server.py)
    import psycopg

RAW_SQL = [
    "INSERT INTO idempotency_keys (hall_id, key, ticket_id, created_at) VALUES (%(hall)s, %(key)s, "
    "%(id)s, %(now)s) ON CONFLICT DO NOTHING RETURNING key",
    "INSERT INTO ticket_counters (hall_id, key, day, value) VALUES (%(hall)s, %(counter)s, %(day)s, 1) "
    "ON CONFLICT (hall_id, key, day) DO UPDATE SET value = ticket_counters.value + 1 RETURNING value",
    "INSERT INTO tickets (id, hall_id, service_day, number, item_id, status, green_channel, "
    "transferred_in, queue_at, issued_at, call_count, reactivated, track_token, "
    "issued_by_device_id) VALUES (%(id)s, %(hall)s, %(day)s, %(number)s, %(item)s, 'waiting', "
    "%(green)s, false, %(now)s, %(now)s, 0, false, %(token)s, %(device)s)",
    "INSERT INTO audit_log (id, at, hall_id, actor_device_id, actor_label, action, record_type, "
    "record_id, to_state, details) VALUES (%(audit)s, %(now)s, %(hall)s, %(device)s, 'kiosk:bench', "
    "'ticket.issue', 'ticket', %(id)s, 'waiting', %(details)s)",
    "INSERT INTO event_counters (hall_id, value) VALUES (%(hall)s, 1) ON CONFLICT (hall_id) "
    "DO UPDATE SET value = event_counters.value + 1 RETURNING value",
    "INSERT INTO events (id, hall_id, hall_code, seq, type, at, audience, data, track_token) "
    "VALUES (%(event)s, %(hall)s, %(code)s, %(seq)s, 'ticket.issued', %(now)s, 'public', "
    "%(data)s, %(token)s)",
]


def catalog(conn: psycopg.Connection) -> tuple[dict, list[tuple], object]:
    """(hall code -> id, [(item id, code, prefix)], a kiosk's device id)."""
    halls = dict(conn.execute("SELECT code, id FROM halls").fetchall())
    items = conn.execute("SELECT id, code, prefix FROM service_items").fetchall()
    device = conn.execute("SELECT id FROM devices WHERE kind = 'kiosk' LIMIT 1").fetchone()[0]
    return halls, items, device


def issue(conn: psycopg.Connection, *, hall_id, hall_code: str, item: tuple, green: bool,
          device, day: date, key: str | None = None) -> str:
    """One transaction: the statements the app runs for a ticket. Returns the number."""
    item_id, code, prefix = item
    prefix = "V" if green else prefix
    params = {"hall": hall_id, "key": key or f"raw-{uuid.uuid4().hex}",
              "now": datetime.now(timezone.utc), "day": day, "counter": f"no:{prefix}",
              "id": uuid.uuid4(), "item": item_id, "green": green,
              "token": uuid.uuid4().hex[:22], "device": device, "audit": uuid.uuid4(),
              "event": uuid.uuid4(), "code": hall_code}
    with conn.transaction():
        cur = conn.cursor()
        cur.execute(RAW_SQL[0], params)
        serial = cur.execute(RAW_SQL[1], params).fetchone()[0]
        params["number"] = f"{prefix}{serial:03d}"
        cur.execute(RAW_SQL[2], params)
        params["details"] = json.dumps({"number": params["number"], "item": code})
        cur.execute(RAW_SQL[3], params)
        params["seq"] = cur.execute(RAW_SQL[4], params).fetchone()[0]
        params["data"] = json.dumps({"number": params["number"], "item_code": code})
        cur.execute(RAW_SQL[5], params)
    return params["number"]
