"""Service Hall: queue and window management for county government service centres."""
from __future__ import annotations

from functools import partial

from flask import Flask

from service_hall.config import Settings


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    """Build the application. Nothing connects or writes until a request or command runs,
    except outside demo mode: then it reads the users table once to refuse demo passwords."""
    settings = settings or Settings()
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings.flask_config())
    app.config.update(overrides)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from service_hall import extensions as ext
    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(settings_root() / "migrations"))
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=_locale)
    from flask_babel import get_locale
    app.jinja_env.globals["get_locale"] = get_locale  # base.html picks <html lang> with it
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    ext.limiter.init_app(app)
    from realtime.gate import client_manager
    from realtime.publish import read_log
    from realtime.socket import register as register_live
    register_live(ext.socketio)
    ext.socketio.init_app(app, async_mode=settings.async_mode,
                          client_manager=client_manager(settings, partial(read_log, app)),
                          cors_allowed_origins=socket_origins(settings))
    from realtime.transport import install as install_transport
    install_transport(app, ext.socketio)

    with app.app_context():
        from service_hall.db import install_sqlite_locking
        install_sqlite_locking(ext.db.engine)

    _import_models()
    from service_hall.auth.cache import init_actor_cache
    from service_hall.catalog.cache import init_catalog_cache
    init_catalog_cache(app)
    init_actor_cache(app)
    from kiosks.operations import init_estimate_cache
    init_estimate_cache(app)

    @app.teardown_request
    def _end_transaction(_exc):
        # A read after the view's commit opens a new transaction; end it with the request so
        # no connection (or SQLite write lock) is held past it, even if the app context lives on.
        # (No session yet: nothing to end, and none is made for it — a Socket.IO message or a
        # static file runs this too.)
        if ext.db.session.registry.has():
            ext.db.session.rollback()
    _register_blueprints(app)
    from service_hall.errors import register_error_handlers
    register_error_handlers(app)
    from service_hall.auth.session import init_login
    init_login(app)
    from realtime.publish import install_publisher
    install_publisher(app)
    from realtime.sync import install_sync
    install_sync(app)
    from service_hall.cli import hall_cli
    app.cli.add_command(hall_cli)
    from service_hall.security import (SessionInterface, install_input_guards,
                                       install_security_headers, refuse_demo_secrets)
    app.session_interface = SessionInterface()
    install_input_guards(app)
    install_security_headers(app)
    refuse_demo_secrets(app)  # outside demo mode: no demo secret, no demo passwords
    return app


def socket_origins(settings: Settings) -> list[str] | None:
    """Origins allowed for Socket.IO: the configured ones, else None, which Engine.IO reads as
    "the page's own origin only". Never "*"."""
    if any(origin.strip() == "*" for origin in settings.cors_origins):
        raise RuntimeError("SERVICE_HALL_CORS_ORIGINS must list origins; '*' is not allowed")
    return list(settings.cors_origins) or None


def settings_root():
    from service_hall.config import ROOT
    return ROOT


def _locale():
    from flask import request, session
    lang = request.args.get("lang") or session.get("lang")
    if lang in ("zh", "en"):
        session["lang"] = lang
        return lang
    return "zh"


def _import_models() -> None:
    # Every model must be known to the metadata before migrations or queries run.
    import kiosks.models  # noqa: F401
    import realtime.models  # noqa: F401
    import realtime.sync.models  # noqa: F401
    import service_hall.audit.models  # noqa: F401
    import service_hall.auth.models  # noqa: F401
    import service_hall.calendar.models  # noqa: F401
    import service_hall.cases.models  # noqa: F401
    import service_hall.catalog.models  # noqa: F401
    import service_hall.errands.models  # noqa: F401
    import service_hall.ratings.models  # noqa: F401
    import service_hall.supervision.models  # noqa: F401
    import service_hall.staff.models  # noqa: F401
    import service_hall.stats.models  # noqa: F401
    import service_hall.voice.models  # noqa: F401
    import windows.models  # noqa: F401
    import service_hall.caching  # noqa: F401  (cache_versions)
    # Session hooks that keep the completion roll-up right for every write to cases.
    import service_hall.stats.rollup  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    # API modules register their routes on the shared blueprint when imported.
    import kiosks.api  # noqa: F401
    import realtime.sync.api  # noqa: F401
    import service_hall.auth.api  # noqa: F401
    import service_hall.calendar.api  # noqa: F401
    import service_hall.cases.api  # noqa: F401
    import service_hall.catalog.api  # noqa: F401
    import service_hall.errands.api  # noqa: F401
    import service_hall.errands.stats  # noqa: F401
    import service_hall.ratings.api  # noqa: F401
    import service_hall.staff.api  # noqa: F401
    import service_hall.stats.api  # noqa: F401
    import service_hall.supervision.api  # noqa: F401
    import windows.api  # noqa: F401
    from service_hall.api import api
    from service_hall.extensions import csrf
    from service_hall.openapi import openapi_bp
    csrf.exempt(api)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(api)
    app.register_blueprint(openapi_bp)
    from kiosks.views import bp as kiosk_pages
    from service_hall.auth.views import bp as auth_pages
    from service_hall.catalog.views import bp as catalog_pages
    from service_hall.errands.views import bp as errand_pages
    from service_hall.staff.views import bp as staff_pages
    from service_hall.pages import bp as pages
    from windows.views import bp as window_pages
    from service_hall.supervision.views import bp as supervision_pages
    from service_hall.voice.views import bp as voice_pages
    app.register_blueprint(kiosk_pages)
    app.register_blueprint(window_pages)
    app.register_blueprint(auth_pages)
    app.register_blueprint(catalog_pages)
    app.register_blueprint(errand_pages)
    app.register_blueprint(staff_pages)
    app.register_blueprint(pages)
    app.register_blueprint(supervision_pages)
    app.register_blueprint(voice_pages)
    from realtime.sync.views import bp as sync_pages
    app.register_blueprint(sync_pages)
