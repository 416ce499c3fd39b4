// Kiosk: choose a department and an item (or search), take a ticket with the device token.
// Every press gets its own Idempotency-Key; a network break is retried with the same key, so
// the server returns the first ticket instead of issuing a second one. The pending press is kept
// in localStorage, so even a page reload finishes it.
import { deviceToken } from "../js/device.js";

const PENDING_KEY = "serviceHall.pendingTicket";
const PENDING_MAX_AGE_MS = 10 * 60 * 1000;
const SHOW_TICKET_MS = 45 * 1000;
const IDLE_RESET_MS = 90 * 1000;

const root = document.getElementById("kiosk");
const strings = JSON.parse(document.getElementById("kiosk-strings").textContent);
const $ = (id) => document.getElementById(id);
const status = $("kiosk-status");
let busy = false;
let resetTimer = null;
let idleTimer = null;

function newKey() {
  // crypto.randomUUID needs a secure context; kiosks often run on plain http in the hall LAN.
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function say(text, kind = "info") {
  status.textContent = text;
  status.className = "banner " + kind;
  status.hidden = !text;
}

// --- choosing ---------------------------------------------------------------------------
const departments = $("departments");
const itemsBox = $("items");
const itemButtons = Array.from(document.querySelectorAll(".tile.item"));
const search = $("search");
const green = $("green");

function showDepartments() {
  departments.hidden = false;
  itemsBox.hidden = true;
  search.value = "";
}

function showItems(filter, title) {
  let shown = 0;
  for (const button of itemButtons) {
    const visible = filter(button);
    button.hidden = !visible;
    if (visible) shown += 1;
  }
  $("items-title").textContent = title;
  $("no-match").hidden = shown > 0;
  departments.hidden = true;
  itemsBox.hidden = false;
}

departments.addEventListener("click", (event) => {
  const button = event.target.closest(".dept");
  if (!button) return;
  const code = button.dataset.dept;
  showItems((b) => b.dataset.dept === code, button.firstChild.textContent.trim());
});

search.addEventListener("input", () => {
  const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return showDepartments();
  showItems((b) => words.every((w) => b.dataset.search.toLowerCase().includes(w)),
             search.value.trim());
});

$("back").addEventListener("click", showDepartments);

green.addEventListener("click", () => {
  const on = green.getAttribute("aria-pressed") !== "true";
  green.setAttribute("aria-pressed", String(on));
  $("green-note").hidden = !on;
});

itemsBox.addEventListener("click", (event) => {
  const button = event.target.closest(".tile.item");
  if (!button || busy) return;
  take(button.dataset.item, green.getAttribute("aria-pressed") === "true");
});

// --- taking a ticket ----------------------------------------------------------------------
function take(itemCode, greenChannel) {
  const pending = { item_code: itemCode, green_channel: greenChannel, key: newKey(), at: Date.now() };
  localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  send(pending, 0);
}

async function send(pending, attempt) {
  const token = deviceToken();
  if (!token) { say(strings.no_device, "error"); localStorage.removeItem(PENDING_KEY); return; }
  busy = true;
  say(attempt ? strings.retrying : strings.taking, attempt ? "warn" : "info");
  let answer;
  try {
    answer = await fetch(root.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token,
                 "Idempotency-Key": pending.key },
      body: JSON.stringify({ item_code: pending.item_code, green_channel: pending.green_channel }),
      cache: "no-store",
    });
  } catch (error) {
    return retry(pending, attempt);  // network down: same key again
  }
  let body = null;
  try { body = await answer.json(); } catch (error) { body = null; }
  const code = body && body.error ? body.error.code : "";
  if (answer.status >= 500 || answer.status === 429 || code === "idempotency_in_progress" || !body) {
    return retry(pending, attempt);
  }
  localStorage.removeItem(PENDING_KEY);
  busy = false;
  if (answer.status === 201) { say(""); return showTicket(body); }
  if (answer.status === 401) return say(strings.no_device, "error");
  say(strings.failed + body.error.message, "error");
}

function retry(pending, attempt) {
  if (Date.now() - pending.at > PENDING_MAX_AGE_MS) {
    localStorage.removeItem(PENDING_KEY);
    busy = false;
    return say(strings.failed + strings.retrying, "error");
  }
  say(strings.retrying, "warn");
  const delay = Math.min(1000 * 2 ** attempt, 5000);
  setTimeout(() => send(pending, attempt + 1), delay);
}

function fill(template, token) { return template.replace("TOKEN", encodeURIComponent(token)); }

function showTicket(ticket) {
  $("t-number").textContent = ticket.number;
  $("t-item").textContent = ticket.item_name;
  $("t-ahead").textContent = ticket.waiting_ahead;
  $("t-wait").textContent = ticket.estimated_wait_minutes;
  $("t-qr").src = fill(root.dataset.qr, ticket.track_token);
  $("t-print").href = fill(root.dataset.print, ticket.track_token) + "?auto=1";
  $("t-printed").textContent = ticket.printed ? strings.printed : strings.not_printed;
  $("choose").hidden = true;
  $("result").hidden = false;
  clearTimeout(resetTimer);
  resetTimer = setTimeout(reset, SHOW_TICKET_MS);
}

function reset() {
  clearTimeout(resetTimer);
  $("result").hidden = true;
  $("choose").hidden = false;
  green.setAttribute("aria-pressed", "false");
  $("green-note").hidden = true;
  showDepartments();
  say(busy ? status.textContent : "");
}

$("done").addEventListener("click", reset);

// Back to the start after a while without a touch, so the next person starts clean.
document.addEventListener("pointerdown", () => {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => { if ($("result").hidden && !busy) reset(); }, IDLE_RESET_MS);
});

// --- start ----------------------------------------------------------------------------------
if (!deviceToken()) say(strings.no_device, "error");
const left = localStorage.getItem(PENDING_KEY);
if (left) {
  try {
    const pending = JSON.parse(left);
    if (Date.now() - pending.at < PENDING_MAX_AGE_MS) send(pending, 1);
    else localStorage.removeItem(PENDING_KEY);
  } catch (error) { localStorage.removeItem(PENDING_KEY); }
}
