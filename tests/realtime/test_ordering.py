"""Live events in seq order per hall, and the gate that keeps a resume in order."""
from __future__ import annotations

import threading
import time

import socketio

from realtime.gate import GatedManager
from realtime.publish import NAMESPACE
from realtime.replay import SharedReads
from realtime.sequencer import Sequencer


def _spawn(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def _sequencer(log: dict[int, str] | None = None, wait: float = 0.05):
    delivered: list[str] = []

    def fetch(hall, first, last):
        return [(seq, lambda seq=seq: delivered.append(log[seq]))
                for seq in range(first, last + 1) if seq in (log or {})]

    return Sequencer(spawn=_spawn, sleep=time.sleep, fetch=fetch, wait=wait), delivered


def _wait_until(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_events_published_out_of_order_are_delivered_in_seq_order():
    sequencer, delivered = _sequencer()
    for seq in (1, 3, 4, 2, 5):
        sequencer.offer("H1", seq, lambda seq=seq: delivered.append(f"H1-{seq}"))
    sequencer.offer("H2", 7, lambda: delivered.append("H2-7"))  # halls are independent
    assert delivered == ["H1-1", "H1-2", "H1-3", "H1-4", "H1-5", "H2-7"]


def test_a_lost_event_is_read_from_the_log_and_its_late_copy_dropped():
    sequencer, delivered = _sequencer(log={2: "H1-2 (log)"})
    sequencer.offer("H1", 1, lambda: delivered.append("H1-1"))
    sequencer.offer("H1", 3, lambda: delivered.append("H1-3"))
    assert delivered == ["H1-1"]
    _wait_until(lambda: len(delivered) == 3)
    assert delivered == ["H1-1", "H1-2 (log)", "H1-3"]
    sequencer.offer("H1", 2, lambda: delivered.append("H1-2 (late)"))
    sequencer.offer("H1", 4, lambda: delivered.append("H1-4"))
    assert delivered[-1] == "H1-4" and "H1-2 (late)" not in delivered


def test_a_hall_whose_numbering_starts_again_is_followed():
    sequencer, delivered = _sequencer()
    for seq in (1, 2, 3):
        sequencer.offer("H1", seq, lambda seq=seq: delivered.append(seq))
    sequencer.offer("H1", 1, lambda: delivered.append("new 1"))
    sequencer.offer("H1", 2, lambda: delivered.append("new 2"))
    assert delivered == [1, 2, 3, "new 1", "new 2"]


def _manager_with_client(rooms):
    server = socketio.Server(client_manager=GatedManager(), async_mode="threading")
    manager = server.manager
    sid = manager.connect("eio-1", NAMESPACE)
    for room in rooms:
        manager.enter_room(sid, NAMESPACE, room)
    sent: list[str] = []
    server._send_eio_packet = lambda eio_sid, packet: sent.append(packet.data)
    return manager, sid, sent


def _publish(manager, hall, seq):
    manager.emit("ticket.called", {"seq": seq, "hall": hall}, NAMESPACE,
                 room=[f"staff:{hall}", f"hall:{hall}"])


def test_gate_holds_live_events_of_a_replaying_hall_and_notes_them():
    manager, sid, sent = _manager_with_client(["hall:H1", "hall:H2"])
    _publish(manager, "H1", 1)
    assert len(sent) == 1
    manager.hold(sid, "H1")
    manager.start_round(sid, "H1")
    _publish(manager, "H1", 2)
    _publish(manager, "H2", 1)  # another hall is not held
    assert len(sent) == 2 and '"H2"' in sent[-1]
    assert not manager.release_if_caught_up(sid, "H1")  # seq 2 went by: read the log again
    manager.start_round(sid, "H1")
    assert manager.release_if_caught_up(sid, "H1")
    _publish(manager, "H1", 3)
    assert len(sent) == 3 and '"seq":3' in sent[-1].replace(" ", "")


def test_clients_resuming_together_share_one_read_of_the_log():
    reads = SharedReads(lambda hall: 0)
    started, release, loads = threading.Event(), threading.Event(), []

    def load():
        loads.append(1)
        started.set()
        release.wait(2)
        return (7, ["e1", "e2"])

    got = []
    first = _spawn(lambda: got.append(reads.get("H1", ("H1", 3), load)))
    assert started.wait(2)
    others = [_spawn(lambda: got.append(reads.get("H1", ("H1", 3), load))) for _ in range(5)]
    time.sleep(0.05)
    release.set()
    for thread in (first, *others):
        thread.join(2)
    assert loads == [1] and got == [(7, ["e1", "e2"])] * 6
    assert reads.get("H1", ("H1", 4), lambda: "another key") == "another key"


def test_a_shared_read_is_read_again_once_an_event_of_its_hall_was_delivered():
    manager, sid, sent = _manager_with_client(["hall:H1"])
    reads = manager.shared_reads
    assert reads.get("H1", "k", lambda: "before") == "before"
    _publish(manager, "H2", 1)    # another hall moved: still valid
    assert reads.get("H1", "k", lambda: "again") == "before"
    _publish(manager, "H1", 1)    # this hall moved: the read may miss that event
    assert reads.get("H1", "k", lambda: "after") == "after"


def test_a_failed_shared_read_is_not_kept():
    reads = SharedReads(lambda hall: 0)

    def broken():
        raise RuntimeError("database down")
    try:
        reads.get("H1", "k", broken)
    except RuntimeError:
        pass
    assert reads.get("H1", "k", lambda: "read") == "read"
