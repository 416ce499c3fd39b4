"""Recall, no-show, reactivation, transfer, window states and who may act for a window."""
from sqlalchemy import select

from kiosks.models import Ticket
from service_hall.audit.models import AuditEntry
from service_hall.extensions import db
from tests.factories import Desk, bearer, token_for


def _desk(client, factory, windows=2, items=2):
    desk = Desk(client, factory.hall_setup("C1", windows=windows, items=items))
    for n in range(1, windows + 1):
        desk.open(f"C1-{n}")
    return desk


def test_three_calls_then_the_ticket_is_void(client, factory):
    desk = _desk(client, factory)
    desk.issue("C1-I1")
    desk.call("C1-1")
    assert desk.act("C1-1", "recall")["ticket"]["call_count"] == 2
    assert desk.act("C1-1", "recall")["ticket"]["call_count"] == 3
    void = desk.act("C1-1", "recall")["ticket"]
    assert void["status"] == "no_show"
    desk.act("C1-1", "recall", expect=409)  # nothing current any more
    windows = client.get("/api/v1/halls/C1/windows").get_json()
    assert windows[0]["state"] == "idle"


def test_no_show_then_one_reactivation_behind_the_next_three(client, factory):
    desk = _desk(client, factory, windows=1)
    first = desk.issue("C1-I1")
    for _ in range(4):
        desk.issue("C1-I1")  # A002..A005
    desk.call("C1-1")
    desk.act("C1-1", "no-show")
    clerk = desk.clerk("C1-1")
    back = client.post(f"/api/v1/tickets/{first['id']}/reactivate", headers=clerk)
    assert back.status_code == 200 and back.get_json()["status"] == "waiting"
    served = [desk.serve("C1-1") for _ in range(5)]
    assert served == ["A002", "A003", "A004", "A001", "A005"]
    again = client.post(f"/api/v1/tickets/{first['id']}/reactivate", headers=clerk)
    assert again.status_code == 409  # done now; and a second reactivation is refused anyway


def test_reactivation_only_once_a_day(client, factory):
    desk = _desk(client, factory, windows=1)
    ticket = desk.issue("C1-I1")
    clerk = desk.clerk("C1-1")
    desk.call("C1-1")
    desk.act("C1-1", "no-show")
    assert client.post(f"/api/v1/tickets/{ticket['id']}/reactivate", headers=clerk).status_code == 200
    desk.call("C1-1")
    desk.act("C1-1", "no-show")
    refused = client.post(f"/api/v1/tickets/{ticket['id']}/reactivate", headers=clerk)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "already_reactivated"


def test_transfer_to_item_keeps_number_and_goes_ahead_of_ordinary(client, factory):
    desk = _desk(client, factory, windows=2)
    setup_windows = client.get("/api/v1/halls/C1/windows").get_json()
    assert setup_windows[1]["item_codes"] == ["C1-I1", "C1-I2"]
    desk.issue("C1-I1")   # A001
    desk.issue("C1-I2")   # B001
    desk.issue("C1-I2")   # B002
    assert desk.call("C1-1") == "A001"
    desk.act("C1-1", "start")
    moved = desk.act("C1-1", "transfer", item_code="C1-I2")["ticket"]
    assert moved["number"] == "A001" and moved["status"] == "waiting"
    assert moved["item_code"] == "C1-I2" and moved["transferred_in"] is True
    assert desk.call("C1-2") == "A001"
    statuses = sorted((t.number, t.status) for t in db.session.scalars(select(Ticket)))
    assert ("A001", "transferred") in statuses and ("A001", "called") in statuses


def test_transfer_needs_exactly_one_target_in_this_hall(client, factory):
    desk = _desk(client, factory, windows=1)
    desk.issue("C1-I1")
    desk.call("C1-1")
    answer = client.post("/api/v1/windows/C1-1/transfer", headers=desk.clerk("C1-1"),
                         json={"item_code": "C1-I2", "window_number": 1})
    assert answer.status_code == 422
    answer = client.post("/api/v1/windows/C1-1/transfer", headers=desk.clerk("C1-1"),
                         json={"window_number": 99})
    assert answer.status_code == 404
    assert desk.act("C1-1", "recall")["ticket"]["status"] == "called"  # untouched


def test_finish_requires_start_and_call_next_requires_free_window(client, factory):
    desk = _desk(client, factory, windows=1)
    desk.issue("C1-I1")
    desk.issue("C1-I1")
    desk.call("C1-1")
    desk.act("C1-1", "finish", expect=409)
    desk.act("C1-1", "call-next", expect=409)
    desk.act("C1-1", "start")
    done = desk.act("C1-1", "finish")["ticket"]
    assert done["status"] == "done" and done["finished_at"]


def test_pause_and_away_need_a_reason_and_a_paused_window_does_not_call(client, factory):
    desk = _desk(client, factory, windows=1)
    desk.issue("C1-I1")
    clerk = desk.clerk("C1-1")
    no_reason = client.put("/api/v1/windows/C1-1/state", json={"state": "paused"}, headers=clerk)
    assert no_reason.status_code == 422
    paused = client.put("/api/v1/windows/C1-1/state", headers=clerk,
                        json={"state": "paused", "reason": "系统故障"})
    assert paused.get_json()["state"] == "paused"
    desk.act("C1-1", "call-next", expect=409)
    client.put("/api/v1/windows/C1-1/state", json={"state": "idle"}, headers=clerk)
    assert desk.call("C1-1") == "A001"
    busy = client.put("/api/v1/windows/C1-1/state", headers=clerk,
                      json={"state": "away", "reason": "开会"})
    assert busy.status_code == 409  # serve or hand over the current ticket first


def test_clerk_of_window_12_cannot_act_for_window_13(client, factory):
    setup = factory.hall_setup("C1", windows=13, items=1)
    desk = Desk(client, setup)
    desk.open("C1-12")
    desk.open("C1-13")
    desk.issue("C1-I1")
    twelve = desk.clerk("C1-12")
    for action in ("call-next", "recall", "no-show", "start", "finish"):
        answer = client.post(f"/api/v1/windows/C1-13/{action}", headers=twelve)
        assert answer.status_code == 403, action
        assert answer.get_json()["error"]["code"] == "not_your_window"
    answer = client.put("/api/v1/windows/C1-13/state", json={"state": "closed"}, headers=twelve)
    assert answer.status_code == 403
    answer = client.post("/api/v1/windows/C1-13/transfer", json={"window_number": 1},
                         headers=twelve)
    assert answer.status_code == 403


def test_a_clerk_is_signed_in_at_one_window_at_a_time(client, factory):
    setup = factory.hall_setup("C1", windows=2, items=1)
    floater = factory.user("floater", "clerk", setup["hall"])
    token = bearer(token_for(client, "floater"))
    assert client.put("/api/v1/windows/C1-1/state", json={"state": "idle"},
                      headers=token).status_code == 200
    second = client.put("/api/v1/windows/C1-2/state", json={"state": "idle"}, headers=token)
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "signed_in_elsewhere"
    client.put("/api/v1/windows/C1-1/state", json={"state": "closed"}, headers=token)
    assert client.put("/api/v1/windows/C1-2/state", json={"state": "idle"},
                      headers=token).status_code == 200
    assert floater.username == "floater"


def test_kiosk_and_agent_tokens_cannot_work_windows(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    factory.user("agent-1", "agent", setup["hall"])
    for headers in (bearer(setup["kiosk"]), bearer(token_for(client, "agent-1"))):
        assert client.post("/api/v1/windows/C1-1/call-next", headers=headers).status_code == 403


def test_every_change_is_audited_with_from_and_to(client, factory):
    desk = _desk(client, factory, windows=1)
    desk.issue("C1-I1")
    desk.serve("C1-1")
    rows = db.session.execute(select(AuditEntry.action, AuditEntry.from_state, AuditEntry.to_state,
                                     AuditEntry.actor_label)
                              .where(AuditEntry.record_type == "ticket")
                              .order_by(AuditEntry.at)).all()
    assert [r[:3] for r in rows] == [("ticket.issue", None, "waiting"),
                                     ("ticket.call", "waiting", "called"),
                                     ("ticket.start", "called", "serving"),
                                     ("ticket.finish", "serving", "done")]
    assert rows[1].actor_label == "clerk-C1-1"


def test_transfer_event_reaches_the_citizens_qr_code_which_follows_the_moved_ticket(client, factory):
    from realtime.models import Event
    desk = _desk(client, factory, windows=2)
    issued = desk.issue("C1-I1")
    desk.call("C1-1")
    desk.act("C1-1", "transfer", window_number=2)
    event = db.session.scalars(select(Event).where(Event.type == "ticket.transferred")).one()
    assert event.track_token == issued["track_token"]
    tracked = client.get(f"/api/v1/track/{issued['track_token']}").get_json()
    assert tracked["status"] == "waiting" and tracked["number"] == issued["number"]
