"""Blocking pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP) through
redis-py and valkey-py, RESP2 and RESP3 (see test_types.py).

A blocking call runs in a thread on its own connection, named with CLIENT SETNAME; the test
waits until CLIENT LIST shows that connection with the blocking command as its `cmd` (what
Redis shows while a client is blocked) before another connection pushes. Every blocking call
has a timeout of at most WAKE_TIMEOUT seconds and every connection a socket timeout, every
wait a deadline: nothing can hang.
"""

from __future__ import annotations

import threading
import time

import pytest

from test_types import lib, r, scored  # noqa: F401  (lib, r: fixtures)

WAKE_TIMEOUT = 5  # seconds a woken call may block: far more than it needs


class Background:
    """Runs fn() in a daemon thread; result() returns its value or raises its exception."""

    def __init__(self, fn):
        self._value = None
        self._exc = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn):
        try:
            self._value = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised by result()
            self._exc = e

    def done(self):
        return not self._thread.is_alive()

    def result(self, timeout=WAKE_TIMEOUT + 5):
        self._thread.join(timeout)
        if self._thread.is_alive():
            pytest.fail(f"the blocking call did not return within {timeout} s")
        if self._exc is not None:
            raise self._exc
        return self._value


def start_blocked(lib, r, name, cmd, call):
    """Opens a connection named `name`, runs call(conn) in a thread and waits until the server
    lists the connection as running `cmd`; returns the Background."""
    conn = lib.new(client_name=name, socket_timeout=WAKE_TIMEOUT + 10)
    conn.ping()
    bg = Background(lambda: call(conn))
    wait_blocked(r, name, cmd, bg)
    return bg


def wait_blocked(r, name, cmd, bg=None, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bg is not None and bg.done():
            pytest.fail(f"{cmd} by {name} returned without blocking: {bg.result()!r}")
        for c in r.client_list():
            if c.get("name") == name and c.get("cmd") == cmd:
                return
        time.sleep(0.01)
    pytest.fail(f"client {name} never showed as blocked in {cmd}: {r.client_list()}")


def still_blocked(r, name, cmd, bg, settle=0.1):
    time.sleep(settle)
    assert not bg.done(), f"{name} returned {bg.result()!r} but should still be blocked"
    assert any(c.get("name") == name and c.get("cmd") == cmd for c in r.client_list())


def t(reply):
    """A BLPOP/BZPOPMIN reply (tuple in redis-py, list in valkey-py RESP3) as a tuple."""
    return None if reply is None else tuple(reply)


# ---------------------------------------------------------------------------------------------


def test_blocking_pops_answer_at_once_when_data_is_there(r):
    r.rpush("l1", "a", "b", "c")
    r.rpush("l2", "x")
    # The first non-empty key in argument order; timeout 0 (forever) does not matter then.
    assert t(r.blpop(["missing", "l2", "l1"], timeout=0)) == (b"l2", b"x")
    assert t(r.blpop(["l1", "l2"], timeout=0)) == (b"l1", b"a")
    assert t(r.brpop(["missing", "l1"], timeout=1)) == (b"l1", b"c")
    assert r.blmove("l1", "l3", timeout=0, src="LEFT", dest="RIGHT") == b"b"
    assert r.exists("l1") == 0 and r.lrange("l3", 0, -1) == [b"b"]
    assert r.brpoplpush("l3", "l4", timeout=0) == b"b"
    r.rpush("l5", "p", "q", "r")
    assert r.blmpop(0, 2, "missing", "l5", direction="RIGHT", count=2) == [b"l5", [b"r", b"q"]]
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    key, member, score = t(r.bzpopmin(["missing", "z"], timeout=0))
    assert (key, member, float(score)) == (b"z", b"a", 1.0)
    key, member, score = t(r.bzpopmax("z", timeout=0))
    assert (key, member, float(score)) == (b"z", b"d", 4.0)
    key, popped = r.bzmpop(0, 1, ["z"], min=True, count=10)
    assert key == b"z" and scored(popped) == [(b"b", 2.0), (b"c", 3.0)]
    assert r.exists("z") == 0


def test_list_blocking_pops_woken_by_push(lib, r):
    bg = start_blocked(lib, r, "b-blpop", "blpop", lambda c: c.blpop(["k0", "k1"], timeout=WAKE_TIMEOUT))
    assert r.rpush("k1", "v1", "v2") == 2
    assert t(bg.result()) == (b"k1", b"v1")
    assert r.lrange("k1", 0, -1) == [b"v2"]

    bg = start_blocked(lib, r, "b-brpop", "brpop", lambda c: c.brpop("k2", timeout=WAKE_TIMEOUT))
    assert r.lpush("k2", "a", "b") == 2
    assert t(bg.result()) == (b"k2", b"a")
    assert r.lrange("k2", 0, -1) == [b"b"]

    bg = start_blocked(lib, r, "b-blmove", "blmove",
                       lambda c: c.blmove("k3", "dst3", timeout=WAKE_TIMEOUT, src="RIGHT", dest="LEFT"))
    r.rpush("k3", "x", "y")
    assert bg.result() == b"y"
    assert r.lrange("k3", 0, -1) == [b"x"] and r.lrange("dst3", 0, -1) == [b"y"]

    bg = start_blocked(lib, r, "b-brpoplpush", "brpoplpush", lambda c: c.brpoplpush("k4", "dst4", timeout=WAKE_TIMEOUT))
    r.lpush("k4", "only")
    assert bg.result() == b"only"
    assert r.exists("k4") == 0 and r.lrange("dst4", 0, -1) == [b"only"]

    bg = start_blocked(lib, r, "b-blmpop", "blmpop",
                       lambda c: c.blmpop(WAKE_TIMEOUT, 2, "k5", "k6", direction="LEFT", count=2))
    r.rpush("k6", "1", "2", "3")
    assert bg.result() == [b"k6", [b"1", b"2"]]
    assert r.lrange("k6", 0, -1) == [b"3"]


def test_zset_blocking_pops_woken_by_zadd(lib, r):
    bg = start_blocked(lib, r, "b-bzpopmin", "bzpopmin", lambda c: c.bzpopmin(["z0", "z1"], timeout=WAKE_TIMEOUT))
    r.zadd("z1", {"b": 2, "a": 1, "c": 3})
    key, member, score = t(bg.result())
    assert (key, member, float(score)) == (b"z1", b"a", 1.0)
    assert r.zrange("z1", 0, -1) == [b"b", b"c"]

    bg = start_blocked(lib, r, "b-bzpopmax", "bzpopmax", lambda c: c.bzpopmax("z2", timeout=WAKE_TIMEOUT))
    r.zadd("z2", {"lo": -1.5, "hi": 2.5})
    key, member, score = t(bg.result())
    assert (key, member, float(score)) == (b"z2", b"hi", 2.5)
    assert r.zrange("z2", 0, -1) == [b"lo"]

    bg = start_blocked(lib, r, "b-bzmpop", "bzmpop",
                       lambda c: c.bzmpop(WAKE_TIMEOUT, 2, ["z3", "z4"], max=True, count=2))
    r.zadd("z4", {"a": 1, "b": 2, "c": 3})
    key, popped = bg.result()
    assert key == b"z4" and scored(popped) == [(b"c", 3.0), (b"b", 2.0)]
    assert r.zrange("z4", 0, -1) == [b"a"]


def test_blocked_clients_are_served_first_come_first_served(lib, r):
    first = start_blocked(lib, r, "first", "blpop", lambda c: c.blpop("q", timeout=WAKE_TIMEOUT))
    second = start_blocked(lib, r, "second", "blpop", lambda c: c.blpop(["other", "q"], timeout=WAKE_TIMEOUT))
    third = start_blocked(lib, r, "third", "brpop", lambda c: c.brpop("q", timeout=WAKE_TIMEOUT))
    assert r.rpush("q", "one") == 1
    assert t(first.result()) == (b"q", b"one")
    still_blocked(r, "second", "blpop", second)
    still_blocked(r, "third", "brpop", third, settle=0)
    assert r.exists("q") == 0
    # One push of two elements serves the next two clients in the order they blocked.
    r.rpush("q", "two", "three")
    assert t(second.result()) == (b"q", b"two")
    assert t(third.result()) == (b"q", b"three")
    assert r.exists("q") == 0
    # The same for sorted sets.
    za = start_blocked(lib, r, "za", "bzpopmin", lambda c: c.bzpopmin("zq", timeout=WAKE_TIMEOUT))
    zb = start_blocked(lib, r, "zb", "bzpopmax", lambda c: c.bzpopmax("zq", timeout=WAKE_TIMEOUT))
    r.zadd("zq", {"m1": 1, "m2": 2, "m3": 3})
    assert t(za.result())[:2] == (b"zq", b"m1")
    assert t(zb.result())[:2] == (b"zq", b"m3")
    assert r.zrange("zq", 0, -1) == [b"m2"]
    # A blocked client that disconnects is not served: the element stays in the list.
    no_retry = lib.mod.retry.Retry(lib.mod.backoff.NoBackoff(), 0)  # redis-py 8 would re-send BLPOP
    gone = lib.new(client_name="gone", socket_timeout=WAKE_TIMEOUT + 10, retry=no_retry)
    gone_id = gone.client_id()
    bg = Background(lambda: gone.blpop("lost", timeout=2))
    wait_blocked(r, "gone", "blpop", bg)
    assert r.client_kill_filter(_id=gone_id) == 1
    with pytest.raises((lib.exc.ConnectionError, lib.exc.TimeoutError)):
        bg.result()
    r.rpush("lost", "kept")
    assert r.lrange("lost", 0, -1) == [b"kept"]


def test_blocking_timeouts_return_nil(lib, r):
    """A fractional timeout (0.1 s) on empty keys: nil, after about that long. The eight
    commands run side by side on their own connections."""
    calls = {
        "blpop": lambda c: c.blpop(["e1", "e2"], timeout=0.1),
        "brpop": lambda c: c.brpop("e1", timeout=0.1),
        "blmove": lambda c: c.blmove("e1", "d", timeout=0.1),
        "brpoplpush": lambda c: c.brpoplpush("e1", "d", timeout=0.1),
        "blmpop": lambda c: c.blmpop(0.1, 1, "e1", direction="LEFT"),
        "bzpopmin": lambda c: c.bzpopmin("e3", timeout=0.1),
        "bzpopmax": lambda c: c.bzpopmax(["e3", "e4"], timeout=0.1),
        "bzmpop": lambda c: c.bzmpop(0.1, 2, ["e3", "e4"], min=True),
    }
    conns = {name: lib.new() for name in calls}
    for c in conns.values():
        c.ping()

    def timed(name):
        start = time.monotonic()
        reply = calls[name](conns[name])
        return reply, time.monotonic() - start

    jobs = {name: Background(lambda name=name: timed(name)) for name in calls}
    for name, job in jobs.items():
        reply, elapsed = job.result()
        assert reply is None, name
        assert 0.08 <= elapsed < 3, (name, elapsed)
    assert r.exists("e1", "e2", "e3", "e4", "d") == 0


def test_blocking_pops_inside_multi_answer_at_once(lib, r):
    """In MULTI a blocking pop never blocks: on empty keys it answers nil at EXEC, even with
    timeout 0; on a key the transaction itself filled, it pops."""
    pipe = r.pipeline()
    pipe.blpop("e", timeout=0)
    pipe.brpop(["e", "e2"], timeout=0)
    pipe.blmove("e", "d", timeout=0)
    pipe.brpoplpush("e", "d", timeout=0)
    pipe.blmpop(0, 1, "e", direction="LEFT")
    pipe.bzpopmin("ez", timeout=0)
    pipe.bzpopmax("ez", timeout=0)
    pipe.bzmpop(0, 1, ["ez"], max=True)
    pipe.rpush("full", "v")
    pipe.blpop("full", timeout=0)
    start = time.monotonic()
    results = pipe.execute()
    assert time.monotonic() - start < 2
    assert results[:8] == [None] * 8
    assert results[8] == 1 and t(results[9]) == (b"full", b"v")
    assert r.exists("d", "full") == 0


def test_push_in_transaction_wakes_with_the_final_state(lib, r):
    bg = start_blocked(lib, r, "waiter", "blpop", lambda c: c.blpop("k", timeout=WAKE_TIMEOUT))
    pipe = r.pipeline()
    pipe.rpush("k", "a", "b")
    pipe.lpop("k")
    pipe.lrange("k", 0, -1)
    assert pipe.execute() == [2, b"a", [b"b"]]  # the transaction sees its own writes
    assert t(bg.result()) == (b"k", b"b")  # and the waiter gets what was left after EXEC
    assert r.exists("k") == 0
    # A transaction that pushes and deletes again leaves the waiter blocked.
    bg = start_blocked(lib, r, "waiter2", "blpop", lambda c: c.blpop("k", timeout=WAKE_TIMEOUT))
    pipe = r.pipeline()
    pipe.rpush("k", "x")
    pipe.delete("k")
    assert pipe.execute() == [1, 1]
    still_blocked(r, "waiter2", "blpop", bg)
    r.rpush("k", "y")
    assert t(bg.result()) == (b"k", b"y")
    # The same with a sorted set.
    bg = start_blocked(lib, r, "zwaiter", "bzpopmin", lambda c: c.bzpopmin("z", timeout=WAKE_TIMEOUT))
    pipe = r.pipeline()
    pipe.zadd("z", {"a": 1, "b": 2})
    pipe.zrem("z", "a")
    pipe.execute()
    key, member, score = t(bg.result())
    assert (key, member, float(score)) == (b"z", b"b", 2.0)


def test_writes_that_create_the_key_wake_blocked_clients(lib, r):
    """Not only pushes: LMOVE/RPOPLPUSH into the key, a BLMOVE chain, RENAME and the STORE
    commands that create a list or sorted set under the awaited name."""
    r.rpush("src", "m1", "m2", "m3")
    bg = start_blocked(lib, r, "w1", "blpop", lambda c: c.blpop("dst", timeout=WAKE_TIMEOUT))
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == b"m1"
    assert t(bg.result()) == (b"dst", b"m1")
    assert r.exists("dst") == 0
    bg = start_blocked(lib, r, "w2", "brpop", lambda c: c.brpop("dst", timeout=WAKE_TIMEOUT))
    assert r.rpoplpush("src", "dst") == b"m3"
    assert t(bg.result()) == (b"dst", b"m3")
    # A chain: a BLMOVE woken by a push moves the element into a key another client awaits.
    mover = start_blocked(lib, r, "mover", "blmove",
                          lambda c: c.blmove("stage1", "stage2", timeout=WAKE_TIMEOUT, src="LEFT", dest="LEFT"))
    taker = start_blocked(lib, r, "taker", "blpop", lambda c: c.blpop("stage2", timeout=WAKE_TIMEOUT))
    r.rpush("stage1", "baton")
    assert mover.result() == b"baton"
    assert t(taker.result()) == (b"stage2", b"baton")
    assert r.exists("stage1", "stage2") == 0
    # RENAME of a list onto the awaited key.
    r.rpush("ready", "r1")
    bg = start_blocked(lib, r, "w3", "blpop", lambda c: c.blpop("renamed", timeout=WAKE_TIMEOUT))
    r.rename("ready", "renamed")
    assert t(bg.result()) == (b"renamed", b"r1")
    # SORT ... STORE and ZUNIONSTORE creating the awaited key.
    r.rpush("nums", 3, 1, 2)
    bg = start_blocked(lib, r, "w4", "blpop", lambda c: c.blpop("sorted", timeout=WAKE_TIMEOUT))
    assert r.sort("nums", store="sorted") == 3
    assert t(bg.result()) == (b"sorted", b"1")
    assert r.lrange("sorted", 0, -1) == [b"2", b"3"]
    r.zadd("za", {"x": 5, "y": 6})
    bg = start_blocked(lib, r, "w5", "bzpopmax", lambda c: c.bzpopmax("zu", timeout=WAKE_TIMEOUT))
    assert r.zunionstore("zu", ["za"]) == 2
    key, member, score = t(bg.result())
    assert (key, member, float(score)) == (b"zu", b"y", 6.0)


def test_blocking_timeout_errors(lib, r):
    commands = [("BLPOP", "k", "{t}"), ("BRPOP", "k", "{t}"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "{t}"),
                ("BRPOPLPUSH", "k", "d", "{t}"), ("BLMPOP", "{t}", "1", "k", "LEFT"), ("BZPOPMIN", "k", "{t}"),
                ("BZPOPMAX", "k", "{t}"), ("BZMPOP", "{t}", "1", "k", "MIN")]
    for cmd in commands:
        with pytest.raises(lib.exc.ResponseError, match="^timeout is negative$"):
            r.execute_command(*[a.format(t="-1") for a in cmd])
        with pytest.raises(lib.exc.ResponseError, match="^timeout is negative$"):
            r.execute_command(*[a.format(t="-0.5") for a in cmd])
        with pytest.raises(lib.exc.ResponseError, match="^timeout is not a float or out of range$"):
            r.execute_command(*[a.format(t="soon") for a in cmd])
    with pytest.raises(lib.exc.ResponseError, match="^count should be greater than 0$"):
        r.execute_command("BLMPOP", "0.01", "1", "k", "LEFT", "COUNT", "0")
    with pytest.raises(lib.exc.ResponseError, match="^numkeys should be greater than 0$"):
        r.execute_command("BZMPOP", "0.01", "0", "k", "MIN")
    assert r.ping() is True
