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
