"""gunicorn settings for one Service Hall process (see docs/DEPLOY.md).

Run N of these (one per core), each on its own port, behind nginx:

    SERVICE_HALL_BIND=127.0.0.1:8001 gunicorn -c docs/deploy/gunicorn.conf.py wsgi:app

One gevent worker per process: Socket.IO keeps per-connection state in the worker, so a process
must never have more than one (processes share events through the Redis message queue instead).
"""
import os
import resource

bind = os.environ.get("SERVICE_HALL_BIND", "127.0.0.1:8001")
worker_class = "gevent"          # needs gevent; gevent-websocket must NOT be installed
workers = 1                      # exactly one per process (Socket.IO state lives in the worker)
# Each display board, window pad and phone following a ticket holds a connection: the default of
# 1,000 is too low for a county hall with phones.
worker_connections = int(os.environ.get("SERVICE_HALL_WORKER_CONNECTIONS", "10000"))
# Each connection is a file descriptor: lift the soft limit to the hard one (systemd's
# LimitNOFILE, or the shell's `ulimit -Hn`) so worker_connections can be reached at all.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < worker_connections + 100 and _hard > _soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard if _hard != resource.RLIM_INFINITY
                                                else worker_connections + 1024, _hard))
timeout = 60                     # the gevent worker heartbeats from its hub; long polls are fine
graceful_timeout = 20            # on restart, give in-flight requests time to commit
keepalive = 75                   # nginx keeps upstream connections open (see nginx conf)
max_requests = 0                 # no recycling: it would drop every socket on that process
accesslog = os.environ.get("SERVICE_HALL_ACCESS_LOG") or None   # nginx logs requests already
errorlog = "-"
loglevel = os.environ.get("SERVICE_HALL_LOG_LEVEL", "info")
proc_name = "service-hall-" + bind.rsplit(":", 1)[-1]

# The process must run Socket.IO with gevent, whatever the environment forgot to say.
raw_env = ["SERVICE_HALL_ASYNC_MODE=gevent"]
# gunicorn ≥ 25 opens a control socket at one fixed path per user: several processes would fight
# over it, and we manage processes with systemd, so it is off.
control_socket_disable = True


def post_worker_init(worker):
    """The application is loaded in the worker: settle its heap before it serves
    (collector settings for thousands of connections, see service_hall/heap.py)."""
    from service_hall.heap import settle
    settle()
