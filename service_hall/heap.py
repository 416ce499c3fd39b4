"""Garbage-collector settings for a server process that holds thousands of sockets.

A process serving a hall's screens keeps ~150 tracked objects per connection (greenlets, queues,
sockets, Engine.IO state): about a million with 5,000 connections, plus the application's own
from start-up. CPython's default collector then runs a young collection every 700 allocations
and, while connections are being made, full collections that walk every object: measured on a
fan-out to 5,000 displays (``bench/fanout.py``), 29% of the process's CPU, with two full
collections of ~0.6 s each — pauses every display sees. So once the application is loaded:

- ``gc.freeze()``: what start-up made (modules, the app, mappers) is never scanned again;
- young collections every 50,000 allocations instead of 700 (each still small), and a full
  collection considered every 10 million (CPython also waits until a quarter of the old
  objects are new), so garbage cycles left by closed connections are still collected.
"""
from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)


def settle() -> None:
    """Call once per server process, after the application is loaded, before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
