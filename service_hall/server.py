"""One-process server: pages, API and Socket.IO under gevent (what ``hall serve`` starts).

gevent must patch the standard library before anything else is imported, so this module is run
as its own process (``python -m service_hall.server``) rather than inside the flask CLI.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve Service Hall with gevent.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("SERVICE_HALL_ASYNC_MODE", "gevent")

    from service_hall import create_app
    from service_hall.config import Settings
    from service_hall.extensions import socketio

    settings = Settings()
    app = create_app(settings)
    if settings.role == "township" and os.environ.get("SERVICE_HALL_SYNC_WORKER", "1") != "0":
        # A new node pulls the catalog and accounts before it serves (SPEC 6).
        from realtime.sync.worker import start_township
        start_township(app)
    from service_hall.heap import settle
    settle()
    print(f"Service Hall serving on http://{args.host}:{args.port}/  ({settings.summary()})",
          flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
