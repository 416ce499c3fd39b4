"""A minimal Engine.IO v4 / Socket.IO v5 client over WebSocket on gevent sockets, for thousands
of display-board clients in one load-generator process (the python-socketio client costs ~3x
more per message). It speaks only what the benchmarks need: open, namespace connect with
``auth``, ping/pong, and events (``42/ns,["type", payload]``).

Like a browser it offers ``permessage-deflate`` (every current browser does), and inflates what
the server compresses when the server accepts it; ``deflate=False`` offers nothing."""
from __future__ import annotations

import base64
import json
import os
import struct
import zlib
from typing import Callable

from gevent import get_hub, socket


# What Chrome and Firefox send with every WebSocket handshake.
BROWSER_EXTENSIONS = "permessage-deflate; client_max_window_bits"


class WebSocketClient:
    def __init__(self, host: str, port: int, path: str = "/socket.io/?EIO=4&transport=websocket",
                 source: str | None = None, origin: str | None = None, deflate: bool = True):
        self.host, self.port, self.path, self.source = host, port, path, source
        self.origin = origin or f"http://{host}:{port}"
        self.deflate = deflate
        self.inflater = self.deflater = None   # set when the server accepts permessage-deflate
        self.sock = None
        self.buffer = b""
        self.pos = 0      # where the unread part of ``buffer`` begins

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.source:
            sock.bind((self.source, 0))
        sock.connect((self.host, self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: {self.origin}\r\n"
                      + (f"Sec-WebSocket-Extensions: {BROWSER_EXTENSIONS}\r\n"
                         if self.deflate else "") + "\r\n").encode())
        self.sock = sock
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.pos = 0
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"no WebSocket upgrade: {head[:200]!r}")
        if b"permessage-deflate" in head.lower():
            # (a small window for what we send: a browser's is larger, but it sends little)
            self.inflater = zlib.decompressobj(-15)
            self.deflater = zlib.compressobj(6, zlib.DEFLATED, -9, 1)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buffer = self.buffer[self.pos:] + chunk
        self.pos = 0

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        if self.deflater is not None:
            payload = self.deflater.compress(payload) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
            payload, header = payload[:-4], bytes([0xC1])     # RSV1: compressed
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self) -> str:
        """The next text message (control frames are answered or skipped)."""
        while True:
            payload = self.next_message()
            if payload is None:
                self._fill()
            else:
                return payload.decode()

    def next_message(self) -> bytes | None:
        """The next text message already in the buffer (None: more bytes needed).

        Frames are cut from the buffer by position (one slice per recv, not per frame): a
        load-generator process holds thousands of these and each burst brings several frames."""
        while True:
            buffer, pos = self.buffer, self.pos
            if len(buffer) - pos < 2:
                return None
            b0, b1 = buffer[pos], buffer[pos + 1]
            n, offset = b1 & 0x7F, pos + 2
            if n == 126:
                if len(buffer) - pos < 4:
                    return None
                n, offset = (buffer[pos + 2] << 8) | buffer[pos + 3], pos + 4
            elif n == 127:
                if len(buffer) - pos < 10:
                    return None
                n, offset = struct.unpack_from(">Q", buffer, pos + 2)[0], pos + 10
            if len(buffer) < offset + n:
                return None
            self.pos = offset + n
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("closed by server")
            if opcode in (0x1, 0x0):
                if b0 & 0x40:   # RSV1: a compressed message
                    return self.inflater.decompress(buffer[offset:offset + n]
                                                    + b"\x00\x00\xff\xff")
                return buffer[offset:offset + n]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class LiveClient:
    """A Socket.IO client of one namespace: ``run(on_event)`` until closed."""

    def __init__(self, host: str, port: int, namespace: str, auth: dict, *,
                 source: str | None = None, deflate: bool = True):
        self.ws = WebSocketClient(host, port, source=source, deflate=deflate)
        self.namespace, self.auth = namespace, auth
        self.connected = False

    def connect(self) -> None:
        self.ws.connect()
        opened = self.ws.receive()
        if not opened.startswith("0"):
            raise ConnectionError(f"unexpected open packet {opened[:80]!r}")
        self.ws.send(f"40{self.namespace},{json.dumps(self.auth)}")
        while True:
            message = self._one()
            if message is None:
                continue
            if message.startswith(f"40{self.namespace},"):
                self.connected = True
                return
            if message.startswith(f"44{self.namespace},"):
                raise ConnectionError(f"refused: {message[:200]}")

    def _one(self) -> str | None:
        message = self.ws.receive()
        if message == "2":          # ping -> pong
            self.ws.send("3")
            return None
        return message

    def run(self, on_event: Callable[[str, dict], None]) -> None:
        """Decode every event and hand it over as (name, payload)."""
        def decoded(message: str) -> None:
            name, payload = json.loads(message)[:2]
            on_event(name, payload)
        self.run_raw(decoded)

    def run_raw(self, on_message: Callable[[str], None]) -> None:
        """Hand over each event undecoded (``["name",{...}]``): thousands of clients in one
        process cannot afford to decode every message they only count."""
        prefix = f"42{self.namespace},"
        cut = len(prefix)
        while True:
            message = self._one()
            if message is not None and message.startswith(prefix):
                on_message(message[cut:])

    def run_in_hub(self, on_message: Callable[[bytes], None],
                   on_close: Callable[[], None] | None = None) -> None:
        """Like :meth:`run_raw` (payloads as bytes), but without a greenlet: the hub calls back
        when the socket is readable, and the callback reads what is there without waiting.
        Thousands of clients then cost the load generator no greenlet switch and no
        would-block exception per message (the fan-out benchmark's 5,000 displays)."""
        ws, prefix = self.ws, f"42{self.namespace},".encode()
        cut, raw = len(prefix), ws.sock._sock   # gevent keeps the real socket non-blocking
        pong = self._pong_frame()
        watcher = get_hub().loop.io(raw.fileno(), 1)

        def closed() -> None:
            watcher.stop()
            if on_close is not None:
                on_close()

        def readable() -> None:
            try:
                chunk = raw.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                return closed()
            ws.buffer = ws.buffer[ws.pos:] + chunk
            ws.pos = 0
            drain()

        def drain() -> None:
            try:
                while (message := ws.next_message()) is not None:
                    if message == b"2":
                        raw.send(pong)   # a few bytes into an idle socket: never blocks
                    elif message.startswith(prefix):
                        on_message(message[cut:])
            except (ConnectionError, OSError):
                closed()

        self._watcher = watcher
        drain()   # what came with the connect's answer
        watcher.start(readable)

    @staticmethod
    def _pong_frame() -> bytes:
        """The Engine.IO pong ("3") as a masked client text frame, built once; never compressed
        (permessage-deflate lets a sender leave any message uncompressed)."""
        mask = os.urandom(4)
        return bytes([0x81, 0x80 | 1]) + mask + bytes([ord("3") ^ mask[0]])

    def close(self) -> None:
        watcher = getattr(self, "_watcher", None)
        if watcher is not None:
            watcher.stop()
        self.ws.close()
