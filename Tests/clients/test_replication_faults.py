"""Replication between kvserver processes under faults a network or an operator causes: a
replica frozen with SIGSTOP while the primary keeps writing (within the backlog, and past it),
a primary frozen past the replica's repl-timeout, a replica killed with SIGKILL mid-stream.
After each, the replica converges and the two are compared key by key (values and TTLs).
Passes against Debian's redis-server too (KV_TARGET=redis).

Bounded: every wait has a deadline; every process is killed when the test ends.
"""

from __future__ import annotations

import signal
import time

import redis

from conftest import KV_TARGET, until

from test_failover import replica_args


def connect(node, **kw) -> redis.Redis:
    return redis.Redis(host=node.host, port=node.port, socket_timeout=10, decode_responses=True, **kw)


def converge(primary: redis.Redis, replica: redis.Redis, what: str, timeout: float = 60) -> None:
    until(what, lambda: (lambda r: r.get("master_link_status") == "up"
          and r.get("slave_repl_offset") == primary.info("replication").get("master_repl_offset"))(
              replica.info("replication")), timeout=timeout)


def contents(c: redis.Redis) -> dict:
    """Every key's type, value and expiry deadline (PEXPIRETIME: absolute, so the two sides
    compare exactly however far apart they are read)."""
    keys = sorted(c.scan_iter(count=1000))
    pipe = c.pipeline(transaction=False)
    for k in keys:
        pipe.type(k)
        pipe.pexpiretime(k)
    answers = pipe.execute()
    read = {"string": lambda p, k: p.get(k), "hash": lambda p, k: p.hgetall(k), "list": lambda p, k: p.lrange(k, 0, -1),
            "set": lambda p, k: p.smembers(k), "zset": lambda p, k: p.zrange(k, 0, -1, withscores=True)}
    pipe = c.pipeline(transaction=False)
    for i, k in enumerate(keys):
        read[answers[2 * i]](pipe, k)
    values = pipe.execute()
    return {k: (answers[2 * i], values[i], answers[2 * i + 1]) for i, k in enumerate(keys)}


def assert_same(primary: redis.Redis, replica: redis.Redis) -> None:
    """Key by key: the same keys, types, values and expiry deadlines."""
    a, b = contents(primary), contents(replica)
    assert a.keys() == b.keys(), (sorted(a.keys() - b.keys())[:5], sorted(b.keys() - a.keys())[:5])
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, [(k, a[k], b[k]) for k in differ[:5]]


def write_batch(c: redis.Redis, tag: str, n: int) -> None:
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{tag}:s{i}", "x" * 100)
        if i % 50 == 0:
            pipe.hset(f"{tag}:h{i}", mapping={"a": i, "b": "two"})
            pipe.rpush(f"{tag}:l{i}", *range(5))
            pipe.zadd(f"{tag}:z{i}", {"m": i})
            pipe.set(f"{tag}:e{i}", "v", ex=100000)
    pipe.execute()


def test_frozen_replica_frozen_primary_and_killed_replica_converge(server_factory):
    primary = server_factory()
    p = connect(primary)
    p.config_set("repl-backlog-size", str(1 << 20))
    replica = server_factory(args=replica_args(primary.host, primary.port))
    r = connect(replica)
    write_batch(p, "a", 2000)
    converge(p, r, "first sync")
    assert_same(p, r)

    # Replica frozen while the primary writes less than the backlog: it resumes on SIGCONT.
    replica.proc.send_signal(signal.SIGSTOP)
    write_batch(p, "b", 1000)
    replica.proc.send_signal(signal.SIGCONT)
    converge(p, r, "resume after a short freeze")
    assert_same(p, r)

    # Frozen while the primary writes several times its backlog: its stream waits in the
    # primary's output buffer (within client-output-buffer-limit replica) and catches up.
    replica.proc.send_signal(signal.SIGSTOP)
    for round_ in range(5):
        write_batch(p, f"c{round_}", 3000)
    replica.proc.send_signal(signal.SIGCONT)
    converge(p, r, "catch up after a long freeze")
    assert_same(p, r)

    # The primary frozen past the replica's repl-timeout: the replica gives up on the link,
    # and once the primary runs again it reconnects and converges.
    r.config_set("repl-timeout", "2")
    primary.proc.send_signal(signal.SIGSTOP)
    until("the replica to see its link down", lambda: r.info("replication").get("master_link_status") == "down",
          timeout=30)
    primary.proc.send_signal(signal.SIGCONT)
    write_batch(p, "d", 500)
    converge(p, r, "reconnect after the primary's freeze")
    assert_same(p, r)

    # The replica killed mid-stream and restarted on its directory: it synchronises again.
    replica.kill()
    write_batch(p, "e", 1000)
    replica.start()
    r = connect(replica)
    write_batch(p, "f", 500)
    converge(p, r, "resync after the replica's SIGKILL")
    assert_same(p, r)
    if KV_TARGET == "kvserver":
        stats = p.info("stats")
        assert stats["sync_full"] >= 2 and stats["sync_partial_ok"] >= 1, stats
