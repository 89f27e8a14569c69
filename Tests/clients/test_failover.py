"""Failover with real parts: three Redis Sentinels (Debian's redis-server --sentinel), one
primary and two replicas, and redis-py's Sentinel client writing continuously, each write
followed by WAIT 1. The primary is killed with SIGKILL; Sentinel promotes a replica, the client
follows it and writes resume. Every write WAIT acknowledged on a replica is on the new primary;
the old primary, restarted on its port, is made a replica by Sentinel and converges (compared
key by key). KV_FAILOVERS rounds (default 1; `make soak` runs 10). Passes against Debian's
redis-server too (KV_TARGET=redis).

Bounded: every wait has a deadline; every process is killed when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis
from redis.sentinel import Sentinel

from conftest import KV_TARGET, free_port, redis_server_bin, until

FAILOVERS = int(os.environ.get("KV_FAILOVERS", "1"))
ROUND_TIMEOUT = 90.0
NAME = "mymaster"


def replica_args(host: str, port: int) -> list[str]:
    if KV_TARGET == "redis":
        return ["--replicaof", host, str(port)]
    return ["--replicaof", f"{host} {port}"]


def info(client: redis.Redis, section: str = "replication") -> dict:
    return client.info(section)


def connect(node) -> redis.Redis:
    return redis.Redis(host=node.host, port=node.port, socket_timeout=5, decode_responses=True)


@pytest.fixture
def sentinels(tmp_path):
    started = []

    def start(primary):
        for i in range(3):
            port = free_port()
            conf = tmp_path / f"sentinel{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                f"sentinel monitor {NAME} {primary.host} {primary.port} 2\n"
                f"sentinel down-after-milliseconds {NAME} 1000\n"
                f"sentinel failover-timeout {NAME} 3000\n"
                f"sentinel parallel-syncs {NAME} 2\n")
            log = open(tmp_path / f"sentinel{i}.log", "w")
            proc = subprocess.Popen([str(redis_server_bin()), str(conf), "--sentinel"],
                                    stdout=log, stderr=subprocess.STDOUT)
            started.append((proc, log, port))
        for _, _, port in started:
            c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
            until("a sentinel to answer", lambda: c.ping())
        return [("127.0.0.1", port) for _, _, port in started]

    yield start
    for proc, log, _ in started:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def master_state(address) -> dict:
    s = redis.Redis(host=address[0], port=address[1], socket_timeout=5, decode_responses=True)
    raw = s.execute_command("SENTINEL", "MASTER", NAME)
    return dict(zip(raw[::2], raw[1::2])) if isinstance(raw, list) else raw


class Writer:
    """Writes k<i> = v<i> through the Sentinel-managed client, then WAIT 1; remembers the
    writes acknowledged by a replica."""

    def __init__(self, sentinel: Sentinel):
        self.sentinel = sentinel
        self.master = sentinel.master_for(NAME, socket_timeout=1, decode_responses=True)
        self.next = 0
        self.acked: dict[str, str] = {}
        self.errors = 0

    def write(self, n: int, deadline: float) -> int:
        """Tries until n more writes are acknowledged or the deadline passes; returns how many."""
        done = 0
        while done < n and time.monotonic() < deadline:
            key, value = f"k{self.next}", f"v{self.next}"
            self.next += 1
            try:
                self.master.set(key, value)
                if self.master.execute_command("WAIT", 1, 1000) >= 1:
                    self.acked[key] = value
                    done += 1
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError):
                self.errors += 1
                time.sleep(0.1)
        return done


def all_keys(c: redis.Redis) -> dict:
    keys = sorted(c.scan_iter(count=1000))
    values = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        values.update(zip(chunk, c.mget(chunk)))
    return values


def test_sentinel_fails_over_without_losing_acknowledged_writes(server_factory, sentinels):
    primary = server_factory()
    nodes = [primary] + [server_factory(args=replica_args(primary.host, primary.port)) for _ in range(2)]
    until("both replicas online", lambda: info(connect(primary)).get("connected_slaves") == 2, timeout=30)
    addresses = sentinels(primary)
    until("the sentinels to know both replicas and each other", lambda: all(
        (lambda m: m.get("num-slaves") == "2" and m.get("num-other-sentinels") == "2")(master_state(a))
        for a in addresses), timeout=30)
    writer = Writer(Sentinel(addresses, socket_timeout=1))
    assert writer.write(100, time.monotonic() + 30) == 100

    for round_ in range(FAILOVERS):
        deadline = time.monotonic() + ROUND_TIMEOUT
        old = next(n for n in nodes if n.address == writer.sentinel.discover_master(NAME))
        old.kill()
        # Sentinel promotes a replica; the client follows it and acknowledged writes resume.
        until("Sentinel to promote a replica", lambda: tuple(writer.sentinel.discover_master(NAME)) != old.address,
              timeout=ROUND_TIMEOUT, errors=(redis.RedisError,))
        assert writer.write(50, deadline) == 50, f"round {round_}: writes did not resume"
        new = next(n for n in nodes if n.address == writer.sentinel.discover_master(NAME))
        new_client = connect(new)
        missing = [k for k, v in writer.acked.items() if new_client.get(k) != v]
        assert not missing, f"round {round_}: {len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        # The old primary comes back on its port; Sentinel makes it a replica; it converges.
        old.start(old.port)
        old_client = connect(old)
        until("the old primary to follow the new one", lambda: (lambda i: i.get("role") == "slave"
              and i.get("master_port") == new.port and i.get("master_link_status") == "up")(info(old_client)),
              timeout=ROUND_TIMEOUT)
        until("the old primary to converge", lambda: info(old_client).get("slave_repl_offset")
              == info(new_client).get("master_repl_offset"), timeout=30)
        assert all_keys(old_client) == all_keys(new_client), f"round {round_}: replica differs from primary"
    assert len(writer.acked) >= 100 + 50 * FAILOVERS
    print(f"failover test: {FAILOVERS} failovers, {len(writer.acked)} acknowledged writes, 0 lost, "
          f"{writer.errors} errors retried during failovers")
