"""The item catalog as xlsx: export, all-or-nothing import with a per-row report, access."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from service_hall.audit.models import AuditEntry
from service_hall.catalog.models import Department, ServiceItem
from service_hall.catalog.xlsx import COLUMNS
from service_hall.extensions import db
from tests.factories import bearer, token_for
from windows.models import Window

URL = "/api/v1/catalog/items.xlsx"
HEADER = [column.label for column in COLUMNS]


def sheet_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def upload(client, token: str, data: bytes, hall: str = "C1", name: str = "items.xlsx"):
    return client.post(f"{URL}?hall={hall}", headers=bearer(token),
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.fixture()
def county(factory):
    setup = factory.hall_setup("C1", windows=2, items=2)
    factory.user("admin", "admin", setup["hall"])
    factory.user("supervisor", "supervisor", setup["hall"])
    return setup


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_export_lists_every_column_of_each_item(client, county):
    answer = client.get(f"{URL}?hall=C1", headers=bearer(token_for(client, "supervisor")))
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "items-C1.xlsx" in answer.headers["Content-Disposition"]
    rows = read_rows(answer.data)
    assert rows[0] == tuple(HEADER)
    assert rows[1] == ("C1-D1", "公安局", "C1-I1", "事项C1-I1", "A", "immediate", 0, 0, "身份证",
                       "county, township, village", "是", None, "1, 2")
    assert [row[2] for row in rows[1:]] == ["C1-I1", "C1-I2"]


def test_round_trip_changes_nothing_then_applies_edits(client, county):
    admin = token_for(client, "admin")
    exported = client.get(f"{URL}?hall=C1", headers=bearer(admin)).data
    again = upload(client, admin, exported)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["created"] == 0 and again.get_json()["updated"] == 0
    assert read_rows(client.get(f"{URL}?hall=C1", headers=bearer(admin)).data) == read_rows(exported)

    rows = [list(row) for row in read_rows(exported)[1:]]
    rows[0][3] = "居民身份证换领"                                 # rename
    rows[0][8] = "居民身份证\n户口簿"                              # two materials
    rows[0][12] = "2"                                              # served by window 2 only
    rows.append(["C1-D2", "民政局", "C1-I9", "婚姻登记", "M", "promise", 20, 5,
                 "结婚证", "county", "否", 50, "1"])              # new department and item
    answer = upload(client, admin, sheet_bytes(rows))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"created": 1, "updated": 1, "departments_created": 1,
                                 "departments_updated": 0}
    items = {i["code"]: i for i in client.get("/api/v1/halls/C1/items").get_json()}
    assert items["C1-I1"]["name"] == "居民身份证换领"
    assert items["C1-I1"]["materials"] == ["居民身份证", "户口簿"]
    assert items["C1-I9"] == {**items["C1-I9"], "department": "民政局", "prefix": "M",
                              "kind": "promise", "statutory_days": 20, "promised_days": 5,
                              "daily_cap": 50, "agent_loggable": False}
    windows = {w["number"]: w["item_codes"] for w in client.get("/api/v1/halls/C1/windows").get_json()}
    assert windows == {1: ["C1-I2", "C1-I9"], 2: ["C1-I1", "C1-I2"]}
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type.in_(
        ("service_item", "department"))).order_by(AuditEntry.action)).all()
    assert [(a.action, a.details["code"]) for a in audits] == [
        ("department.create", "C1-D2"), ("item.create", "C1-I9"), ("item.update", "C1-I1")]
    assert audits[2].details["changes"]["windows"] == [[1, 2], [2]]
    assert audits[2].actor_label == "admin"


GOOD = ["C1-D1", "公安局", "C1-I7", "户籍证明", "C", "promise", 10, 5, "身份证", "county", "否", None, ""]


def bad(**cells) -> list:
    row = list(GOOD)
    for key, value in cells.items():
        row[[c.key for c in COLUMNS].index(key)] = value
    return row


def test_any_bad_row_imports_nothing_and_reports_every_error(client, county):
    rows = [
        GOOD,                                                                     # row 2: fine
        bad(code="C1-I8", department_code="NOPE", department_name=None),          # row 3
        bad(code="C1-I9", prefix="V"),                                            # row 4
        bad(code="C1-I10", prefix="ab", kind="sometimes"),                        # row 5
        bad(code="C1-I11", promised_days=12),                                     # row 6
        bad(code="C1-I12", statutory_days=-1, daily_cap="many"),                  # row 7
        bad(code="C1-I7"),                                                        # row 8
        bad(code=None, name="x" * 201),                                           # row 9
        bad(code="C1-I13", levels="county, city"),                                # row 10
        bad(code="C1-I14", windows="1, 7"),                                       # row 11
    ]
    before = {model: count(model) for model in (Department, ServiceItem, AuditEntry)}
    answer = upload(client, token_for(client, "admin"), sheet_bytes(rows))
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_sheet"
    assert error["message"] == "表格有 12 处错误，未导入任何事项 (12 errors in the sheet; nothing was imported)"
    assert [(e["row"], e["column"], e["message"]) for e in error["details"]] == [
        (3, "A", "没有编码为 NOPE 的部门，新部门须填写部门名称 (unknown department NOPE; give a name to create it)"),
        (4, "E", "号码字母 V 为保留字母（V 绿色通道，Y 预约） (prefix V is reserved (V green channel, Y appointments))"),
        (5, "E", "号码字母须为 A–Z 中的一个大写字母 (prefix must be one letter A-Z)"),
        (5, "F", "办件类型须为 immediate（即办件）或 promise（承诺件） (kind must be immediate or promise)"),
        (6, "H", "承诺时限不能超过法定时限 (promised days cannot exceed statutory days)"),
        (7, "G", "“法定时限”不能为负数 (Statutory days cannot be negative)"),
        (7, "L", "“每日限号”须为整数 (Daily cap must be a whole number)"),
        (8, "C", "事项编码 C1-I7 与第 2 行重复 (item code C1-I7 repeats row 2)"),
        (9, "C", "“事项编码”不能为空 (Item code is required)"),
        (9, "D", "“事项名称”最多 200 个字符 (Item name is longer than 200 characters)"),
        (10, "J", "可办层级须为 county、township、village（县、乡镇、村） (levels must be among county, township, village)"),
        (11, "M", "本大厅没有7号窗口 (no window 7 in hall C1)"),
    ]
    assert {model: count(model) for model in before} == before
    assert db.session.scalar(select(ServiceItem).where(ServiceItem.code == "C1-I7")) is None


def test_missing_header_and_not_a_workbook_are_refused(client, county):
    admin = token_for(client, "admin")
    answer = upload(client, admin, sheet_bytes([GOOD], header=HEADER[:4] + HEADER[5:]))
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"] == [
        {"row": 1, "column": "E", "field": "prefix",
         "message": "缺少表头“号码字母” (missing header 'Prefix')"}]
    garbage = upload(client, admin, b"not a spreadsheet at all")
    assert garbage.status_code == 422
    assert garbage.get_json()["error"]["details"][0]["message"] == \
        "文件不是有效的 xlsx 表格 (the file is not a valid xlsx workbook)"
    no_file = client.post(f"{URL}?hall=C1", headers=bearer(admin), data={},
                          content_type="multipart/form-data")
    assert no_file.status_code == 422 and no_file.get_json()["error"]["code"] == "validation_error"
    as_json = client.post(f"{URL}?hall=C1", headers=bearer(admin), json={"file": "x"})
    assert as_json.status_code == 415


@pytest.mark.parametrize("username, method, status", [
    (None, "GET", 401), (None, "POST", 401),
    ("clerk-C1-1", "GET", 403), ("clerk-C1-1", "POST", 403),
    ("supervisor", "GET", 200), ("supervisor", "POST", 403),
    ("admin", "GET", 200), ("admin", "POST", 200),
    ("other-admin", "GET", 403), ("other-admin", "POST", 403),
])
def test_who_may_export_and_import(client, county, factory, username, method, status):
    factory.user("other-admin", "admin", factory.hall("C2"))
    headers = bearer(token_for(client, username)) if username else {}
    if method == "GET":
        answer = client.get(f"{URL}?hall=C1", headers=headers)
    else:
        answer = client.post(f"{URL}?hall=C1", headers=headers, content_type="multipart/form-data",
                             data={"file": (io.BytesIO(sheet_bytes([GOOD])), "items.xlsx")})
    assert answer.status_code == status
    if status >= 400:
        assert answer.get_json()["error"]["code"] in ("unauthenticated", "forbidden", "out_of_scope")
    assert (count(ServiceItem) == 3) == (method == "POST" and status == 200)


def test_seed_sized_catalog_exports_and_reimports(client, app):
    from service_hall.catalog.seed import seed_demo
    seed_demo(password="test-pass", secret="test-secret")
    db.session.commit()
    admin = token_for(client, "admin")
    exported = client.get(f"{URL}?hall=610826", headers=bearer(admin))
    assert exported.status_code == 200
    rows = read_rows(exported.data)
    assert len(rows) == 1 + 298
    assert len({row[0] for row in rows[1:]}) == 62
    assert all(row[12] for row in rows[1:])  # every county item is served by some window
    again = upload(client, admin, exported.data, hall="610826")
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["created"] == 0 and again.get_json()["updated"] == 0
    assert count(Window) == 126 + 15 * 4


def test_admin_page_downloads_and_uploads_with_csrf(app, client, county):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/admin/catalog").status_code == 302  # sign in first
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "admin", "password": "test-pass",
                                       "csrf_token": csrf}).status_code == 302
    page = client.get("/admin/catalog")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/catalog/items.xlsx?hall=C1" in html
    assert client.get("/api/v1/catalog/items.xlsx?hall=C1").status_code == 200  # session cookie
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    no_token = client.post("/admin/catalog", content_type="multipart/form-data",
                           data={"hall": "C1", "file": (io.BytesIO(sheet_bytes([GOOD])), "a.xlsx")})
    assert no_token.status_code == 400 and count(ServiceItem) == 2
    wrong = client.post("/admin/catalog", content_type="multipart/form-data",
                        data={"hall": "C1", "csrf_token": csrf,
                              "file": (io.BytesIO(sheet_bytes([bad(prefix="Y")])), "a.xlsx")})
    assert wrong.status_code == 422 and count(ServiceItem) == 2
    assert "号码字母 Y 为保留字母" in wrong.get_data(as_text=True)
    done = client.post("/admin/catalog", content_type="multipart/form-data", follow_redirects=True,
                       data={"hall": "C1", "csrf_token": csrf,
                             "file": (io.BytesIO(sheet_bytes([GOOD])), "a.xlsx")})
    assert done.status_code == 200 and "新建 1 项，更新 0 项" in done.get_data(as_text=True)
    assert count(ServiceItem) == 3


def test_admin_page_is_for_admins_only(app, client, county):
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/login", data={"username": "supervisor", "password": "test-pass"})
    assert client.get("/admin/catalog").status_code == 403


def test_text_that_looks_like_a_formula_stays_text(client, county, factory):
    factory.item(county["department"], code="C1-I3", prefix="C", name='=HYPERLINK("http://x","点我")')
    admin = token_for(client, "admin")
    exported = client.get(f"{URL}?hall=C1", headers=bearer(admin)).data
    cell = load_workbook(io.BytesIO(exported)).active["D4"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x","点我")'
    again = upload(client, admin, exported)
    assert again.status_code == 200 and again.get_json()["updated"] == 0


def test_control_characters_are_left_out_of_the_export(client, county, factory):
    factory.item(county["department"], code="C1-I3", prefix="C", name="户籍\x07证明")
    exported = client.get(f"{URL}?hall=C1", headers=bearer(token_for(client, "admin")))
    assert exported.status_code == 200
    assert read_rows(exported.data)[3][3] == "户籍证明"
