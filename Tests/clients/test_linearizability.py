"""Linearizability of kvserver, single node, under concurrent clients and kill -9.

First the checker itself (linearizability.py) on histories known to be linearizable or not;
then a live run: client threads (redis-py) do GET, SET, INCR and compare-and-set (WATCH, GET,
MULTI/SET/EXEC) on a few keys while the server (fsync always) is killed with SIGKILL and
restarted; every invocation and return is recorded with its time, operations in flight at a
kill have an unknown outcome, and the whole history must be linearizable per key.

KV_LIN_KILLS (default 3) sets the kills of the live run, KV_LIN_SECONDS (default 6) its
length; make soak raises both. For a failure: KV_LIN_DUMP=FILE writes the history as JSON,
KV_LIN_KEEP=DIR keeps a copy of the data directory as each kill left it (its log can then be
read with `kvctl inspect wal`).

A lesson recorded here: redis-py reports a connection lost during a watched transaction as a
WatchError ("A ConnectionError occurred on while watching …"), not a ConnectionError. Taken for
an aborted EXEC, such a CAS was dropped from the history although its EXEC had reached the
server, and the checker then found its write unexplained (twice in 20 runs) — the server was
right, the recorder was not.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import KV_TARGET
from linearizability import Op, check, check_key


def op(kind, arg, result, t0, t1, key="k"):
    return Op(key, kind, arg, result, t0, t1)


# --- the checker on known histories -------------------------------------------------------

def test_sequential_history_is_linearizable():
    h = [op("write", 1, None, 0, 1), op("read", None, 1, 2, 3), op("incr", None, 2, 4, 5),
         op("cas", (2, 7), True, 6, 7), op("cas", (2, 9), False, 8, 9), op("read", None, 7, 10, 11)]
    assert check_key(h) is None


def test_stale_read_after_a_completed_write_is_not():
    h = [op("write", 1, None, 0, 1), op("write", 2, None, 2, 3), op("read", None, 1, 4, 5)]
    assert check_key(h) is not None


def test_overlapping_writes_may_land_in_either_order():
    # w1 and w2 overlap; reads after both may see either, but not flip back.
    base = [op("write", 1, None, 0, 10), op("write", 2, None, 1, 9)]
    assert check_key(base + [op("read", None, 1, 11, 12)]) is None
    assert check_key(base + [op("read", None, 2, 11, 12)]) is None
    assert check_key(base + [op("read", None, 2, 11, 12), op("read", None, 1, 13, 14)]) is not None


def test_a_read_concurrent_with_a_write_may_see_old_or_new():
    base = [op("write", 1, None, 0, 1), op("write", 2, None, 2, 6)]
    assert check_key(base + [op("read", None, 1, 3, 4)]) is None
    assert check_key(base + [op("read", None, 2, 3, 4)]) is None
    # …but once a read saw the new value, a later read cannot see the old one.
    assert check_key(base + [op("read", None, 2, 3, 4), op("read", None, 1, 4.5, 5)]) is not None


def test_duplicate_increments_are_not():
    h = [op("incr", None, 1, 0, 2), op("incr", None, 1, 1, 3)]
    assert check_key(h) is not None
    assert check_key([op("incr", None, 1, 0, 2), op("incr", None, 2, 1, 3)]) is None


def test_cas_must_agree_with_the_value():
    assert check_key([op("write", 5, None, 0, 1), op("cas", (5, 6), True, 2, 3)]) is None
    assert check_key([op("write", 5, None, 0, 1), op("cas", (4, 6), True, 2, 3)]) is not None
    assert check_key([op("write", 5, None, 0, 1), op("cas", (5, 6), False, 2, 3)]) is not None


def test_unknown_outcomes_may_or_may_not_have_happened():
    lost = op("write", 9, None, 2, None)  # in flight at a crash
    assert check_key([op("write", 1, None, 0, 1), lost, op("read", None, 1, 5, 6)]) is None
    assert check_key([op("write", 1, None, 0, 1), lost, op("read", None, 9, 5, 6)]) is None
    # Not before it was invoked.
    assert check_key([op("write", 1, None, 0, 1), op("read", None, 9, 1.5, 1.8), lost]) is not None
    # Once seen, it stays.
    assert check_key([op("write", 1, None, 0, 1), lost, op("read", None, 9, 5, 6),
                      op("read", None, 1, 7, 8)]) is not None


def test_keys_are_checked_independently():
    h = [op("write", 1, None, 0, 1, key="a"), op("read", None, None, 2, 3, key="b"),
         op("read", None, 1, 4, 5, key="a")]
    assert check(h) is None
    bad = h + [op("read", None, None, 6, 7, key="a")]
    assert check(bad) is not None and check(bad)[0] == "a"


# --- the live run -------------------------------------------------------------------------

KILLS = int(os.environ.get("KV_LIN_KILLS", "3"))
SECONDS = float(os.environ.get("KV_LIN_SECONDS", "6"))
KEYS = [f"reg:{i}" for i in range(4)]
THREADS = 4


def test_server_history_is_linearizable_across_kills(server_factory):
    server = server_factory(fsync="always")
    address = {"value": (server.host, server.port)}
    seed = random.randrange(1 << 30)
    print(f"linearizability seed {seed}, {KILLS} kills over {SECONDS} s")
    history: list[Op] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def record(o: Op):
        with lock:
            history.append(o)

    def worker(t: int):
        rng = random.Random(seed * 31 + t)
        conn = None
        while not stop.is_set():
            if conn is None:
                host, port = address["value"]
                conn = redis.Redis(host=host, port=port, socket_timeout=5, socket_connect_timeout=2,
                                   retry=Retry(NoBackoff(), 0))
            key = rng.choice(KEYS)
            kind = rng.choice(["read", "read", "write", "incr", "cas"])
            arg = None
            exec_sent = False
            t0 = time.monotonic()
            try:
                if kind == "read":
                    v = conn.get(key)
                    result = None if v is None else int(v)
                elif kind == "write":
                    arg = rng.randrange(100)
                    conn.set(key, arg)
                    result = None
                elif kind == "incr":
                    result = conn.incr(key)
                else:
                    with conn.pipeline(transaction=True) as p:
                        p.watch(key)
                        v = p.get(key)
                        current = None if v is None else int(v)
                        expected = current if rng.random() < 0.7 else rng.randrange(100)
                        arg = (expected, rng.randrange(100))
                        if current != expected:
                            p.unwatch()
                            # The GET is the observation: a read, and a failed CAS at once.
                            record(Op(key, "read", None, current, t0, time.monotonic()))
                            continue
                        p.multi()
                        p.set(key, arg[1])
                        try:
                            exec_sent = True
                            p.execute()
                            result = True
                        except redis.WatchError as e:
                            if "ConnectionError" in str(e):
                                # redis-py reports a connection lost while watching as a
                                # WatchError: the EXEC may have been applied.
                                raise redis.ConnectionError(str(e)) from e
                            continue  # aborted: no effect (a no-op is always linearizable)
                record(Op(key, kind, arg, result, t0, time.monotonic()))
            except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError, redis.WatchError):
                # (redis-py raises WatchError when the connection drops while a key is watched.)
                # In flight at a kill: the outcome is unknown. A CAS that failed before its
                # EXEC was sent wrote nothing: an unknown read, which the checker drops.
                if kind == "cas" and not exec_sent:
                    kind = "read"
                record(Op(key, kind, arg, None, t0, None))
                conn = None
                time.sleep(0.02)
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
                return

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(THREADS)]
    for th in threads:
        th.start()
    rng = random.Random(seed)
    deadline = time.monotonic() + SECONDS
    kills = 0
    while kills < KILLS and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.1, max(0.15, (deadline - time.monotonic()) / (KILLS - kills + 1))))
        server.kill()
        kills += 1
        keep = os.environ.get("KV_LIN_KEEP")  # debugging: the directory as each kill left it
        if keep:
            import shutil
            shutil.copytree(server.directory, f"{keep}/kill-{kills}")
        server.restart()
        address["value"] = (server.host, server.port)
    time.sleep(max(0.5, deadline - time.monotonic()))
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert not errors, errors
    assert kills == KILLS
    completed = sum(1 for o in history if o.returned is not None)
    unknown = len(history) - completed
    print(f"history: {completed} completed operations, {unknown} unknown outcomes, {kills} kills")
    assert completed > 100 * len(KEYS) * min(1.0, SECONDS / 6)
    verdict = check(history)
    if verdict is not None:
        dump = os.environ.get("KV_LIN_DUMP")
        if dump:
            import json
            with open(dump, "w") as f:
                json.dump([o.__dict__ for o in history], f)
    assert verdict is None, verdict
