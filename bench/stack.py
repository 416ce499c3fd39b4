"""Start the production stack of docs/DEPLOY.md on loopback, wait until it is healthy, tear it down.

    nginx (generated config, non-daemon child, the real docs/deploy/nginx locations snippet)
      -> N gunicorn processes, one gevent worker each (docs/deploy/gunicorn.conf.py)
         -> PostgreSQL, Redis as the Socket.IO message queue

Used by the benchmarks and by tests/test_deploy_stack.py. From a shell:

    python -m bench.stack --database-url postgresql://postgres@127.0.0.1/sh_perf \\
        --redis-url redis://127.0.0.1:6379/6 --seconds 600

Also :func:`single_process` for the embedded server (``python -m service_hall.server``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, *, timeout: float = 30.0, procs=()) -> None:
    """Poll ``url`` until it answers 200; fail early if one of ``procs`` died."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f}s ({last})")


def app_env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICE_HALL_")}
    env.update({
        "SERVICE_HALL_DATABASE_URL": database_url,
        "SERVICE_HALL_SECRET_KEY": extra.pop("secret_key", "bench-stack-secret"),
        "SERVICE_HALL_ASYNC_MODE": "gevent",
        "PYTHONPATH": str(ROOT),
    })
    if redis_url:
        env["SERVICE_HALL_REDIS_URL"] = redis_url
    env.update({f"SERVICE_HALL_{k.upper()}": v for k, v in extra.items()})
    return env


def upgrade(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=120)


NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 45000;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 20000; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {access_log};
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream service_hall {{
        least_conn;
{servers}
        keepalive 64;
    }}
    upstream service_hall_sticky {{
        hash $remote_addr consistent;
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        set $service_hall_root {root};
        include {locations};
    }}
}}
"""


@dataclass
class Stack:
    """nginx + ``processes`` gunicorn processes on loopback. Use as a context manager."""

    database_url: str
    redis_url: str | None
    processes: int = 2
    rate_limits: bool = True
    access_log: bool = False
    extra_env: dict = field(default_factory=dict)
    wsgi_app: str = "wsgi:app"    # bench/fanout.py puts its bare baseline behind the same nginx
    migrate: bool = True
    port: int = 0
    backend_ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)
    tmp: Path | None = None
    _env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gunicorn_pids(self) -> list[int]:
        return [p.pid for p in self.procs[:self.processes]]

    @property
    def nginx_pids(self) -> list[int]:
        return [p.pid for p in self.procs[self.processes:]]

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx-light)")
        self.tmp = Path(tempfile.mkdtemp(prefix="service-hall-stack-"))
        self.tmp.chmod(0o755)  # nginx workers (user nobody when started as root) create temp files
        self.port = self.port or free_port()
        self.backend_ports = [free_port() for _ in range(self.processes)]
        env = app_env(self.database_url, self.redis_url, proxy_hops="1",
                      rate_limits="1" if self.rate_limits else "0",
                      cors_origins=f"http://127.0.0.1:{self.port},http://localhost:{self.port}",
                      **self.extra_env)
        if self.migrate:
            upgrade(env)
        self._env = env
        self.procs = [self._spawn(port) for port in self.backend_ports]
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;"
                            for p in self.backend_ports)
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            tmp=self.tmp, port=self.port, servers=servers, root=ROOT,
            locations=DEPLOY / "nginx" / "service-hall-locations.conf",
            access_log=f"{self.tmp}/nginx-access.log" if self.access_log else "off"))
        self.procs.append(subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(self.tmp)], stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "nginx-stderr.log", "wb"), start_new_session=True))
        for port in self.backend_ports:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", procs=self.procs, timeout=60)
        wait_healthy(f"{self.url}/healthz", procs=self.procs)

    def restart_processes(self) -> None:
        """Stop every gunicorn process and start it again (nginx stays): a server restart."""
        old, nginx = self.procs[:self.processes], self.procs[self.processes:]
        for proc in old:
            _terminate(proc)
        self.procs = [self._spawn(port) for port in self.backend_ports] + nginx
        for port in self.backend_ports:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", procs=self.procs, timeout=60)

    def _spawn(self, port: int) -> subprocess.Popen:
        log = open(self.tmp / f"gunicorn-{port}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"),
             self.wsgi_app], cwd=ROOT, env={**self._env, "SERVICE_HALL_BIND": f"127.0.0.1:{port}"},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self) -> str:
        if self.tmp is None:
            return ""
        parts = []
        for path in sorted(self.tmp.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _terminate(proc)
        self.procs = []
        if self.tmp is not None and not os.environ.get("SERVICE_HALL_KEEP_STACK_LOGS"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def _terminate(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn's worker goes too
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class single_process:
    """The embedded one-process server (``python -m service_hall.server``), e.g. on SQLite."""

    def __init__(self, database_url: str, *, rate_limits: bool = False, **extra_env: str):
        self.database_url = database_url
        self.env = app_env(database_url, None, rate_limits="1" if rate_limits else "0",
                           **extra_env)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="service-hall-server-", suffix=".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def __enter__(self) -> "single_process":
        upgrade(self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service_hall.server", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(f"{self.url}/healthz", procs=[self.proc], timeout=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            _terminate(self.proc)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300,
                        help="stop by itself after this long (default 300)")
    args = parser.parse_args()
    with Stack(args.database_url, args.redis_url, processes=args.processes,
               port=args.port) as stack:
        print(f"stack up at {stack.url} (processes on {stack.backend_ports}); "
              f"stopping in {args.seconds:.0f}s or on Ctrl-C", flush=True)
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
