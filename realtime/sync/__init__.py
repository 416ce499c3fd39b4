"""Township sync (SPEC 2 and 6): outbox capture, exactly-once apply, the county's ``/sync``
namespace and the township's worker. See ``registry`` for how a model takes part."""
from __future__ import annotations


def install_sync(app) -> None:
    """Capture synced changes for this node's role; at the county, serve ``/sync``."""
    from realtime.sync import apply  # noqa: F401  (registers the event applier)
    from realtime.sync import cli  # noqa: F401  (registers the hall commands)
    from realtime.sync.capture import install_capture
    config = install_capture(app)
    if config.role == "county":
        from realtime.sync.county import install_county
        install_county(app)
