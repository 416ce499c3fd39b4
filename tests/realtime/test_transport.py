"""The WebSocket transport under /live (realtime/transport.py): no compression, plain frames."""
from __future__ import annotations

import base64
import os
import socket
import struct

import pytest

from realtime.transport import frame


def _read_frame(data: bytes) -> tuple[int, bytes]:
    first, second = data[0], data[1]
    assert not second & 0x80, "a server frame is never masked"
    n, offset = second & 0x7F, 2
    if n == 126:
        n, offset = struct.unpack("!H", data[2:4])[0], 4
    elif n == 127:
        n, offset = struct.unpack("!Q", data[2:10])[0], 10
    assert len(data) == offset + n
    return first, data[offset:]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_frames_carry_their_length_in_the_right_form(size):
    text = "号" * (size // 3) + "x" * (size % 3)   # UTF-8: the length counts bytes
    first, payload = _read_frame(frame(text))
    assert first == 0x81 and payload.decode() == text and len(payload) == size
    first, payload = _read_frame(frame(b"\x00" * size))
    assert first == 0x82 and payload == b"\x00" * size


def test_a_browser_offering_compression_gets_plain_frames(live_server):
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{live_server.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: {live_server.url}\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                      "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n")[0]
        assert b"sec-websocket-extensions" not in head.lower()
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
            rest += sock.recv(4096)
        first, payload = _read_frame(rest[:2 + (rest[1] & 0x7F)])
        assert first == 0x81   # final, text, no RSV1 (not compressed)
        assert payload.startswith(b'0{"sid":')   # the Engine.IO open packet


class _Socket:
    """Takes what it is given, up to ``room`` bytes at a time (a nearly full buffer)."""

    def __init__(self):
        self.room, self.written = None, b""

    def send(self, data, flags=0, timeout=None):
        taken = bytes(data) if self.room is None else bytes(data)[:self.room]
        self.written += taken
        return len(taken)


def test_an_idle_connection_is_written_at_once_and_a_partial_frame_keeps_its_place():
    import threading
    import time
    from types import SimpleNamespace

    import engineio
    from engineio import packet as eio_packet
    from engineio.socket import Socket

    from realtime.transport import _write_directly

    esock = Socket(engineio.Server(async_mode="threading"), "sid")
    esock.connected = esock.upgraded = True
    raw = _Socket()
    _write_directly(esock, SimpleNamespace(ws=SimpleNamespace(sock=raw)))
    message = lambda text: eio_packet.Packet(eio_packet.MESSAGE, text)  # noqa: E731

    esock.send(message("before"))           # the writer is not waiting yet: queued
    assert raw.written == b"" and esock.queue.qsize() == 1
    polled: list = []
    writer = threading.Thread(target=lambda: polled.append(esock.poll()))
    writer.start()
    writer.join(2)                          # the writer took it
    assert [p.data for p in polled[0]] == ["before"]
    writer = threading.Thread(target=lambda: polled.append(esock.poll()))
    writer.start()
    time.sleep(0.1)                         # now it waits on an empty queue: idle
    esock.send(message("one"))
    assert raw.written == frame("4one")     # written directly, nothing queued
    raw.room = 3
    esock.send(message("two"))              # the socket takes 3 bytes of the frame
    writer.join(2)
    assert raw.written == frame("4one") + frame("4two")[:3]
    assert [p.encode() for p in polled[1]] == [frame("4two")[3:]]   # the rest, first
    esock.send(message("three"))            # the writer is busy again: queued behind
    assert raw.written == frame("4one") + frame("4two")[:3] and esock.queue.qsize() == 1
