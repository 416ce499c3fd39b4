// Hall display board: latest calls in large type, waiting counts per category, and a voice
// announcement (chime, then zh-CN speech) for every call and recall, one after another.
import { connectLive, debounce, liveBanner } from "../js/live.js";
import { AnnouncementQueue, announcementFor, chooseVoice, clipsFor } from "./announce.js";
import { deviceToken } from "../js/device.js";

const MAX_ROWS = 8;
const board = document.getElementById("board");
const $ = (id) => document.getElementById(id);
const chimeAudio = $("chime");

// --- sound -------------------------------------------------------------------------------
function chime() {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); chimeAudio.onended = null; resolve(); };
    const timer = setTimeout(done, 3000);
    chimeAudio.onended = done;
    chimeAudio.currentTime = 0;
    chimeAudio.play().catch(() => { $("enable-sound").hidden = false; done(); });
  });
}

function zhVoice() {
  if (!window.speechSynthesis) return null;
  const voices = speechSynthesis.getVoices() || [];
  return voices.find((v) => v.lang === "zh-CN") ||
         voices.find((v) => v.lang && v.lang.toLowerCase().startsWith("zh")) || null;
}

function speakText(text) {
  return new Promise((resolve) => {
    if (!window.speechSynthesis) return resolve();
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    utterance.rate = 0.85;
    try { const voice = zhVoice(); if (voice) utterance.voice = voice; } catch (error) { /* lang is enough */ }
    // Some engines never fire "end": do not let one stuck utterance silence the hall.
    const timer = setTimeout(resolve, 2000 + text.length * 450);
    utterance.onend = utterance.onerror = () => { clearTimeout(timer); resolve(); };
    speechSynthesis.speak(utterance);
  });
}

// Recorded segments, decoded once and scheduled back to back on one AudioContext (gap-free).
class SegmentPlayer {
  constructor() { this.ctx = null; this.buffers = new Map(); }

  context() {
    if (!this.ctx) this.ctx = new AudioContext();
    return this.ctx;
  }

  async buffer(url) {
    if (!this.buffers.has(url)) {
      this.buffers.set(url, fetch(url).then((answer) => {
        if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
        return answer.arrayBuffer();
      }).then((bytes) => this.context().decodeAudioData(bytes)));
    }
    try { return await this.buffers.get(url); } catch (error) { this.buffers.delete(url); throw error; }
  }

  async play(urls) {
    const ctx = this.context();
    if (ctx.state === "suspended") await ctx.resume().catch(() => {});
    if (ctx.state !== "running") $("enable-sound").hidden = false;
    const buffers = await Promise.all(urls.map((url) => this.buffer(url)));
    let at = ctx.currentTime + 0.05;
    let last = null;
    for (const buffer of buffers) {
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.connect(ctx.destination);
      source.start(at);
      at += buffer.duration;
      last = source;
    }
    const length = at - ctx.currentTime;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, length * 1000 + 500);
      if (last) last.onended = () => { clearTimeout(timer); resolve(); };
    });
    return length;
  }
}

const player = new SegmentPlayer();
let pack = null;  // the hall's voice pack manifest (service_hall/voice/views.py)
// What the board said, newest last (kept short): a hook for tests and for checking a board.
window.serviceHallVoice = { played: [] };

async function loadPack() {
  try {
    const answer = await fetch(board.dataset.voice, { cache: "no-store" });
    if (answer.ok) pack = await answer.json();
  } catch (error) { /* offline: keep the pack we have */ }
}

async function speak(item) {
  const source = chooseVoice(pack, item.segments, !!zhVoice());
  board.dataset.voice = source;
  const entry = { source, segments: item.segments, text: item.spoken, seconds: null,
                  started: performance.now(), ended: null };
  if (source === "speech") {
    await speakText(item.spoken);
  } else {
    entry.seconds = await player.play(clipsFor(pack, source, item.segments));
  }
  entry.ended = performance.now();
  const played = window.serviceHallVoice.played;
  played.push(entry);
  if (played.length > 20) played.shift();
}

const queue = new AnnouncementQueue({
  chime, speak,
  onStart: (item) => { $("caption").textContent = item.text; board.dataset.speaking = item.text; },
  onIdle: () => { delete board.dataset.speaking; },
});

$("enable-sound").addEventListener("click", () => {
  $("enable-sound").hidden = true;
  chimeAudio.play().then(() => chimeAudio.pause()).catch(() => {});
  player.context().resume().catch(() => {});
  if (window.speechSynthesis) speechSynthesis.speak(new SpeechSynthesisUtterance(""));
});

// --- board ---------------------------------------------------------------------------------
function showCall(data) {
  const body = $("calls");
  for (const row of body.querySelectorAll("tr")) {
    if (row.dataset.number === data.number) row.remove();
  }
  const row = document.createElement("tr");
  row.dataset.number = data.number;
  row.className = "fresh";
  const number = document.createElement("td");
  number.className = "num";
  number.textContent = data.number;
  const win = document.createElement("td");
  win.className = "win";
  win.textContent = data.window_number;
  row.append(number, win);
  body.prepend(row);
  while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
  setTimeout(() => row.classList.remove("fresh"), 10000);
}

function showWaiting(rows) {
  const list = $("waiting");
  list.classList.toggle("many", rows.length > 10);
  list.replaceChildren(...rows.map((r) => {
    const li = document.createElement("li");
    li.dataset.category = r.category;
    for (const [cls, text] of [["cat", r.category], ["label", r.label], ["count", r.waiting]]) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.append(span);
    }
    return li;
  }));
}

async function reloadBoard(withCalls = false) {
  try {
    const answer = await fetch(board.dataset.board, { cache: "no-store" });
    if (!answer.ok) return;
    const state = await answer.json();
    showWaiting(state.waiting);
    if (withCalls) {
      $("calls").replaceChildren();
      for (const call of state.calls.slice().reverse()) showCall(call);
    }
  } catch (error) { /* offline: the next event tries again */ }
}
const refreshCounts = debounce(() => reloadBoard(false), 700);

function onEvent(event) {
  const data = event.data || {};
  if (event.type === "ticket.called" || event.type === "ticket.recalled") {
    showCall(data);
    queue.add(announcementFor(data));
  }
  if (event.type !== "window.state") refreshCounts();
}

function tick() {
  const now = new Date();
  $("clock").textContent = now.toLocaleString("zh-CN", { hour12: false,
    month: "long", day: "numeric", weekday: "long", hour: "2-digit", minute: "2-digit" });
}
tick();
setInterval(tick, 15000);

const token = deviceToken();
const auth = token ? { token, hall: board.dataset.hall } : { hall: board.dataset.hall };
connectLive({ auth, since: Number.parseInt(board.dataset.seq, 10), onEvent,
              onStatus: liveBanner($("live-lost")),
              onResync: () => { reloadBoard(true); loadPack(); } });
loadPack();
setInterval(loadPack, 10 * 60 * 1000);  // a pack recorded meanwhile is used within minutes
