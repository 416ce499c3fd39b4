// node --test tests/windows/announce.test.mjs (run by tests/windows/test_announce_js.py)
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AnnouncementQueue, announcementFor, announcementText, readCharacters, readNumber, spokenText,
} from "../../windows/static/announce.js";

test("ticket numbers are read digit by digit", () => {
  assert.equal(readCharacters("A001"), "A零零一");
  assert.equal(readCharacters("V120"), "V一二零");
  assert.equal(readCharacters("B999"), "B九九九");
});

test("window numbers are read as numbers", () => {
  const cases = { 1: "一", 9: "九", 10: "十", 12: "十二", 19: "十九", 20: "二十", 21: "二十一",
    99: "九十九", 100: "一百", 101: "一百零一", 110: "一百一十", 115: "一百一十五",
    120: "一百二十", 126: "一百二十六", 200: "二百", 999: "九百九十九", 1000: "一千",
    1001: "一千零一", 1010: "一千零一十", 1100: "一千一百", 2026: "二千零二十六" };
  for (const [n, spoken] of Object.entries(cases)) assert.equal(readNumber(Number(n)), spoken, n);
  assert.equal(readNumber("12"), "十二");
});

test("the announcement as shown and as spoken", () => {
  assert.equal(announcementText("A001", 12), "请A001号到12号窗口办理");
  assert.equal(spokenText("A001", 12), "请A零零一号到十二号窗口办理");
  assert.equal(spokenText("V003", 126), "请V零零三号到一百二十六号窗口办理");
  const item = announcementFor({ number: "B010", window_number: 3 });
  assert.equal(item.text, "请B010号到3号窗口办理");
  assert.equal(item.spoken, "请B零一零号到三号窗口办理");
});

test("announcements queue up and never overlap", async () => {
  const log = [];
  let active = 0;
  let maxActive = 0;
  const sound = (name, ms) => new Promise((resolve) => {
    active += 1; maxActive = Math.max(maxActive, active); log.push(name);
    setTimeout(() => { active -= 1; resolve(); }, ms);
  });
  let idle;
  const finished = new Promise((resolve) => { idle = resolve; });
  const queue = new AnnouncementQueue({
    chime: () => sound("chime", 5), speak: (text) => sound(text, 10), onIdle: () => idle(),
  });
  queue.add(announcementFor({ number: "A001", window_number: 1 }));
  queue.add(announcementFor({ number: "A002", window_number: 12 }));
  assert.equal(queue.length, 2);
  await finished;
  assert.equal(maxActive, 1);
  assert.deepEqual(log, ["chime", "请A零零一号到一号窗口办理", "chime", "请A零零二号到十二号窗口办理"]);
  assert.equal(queue.length, 0);
});

test("a failing chime or voice does not stop the queue", async () => {
  const spoken = [];
  let idle;
  const finished = new Promise((resolve) => { idle = resolve; });
  const queue = new AnnouncementQueue({
    chime: () => Promise.reject(new Error("autoplay blocked")),
    speak: (text) => { spoken.push(text); return Promise.reject(new Error("no voice")); },
    onIdle: () => idle(),
  });
  queue.add(announcementFor({ number: "A001", window_number: 2 }));
  queue.add(announcementFor({ number: "A002", window_number: 2 }));
  await finished;
  assert.equal(spoken.length, 2);
});
