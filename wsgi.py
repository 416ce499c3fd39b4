"""WSGI entry point: ``flask --app wsgi …`` and ``gunicorn -k gevent wsgi:app``."""
from service_hall import create_app

app = create_app()
