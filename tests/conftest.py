"""Shared fixtures: a real database (SQLite file, or PostgreSQL from
``SERVICE_HALL_TEST_DATABASE_URL``), built by the migrations, emptied between tests."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service_hall.config import Settings, normalise_database_url
from tests.factories import Factory
from tests.live_server import live_server, start_servers  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("SERVICE_HALL_REQUIRE_SERVICES") == "1"


def _database_url() -> str:
    url = os.environ.get("SERVICE_HALL_TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    folder = Path(tempfile.mkdtemp(prefix="service-hall-test-"))
    return f"sqlite:///{folder / 'test.db'}"


DATABASE_URL = _database_url()
IS_POSTGRES = DATABASE_URL.startswith("postgresql")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "postgresql_only: row-lock behaviour SQLite cannot have "
                            "(one writer at a time); collected on PostgreSQL only")


def pytest_collection_modifyitems(config, items) -> None:
    """``postgresql_only`` tests are deselected (not skipped) on SQLite: the PostgreSQL run
    holds them, and a skip fails a run that requires every service."""
    if IS_POSTGRES:
        return
    chosen = [item for item in items if item.get_closest_marker("postgresql_only") is None]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen


def make_settings(**overrides) -> Settings:
    settings = Settings(database_url=DATABASE_URL, secret_key="test-secret",
                        demo_password="test-pass", redis_url=None, async_mode="threading")
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


@contextmanager
def as_township(code: str = "T1"):
    """The test database seen by a township node's application, in its own app context (the
    county's session is closed first: on SQLite it would hold the write lock)."""
    from service_hall import create_app
    from service_hall.extensions import db
    db.session.close()
    app = create_app(make_settings(role="township", node_code=code), TESTING=True)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()


@pytest.fixture(scope="session")
def database_url() -> str:
    return DATABASE_URL


@pytest.fixture(scope="session")
def _schema():
    """Build the schema once with the real migrations (upgrade from empty)."""
    if IS_POSTGRES:
        engine = create_engine(DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    from flask_migrate import upgrade

    from service_hall import create_app
    app = create_app(make_settings())
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


def _empty_tables(app) -> None:
    from service_hall.extensions import db
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if IS_POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
            return
        raw = db.engine.raw_connection()  # autocommit: the pragma only works outside a transaction
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()


@pytest.fixture()
def app(_schema):
    from service_hall import create_app
    app = create_app(make_settings(), TESTING=True, RATELIMIT_ENABLED=False)
    _empty_tables(app)
    with app.app_context():
        yield app
        from service_hall.extensions import db
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture()
def redis_url() -> str:
    url = os.environ.get("SERVICE_HALL_TEST_REDIS_URL")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("SERVICE_HALL_TEST_REDIS_URL is required in CI")
        pytest.skip("set SERVICE_HALL_TEST_REDIS_URL to run the Redis tests")
    return url
