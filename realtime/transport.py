"""The WebSocket transport under Socket.IO, made cheap per connection and per message.

Three changes to the stock gevent transport (python-engineio over simple-websocket/wsproto):

- **No per-message compression.** Every browser offers ``permessage-deflate``, and the stock
  server accepts it: each connection then keeps a zlib compressor (about 256 KB of tables, of
  which ~100 KB is touched) and a decompressor, and every message is compressed once per client.
  Our messages are a few hundred bytes of JSON on a hall's LAN; :func:`without_compression`
  drops the offer before the handshake, so no extension is ever negotiated (measured with
  ``bench/fanout.py``, whose client offers it as browsers do: 170–180 KB per connection with it,
  under 80 without).
- **Frames written directly.** Without extensions a server frame is a 2–10 byte header and the
  text, so :class:`PlainFrames` writes it itself instead of going through wsproto's frame
  machinery for each client of a broadcast; a broadcast's frame is built once (python-socketio
  hands every recipient the same packet object).
- **No hand-over to a writer greenlet when there is nothing to wait for.** Engine.IO queues each
  message for a per-connection writer greenlet, which wakes, polls its queue (with a timer) and
  writes: most of the cost of a delivery. When that writer is idle (waiting on an empty queue),
  the message's frame is written at once from the sending greenlet without blocking; a frame the
  socket cannot take whole leaves its unsent end at the head of the queue, so order is kept.
  Anything else (pings, a close, a busy writer) goes through the queue as before.

Reading (client frames, pings, close) stays with simple-websocket.
"""
from __future__ import annotations

import struct

EXTENSIONS = "HTTP_SEC_WEBSOCKET_EXTENSIONS"


def without_compression(wsgi_app):
    """WSGI middleware: remove the WebSocket extension offer from every request."""
    def app(environ, start_response):
        environ.pop(EXTENSIONS, None)
        return wsgi_app(environ, start_response)
    return app


def frame(message) -> bytes:
    """One unfragmented, unmasked server frame (RFC 6455 5.2): text for str, binary for bytes."""
    if isinstance(message, str):
        data, first = message.encode(), 0x81
    else:
        data, first = bytes(message), 0x82
    n = len(data)
    if n < 126:
        return bytes((first, n)) + data
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + data
    return struct.pack("!BBQ", first, 127, n) + data


class _Unsent(bytes):
    """The end of a frame the socket did not take whole: written as it is, before the rest."""


class _UnsentPacket:
    """Queued in place of an Engine.IO packet; the writer sends ``encode()`` through
    :class:`PlainFrames`, which writes an :class:`_Unsent` unframed."""

    def __init__(self, data: _Unsent):
        self.data = data

    def encode(self) -> _Unsent:
        return self.data


def _frame_of(packet) -> bytes:
    built = getattr(packet, "_frame", None)
    if built is None:
        built = frame(packet.encode())
        packet._frame = built   # the next recipient of the same broadcast reuses it
    return built


def _write_directly(esock, wsgi) -> None:
    """Let ``esock`` (an Engine.IO socket on WebSocket) write messages itself while its writer
    greenlet is idle. Installed per connection, on the instance."""
    from engineio import packet as eio_packet

    message = eio_packet.MESSAGE
    poll, send = esock.poll, esock.send
    idle = [False]

    def polling():
        # Once upgraded, only the WebSocket writer polls: while it waits here with nothing
        # queued, nothing is being written to this socket.
        idle[0] = esock.upgraded and not esock.upgrading
        try:
            return poll()
        finally:
            idle[0] = False

    def sending(pkt):
        if (idle[0] and pkt.packet_type == message and not esock.closing
                and esock.queue.qsize() == 0):
            if not esock.check_ping_timeout():
                return
            data = _frame_of(pkt)
            try:
                written = wsgi.ws.sock.send(data, 0, 0.0)   # gevent: never wait
            except OSError:   # full (EAGAIN) or broken: the writer deals with it
                written = 0
            if written == len(data):
                return
            if written:
                esock.queue.put(_UnsentPacket(_Unsent(data[written:])))
                return
        send(pkt)

    esock.poll, esock.send = polling, sending


def plain_frames_class(base):
    """A subclass of engineio's ``WebSocketWSGI`` (simple-websocket) that writes frames itself
    when the handshake negotiated no extension, and lets idle connections skip the writer
    greenlet (gevent sockets only)."""

    class PlainFrames(base):
        def __call__(self, environ, start_response):
            self.plain = not environ.get(EXTENSIONS)
            esock = getattr(self.app, "__self__", None)   # the Engine.IO socket
            if self.plain and esock is not None and _gevent_socket(environ):
                _write_directly(esock, self)
            return super().__call__(environ, start_response)

        def send(self, message):
            if not getattr(self, "plain", False):
                return super().send(message)
            ws = self.ws
            if not ws.connected:
                raise OSError("WebSocket closed")
            data = message if isinstance(message, _Unsent) else frame(message)
            # send, not sendall: gevent's sendall asks the socket its buffer size every time
            sent = ws.sock.send(data)
            while sent < len(data):
                sent += ws.sock.send(memoryview(data)[sent:])

    return PlainFrames


def _gevent_socket(environ) -> bool:
    sock = environ.get("gunicorn.socket")
    if sock is None:
        wsgi_input = environ.get("wsgi.input")
        sock = getattr(getattr(getattr(wsgi_input, "rfile", wsgi_input), "raw", None),
                       "_sock", None)
    return sock is not None and type(sock).__module__.startswith("gevent")


def install(app, socketio) -> None:
    """Use both for this app's Socket.IO server. Plain frames replace simple-websocket's
    writing (gevent and threading modes); any other transport keeps its own, but is never
    offered compression either."""
    app.wsgi_app = without_compression(app.wsgi_app)
    try:
        from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
    except ImportError:  # pragma: no cover - another engineio layout
        return
    eio = socketio.server.eio
    websocket = eio._async.get("websocket")
    if isinstance(websocket, type) and issubclass(websocket, SimpleWebSocketWSGI):
        eio._async = {**eio._async, "websocket": plain_frames_class(websocket)}
