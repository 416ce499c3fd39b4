"""Outbox entries larger than one Socket.IO message travel in parts.

Entries normally travel whole, several to a message, as long as the message stays under
``SERVICE_HALL_SYNC_BATCH_BYTES`` (600 kB of JSON: the county's Socket.IO server drops a
connection that sends a message over 1 MB). One entry larger than that (an import of thousands
of cases in one transaction, a big snapshot) is compressed and cut into parts of
``SERVICE_HALL_SYNC_PART_BYTES`` (512 KiB, base64 on the wire), each its own acknowledged
message. The receiver keeps the parts of the one entry in transit on that connection in memory,
checks the whole against its length and SHA-256, and applies it like any entry: in one
transaction with its seq, so all of it exactly once. A break in the middle loses only the parts:
the entry is sent again from its first part. ``SERVICE_HALL_SYNC_MAX_ENTRY_BYTES`` (256 MiB of
JSON) bounds what a receiver accepts and what a transaction may write for one node.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import zlib
from dataclasses import dataclass

from service_hall.config import env

MESSAGE_LIMIT = 1_000_000      # Engine.IO's max_http_buffer_size at the county (its default)
PART_BYTES_MAX = 700_000       # base64 makes 4/3 of it: still under the message limit


def batch_bytes() -> int:
    return int(env("SYNC_BATCH_BYTES", "600000") or 600000)


def part_bytes() -> int:
    size = int(env("SYNC_PART_BYTES", str(512 * 1024)) or 512 * 1024)
    if not 1 <= size <= PART_BYTES_MAX:
        raise RuntimeError(f"SERVICE_HALL_SYNC_PART_BYTES must be between 1 and "
                           f"{PART_BYTES_MAX} (one part must fit one {MESSAGE_LIMIT}-byte message)")
    return size


def max_entry_bytes() -> int:
    return int(env("SYNC_MAX_ENTRY_BYTES", str(256 * 1024 * 1024)) or 256 * 1024 * 1024)


def wire_size(entry: dict) -> int:
    """Length of the entry as Socket.IO sends it (JSON, non-ASCII escaped)."""
    return len(json.dumps(entry, separators=(",", ":")))


class PartError(ValueError):
    """Parts that do not make up the entry they announced."""


@dataclass
class Packed:
    """One entry compressed, served part by part."""

    seq: int
    blob: bytes
    size: int          # bytes of JSON before compression
    digest: str        # SHA-256 of ``blob``
    part_size: int

    @property
    def parts(self) -> int:
        return max(1, math.ceil(len(self.blob) / self.part_size))

    def header(self) -> dict:
        return {"seq": self.seq, "parts": self.parts, "bytes": len(self.blob),
                "size": self.size, "digest": self.digest}

    def part(self, n: int) -> str:
        if not 0 <= n < self.parts:
            raise PartError(f"entry {self.seq} has no part {n}")
        chunk = self.blob[n * self.part_size:(n + 1) * self.part_size]
        return base64.b64encode(chunk).decode("ascii")


def pack(entry: dict, size: int | None = None) -> Packed:
    raw = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()
    blob = zlib.compress(raw, 6)
    return Packed(seq=entry["seq"], blob=blob, size=len(raw),
                  digest=hashlib.sha256(blob).hexdigest(), part_size=size or part_bytes())


class Assembly:
    """The parts of one entry received so far, in order."""

    def __init__(self, header: dict, *, limit: int):
        try:
            self.seq, self.parts = int(header["seq"]), int(header["parts"])
            self.bytes, self.size = int(header["bytes"]), int(header["size"])
            self.digest = str(header["digest"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PartError(f"bad part header: {exc}") from exc
        if self.seq < 1 or self.parts < 1 or self.bytes < 1 or len(self.digest) != 64:
            raise PartError("bad part header")
        if self.size > limit or self.bytes > limit:
            raise PartError(f"entry {self.seq} is {self.size} bytes, over the limit of {limit} "
                            f"(SERVICE_HALL_SYNC_MAX_ENTRY_BYTES)")
        self.chunks: list[bytes] = []
        self.received = 0

    def matches(self, header: dict) -> bool:
        return header.get("seq") == self.seq and header.get("digest") == self.digest

    def add(self, n, data) -> bool:
        """Take part ``n``; True when the entry is complete."""
        if n != len(self.chunks) or n >= self.parts:
            raise PartError(f"entry {self.seq}: expected part {len(self.chunks)}, got {n!r}")
        try:
            chunk = base64.b64decode(data, validate=True)
        except (TypeError, ValueError) as exc:
            raise PartError(f"entry {self.seq} part {n}: {exc}") from exc
        self.received += len(chunk)
        if self.received > self.bytes:
            raise PartError(f"entry {self.seq}: more bytes than announced")
        self.chunks.append(chunk)
        return len(self.chunks) == self.parts

    def entry(self) -> dict:
        blob = b"".join(self.chunks)
        if len(blob) != self.bytes or hashlib.sha256(blob).hexdigest() != self.digest:
            raise PartError(f"entry {self.seq}: the parts do not match their digest")
        inflate = zlib.decompressobj()
        try:
            raw = inflate.decompress(blob, self.size + 1)
        except zlib.error as exc:
            raise PartError(f"entry {self.seq}: {exc}") from exc
        if len(raw) != self.size or not inflate.eof:
            raise PartError(f"entry {self.seq}: not the announced {self.size} bytes")
        entry = json.loads(raw)
        if not isinstance(entry, dict) or entry.get("seq") != self.seq:
            raise PartError(f"entry {self.seq}: the parts hold another entry")
        return entry
