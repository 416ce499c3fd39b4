// node --test tests/windows/announce.test.mjs (run by tests/test_js_modules.py)
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AnnouncementQueue, announcementFor, chooseVoice, clipsFor,
} from "../../windows/static/announce.js";

const CALL = { number: "A001", window_number: 12, announcement: "请A001号到12号窗口办理",
  spoken: "请A零零一号到十二号窗口办理",
  segments: ["qing", "A", "d0", "d0", "d1", "hao", "dao", "shi", "d2", "hao", "chuangkou", "banli"] };

test("the words come from the event, not from the page", () => {
  const item = announcementFor(CALL);
  assert.equal(item.text, "请A001号到12号窗口办理");
  assert.equal(item.spoken, "请A零零一号到十二号窗口办理");
  assert.deepEqual(item.segments, CALL.segments);
  // An event recorded before voice packs existed still shows and speaks its announcement.
  const old = announcementFor({ number: "B010", window_number: 3, announcement: "请B010号到3号窗口办理" });
  assert.equal(old.spoken, "请B010号到3号窗口办理");
  assert.deepEqual(old.segments, []);
});

test("the hall's pack when complete, else the device's voice, else the default pack", () => {
  const all = Object.fromEntries(CALL.segments.map((k) => [k, `/d/${k}.wav`]));
  const hall = Object.fromEntries(CALL.segments.map((k) => [k, `/h/${k}`]));
  const complete = { complete: true, hall_segments: hall, default_segments: all };
  const partial = { complete: false, hall_segments: { qing: "/h/qing" }, default_segments: all };
  assert.equal(chooseVoice(complete, CALL.segments, true), "hall");
  assert.equal(chooseVoice(complete, CALL.segments, false), "hall");
  assert.equal(chooseVoice(partial, CALL.segments, true), "speech");
  assert.equal(chooseVoice(partial, CALL.segments, false), "default");
  assert.equal(chooseVoice(null, CALL.segments, false), "speech");
  assert.equal(chooseVoice(partial, [], false), "speech");
  assert.deepEqual(clipsFor(complete, "hall", ["qing", "A"]), ["/h/qing", "/h/A"]);
  assert.deepEqual(clipsFor(partial, "default", ["qing", "A"]), ["/d/qing.wav", "/d/A.wav"]);
});

test("each call is said twice after one chime, and calls never overlap", async () => {
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
    chime: () => sound("chime", 5), speak: (item) => sound(item.spoken, 10), onIdle: () => idle(),
  });
  queue.add(announcementFor({ ...CALL, spoken: "一" }));
  queue.add(announcementFor({ ...CALL, spoken: "二" }));
  assert.equal(queue.length, 2);
  await finished;
  assert.equal(maxActive, 1);
  assert.deepEqual(log, ["chime", "一", "一", "chime", "二", "二"]);
  assert.equal(queue.length, 0);
});

test("a failing chime or voice does not stop the queue", async () => {
  const spoken = [];
  let idle;
  const finished = new Promise((resolve) => { idle = resolve; });
  const queue = new AnnouncementQueue({
    chime: () => Promise.reject(new Error("autoplay blocked")),
    speak: (item) => { spoken.push(item.spoken); return Promise.reject(new Error("no voice")); },
    onIdle: () => idle(),
  });
  queue.add(announcementFor(CALL));
  queue.add(announcementFor(CALL));
  await finished;
  assert.equal(spoken.length, 4);
});
