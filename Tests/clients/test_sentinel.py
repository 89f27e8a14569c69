"""A real Redis Sentinel (Debian's redis-server in sentinel mode) monitoring the server as a
primary: it connects, reads INFO, discovers itself through hello messages published over
Pub/Sub on the primary, and reports the primary up; stopped, the primary is reported down.
This checks what Sentinel needs of a lone primary's Pub/Sub, PING and INFO; failover with
replicas is test_failover.py. Must pass against Debian's redis-server too (KV_TARGET=redis).

Bounded: every wait has a deadline; the sentinel process is killed when the test ends.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import redis

from conftest import free_port, redis_server_bin, until

DEADLINE = 15.0


@pytest.fixture
def primary(server_factory):
    return server_factory()


@pytest.fixture
def sentinel(tmp_path, primary):
    address = primary.address
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor primary {address[0]} {address[1]} 1\n"
        "sentinel down-after-milliseconds primary 1000\n")
    log = open(tmp_path / "sentinel.log", "w")
    proc = subprocess.Popen([str(redis_server_bin()), str(conf), "--sentinel"], stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, protocol=2, decode_responses=True)
    try:
        until("the sentinel to answer", lambda: client.ping())
        yield client
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


def master_state(sentinel):
    raw = sentinel.execute_command("SENTINEL", "MASTER", "primary")
    return dict(zip(raw[::2], raw[1::2])) if isinstance(raw, list) else raw


def test_sentinel_monitors_the_primary_over_pubsub(primary, sentinel):
    host, port = primary.address
    conn = redis.Redis(host=host, port=port, socket_timeout=5, protocol=2)
    # Sentinel subscribes to its hello channel on the primary and publishes there every 2 s.
    until("Sentinel's subscription on the primary", lambda: b"__sentinel__:hello" in conn.pubsub_channels())
    listener = conn.pubsub()
    listener.subscribe("__sentinel__:hello")
    end = time.monotonic() + DEADLINE
    hello = None
    while hello is None and time.monotonic() < end:
        m = listener.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if m is not None:
            hello = m["data"]
    assert hello is not None, "no hello message published on the primary"
    fields = hello.decode().split(",")
    assert fields[4:7] == ["primary", host, str(port)], fields  # the primary it describes
    listener.close()
    # Sentinel reports it up, a primary without replicas.
    state = until("Sentinel to report the primary up", lambda: (
        lambda m: m if m.get("flags") == "master" and m.get("role-reported") == "master" else None)(master_state(sentinel)))
    assert state["num-slaves"] == "0", state
    # Stopped, it is reported down (subjectively: one sentinel) within its down-after time.
    primary.stop()
    until("Sentinel to see the primary down", lambda: "s_down" in master_state(sentinel).get("flags", ""))
