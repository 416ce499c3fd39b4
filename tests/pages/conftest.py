"""A real server process for the browser tests (``python -m service_hall.server``, gevent) on a
free port against the test database; stopped at the end of the session."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


class PagesServer:
    def __init__(self, database_url: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICE_HALL_")}
        env.update({"SERVICE_HALL_DATABASE_URL": database_url,
                    "SERVICE_HALL_SECRET_KEY": "test-secret", "SERVICE_HALL_ASYNC_MODE": "gevent",
                    "SERVICE_HALL_MODE": "demo", "PYTHONUNBUFFERED": "1"})
        self.log = tempfile.NamedTemporaryFile(prefix="service-hall-pages-", suffix=".log",
                                               delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service_hall.server", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=self.log,
            stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30.0) -> "PagesServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not listening after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def pages_server(_schema, database_url):
    server = PagesServer(database_url).wait_ready()
    yield server
    server.stop()
