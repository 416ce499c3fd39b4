"""End to end in a real browser (Playwright + Debian's chromium) against a real server process:
a ticket taken on the kiosk appears on the window console, is called there, and the display
board (with its voice announcement) and the tracking page show the call within a second.

Screenshots of the four screens go to a temporary folder, or to ``docs/screenshots/`` with
``SERVICE_HALL_SCREENSHOTS=docs``.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
        # A hall display is set up to play sound without a tap (as the deployment guide says).
        "--autoplay-policy=no-user-gesture-required"]
DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
LIVE_WITHIN = 1.0  # seconds from the call (the API's answer) to the board and the phone

# Records what the display board says, and finishes each utterance quickly. Headless chromium
# has no voices: the spy offers a zh-CN one, as a device with a Mandarin voice does (without it
# the board plays the default voice pack: tests/pages/test_voice.py).
SPEECH_SPY = """
window.__spoken = [];
window.addEventListener('DOMContentLoaded', () => {
  if (!('speechSynthesis' in window)) return;
  speechSynthesis.getVoices = () => [{lang: 'zh-CN', name: 'spy', default: true}];
  speechSynthesis.speak = (u) => {
    window.__spoken.push({text: u.text, lang: u.lang, at: performance.now()});
    setTimeout(() => u.onend && u.onend(new Event('end')), 300);
  };
});
"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is required (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def shots(tmp_path):
    folder = DOCS if os.environ.get("SERVICE_HALL_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(page, expression: str, timeout: float = 5.0):
    """Poll a page expression (wait_for_function evaluates strings, which our CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value or time.monotonic() > deadline:
            assert value, f"{expression} still false after {timeout} s"
            return value
        page.wait_for_timeout(50)


def _demo_hall(factory):
    """A hall like the demo's, small: two departments, window 12 among them, kiosk, display."""
    hall = factory.hall("SD", name="绥德县政务服务中心")
    police = factory.department(hall, code="SD-GA", name="绥德县公安局")
    market = factory.department(hall, code="SD-SC", name="绥德县市场监督管理局")
    items = [factory.item(police, code="SD-GA-01", prefix="A", name="户籍迁移登记"),
             factory.item(police, code="SD-GA-02", prefix="A", name="居民身份证换领"),
             factory.item(market, code="SD-SC-01", prefix="B", name="个体工商户设立登记")]
    windows = {n: factory.window(hall, n, items[:2], police) for n in (11, 12)}
    factory.window(hall, 20, items[2:], market)
    clerk = factory.clerk(windows[12])
    setup = {"clerk": clerk.username, "kiosk": factory.device(hall),
             "display": factory.device(hall, kind="display")}
    # Plain values only, and no transaction left open: on SQLite even a read here would hold
    # the write lock (BEGIN IMMEDIATE) that the server process needs.
    from service_hall.extensions import db
    db.session.close()
    return setup


def test_kiosk_to_console_to_board_and_phone(browser, live_server, factory, shots):
    from playwright.sync_api import expect
    setup = _demo_hall(factory)
    base = live_server.url

    # The display board (a registered display device) and the window console are open first.
    display = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    display.add_init_script(SPEECH_SPY)
    display.goto(f"{base}/display/SD?device={setup['display']}")
    expect(display).to_have_url(f"{base}/display/SD")  # the token left the address bar
    expect(display.locator("#waiting li[data-category='A'] .count")).to_have_text("0")

    console = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    console.goto(f"{base}/login")
    console.fill("input[name=username]", setup["clerk"])
    console.fill("input[name=password]", PASSWORD)
    console.click("button[type=submit].primary")
    expect(console).to_have_url(f"{base}/console")
    expect(console.locator("#window-state")).to_have_text("未开窗")
    console.click("#btn-open")
    expect(console.locator("#window-state")).to_have_text("空闲")
    expect(console.locator("#waiting")).to_have_text("0")

    # A citizen takes a ticket at the kiosk: department, then item.
    kiosk = browser.new_context(viewport={"width": 1080, "height": 1350}).new_page()
    kiosk.goto(f"{base}/kiosk/SD?device={setup['kiosk']}")
    expect(kiosk).to_have_url(f"{base}/kiosk/SD")
    kiosk.get_by_role("button", name=re.compile("公安局")).click()
    kiosk.screenshot(path=str(shots / "kiosk-items.png"))
    kiosk.get_by_role("button", name=re.compile("户籍迁移登记")).click()
    expect(kiosk.locator("#t-number")).to_have_text("A001")
    expect(kiosk.locator("#t-ahead")).to_have_text("0")
    qr = kiosk.locator("#t-qr")
    expect(qr).to_have_attribute("src", re.compile(r"^/t/[^/]+/qr\.svg$"))
    token = qr.get_attribute("src").split("/")[2]
    wait_until(kiosk, "document.getElementById('t-qr').complete && "
                      "document.getElementById('t-qr').naturalWidth > 0")
    kiosk.screenshot(path=str(shots / "kiosk.png"))

    # The console hears of it over the staff socket; so does the board's waiting count.
    expect(console.locator("#waiting")).to_have_text("1")
    expect(display.locator("#waiting li[data-category='A'] .count")).to_have_text("1")

    # The citizen follows the ticket on a phone (the QR code's page).
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True).new_page()
    phone.goto(f"{base}/t/{token}")
    expect(phone.locator("#number")).to_have_text("A001")
    expect(phone.locator("#status")).to_have_text("等候中")
    phone.wait_for_timeout(300)  # let its sockets connect

    clicked = time.monotonic()
    with console.expect_response(re.compile(r"/call-next$")) as called:
        console.click("#btn-call")
    assert called.value.status == 200
    answered = time.monotonic()  # the call is committed: the clock for "within a second" starts
    expect(display.locator("#calls tr").first).to_have_attribute("data-number", "A001",
                                                                   timeout=3000)
    board_at = time.monotonic() - answered
    expect(phone.locator("#window")).to_have_text("12", timeout=3000)
    expect(phone.locator("#status")).to_have_text("已叫号")
    phone_at = time.monotonic() - answered
    timings = {"board": board_at, "phone": phone_at, "api": answered - clicked}
    assert board_at < LIVE_WITHIN and phone_at < LIVE_WITHIN, timings

    expect(display.locator("#calls tr").first.locator(".win")).to_have_text("12")
    expect(display.locator("#caption")).to_have_text("请A001号到12号窗口办理")
    expect(console.locator("#cur-number")).to_have_text("A001")
    expect(console.locator("#cur-calls")).to_have_text("（1/3）")
    wait_until(display, "window.__spoken.length >= 2")  # each call is said twice
    spoken = display.evaluate("window.__spoken")
    assert spoken[0]["text"] == "请A零零一号到十二号窗口办理" and spoken[0]["lang"] == "zh-CN"
    assert spoken[1]["text"] == spoken[0]["text"]
    assert spoken[1]["at"] - spoken[0]["at"] >= 300  # the second after the first has finished

    # A recall is announced again, after the first announcement, never on top of it.
    console.click("#btn-recall")
    expect(console.locator("#cur-calls")).to_have_text("（2/3）")
    wait_until(display, "window.__spoken.length >= 4")
    spoken = display.evaluate("window.__spoken")
    assert spoken[2]["text"] == spoken[3]["text"] == "重呼" + spoken[0]["text"]
    assert spoken[2]["at"] - spoken[1]["at"] >= 300  # queued behind the first announcement
    expect(console.locator("#waiting")).to_have_text("0")
    expect(display.locator("#waiting li[data-category='A'] .count")).to_have_text("0")

    display.screenshot(path=str(shots / "display.png"))
    phone.screenshot(path=str(shots / "track.png"), full_page=True)
    console.screenshot(path=str(shots / "console.png"), full_page=True)

    # Serving and finishing reach the phone too.
    console.click("#btn-start")
    expect(phone.locator("#status")).to_have_text("正在办理")
    console.click("#btn-finish")
    expect(phone.locator("#status")).to_have_text("已办结")
    expect(console.locator("#cur-number")).to_have_text("—")
    for page in (display, console, kiosk, phone):
        page.context.close()


def test_kiosk_retries_with_the_same_key_after_a_network_break(browser, live_server, factory):
    """The first answer is lost on the way back: the kiosk retries with the same
    Idempotency-Key and shows the ticket the server issued first, never a second one."""
    from playwright.sync_api import expect
    setup = _demo_hall(factory)
    context = browser.new_context(viewport={"width": 1080, "height": 1350})
    page = context.new_page()
    keys, lost = [], []

    def lose_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        response = route.fetch()  # the server issues the ticket...
        if not lost:
            lost.append(response.status)
            return route.abort("connectionreset")  # ...but the answer never arrives
        return route.fulfill(response=response)

    page.route("**/api/v1/halls/SD/tickets", lose_first_answer)
    page.goto(f"{live_server.url}/kiosk/SD?device={setup['kiosk']}")
    page.fill("#search", "个体 登记")
    page.get_by_role("button", name=re.compile("个体工商户设立登记")).click()
    expect(page.locator("#t-number")).to_have_text("B001", timeout=10000)
    assert lost == [201] and len(keys) >= 2 and len(set(keys)) == 1 and keys[0]
    # One ticket only: the next press is B002, with a new key.
    page.click("#done")
    page.fill("#search", "个体工商户")
    page.get_by_role("button", name=re.compile("个体工商户设立登记")).click()
    expect(page.locator("#t-number")).to_have_text("B002")
    assert len(set(keys)) == 2
    # The green channel is one tap, no reason asked: the next ticket is a V number.
    page.click("#done")
    page.click("#green")
    expect(page.locator("#green-note")).to_be_visible()
    page.get_by_role("button", name=re.compile("公安局")).click()
    page.get_by_role("button", name=re.compile("居民身份证换领")).click()
    expect(page.locator("#t-number")).to_have_text("V001")
    page.click("#done")
    expect(page.locator("#green")).to_have_attribute("aria-pressed", "false")  # reset for the next person
    context.close()
