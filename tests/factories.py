"""Small catalogs for tests: a county with townships, items, windows, clerks and devices."""
from __future__ import annotations

from datetime import datetime, timezone

from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from service_hall.auth.models import Device, User
from service_hall.auth.operations import hash_device_token
from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.extensions import db
from windows.models import Window

PASSWORD = "test-pass"
_HASH = None


def password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = generate_password_hash(PASSWORD)
    return _HASH


class Factory:
    def __init__(self, app):
        self.app = app

    def hall(self, code="C1", level="county", parent: Hall | None = None, name=None,
             linked=False) -> Hall:
        hall = Hall(code=code, name=name or f"大厅{code}", level=level, parent=parent,
                    linked=linked)
        db.session.add(hall)
        db.session.flush()
        hall.county_id = hall.id if level == "county" else (parent.county_id if parent else None)
        db.session.commit()
        return hall

    def department(self, hall: Hall, code="D1", name="公安局") -> Department:
        department = Department(code=code, name=name, hall_id=hall.id)
        db.session.add(department)
        db.session.commit()
        return department

    def item(self, department: Department, code="I1", prefix="A", kind="immediate",
             promised=0, statutory=0, levels=("county", "township", "village"),
             daily_cap=None, name=None) -> ServiceItem:
        item = ServiceItem(code=code, name=name or f"事项{code}", department=department,
                           prefix=prefix, kind=kind, promised_days=promised,
                           statutory_days=statutory, materials=["身份证"], levels=list(levels),
                           agent_loggable="village" in levels, daily_cap=daily_cap)
        db.session.add(item)
        db.session.commit()
        return item

    def window(self, hall: Hall, number: int, items: list[ServiceItem],
               department: Department | None = None) -> Window:
        window = Window(code=f"{hall.code}-{number}", hall_id=hall.id, number=number,
                        department_id=department.id if department else None, items=items)
        db.session.add(window)
        db.session.commit()
        return window

    def user(self, username: str, role: str, hall: Hall | None, window: Window | None = None,
             name="") -> User:
        user = User(username=username, name=name, password_hash=password_hash(), role=role,
                    hall_id=hall.id if hall else None, window_id=window.id if window else None)
        db.session.add(user)
        db.session.commit()
        return user

    def clerk(self, window: Window) -> User:
        return self.user(f"clerk-{window.code}", "clerk", window.hall, window)

    def device(self, hall: Hall, kind="kiosk", name=None, window: Window | None = None) -> str:
        token = f"dev.test-{kind}-{hall.code}-{name or 1}"
        db.session.add(Device(name=name or f"{kind}-{hall.code}", kind=kind, hall_id=hall.id,
                              window_id=window.id if window else None,
                              token_hash=hash_device_token(token)))
        db.session.commit()
        return token

    def hall_setup(self, code="C1", windows=3, items=2, level="county", parent=None) -> dict:
        """A hall with one department, ``items`` items (prefixes A, B, …), ``windows`` windows
        serving every item, a clerk per window and a kiosk device."""
        hall = self.hall(code, level=level, parent=parent)
        department = self.department(hall, code=f"{code}-D1")
        made = [self.item(department, code=f"{code}-I{i + 1}", prefix="ABCDEFG"[i])
                for i in range(items)]
        wins = [self.window(hall, n + 1, made, department) for n in range(windows)]
        clerks = [self.clerk(w) for w in wins]
        return {"hall": hall, "department": department, "items": made, "windows": wins,
                "clerks": clerks, "kiosk": self.device(hall)}


def token_for(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def aware(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def csrf_from(html: str) -> str:
    import re
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    """Sign in through the login form (CSRF included), as a clerk's browser does."""
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


class Desk:
    """A test's hands on the API: a kiosk issuing tickets and clerks working their windows."""

    def __init__(self, client: FlaskClient, setup: dict):
        self.client = client
        self.hall = setup["hall"].code
        self.kiosk = bearer(setup["kiosk"])
        self.tokens: dict[str, dict] = {}

    def clerk(self, window_code: str) -> dict:
        if window_code not in self.tokens:
            self.tokens[window_code] = bearer(token_for(self.client, f"clerk-{window_code}"))
        return self.tokens[window_code]

    def issue(self, item_code: str, green: bool = False, **extra) -> dict:
        answer = self.client.post(f"/api/v1/halls/{self.hall}/tickets", headers=self.kiosk,
                                  json={"item_code": item_code, "green_channel": green, **extra})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    def open(self, window_code: str) -> None:
        answer = self.client.put(f"/api/v1/windows/{window_code}/state", json={"state": "idle"},
                                 headers=self.clerk(window_code))
        assert answer.status_code == 200, answer.get_json()

    def act(self, window_code: str, action: str, expect: int = 200, **body):
        answer = self.client.post(f"/api/v1/windows/{window_code}/{action}",
                                  headers=self.clerk(window_code), json=body if body else None)
        assert answer.status_code == expect, (action, answer.status_code, answer.get_json())
        return answer.get_json()

    def call(self, window_code: str) -> str | None:
        answer = self.client.post(f"/api/v1/windows/{window_code}/call-next",
                                  headers=self.clerk(window_code))
        assert answer.status_code in (200, 204), answer.get_json()
        return answer.get_json()["ticket"]["number"] if answer.status_code == 200 else None

    def serve(self, window_code: str) -> str | None:
        """Call, start and finish: returns the number served (None when nobody waits)."""
        number = self.call(window_code)
        if number is not None:
            self.act(window_code, "start")
            self.act(window_code, "finish")
        return number
