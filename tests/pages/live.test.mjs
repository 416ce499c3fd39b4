// node --test tests/pages/live.test.mjs (run by tests/pages/test_live_js.py): the shared live
// client resumes from the last seq, drops duplicates and reloads on resync.
import { test } from "node:test";
import assert from "node:assert/strict";

const sockets = [];
globalThis.window = {
  io(namespace, options) {
    const handlers = {};
    const socket = { namespace, options, handlers, on(name, fn) { handlers[name] = fn; } };
    sockets.push(socket);
    return socket;
  },
  location: { reload() { throw new Error("reload not expected"); } },
};
const { connectLive, EVENT_TYPES } = await import("../../service_hall/static/js/live.js");

function authOf(socket) {
  let sent;
  socket.options.auth((value) => { sent = value; });
  return sent;
}

test("connects to /live and listens to every event type", () => {
  connectLive({ auth: { hall: "C1" }, since: 7, onEvent() {} });
  const socket = sockets.at(-1);
  assert.equal(socket.namespace, "/live");
  for (const type of EVENT_TYPES) assert.equal(typeof socket.handlers[type], "function", type);
  assert.ok(EVENT_TYPES.includes("ticket.called") && EVENT_TYPES.includes("window.state"));
  assert.deepEqual(authOf(socket), { hall: "C1", since: 7 });
});

test("passes the last seq seen on every reconnect and drops duplicates", () => {
  const got = [];
  connectLive({ auth: { token: "dev.x", hall: "C1" }, since: 10, onEvent: (e) => got.push(e.seq) });
  const socket = sockets.at(-1);
  const send = (type, seq) => socket.handlers[type]({ seq, type, hall: "C1", at: "", data: {} });
  send("ticket.issued", 9);    // before the page's state: already counted
  send("ticket.issued", 11);
  send("ticket.called", 12);
  send("ticket.called", 12);   // replayed twice around a resume
  send("ticket.recalled", 11); // older than the last one seen
  send("window.state", 13);
  assert.deepEqual(got, [11, 12, 13]);
  assert.deepEqual(authOf(socket), { token: "dev.x", hall: "C1", since: 13 });
  socket.handlers.ready({ hall: "C1", seq: 20, replayed: 0 });
  assert.deepEqual(authOf(socket), { token: "dev.x", hall: "C1", since: 20 });
});

test("without a starting seq the first connect sends none", () => {
  connectLive({ auth: { track: "abc" }, onEvent() {} });
  assert.deepEqual(authOf(sockets.at(-1)), { track: "abc" });
});

test("resync moves to the server's seq and reloads the state", () => {
  const reloads = [];
  connectLive({ auth: { hall: "C1" }, since: 3, onEvent() {}, onResync: (info) => reloads.push(info) });
  const socket = sockets.at(-1);
  socket.handlers.resync({ hall: "C1", seq: 500, missed: 1000 });
  assert.equal(reloads.length, 1);
  assert.deepEqual(authOf(socket), { hall: "C1", since: 500 });
});

test("connection status reaches the page", () => {
  const states = [];
  connectLive({ auth: { hall: "C1" }, onEvent() {}, onStatus: (up) => states.push(up) });
  const socket = sockets.at(-1);
  socket.handlers.connect();
  socket.handlers.disconnect();
  socket.handlers.connect_error(new Error("refused"));
  assert.deepEqual(states, [true, false, false]);
});
