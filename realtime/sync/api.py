"""``GET /api/v1/sync/status``: the county lists its township nodes, a township its link."""
from __future__ import annotations

from flask import jsonify

from realtime.sync.status import status_for
from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.schemas import BOOL, INT, NDATETIME, NSTR, STR, array, obj

NODE = obj({"node": STR, "linked": BOOL, "last_sync_at": NDATETIME, "unsent_backlog": INT,
            "down_backlog": INT},
           {"hall_name": NSTR, "connected": BOOL, "applied_seq": INT, "node_head": INT,
            "down_head": INT, "down_acked": INT, "last_error": NSTR, "active": BOOL})
STATUS = obj({"role": {"enum": ["county", "township"]}},
             {"nodes": array(NODE), "node": STR, "linked": BOOL, "connected": BOOL,
              "last_sync_at": NDATETIME, "unsent_backlog": INT, "outbox_head": INT,
              "acked_seq": INT, "applied_seq": INT, "last_error": NSTR})


@endpoint("/sync/status", "GET",
          summary="Township sync: last sync and backlog per node (county) or the link (township)",
          tag="sync", allow=("admin", "supervisor"), responses={200: STATUS, 401: None, 403: None})
def sync_status(actor: Actor):
    return jsonify(status_for(actor))
