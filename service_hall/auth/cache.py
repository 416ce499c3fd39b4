"""The per-process cache of who a bearer token stands for (an ``Actor``), so that an API request
does not load its user or device row each time.

Emptied by any change to users, devices or halls made in this process (sign-out, disabling an
account or a device, a new token generation take effect at once here); a change made by another
process takes effect there after at most ``TTL`` seconds (see ``service_hall/caching.py``). A user
token's signature and age are still checked on every request.
"""
from __future__ import annotations

from service_hall.caching import ProcessCache, process_cache, register

TTL = 5.0
NAME = "actors"


def actor_cache() -> ProcessCache:
    return process_cache(NAME)


def init_actor_cache(app) -> None:
    register(app, ProcessCache(NAME, ("users", "devices", "halls"), TTL))
