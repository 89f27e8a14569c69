"""Pub/Sub through redis-py and valkey-py (their PubSub objects), RESP2 and RESP3 (the four
variants of test_redis_py.py). Must pass against Debian's redis-server too (KV_TARGET=redis).

Every wait has a deadline (get_message with a timeout, bounded loops): nothing can hang.
"""

from __future__ import annotations

import time

import pytest

from conftest import until
from test_redis_py import lib, r, s  # noqa: F401  (lib and r are the fixtures)

DEADLINE = 5.0  # seconds any one message may take


def next_message(p, ignore_subscribe=True):
    """The next message (a dict) within DEADLINE, skipping (un)subscribe confirmations."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        m = p.get_message(ignore_subscribe_messages=ignore_subscribe, timeout=0.1)
        if m is not None:
            return m
    pytest.fail("no message within the deadline")


def test_subscribe_publish_unsubscribe(lib, r):
    p = lib.new().pubsub()
    p.subscribe("chan1", "chan2")
    confirmations = [next_message(p, ignore_subscribe=False) for _ in range(2)]
    assert [(s(m["type"]), s(m["channel"]), m["data"]) for m in confirmations] == [
        ("subscribe", "chan1", 1), ("subscribe", "chan2", 2)]
    assert r.publish("chan1", "hello") == 1
    m = next_message(p)
    assert (s(m["type"]), s(m["channel"]), m["data"]) == ("message", "chan1", b"hello")
    # Binary payloads come back byte for byte, and many arrive in order.
    blob = bytes(range(256)) * 4
    assert r.publish("chan2", blob) == 1
    assert next_message(p)["data"] == blob
    for i in range(300):
        r.publish("chan2", f"n{i}")
    assert [next_message(p)["data"] for _ in range(300)] == [f"n{i}".encode() for i in range(300)]
    p.unsubscribe("chan1")
    m = next_message(p, ignore_subscribe=False)
    assert (s(m["type"]), s(m["channel"]), m["data"]) == ("unsubscribe", "chan1", 1)
    assert r.publish("chan1", "x") == 0
    assert r.publish("chan2", "y") == 1
    p.close()


def test_patterns_and_introspection(lib, r):
    p = lib.new().pubsub()
    p.psubscribe("news.*")
    p.subscribe("news.tech")
    for _ in range(2):
        next_message(p, ignore_subscribe=False)
    assert r.publish("news.tech", "rust") == 2
    got = sorted((s(m["type"]), s(m["pattern"]) if m["pattern"] else None, m["data"]) for m in (next_message(p), next_message(p)))
    assert got == [("message", None, b"rust"), ("pmessage", "news.*", b"rust")]
    assert r.publish("sport.tech", "no") == 0
    assert {s(c) for c in r.pubsub_channels()} == {"news.tech"}
    assert {s(c) for c in r.pubsub_channels("news.*")} == {"news.tech"}
    assert [(s(c), n) for c, n in r.pubsub_numsub("news.tech", "nothing")] == [("news.tech", 1), ("nothing", 0)]
    assert r.pubsub_numpat() == 1
    p.close()
    until("the closed subscriber's pattern to go", lambda: r.pubsub_numpat() == 0)


def test_shard_channels(lib, r):
    p = lib.new().pubsub()
    p.ssubscribe("orders")
    next_message(p, ignore_subscribe=False)
    assert r.publish("orders", "not-sharded") == 0
    assert r.spublish("orders", "sharded") == 1
    m = p.get_sharded_message(timeout=DEADLINE)
    while m is not None and s(m["type"]) != "smessage":
        m = p.get_sharded_message(timeout=DEADLINE)
    assert m is not None and m["data"] == b"sharded"
    assert [s(c) for c in r.pubsub_shardchannels()] == ["orders"]
    p.close()


def test_a_subscriber_killed_by_type_is_gone(lib, r):
    p = lib.new().pubsub()
    p.subscribe("jobs")
    next_message(p, ignore_subscribe=False)
    listed = r.client_list(_type="pubsub")
    assert [(s(c["flags"]), s(c["sub"])) for c in listed] == [("P", "1")]
    assert r.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    until("the killed subscriber to go", lambda: r.publish("jobs", "x") == 0)
    p.close()


def test_keyspace_notifications(lib, r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        p = lib.new().pubsub()
        p.psubscribe("__keyevent@0__:*")
        next_message(p, ignore_subscribe=False)
        r.rpush("queue", "a", "b")
        r.lpop("queue")
        r.srem("nothing", "x")  # changes nothing: no event
        r.hset("h", mapping={"f": "1"})
        r.delete("h")
        got = [(s(m["channel"]), s(m["data"])) for m in (next_message(p) for _ in range(4))]
        assert got == [("__keyevent@0__:rpush", "queue"), ("__keyevent@0__:lpop", "queue"),
                       ("__keyevent@0__:hset", "h"), ("__keyevent@0__:del", "h")]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")
