import pytest


@pytest.fixture(autouse=True)
def _fresh_topology_cache():
    """Tables are emptied between tests, which resets the topology counter the cache keys on."""
    from realtime.sync import capture
    capture._topology_cache.clear()
    yield
    capture._topology_cache.clear()
