"""The Suide-sized demo catalog, users and devices (SPEC 9): one transaction, idempotent."""
from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass

from sqlalchemy import select

from service_hall.auth.models import Device, User
from service_hall.auth.operations import DEVICE_PREFIX, demo_password_hash, hash_device_token
from service_hall.catalog import demo_data as data
from service_hall.catalog.models import RESERVED_PREFIXES, Department, Hall, ServiceItem
from service_hall.extensions import db
from windows.models import Window

COUNTY_WINDOWS = 126
COMPREHENSIVE_WINDOWS = 20
ITEM_COUNT = 298
PREFIXES = [c for c in "ABCDEFGHIJKLMNOPQRSTUWXZ" if c not in RESERVED_PREFIXES]


@dataclass
class SeedResult:
    created: bool
    county: Hall
    devices: dict[str, str]   # device name -> token


def device_token(secret: str, name: str) -> str:
    """Demo device tokens are derived from the secret so a re-run prints the same ones."""
    digest = hmac.new(secret.encode(), f"demo-device:{name}".encode(), hashlib.sha256).hexdigest()
    return DEVICE_PREFIX + digest[:40]


def seed_demo(*, password: str, secret: str) -> SeedResult:
    """Create the demo unless the county hall exists already (then change nothing)."""
    from service_hall.calendar.operations import seed_calendar
    from service_hall.ratings.operations import seed_rating_reasons
    seed_calendar()         # each covered year once; idempotent
    seed_rating_reasons()   # only when no reason exists yet
    county_code = data.COUNTY[0]
    existing = db.session.scalars(select(Hall).where(Hall.code == county_code)).first()
    if existing is not None:
        return SeedResult(False, existing, _device_tokens(existing, secret))
    rng = random.Random(610826)
    # One hash for every demo user, marked as the demo password (production mode refuses it).
    password_hash = demo_password_hash(password)
    county = _halls(rng)
    departments = _departments(county)
    items = _items(rng, departments)
    windows = _county_windows(rng, county, departments, items)
    for township in db.session.scalars(select(Hall).where(Hall.level == "township")):
        windows += _township_windows(township, items)
    _users(county, windows, password_hash)
    db.session.flush()
    return SeedResult(True, county, _devices(county, secret))


def _halls(rng: random.Random) -> Hall:
    code, name, address, hours, phone = data.COUNTY
    county = Hall(code=code, name=name, level="county", linked=True, address=address,
                  hours=hours, phone=phone)
    db.session.add(county)
    db.session.flush()
    county.county_id = county.id
    for t, town in enumerate(data.TOWNSHIPS):
        township = Hall(code=f"{code}{100 + t:03d}", name=f"{town}便民服务中心", level="township",
                        parent=county, county_id=county.id, linked=t < data.LINKED_TOWNSHIPS,
                        address=f"绥德县{town}政府院内", hours="周一至周五 9:00–17:00",
                        phone=f"0912-56{t:02d}{rng.randint(100, 999)}")
        db.session.add(township)
        for v in range(data.VILLAGES_PER_TOWNSHIP):
            db.session.add(Hall(code=f"{township.code}{200 + v:03d}", level="village",
                                name=f"{town}{_village_name(t, v)}村便民服务站", parent=township,
                                county_id=county.id, address=f"{town}{_village_name(t, v)}村委会",
                                hours="周一至周五 9:00–17:00（轮流坐班）"))
    db.session.flush()
    return county


_VILLAGE_SYLLABLES = "王李张刘高郭马杨白崔薛贺田冯霍党吴曹辛苗姬雷韩"
_VILLAGE_SUFFIX = ["家沟", "家塬", "家峁", "家岔", "家湾", "家坪", "家川"]


def _village_name(t: int, v: int) -> str:
    syllable = _VILLAGE_SYLLABLES[(t * 7 + v) % len(_VILLAGE_SYLLABLES)]
    return syllable + _VILLAGE_SUFFIX[v % len(_VILLAGE_SUFFIX)] + ("" if v < 21 else "二")


def _departments(county: Hall) -> list[Department]:
    departments = [Department(code=f"D{i + 1:02d}", name=f"绥德县{name}", hall_id=county.id)
                   for i, name in enumerate(data.DEPARTMENTS)]
    db.session.add_all(departments)
    db.session.flush()
    return departments


def _items(rng: random.Random, departments: list[Department]) -> list[ServiceItem]:
    items = []
    for n in range(ITEM_COUNT):
        department = departments[n % len(departments)]
        d = n % len(departments)
        action, kind = data.ACTIONS[(n // len(departments) + d) % len(data.ACTIONS)]
        statutory = 0 if kind == "immediate" else rng.choice([10, 15, 20, 20, 30])
        promised = 0 if kind == "immediate" else max(1, statutory // rng.choice([2, 3, 4]))
        levels = ["county"]
        if n % 3 == 0:
            levels.append("township")
        if n % 5 == 0:
            levels.append("village")
        short = department.name.removeprefix("绥德县")
        items.append(ServiceItem(
            code=f"{department.code}-{n // len(departments) + 1:02d}", name=f"{short}{action}",
            department=department, prefix=PREFIXES[d % len(PREFIXES)], kind=kind,
            statutory_days=statutory, promised_days=promised,
            materials=rng.sample(data.MATERIALS, rng.randint(2, 4)), levels=levels,
            agent_loggable="village" in levels, daily_cap=None))
    db.session.add_all(items)
    db.session.flush()
    return items


def _county_windows(rng: random.Random, county: Hall, departments: list[Department],
                    items: list[ServiceItem]) -> list[Window]:
    by_department: dict = {}
    for item in items:
        by_department.setdefault(item.department_id, []).append(item)
    busy = departments[:11]  # police, civil affairs, social security … get extra windows
    owners = list(departments) + [busy[i % len(busy)]
                                  for i in range(COUNTY_WINDOWS - COMPREHENSIVE_WINDOWS - len(departments))]
    owners.sort(key=lambda d: d.code)
    windows = []
    for number, department in enumerate(owners, start=1):
        windows.append(Window(code=f"{county.code}-{number}", hall_id=county.id, number=number,
                              department_id=department.id, items=by_department[department.id]))
    for k in range(COMPREHENSIVE_WINDOWS):
        number = len(owners) + k + 1
        picked = [departments[(k * 3 + j) % len(departments)] for j in range(3)]
        windows.append(Window(code=f"{county.code}-{number}", hall_id=county.id, number=number,
                              department_id=None,
                              items=[i for d in picked for i in by_department[d.id]]))
    db.session.add_all(windows)
    return windows


def _township_windows(township: Hall, items: list[ServiceItem]) -> list[Window]:
    offered = [item for item in items if "township" in item.levels]
    windows = []
    for number in range(1, data.TOWNSHIP_WINDOWS + 1):
        share = offered[number - 1::data.TOWNSHIP_WINDOWS] + offered[number % data.TOWNSHIP_WINDOWS::data.TOWNSHIP_WINDOWS]
        windows.append(Window(code=f"{township.code}-{number}", hall_id=township.id,
                              number=number, department_id=None, items=list(dict.fromkeys(share))))
    db.session.add_all(windows)
    return windows


def _users(county: Hall, windows: list[Window], password_hash: str) -> None:
    db.session.flush()
    users = [User(username="admin", name="系统管理员", password_hash=password_hash, role="admin",
                  hall_id=county.id),
             User(username="supervisor", name="督查室", password_hash=password_hash,
                  role="supervisor", hall_id=county.id)]
    for window in windows:
        users.append(User(username=f"clerk-{window.code}", name=f"{window.number}号窗口",
                          password_hash=password_hash, role="clerk", hall_id=window.hall_id,
                          window_id=window.id))
    for village in db.session.scalars(select(Hall).where(Hall.level == "village")):
        users.append(User(username=f"agent-{village.code}", name=f"{village.name}代办员",
                          password_hash=password_hash, role="agent", hall_id=village.id))
    db.session.add_all(users)


def _demo_devices(county: Hall) -> list[tuple[str, str]]:
    return [(f"kiosk-{county.code}-1", "kiosk"), (f"display-{county.code}-1", "display")]


def _devices(county: Hall, secret: str) -> dict[str, str]:
    tokens = {}
    for name, kind in _demo_devices(county):
        token = device_token(secret, name)
        db.session.add(Device(name=name, kind=kind, hall_id=county.id,
                              token_hash=hash_device_token(token)))
        tokens[name] = token
    return tokens


def _device_tokens(county: Hall, secret: str) -> dict[str, str]:
    return {name: device_token(secret, name) for name, _ in _demo_devices(county)}
