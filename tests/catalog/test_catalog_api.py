from tests.factories import bearer, token_for


def test_halls_items_and_windows_are_listed(client, factory):
    setup = factory.hall_setup("C1", windows=2, items=2)
    factory.hall("T1", level="township", parent=setup["hall"], linked=True)
    halls = client.get("/api/v1/halls").get_json()
    assert {(h["code"], h["level"], h["parent_code"], h["linked"]) for h in halls} == {
        ("C1", "county", None, False), ("T1", "township", "C1", True)}
    items = client.get("/api/v1/halls/C1/items").get_json()
    assert [i["code"] for i in items] == ["C1-I1", "C1-I2"]
    assert items[0]["prefix"] == "A" and items[0]["kind"] == "immediate"
    windows = client.get("/api/v1/halls/C1/windows").get_json()
    assert [(w["number"], w["state"], w["item_codes"]) for w in windows] == [
        (1, "closed", ["C1-I1", "C1-I2"]), (2, "closed", ["C1-I1", "C1-I2"])]


def test_unknown_hall_is_404_in_error_shape(client, factory):
    answer = client.get("/api/v1/halls/NOPE/items")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "unknown_hall"


def test_token_and_lockout_after_five_failures(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    username = setup["clerks"][0].username
    for _ in range(5):
        assert client.post("/api/v1/auth/token",
                           json={"username": username, "password": "wrong"}).status_code == 401
    locked = client.post("/api/v1/auth/token", json={"username": username, "password": "test-pass"})
    assert locked.status_code == 423
    assert locked.get_json()["error"]["code"] == "account_locked"


def test_token_answer_shape(client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    answer = client.post("/api/v1/auth/token",
                         json={"username": "clerk-C1-1", "password": "test-pass"}).get_json()
    assert answer["role"] == "clerk" and answer["hall_code"] == "C1" and answer["expires_at"]
    assert client.get("/api/v1/halls/C1/tickets",
                      headers=bearer(token_for(client, "clerk-C1-1"))).status_code == 200
