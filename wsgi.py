"""WSGI entry point: ``flask --app wsgi …`` and ``gunicorn -k gevent wsgi:app``."""
import gc

from service_hall import create_app

app = create_app()
# Everything built so far (modules, the app, compiled schemas and statements) lives as long as
# the process: keep it out of the collector's scans, which otherwise pause requests for ~0.1 s.
gc.freeze()
