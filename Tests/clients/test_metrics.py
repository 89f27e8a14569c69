"""kvserver's operator surfaces seen by real tools: the Prometheus /metrics endpoint scraped
with an HTTP client while a load runs (and parsed with prometheus-client's text parser), and
INFO's Redis-named fields (instantaneous_ops_per_sec, keyspace expires) that Redis
dashboards and exporters read.

kvserver-only: /metrics is kvserver's own endpoint (Redis has none).
"""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from conftest import KV_TARGET, free_port

pytestmark = pytest.mark.skipif(KV_TARGET != "kvserver", reason="/metrics is kvserver's own endpoint")


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_the_load_and_parse(server_factory):
    metrics_port = free_port()
    server = server_factory(args=["--metrics-port", str(metrics_port)])
    sets, gets, rounds = 3000, 2000, 10
    errors: list[BaseException] = []

    def load():
        try:
            r = redis.Redis(host=server.host, port=server.port)
            for round_ in range(rounds):
                pipe = r.pipeline(transaction=False)
                for i in range(sets // rounds):
                    pipe.set(f"key:{round_}:{i}", "x" * 100)
                pipe.execute()
                pipe = r.pipeline(transaction=False)
                for i in range(gets // rounds):
                    pipe.get(f"key:{round_}:{i}")
                pipe.execute()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=load)
    thread.start()
    seen = []
    deadline = time.monotonic() + 60
    while thread.is_alive() and time.monotonic() < deadline:
        seen.append(scrape(metrics_port))
        time.sleep(0.05)
    thread.join(timeout=60)
    assert not thread.is_alive() and not errors, errors
    final = scrape(metrics_port)
    seen.append(final)

    # Counters never go backwards between scrapes.
    for a, b in zip(seen, seen[1:]):
        for key in ("kvserver_commands_processed_total", "kvserver_net_input_bytes_total",
                    "kvstore_user_bytes_written_total"):
            assert value(b, key) >= value(a, key), key
    # Exactly what the load did.
    assert value(final, "kvserver_commands_total", command="set") == sets
    assert value(final, "kvserver_commands_total", command="get") == gets
    assert value(final, "kvserver_command_duration_seconds_count", command="get") == gets
    assert value(final, "kvserver_command_duration_seconds_bucket", command="get", le="+Inf") == gets
    assert value(final, "kvserver_command_duration_seconds_sum", command="get") > 0
    assert value(final, "kvserver_keyspace_hits_total") == gets
    assert value(final, "kvstore_user_bytes_written_total") >= sets * 100
    assert value(final, "kvstore_memtable_bytes") > 0
    assert value(final, "process_resident_memory_bytes") > 1 << 20
    assert value(final, "kvserver_connected_clients") >= 0
    assert ("kvstore_level_files", (("level", "0"),)) in final
    assert ("kvstore_stall_seconds_total", (("reason", "level0"),)) in final


def test_info_uses_redis_field_names(server_factory):
    server = server_factory()
    r = redis.Redis(host=server.host, port=server.port)
    for i in range(50):
        r.set(f"plain:{i}", "v")
    for i in range(20):
        r.set(f"ttl:{i}", "v", ex=1000)
    keyspace = r.info("keyspace")
    assert keyspace["db0"]["keys"] == 70
    assert keyspace["db0"]["expires"] == 20
    assert 990_000 < keyspace["db0"]["avg_ttl"] <= 1_000_000
    # instantaneous_ops_per_sec: a mean over the last 1.6 s, sampled every 100 ms.
    stop = time.monotonic() + 1.0
    while time.monotonic() < stop:
        r.ping()
    stats = r.info("stats")
    assert stats["instantaneous_ops_per_sec"] > 50
    for name in ("total_net_input_bytes", "total_net_output_bytes", "instantaneous_input_kbps",
                 "instantaneous_output_kbps", "keyspace_hits", "keyspace_misses"):
        assert name in stats
    assert r.info("clients")["connected_clients"] >= 1
    assert r.info("memory")["used_memory"] > 0
