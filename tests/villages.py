"""A county with a township hall and two village points under it, for errand and roster tests."""
from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image

from service_hall.extensions import db
from tests.casework import seed_2026
from tests.factories import bearer, token_for

VILLAGER = {"name": "王秀英", "id_number": "11010519491231002X", "phone": "13912345678"}


def village_world(client, factory) -> dict:
    seed_2026()
    county = factory.hall("C1")
    township = factory.hall("T1", level="township", parent=county, name="义合镇便民服务大厅")
    township.address, township.hours, township.phone = "义合镇政府院内", "周一至周五 9:00–17:00", "0912-5600123"
    north = factory.hall("T1V1", level="village", parent=township, name="义合镇高家沟村便民服务站")
    south = factory.hall("T1V2", level="village", parent=township, name="义合镇薛家渠村便民服务站")
    department = factory.department(county, code="D1", name="民政局")
    item = factory.item(department, code="DB1", prefix="A", kind="promise", promised=3,
                        statutory=10, name="高龄老人补贴申请")
    item.materials = ["身份证复印件", "户口簿复印件", "一寸照片"]
    county_only = factory.item(department, code="CO1", prefix="B", levels=("county",),
                               name="县级专办事项")
    window = factory.window(township, 1, [item], department)
    clerk = factory.clerk(window)
    county_window = factory.window(county, 1, [item, county_only], department)
    county_clerk = factory.clerk(county_window)
    agent = factory.user("agent-T1V1", "agent", north, name="高建军")
    agent.phone = "13700001111"
    factory.user("agent-T1V2", "agent", south, name="薛红梅")
    db.session.commit()
    return {"county": county, "township": township, "north": north, "south": south,
            "item": item, "clerk_user": clerk, "agent_user": agent,
            "agent": bearer(token_for(client, "agent-T1V1")),
            "other_agent": bearer(token_for(client, "agent-T1V2")),
            "clerk": bearer(token_for(client, clerk.username)),
            "county_clerk": bearer(token_for(client, county_clerk.username))}


def log(client, world, **extra) -> dict:
    answer = client.post("/api/v1/errands", headers=world["agent"], json={
        "item_code": "DB1", "villager": dict(VILLAGER),
        "materials": ["身份证复印件", "户口簿复印件"], "note": "老人行动不便", **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def page_login(client, username: str) -> str:
    """Sign in on the login page; returns where it sends the user."""
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": username, "password": "test-pass",
                                         "csrf_token": csrf})
    assert answer.status_code == 302
    return answer.headers["Location"]


def decode_qr(png: bytes) -> str:
    image = Image.open(io.BytesIO(png))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{len(found)} codes found"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text
