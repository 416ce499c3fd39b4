// One live connection to the /live Socket.IO namespace (SPEC 5).
// auth = {token?, hall?, track?, since?}. Each event arrives as {seq, type, hall, at, data}.
// On every (re)connect we pass since = the last seq seen, so the server replays what we missed;
// anything at or below that seq is a duplicate and is dropped. When too much was missed the
// server sends `resync` {hall, seq} instead: the page reloads its state and goes on from seq.
export const EVENT_TYPES = [
  "ticket.issued", "ticket.called", "ticket.recalled", "ticket.no_show", "ticket.started",
  "ticket.done", "ticket.transferred", "ticket.cancelled", "ticket.reactivated", "window.state",
];

export function connectLive({ auth, since = null, onEvent, onStatus = () => {},
                             onResync = () => window.location.reload() }) {
  let lastSeq = Number.isInteger(since) ? since : null;
  const socket = window.io("/live", {
    auth: (cb) => cb(lastSeq === null ? { ...auth } : { ...auth, since: lastSeq }),
    reconnectionDelayMax: 5000,
  });
  const handle = (envelope) => {
    if (!envelope || typeof envelope.seq !== "number") return;
    if (lastSeq !== null && envelope.seq <= lastSeq) return;  // replayed twice: drop
    lastSeq = envelope.seq;
    onEvent(envelope);
  };
  for (const type of EVENT_TYPES) socket.on(type, handle);
  socket.on("ready", (info) => {
    // Replay done: everything up to info.seq that we may see has arrived.
    if (info && Number.isInteger(info.seq) && (lastSeq === null || info.seq > lastSeq)) lastSeq = info.seq;
  });
  socket.on("resync", (info) => {
    if (info && Number.isInteger(info.seq)) lastSeq = info.seq;
    onResync(info);
  });
  socket.on("connect", () => onStatus(true));
  socket.on("disconnect", () => onStatus(false));
  socket.on("connect_error", () => onStatus(false));
  return { socket, lastSeq: () => lastSeq };
}

// Run fn at most once per `ms`, at the end of a burst (refreshing counts after many events).
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function liveBanner(element) {
  return (connected) => { if (element) element.hidden = connected; };
}
