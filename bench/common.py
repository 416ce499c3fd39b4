"""Shared by the benchmarks: a fresh database with the Suide demo, the machine description, and
the section of docs/PERFORMANCE.md each benchmark keeps up to date."""
from __future__ import annotations

import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from bench.stack import ROOT, app_env

PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"
SECRET = "bench-stack-secret"     # bench/stack.py's secret: demo device tokens derive from it
# Each benchmark takes --database-url / --redis-url; these environment variables change the
# defaults, so two people measuring on one machine need not share (and drop) one database.
DEFAULT_PG = os.environ.get("SERVICE_HALL_BENCH_DATABASE_URL",
                            "postgresql://postgres@127.0.0.1/sh_perf_bench")
DEFAULT_REDIS = os.environ.get("SERVICE_HALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
COUNTY = "610826"


def plain_pg_url(url: str) -> str:
    return re.sub(r"^postgresql\+psycopg2?://", "postgresql://", url)


def recreate_pg(url: str) -> None:
    """Drop and create the benchmark database (never a test database: the name must say bench)."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    if "bench" not in name:
        raise SystemExit(f"refusing to recreate {name!r}: a benchmark database name contains 'bench'")
    admin = plain_pg_url(url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def raise_fd_limit() -> int:
    """Lift this process's open-file limit to its hard limit (a load generator holding
    thousands of sockets, each also costing nginx two): the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def sqlite_url() -> str:
    folder = tempfile.mkdtemp(prefix="service-hall-bench-")
    return f"sqlite:///{folder}/bench.db"


def seed(database_url: str) -> None:
    """Migrate and load the Suide-sized demo (126 windows, 298 items, clerks and a kiosk)."""
    env = app_env(database_url, None, secret_key=SECRET)
    for args in (["db", "upgrade"], ["hall", "seed-demo"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=300)


def kiosk_token() -> str:
    from service_hall.catalog.seed import device_token
    return device_token(SECRET, f"kiosk-{COUNTY}-1")


def _version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:
        return "?"


def machine() -> str:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    pg = redis = nginx = "?"
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout
        pg = re.search(r"\d+\.\d+", out).group(0)
    except (OSError, AttributeError):
        pass
    try:
        nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    except OSError:
        pass
    try:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
        redis = re.search(r"v=(\S+)", out).group(1)
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"Flask {_version('flask')}, SQLAlchemy {_version('sqlalchemy')}, "
            f"gunicorn {_version('gunicorn')}, gevent {_version('gevent')}, "
            f"Flask-SocketIO {_version('flask-socketio')}, psycopg {_version('psycopg')}, "
            f"PostgreSQL {pg}, Redis {redis}, nginx {nginx}")


def command_line() -> str:
    return "python -m " + " ".join(
        [shlex.quote(Path(sys.argv[0]).with_suffix("").relative_to(ROOT).as_posix().replace("/", "."))]
        + [shlex.quote(a) for a in sys.argv[1:]])


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "NOT met"


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/PERFORMANCE.md."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- bench:{name} -->\n## {title}\n\n"
               f"Command: `{command_line()}`  \nDate: {stamp}  \nMachine: {machine()}\n\n"
               f"{body.strip()}\n<!-- /bench:{name} -->")
    text = PERFORMANCE.read_text() if PERFORMANCE.exists() else (
        "# Performance\n\nFigures written by the benchmarks in `bench/` (each rewrites its own "
        "section). Targets are from the project's issues; a target not met says so.\n")
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->",
                         re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    PERFORMANCE.write_text(text)
    print(f"wrote section '{name}' of {PERFORMANCE.relative_to(ROOT)}")
