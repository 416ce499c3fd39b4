"""Voice packs in a real browser (issue 21): a display board with no speech engine plays the
segments of each call, twice, from the default pack and then from the hall's own pack; an
administrator records a segment with a (fake) microphone, plays it back, and moves a whole pack
in and out as a zip."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from service_hall.auth.operations import actor_for_user
from service_hall.clock import now
from service_hall.extensions import db
from service_hall.voice.models import VoiceSegment
from service_hall.voice.operations import save_segment
from service_hall.voice.segments import SEGMENTS, segments_for
from tests.conftest import REQUIRE_SERVICES
from tests.factories import PASSWORD
from tests.pages.test_browser import ARGS, CHROMIUM, shots, wait_until  # noqa: F401 (fixture)
from tests.voice.test_packs import tone

FAKE_MIC = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
NO_SPEECH = "Object.defineProperty(window, 'speechSynthesis', {value: undefined});"
PLAYED = "window.serviceHallVoice ? window.serviceHallVoice.played : []"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is required (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + FAKE_MIC)
        yield browser
        browser.close()


def _hall(factory) -> dict:
    hall = factory.hall("SD", name="绥德县政务服务中心")
    police = factory.department(hall, code="SD-GA", name="绥德县公安局")
    item = factory.item(police, code="SD-GA-01", prefix="A", name="居民身份证换领")
    window = factory.window(hall, 12, [item], police)
    admin = factory.user("admin", "admin", hall)
    setup = {"clerk": factory.clerk(window).username, "kiosk": factory.device(hall),
             "display": factory.device(hall, kind="display"), "admin_id": admin.id}
    db.session.close()
    return setup


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")


def _complete_pack(admin_id) -> None:
    from service_hall.auth.models import User
    actor = actor_for_user(db.session.get(User, admin_id))
    hall = db.session.scalars(select(VoiceSegment.__table__.c.hall_id)).first()  # none yet
    assert hall is None
    from service_hall.catalog.models import Hall
    sd = db.session.scalars(select(Hall).where(Hall.code == "SD")).one()
    for i, key in enumerate(SEGMENTS):
        save_segment(sd, key, tone(120 + i, silence_ms=40), actor=actor, now=now())
    db.session.commit()
    db.session.close()


def test_a_board_without_a_mandarin_voice_plays_the_segments_twice(browser, live_server,
                                                                   factory):
    from playwright.sync_api import expect
    setup = _hall(factory)
    base = live_server.url
    display = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    display.add_init_script(NO_SPEECH)
    clips: list[str] = []
    display.on("request", lambda request: clips.append(request.url)
               if "/voice" in request.url and "pack.json" not in request.url else None)
    display.goto(f"{base}/display/SD?device={setup['display']}")
    wait_until(display, "document.getElementById('board').dataset.voice !== undefined || true")

    console = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    _sign_in(console, base, setup["clerk"])
    expect(console).to_have_url(f"{base}/console")
    console.click("#btn-open")
    expect(console.locator("#window-state")).to_have_text("空闲")
    issued = requests.post(f"{base}/api/v1/halls/SD/tickets", json={"item_code": "SD-GA-01"},
                           headers={"Authorization": f"Bearer {setup['kiosk']}"}, timeout=10)
    assert issued.status_code == 201 and issued.json()["number"] == "A001"
    console.click("#btn-call")
    expect(display.locator("#caption")).to_have_text("请A001号到12号窗口办理")

    wait_until(display, f"({PLAYED}).length >= 2", timeout=15)
    played = display.evaluate(PLAYED)
    expected = segments_for("A001", 12)
    assert [SEGMENTS[k] for k in expected] == ["请", "A", "零", "零", "一", "号", "到", "十", "二",
                                              "号", "窗口", "办理"]
    for entry in played[:2]:
        assert entry["source"] == "default" and entry["segments"] == expected
        assert entry["seconds"] > 2  # twelve real clips, back to back
    assert played[1]["started"] >= played[0]["ended"]  # said twice, never on top of itself
    fetched = {url.rsplit("/", 1)[1] for url in clips}
    assert fetched == {f"{key}.wav" for key in expected}  # every clip came from the default pack

    # The hall records its own complete pack: the board (re)loaded uses it, for a recall too.
    _complete_pack(setup["admin_id"])
    display.reload()
    wait_until(display, "document.getElementById('board').dataset.seq !== undefined")
    display.wait_for_timeout(500)
    console.click("#btn-recall")
    wait_until(display, f"({PLAYED}).length >= 2", timeout=15)
    played = display.evaluate(PLAYED)
    assert [entry["source"] for entry in played[:2]] == ["hall", "hall"]
    assert played[0]["segments"] == ["chonghu"] + expected
    assert any(re.search(r"/voice/SD/clips/chonghu\?v=\d+$", url) for url in clips)
    for page in (display, console):
        page.context.close()


def test_an_administrator_records_plays_back_and_moves_a_pack(browser, live_server, factory,
                                                              tmp_path, shots):
    from playwright.sync_api import expect
    _hall(factory)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    _sign_in(page, base, "admin")
    page.goto(f"{base}/admin/voice/SD")
    expect(page.locator("#pack-status strong")).to_have_text("0")
    row = page.locator("tr[data-key='qing']")
    expect(row.locator(".seg-state")).to_contain_text("默认语音")
    row.locator("[data-record]").click()
    expect(row).to_have_class(re.compile("recording"))
    page.wait_for_timeout(1500)  # Chromium's fake microphone beeps while we "speak"
    row.locator("[data-record]").click()
    expect(row).to_have_attribute("data-saved", re.compile(r"/voice/SD/clips/qing\?v="),
                                  timeout=10000)
    expect(row.locator(".seg-state")).to_contain_text("已录制")
    stored = db.session.scalars(select(VoiceSegment).where(VoiceSegment.key == "qing")).one()
    assert stored.mime == "audio/wav" and stored.audio[:4] == b"RIFF"
    assert 0 < stored.duration_ms < 1500  # trimmed: shorter than what was recorded
    db.session.close()
    row.locator("[data-play]").click()
    expect(row).to_have_attribute("data-played", re.compile(r"/voice/SD/clips/qing"),
                                  timeout=10000)

    # A whole pack as a zip: upload, then download it again.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        for key in ("hao", "dao", "d1", "A"):
            out.writestr(f"{key}.wav", tone(200, silence_ms=100))
    page.set_input_files("#pack-file", files=[{"name": "pack.zip", "mimeType": "application/zip",
                                               "buffer": archive.getvalue()}])
    page.click("#pack-upload")
    expect(page.locator(".flash.info")).to_contain_text("已导入 4 个语音片段")
    expect(page.locator("#pack-status strong")).to_have_text("5")
    assert db.session.scalar(select(func.count()).select_from(VoiceSegment)) == 5
    db.session.close()
    with page.expect_download() as download:
        page.click("#pack-download")
    saved = tmp_path / "pack.zip"
    download.value.save_as(saved)
    assert sorted(zipfile.ZipFile(saved).namelist()) == sorted(
        f"{key}.wav" for key in ("qing", "hao", "dao", "d1", "A"))
    page.goto(f"{base}/admin/voice/SD")
    page.screenshot(path=str(shots / "voice-admin.png"))
    page.context.close()
