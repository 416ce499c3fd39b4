"""The three letters over a hand-built October 2026 (holidays Oct 1–7, make-up workday Oct 10;
today Thursday Oct 15): exactly the right cases, sequential numbers, no duplicates."""
from __future__ import annotations

from sqlalchemy import func, select

from service_hall.extensions import db
from service_hall.supervision.models import Letter
from tests.factories import bearer, token_for


def issue(client, headers, kind, **extra):
    answer = client.post("/api/v1/letters", headers=headers,
                         json={"month": "2026-10", "kind": kind, **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def content(client, headers, letter):
    return client.get(f"/api/v1/letters/{letter['id']}", headers=headers).get_json()["content"]


def case_nos(client, headers, letter):
    return [c["case_no"] for c in content(client, headers, letter)["cases"]]


def test_reminder_lists_the_cases_due_that_month(client, october):
    sup = october["sup"]
    letters = issue(client, sup, "reminder")
    by_subject = {letter["subject"]: letter for letter in letters}
    assert set(by_subject) == {"市场监管局", "自然资源局", "义合镇便民服务中心"}
    # Due in October and not completed before it began, ordered by due date: d, e (Oct 9),
    # c (Oct 13), b (Oct 16), a (Oct 20); not f (done Sep 29), g (due Nov), h (rejected),
    # nor the township's j.
    assert case_nos(client, sup, by_subject["市场监管局"]) == ["C1-d", "C1-e", "C1-c", "C1-b", "C1-a"]
    assert case_nos(client, sup, by_subject["自然资源局"]) == ["C1-i"]
    assert case_nos(client, sup, by_subject["义合镇便民服务中心"]) == ["T1-j"]
    assert [letter["number"] for letter in letters] == [
        "绥政服提〔2026〕第1号", "绥政服提〔2026〕第2号", "绥政服提〔2026〕第3号"]


def test_supervision_lists_yellow_and_red_and_open_rectifications(client, october):
    sup = october["sup"]
    letters = {letter["subject"]: letter for letter in issue(client, sup, "supervision")}
    d1 = content(client, sup, letters["市场监管局"])
    assert [(c["case_no"], c["light"]) for c in d1["cases"]] == [("C1-c", "red"), ("C1-b", "yellow")]
    assert len(d1["rectifications"]) == 1 and d1["rectifications"][0]["opened_on"] == "2026-10-10"
    # Masked personal data only.
    assert d1["cases"][1]["applicant"] == "张*三"
    assert "张小三" not in str(d1) and "13812341234" not in str(d1)
    assert letters["市场监管局"]["number"] == "绥政服督〔2026〕第1号"


def test_warning_lists_overdue_cases_with_the_rate_and_accountability(client, october):
    sup = october["sup"]
    letters = {letter["subject"]: letter for letter in issue(client, sup, "warning")}
    d1 = content(client, sup, letters["市场监管局"])
    # Completed overdue in October: e; open and red as of Oct 15: c.
    assert [c["case_no"] for c in d1["cases"]] == ["C1-e", "C1-c"]
    # October completions of D1: d (on time), e (overdue) -> 50% < 99%.
    assert d1["figures"]["completed"] == 2 and d1["figures"]["on_time_rate"] == 0.5
    assert d1["figures"]["under_target"] is True
    assert d1["accountability"]["responsible"] == "市场监管局"
    assert any("低于目标 99%" in f for f in d1["accountability"]["findings"])
    # D2 has no completion in October but an open red case; the township the same.
    assert [c["case_no"] for c in content(client, sup, letters["自然资源局"])["cases"]] == ["C1-i"]


def test_second_generation_returns_the_kept_letter(client, october):
    sup = october["sup"]
    first = issue(client, sup, "reminder", department="D1")
    again = issue(client, sup, "reminder", department="D1")
    assert first[0]["created"] is True and again[0]["created"] is False
    assert again[0]["id"] == first[0]["id"] and again[0]["number"] == first[0]["number"]
    everyone = issue(client, sup, "reminder")
    assert [(x["subject"], x["created"]) for x in everyone] == [
        ("市场监管局", False), ("自然资源局", True), ("义合镇便民服务中心", True)]
    # Numbers are sequential with no gap left by the repeated request.
    assert [x["number"] for x in everyone] == [
        "绥政服提〔2026〕第1号", "绥政服提〔2026〕第2号", "绥政服提〔2026〕第3号"]
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 3


def test_cli_issues_and_lists_kept_letters(app, october):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["hall", "letters", "--month", "2026-10", "--kind", "warning"])
    assert first.exit_code == 0, first.output
    assert "绥政服警〔2026〕第1号  市场监管局" in first.output and "3 issued" in first.output
    second = runner.invoke(args=["hall", "letters", "--month", "2026-10", "--kind", "warning"])
    assert "0 issued, 3 already issued" in second.output
    bad = runner.invoke(args=["hall", "letters", "--month", "2026-13", "--kind", "warning"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output


def test_bad_input_and_scope(client, october, factory):
    sup = october["sup"]
    assert client.post("/api/v1/letters", headers=sup,
                       json={"month": "2026-13", "kind": "reminder"}).status_code == 400
    assert client.post("/api/v1/letters", headers=sup,
                       json={"month": "2026-10", "kind": "memo"}).status_code == 422
    assert client.post("/api/v1/letters", headers=sup, json={
        "month": "2026-10", "kind": "reminder", "department": "NOPE"}).status_code == 404
    clerk = bearer(token_for(client, "clerk"))
    assert client.post("/api/v1/letters", headers=clerk,
                       json={"month": "2026-10", "kind": "reminder"}).status_code == 403
    other = factory.hall("C2")
    factory.user("sup2", "supervisor", other)
    letter = issue(client, sup, "reminder", department="D1")[0]
    outsider = bearer(token_for(client, "sup2"))
    assert client.get(f"/api/v1/letters/{letter['id']}", headers=outsider).status_code == 403
    assert client.get("/api/v1/letters/not-a-uuid", headers=sup).status_code == 404


def test_print_page_shows_the_letter_masked(app, client, october):
    letter = issue(client, october["sup"], "supervision", department="D1")[0]
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.get(f"/supervise/letters/{letter['id']}").status_code == 302  # sign in first
    client.post("/login", data={"username": "supervisor", "password": "test-pass"})
    page = client.get(f"/supervise/letters/{letter['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "工作督办函" in html and "绥政服督〔2026〕第1号" in html and "市场监管局：" in html
    assert "C1-c" in html and "C1-b" in html and "C1-a" not in html
    assert "张*三" in html and "张小三" not in html
    assert "@media print" not in html and "css/letter.css" in html
