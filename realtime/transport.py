"""The WebSocket transport under Socket.IO, made cheap per connection and per message.

Two changes to the stock gevent transport (python-engineio over simple-websocket/wsproto):

- **No per-message compression.** Every browser offers ``permessage-deflate``, and the stock
  server accepts it: each connection then keeps a zlib compressor (about 256 KB of tables, of
  which ~100 KB is touched) and a decompressor, and every message is compressed once per client.
  Our messages are a few hundred bytes of JSON on a hall's LAN; :func:`without_compression`
  drops the offer before the handshake, so no extension is ever negotiated (measured with
  ``bench/fanout.py``, whose client offers it as browsers do: 170–180 KB per connection with it,
  under 80 without).
- **Frames written directly.** Without extensions a server frame is a 2–10 byte header and the
  text, so :class:`PlainFrames` writes it with one ``sendall`` instead of going through
  wsproto's frame machinery for each client of a broadcast (``sendall`` also never leaves half
  a frame behind, as a bare ``send`` on a full socket buffer could).

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


def plain_frames_class(base):
    """A subclass of engineio's gevent ``WebSocketWSGI`` (simple-websocket) that writes frames
    itself when the handshake negotiated no extension."""

    class PlainFrames(base):
        def __call__(self, environ, start_response):
            self.plain = not environ.get(EXTENSIONS)
            return super().__call__(environ, start_response)

        def send(self, message):
            if not getattr(self, "plain", False):
                return super().send(message)
            ws = self.ws
            if not ws.connected:
                raise OSError("WebSocket closed")
            ws.sock.sendall(frame(message))

    return PlainFrames


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
