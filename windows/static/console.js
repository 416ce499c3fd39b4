// Window console: the clerk's buttons call the JSON API with the login session and the CSRF
// token; the staff socket tells us when the queue or the window changed, and we re-read the
// window's status once (no polling).
import { connectLive, debounce, liveBanner } from "../js/live.js";

const root = document.getElementById("console");
const config = JSON.parse(document.getElementById("console-data").textContent);
const { api, strings } = config;
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const myItems = new Set(root.dataset.items.split(" ").filter(Boolean));
let state = config.state;
let busy = false;

function message(text, kind = "info") {
  const box = $("message");
  box.textContent = text || "";
  box.className = "banner " + kind;
  box.hidden = !text;
}

async function call(url, method = "POST", body = undefined) {
  const answer = await fetch(url, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (answer.status !== 204) { try { data = await answer.json(); } catch (error) { data = null; } }
  if (answer.status === 401) window.location.reload();  // signed out (idle timeout)
  return { status: answer.status, data };
}

function render(next) {
  state = next;
  const win = state.window;
  const ticket = state.ticket;
  $("window-state").textContent = config.state_labels[win.state] || win.state;
  $("window-state").dataset.state = win.state;
  $("window-reason").textContent = win.reason ? "（" + win.reason + "）" : "";
  $("waiting").textContent = state.waiting;
  $("cur-number").textContent = ticket ? ticket.number : "—";
  $("cur-item").textContent = ticket ? ticket.item_name : "";
  $("cur-status").textContent = ticket ? (config.ticket_labels[ticket.status] || ticket.status) : "";
  $("cur-calls").textContent = ticket && ticket.status === "called" ? `（${ticket.call_count}/3）` : "";
  $("cur-green").hidden = !(ticket && ticket.green_channel);
  const open = win.signed_in && win.state !== "closed";
  const called = ticket && ticket.status === "called";
  const serving = ticket && ticket.status === "serving";
  const enable = {
    "btn-call": open && !ticket && (win.state === "idle" || win.state === "serving"),
    "btn-recall": called, "btn-start": called, "btn-noshow": called,
    "btn-finish": serving, "btn-transfer": called || serving,
    "btn-open": !ticket && win.state !== "idle",
    "btn-close": !ticket && win.state !== "closed",
    "btn-pause": open && !ticket, "btn-away": open && !ticket,
  };
  for (const [id, on] of Object.entries(enable)) $(id).disabled = busy || !on;
}

async function refresh() {
  try {
    const answer = await fetch(api.status, { credentials: "same-origin", cache: "no-store" });
    if (answer.status === 401 || answer.redirected) return window.location.reload();
    if (answer.ok) render(await answer.json());
  } catch (error) { /* offline: the next event tries again */ }
}
const refreshSoon = debounce(refresh, 300);

async function act(url, method, body) {
  if (busy) return;
  busy = true;
  render(state);
  message("");
  try {
    const { status, data } = await call(url, method, body);
    if (status === 204) message(strings.nobody, "info");
    else if (status >= 400) message(strings.failed + (data && data.error ? data.error.message : status), "error");
  } catch (error) {
    message(strings.offline, "error");
  } finally {
    busy = false;
    await refresh();
  }
}

document.querySelectorAll("[data-action]").forEach((button) => {
  button.addEventListener("click", () => act(api[button.dataset.action], "POST"));
});

document.querySelectorAll("[data-state]").forEach((button) => {
  button.addEventListener("click", () => act(api.state, "PUT", { state: button.dataset.state }));
});

$("pause").addEventListener("submit", (event) => {
  event.preventDefault();
  const reason = event.target.elements.reason.value.trim();
  if (!reason) { message(strings.reason_needed, "error"); return; }
  act(api.state, "PUT", { state: event.submitter.value, reason });
});

$("transfer").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target.elements;
  const body = form.item_code.value ? { item_code: form.item_code.value }
    : form.window_number.value ? { window_number: Number(form.window_number.value) } : null;
  if (!body) return;
  act(api.transfer, "POST", body).then(() => { form.item_code.value = ""; form.window_number.value = ""; });
});

function concernsMe(event) {
  const data = event.data || {};
  if (event.type === "window.state") return data.window_code === root.dataset.window;
  return myItems.has(data.item_code) || myItems.has(data.to_item_code) ||
         data.to_window_number === state.window.number || data.window_number === state.window.number;
}

render(state);
connectLive({
  auth: { token: root.dataset.liveToken, hall: root.dataset.hall },
  since: Number.parseInt(root.dataset.seq, 10),
  onEvent: (event) => { if (concernsMe(event)) refreshSoon(); },
  onStatus: liveBanner($("live-lost")),
  onResync: refresh,
});
