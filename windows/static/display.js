// Hall display board: latest calls in large type, waiting counts per category, and a voice
// announcement (chime, then zh-CN speech) for every call and recall, one after another.
import { connectLive, debounce, liveBanner } from "../js/live.js";
import { AnnouncementQueue, announcementFor } from "./announce.js";
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
  if (!("speechSynthesis" in window)) return null;
  const voices = speechSynthesis.getVoices();
  return voices.find((v) => v.lang === "zh-CN") ||
         voices.find((v) => v.lang && v.lang.toLowerCase().startsWith("zh")) || null;
}

function speak(text) {
  return new Promise((resolve) => {
    if (!("speechSynthesis" in window)) return resolve();
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    utterance.rate = 0.85;
    const voice = zhVoice();
    if (voice) utterance.voice = voice;
    // Some engines never fire "end": do not let one stuck utterance silence the hall.
    const timer = setTimeout(resolve, 2000 + text.length * 450);
    utterance.onend = utterance.onerror = () => { clearTimeout(timer); resolve(); };
    speechSynthesis.speak(utterance);
  });
}

const queue = new AnnouncementQueue({
  chime, speak,
  onStart: (item) => { $("caption").textContent = item.text; board.dataset.speaking = item.text; },
  onIdle: () => { delete board.dataset.speaking; },
});

$("enable-sound").addEventListener("click", () => {
  $("enable-sound").hidden = true;
  chimeAudio.play().then(() => chimeAudio.pause()).catch(() => {});
  if ("speechSynthesis" in window) speechSynthesis.speak(new SpeechSynthesisUtterance(""));
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
              onStatus: liveBanner($("live-lost")), onResync: () => reloadBoard(true) });
