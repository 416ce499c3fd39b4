"""A county with townships T1 (with a village point) and T2, seeded in the county database, and
helpers to act at a township and compare what the two nodes hold."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import select

from tests.sync.nodes import PASSWORD, Node, database_urls, wait_for

TOWN_TABLES = ("tickets", "windows", "audit_log")


@dataclass
class Pair:
    folder: Path
    county: Node
    town: Node
    tokens: dict[str, str]
    kiosk: str = "dev.test-kiosk-T1-1"
    hall_ids: dict = field(default_factory=dict)

    def close(self) -> None:
        self.town.close()
        self.county.close()

    # -- state of the link, read from the databases --------------------------------------------

    def town_head(self) -> int:
        return self.town.scalar("SELECT value FROM sync_counters WHERE target = 'county'") or 0

    def town_acked(self) -> int:
        return self.town.scalar("SELECT acked_seq FROM sync_links WHERE peer = 'county'") or 0

    def county_applied(self, node: str = "T1") -> int:
        return self.county.scalar("SELECT applied_seq FROM sync_links WHERE peer = :p",
                                  p=node) or 0

    def issue_offline(self, n: int, *, days_ago=(0,)) -> None:
        """Issue tickets in this process against the township's database (its capture hooks
        included), ``n`` per day of ``days_ago``, each ticket its own transaction."""
        from datetime import timedelta

        from sqlalchemy import select

        from kiosks.operations import issue_ticket
        from service_hall.auth.actor import SYSTEM
        from service_hall.catalog.models import Hall, ServiceItem
        from service_hall.clock import now
        from service_hall.extensions import db
        with self.town.app_context(fast_writes=True, role="township", node_code="T1"):
            hall = db.session.scalars(select(Hall).where(Hall.code == "T1")).one()
            item = db.session.scalars(select(ServiceItem).where(ServiceItem.code == "I1")).one()
            for days in days_ago:
                for _ in range(n):
                    issue_ticket(hall, item, actor=SYSTEM, now=now() - timedelta(days=days))
                    db.session.commit()

    def wait_synced(self, timeout: float = 30.0) -> None:
        def done():
            head = self.town_head()
            return head > 0 and self.county_applied() == head and self.town_acked() == head
        wait_for(done, timeout, f"T1 fully synced (head {self.town_head()}, "
                                f"county applied {self.county_applied()})")

    # -- acting at the township over HTTP -------------------------------------------------------

    def issue(self, n: int, item="I1") -> list[dict]:
        out = []
        for _ in range(n):
            answer = requests.post(self.town.base + "/api/v1/halls/T1/tickets",
                                   json={"item_code": item},
                                   headers={"Authorization": f"Bearer {self.kiosk}"}, timeout=10)
            assert answer.status_code == 201, answer.text
            out.append(answer.json())
        return out

    def clerk(self, window: str = "T1-1") -> "Clerk":
        answer = requests.post(self.town.base + "/api/v1/auth/token",
                               json={"username": f"clerk-{window}", "password": PASSWORD},
                               timeout=10)
        assert answer.status_code == 200, answer.text
        clerk = Clerk(self.town.base, window, answer.json()["token"])
        clerk.act("PUT", "state", {"state": "idle"})
        return clerk

    # -- comparing the two nodes ----------------------------------------------------------------

    def snapshot(self, node: Node) -> dict:
        """Every township-owned row of T1's halls, by table and id, and T1's event stream."""
        from service_hall.extensions import db
        halls = [self.hall_ids["T1"], self.hall_ids["T1V1"]]
        out = {}
        with node.engine.connect() as conn:
            for name in TOWN_TABLES:
                table = db.metadata.tables[name]
                out[name] = {row.id: tuple(row) for row in conn.execute(
                    select(table).where(table.c.hall_id.in_(halls)))}
            events = db.metadata.tables["events"]
            out["events"] = [
                (r.type, r.data, r.audience, r.window_code, r.track_token, r.at)
                for r in conn.execute(select(events).where(events.c.hall_id.in_(halls))
                                      .order_by(events.c.hall_id, events.c.seq))]
        return out


@dataclass
class Clerk:
    base: str
    window: str
    token: str

    def act(self, method: str, action: str, body: dict | None = None, expect=(200, 204)):
        answer = requests.request(method, f"{self.base}/api/v1/windows/{self.window}/{action}",
                                  json=body if body is not None else {},
                                  headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert answer.status_code in expect, answer.text
        return answer


def seed_county(county: Node, *, t1_linked: bool = True) -> tuple[dict, dict]:
    """The county's catalog, T1's windows, clerks and kiosk; node tokens for T1 and T2."""
    from realtime.sync.county import register_node
    from service_hall.extensions import db
    from tests.factories import Factory
    with county.app_context(role="county") as app:
        f = Factory(app)
        c1 = f.hall("C1", "county", name="绥德县政务服务中心")
        t1 = f.hall("T1", "township", parent=c1, name="名州镇便民服务大厅", linked=t1_linked)
        v1 = f.hall("T1V1", "village", parent=t1, name="一村代办点")
        t2 = f.hall("T2", "township", parent=c1, name="薛家峁镇便民服务大厅", linked=True)
        department = f.department(c1, code="C1-D1")
        i1 = f.item(department, code="I1", prefix="A", levels=("county", "township"))
        i2 = f.item(department, code="I2", prefix="B", levels=("county", "township"))
        county_window = f.window(c1, 1, [i1, i2], department)
        f.clerk(county_window)
        for number in (1, 2):
            f.clerk(f.window(t1, number, [i1, i2], department))
        f.user("supervisor", "supervisor", None)
        f.user("sup-T1", "supervisor", t1)
        f.device(t1)
        f.device(c1)
        tokens = {code: register_node(code)[0] for code in ("T1", "T2")}
        db.session.commit()
        ids = {h.code: h.id for h in (c1, t1, v1, t2)}
    return tokens, ids


def make_pair(folder: Path, *, t1_linked: bool = True, town_env: dict | None = None,
              county_env: dict | None = None) -> Pair:
    urls = database_urls(folder)
    county = Node("county", urls["county"], folder, SERVICE_HALL_ROLE="county",
                  **(county_env or {}))
    tokens, ids = seed_county(county, t1_linked=t1_linked)
    county.start()
    town = Node("town", urls["town"], folder, SERVICE_HALL_ROLE="township",
                SERVICE_HALL_NODE_CODE="T1", SERVICE_HALL_UPSTREAM_URL=county.base,
                SERVICE_HALL_NODE_TOKEN=tokens["T1"], SERVICE_HALL_SYNC_RETRY_MAX="1",
                **(town_env or {}))
    return Pair(folder=folder, county=county, town=town, tokens=tokens, hall_ids=ids)


def seed_village_point(county: Node) -> None:
    """At the county: a working-day calendar, an item agents may log at village points (offered
    at T1's hall too) and an agent for T1's village point T1V1. Reaches T1's node like any
    county change."""
    from datetime import date

    from sqlalchemy import select

    from service_hall.calendar.operations import seed_year
    from service_hall.catalog.models import Department, Hall
    from service_hall.extensions import db
    from tests.factories import Factory
    with county.app_context(role="county") as app:
        f = Factory(app)
        this_year = date.today().year
        for year in (this_year, this_year + 1):  # a promise may fall due next year
            seed_year(year, weekends_only=True)
        db.session.commit()
        department = db.session.scalars(select(Department).where(
            Department.code == "C1-D1")).one()
        item = f.item(department, code="DB1", prefix="C", kind="promise", promised=3,
                      statutory=10, name="高龄老人补贴申请")
        item.materials = ["身份证复印件", "户口簿复印件"]
        db.session.commit()
        point = db.session.scalars(select(Hall).where(Hall.code == "T1V1")).one()
        f.user("agent-T1V1", "agent", point, name="高建军")
