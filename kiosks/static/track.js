// Ticket tracking page: the ticket's own events arrive in its track room (the call, with its
// window, the moment it happens); the hall's public events tell us when the queue moved, and we
// then re-read our place in it once (no polling).
import { connectLive, debounce, liveBanner } from "../js/live.js";

const card = document.getElementById("track");
const labels = JSON.parse(document.getElementById("status-labels").textContent);
const $ = (id) => document.getElementById(id);
const token = card.dataset.token;
const banner = liveBanner($("live-lost"));

function render(state) {
  card.dataset.status = state.status;
  $("number").textContent = state.number;
  $("status").textContent = labels[state.status] || state.status;
  $("status").dataset.status = state.status;
  const atWindow = state.status === "called" || state.status === "serving";
  $("call").hidden = !atWindow;
  if (state.window_number != null) $("window").textContent = state.window_number;
  $("queue").hidden = state.status !== "waiting";
  if (state.waiting_ahead != null) $("ahead").textContent = state.waiting_ahead;
  if (state.estimated_wait_minutes != null) $("wait").textContent = state.estimated_wait_minutes;
}

async function refresh() {
  try {
    const answer = await fetch(card.dataset.api, { cache: "no-store" });
    if (answer.ok) render(await answer.json());
  } catch (error) { /* offline: the next event tries again */ }
}
// Phones in the hall share one public address (and its rate limit): spread their re-reads.
const refreshSoon = debounce(refresh, 800 + Math.floor(Math.random() * 2000));

const STATUS_OF = {
  "ticket.called": "called", "ticket.recalled": "called", "ticket.started": "serving",
  "ticket.done": "done", "ticket.no_show": "no_show", "ticket.cancelled": "cancelled",
  "ticket.reactivated": "waiting",
};

function onOwnEvent(event) {
  const data = event.data || {};
  if (event.type === "ticket.transferred") {
    // Same number, new queue: our token now follows the new waiting ticket.
    return refresh();
  }
  const status = STATUS_OF[event.type];
  if (!status) return;
  render({ number: data.number || $("number").textContent, status,
           window_number: data.window_number ?? null });
  if (status === "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  if (status === "waiting") refresh();
}

function onHallEvent(event) {
  // Only a waiting ticket cares how the queue moves.
  if (card.dataset.status !== "waiting") return;
  const data = event.data || {};
  const mine = card.dataset.item;
  if (event.type === "ticket.issued" || event.type === "window.state") return;
  if (data.item_code === mine || data.to_item_code === mine) refreshSoon();
}

const since = Number.parseInt(card.dataset.seq, 10);
connectLive({ auth: { track: token }, since, onEvent: onOwnEvent, onStatus: banner,
              onResync: refresh });
connectLive({ auth: { hall: card.dataset.hall }, since, onEvent: onHallEvent, onResync: refreshSoon });
