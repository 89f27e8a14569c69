"""Several servers serve one keyspace behind twemproxy (Debian's nutcracker), docs/SCALING.md.

Each test starts three servers (conftest's server_factory: kvserver, or redis-server with
KV_TARGET=redis) and nutcracker on free ports with a generated config (ketama over fnv1a_64,
auto_eject_hosts, the nodes named kv0, kv1, … so that ketama hashes names, not ports), then:

  * redis-benchmark through the proxy: it runs, and the keys it wrote are spread over the
    three nodes, each on exactly one, each where ketama puts it, all readable through the proxy;
  * redis-py through the proxy (SET one by one, pipelined, MSET, MGET, DEL, EXISTS): every key
    on exactly one node with its value, the nodes together hold them all, the proxy reads every
    one back, and each key sits on the node Tools/cluster/rebalance.py's ring computes;
  * what the proxy refuses (docs/SCALING.md's table): it closes the connection;
  * SIGKILL of one node: after the eject the proxy serves every key of the other nodes, the
    dead node's keys miss or fail (never a wrong value), new keys are written (on the ring
    without the dead node); when the node is back its keys are served again with their old
    values (one rewritten meanwhile too), the keys written meanwhile that belong to it miss,
    and rebalance.py --overwrite brings them all home;
  * a fourth node: about 1/4 of the keys move to it and nowhere else, they miss until
    rebalance.py moves them, then every key is readable and on one node; taken out again
    (rebalance.py --drain), its keys go back and every key reads through the first proxy.

redis-py talks RESP2 without CLIENT SETINFO here: twemproxy closes the connection on HELLO
and CLIENT, which redis-py 8 sends by default (test_proxy_refuses_what_it_cannot_route).
nutcracker missing is a failure, not a skip: `make test` installs it (TEST_PACKAGES).
Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import pytest
import redis
from redis.backoff import NoBackoff
from redis.driver_info import DriverInfo
from redis.retry import Retry

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import REPO_ROOT, ServerProcess, free_port, ping_once, until  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "Tools" / "cluster"))
import rebalance  # noqa: E402

NODES = 3
RETRY_MS = 1000      # server_retry_timeout: an ejected node is tried again after this


def nutcracker_bin() -> str:
    """$NUTCRACKER_BIN, else nutcracker on the PATH or in /usr/sbin (Debian's package)."""
    path = os.environ.get("NUTCRACKER_BIN") or shutil.which("nutcracker") or "/usr/sbin/nutcracker"
    if not os.access(path, os.X_OK):
        pytest.fail(f"nutcracker (twemproxy) is not installed ({path} is missing): "
                    "apt-get install nutcracker (`make test` installs it with the other "
                    "TEST_PACKAGES)", pytrace=False)
    return path


class Proxy(ServerProcess):
    """nutcracker in front of the given nodes; conftest's start/stop/log machinery."""

    def __init__(self, directory: Path, nodes: Sequence[ServerProcess], *, name: str = "proxy"):
        super().__init__(directory, target="nutcracker", name=name)
        self.nodes = list(nodes)
        self.config_path = self.directory / "nutcracker.yml"
        self.stats_port = 0
        self.hash = "fnv1a_64"

    def argv(self, port: int) -> list[str]:
        binary = nutcracker_bin()
        self.stats_port = free_port()
        servers = "".join(f"   - {n.host}:{n.port}:1 kv{i}\n" for i, n in enumerate(self.nodes))
        self.config_path.write_text(
            "kvcluster:\n"
            f"  listen: 127.0.0.1:{port}\n"
            "  redis: true\n"
            f"  hash: {self.hash}\n"
            "  distribution: ketama\n"
            "  preconnect: true\n"
            "  timeout: 2000\n"
            "  auto_eject_hosts: true\n"
            "  server_failure_limit: 1\n"
            f"  server_retry_timeout: {RETRY_MS}\n"
            "  servers:\n" + servers)
        return [binary, "-c", str(self.config_path), "-o", str(self.log_path),
                "-s", str(self.stats_port), "-a", "127.0.0.1", "-i", "200"]

    def stats(self) -> dict:
        """The pool's counters from the stats port (aggregated every 200 ms)."""
        with socket.create_connection((self.host, self.stats_port), timeout=2) as s:
            s.settimeout(2)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data)["kvcluster"]

    def client(self) -> redis.Redis:
        return client_for(self.address)


def client_for(address) -> redis.Redis:
    # RESP2 and no CLIENT SETINFO: twemproxy closes the connection on HELLO and CLIENT.
    # No retries: a failure must show, and the waits below bound every retry themselves.
    return redis.Redis(host=address[0], port=address[1], protocol=2,
                       driver_info=DriverInfo(name=None, lib_version=None),
                       socket_timeout=5, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))


class Cluster:
    def __init__(self, nodes: list[ServerProcess], proxy: Proxy):
        self.nodes = nodes
        self.proxy = proxy
        config = rebalance.read_config(str(proxy.config_path))
        self.ring = rebalance.Ring(config.nodes, config.hash)

    def where(self, pattern: str, nodes: Optional[Sequence[int]] = None) -> dict[bytes, list[int]]:
        """key -> the indices of the nodes holding it (SCAN straight to each node)."""
        found: dict[bytes, list[int]] = {}
        for i in (range(len(self.nodes)) if nodes is None else nodes):
            r = client_for(self.nodes[i].address)
            for key in r.scan_iter(match=pattern, count=1000):
                found.setdefault(key, []).append(i)
            r.close()
        return found


@pytest.fixture
def make_cluster(server_factory, tmp_path, request):
    """make_cluster(n) -> Cluster: n fresh servers and nutcracker in front of them."""
    proxies: list[Proxy] = []

    def make_proxy(nodes: Sequence[ServerProcess], name: str) -> Proxy:
        proxy = Proxy(tmp_path / name, nodes, name=name)
        proxies.append(proxy)
        # conftest's report hook prints the logs of what is in this list when a test fails.
        getattr(request.node, "_kv_servers", []).append(proxy)
        return proxy.start()

    def make(n: int = NODES) -> Cluster:
        nutcracker_bin()  # in the test's body: a missing nutcracker FAILS the test
        # fsync everysec: redis-server keeps its data across the SIGKILL below too (AOF).
        nodes = [server_factory(fsync="everysec") for _ in range(n)]
        return Cluster(nodes, make_proxy(nodes, f"proxy{len(proxies)}"))

    make.proxy = make_proxy
    yield make
    for p in proxies:
        p.stop()


def chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def assert_spread(where: dict, total: int, nodes: int, what: str) -> list[int]:
    per = [sum(1 for v in where.values() if v == [i]) for i in range(nodes)]
    for i, n in enumerate(per):
        # ketama with 160 points a node gives each of three nodes 31-37 % of a few thousand keys.
        assert n >= total * 0.15, f"{what}: node kv{i} holds {n} of {total} keys: {per}"
    return per


def test_redis_benchmark_through_the_proxy(make_cluster):
    if shutil.which("redis-benchmark") is None:
        pytest.fail("redis-benchmark is missing: apt-get install redis-tools", pytrace=False)
    c = make_cluster()
    cmd = ["redis-benchmark", "-h", c.proxy.host, "-p", str(c.proxy.port), "-t", "set,get",
           "-n", "20000", "-r", "10000", "-c", "20", "-P", "8", "-q", "--csv"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    print(" ".join(cmd))
    print(run.stdout)
    assert run.returncode == 0, f"redis-benchmark exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    # Through twemproxy, redis-benchmark's CONFIG GET is refused: it says so and goes on.
    noise = [l for l in run.stderr.splitlines()
             if l.strip() and "Could not fetch server CONFIG" not in l]
    assert not noise, "redis-benchmark reported errors:\n" + run.stderr
    rps = {}
    for line in run.stdout.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if fields[0] in ("SET", "GET"):
            rps[fields[0]] = float(fields[1])
    assert set(rps) == {"SET", "GET"} and min(rps.values()) > 0, f"no figures in:\n{run.stdout}"

    where = c.where("key:*")
    keys = sorted(where)
    # 20,000 draws from 10,000 numbers: about 8,600 distinct keys.
    assert 5000 <= len(keys) <= 10000, f"{len(keys)} distinct keys written"
    assert all(len(v) == 1 for v in where.values()), "a key is on more than one node"
    per = assert_spread(where, len(keys), NODES, "redis-benchmark keys")
    misplaced = [k for k, v in where.items() if c.ring.owner(k) != v[0]]
    assert not misplaced, f"{len(misplaced)} keys not where ketama puts them: {misplaced[:5]}"
    r = c.proxy.client()
    value = r.get(keys[0])  # redis-benchmark writes one 3-byte value (-d 3) to every key
    assert value is not None and len(value) == 3
    for part in chunks(keys, 1000):
        assert r.mget(part) == [value] * len(part)
    print(f"SET {rps['SET']:.0f}/s GET {rps['GET']:.0f}/s; keys per node {per}")


def test_every_key_on_exactly_one_node(make_cluster):
    c = make_cluster()
    r = c.proxy.client()
    # The number first: with twemproxy's fnv1a_64, keys that differ only in their last bytes
    # hash close together and can crowd onto one node (docs/SCALING.md, "Hash").
    keys = [f"cl:{i}:k" for i in range(3000)]
    values = {k: f"value-{i}-{random.randrange(1 << 30)}".encode() for i, k in enumerate(keys)}
    for k in keys[:1500]:                       # one request each
        assert r.set(k, values[k]) is True
    pipe = r.pipeline(transaction=False)        # pipelined: the proxy answers in order
    for k in keys[1500:]:
        pipe.set(k, values[k])
    assert pipe.execute() == [True] * 1500

    where = c.where("cl:*")
    twice = {k: v for k, v in where.items() if len(v) > 1}
    assert not twice, f"{len(twice)} keys on more than one node, e.g. {list(twice.items())[:3]}"
    assert sorted(where) == sorted(k.encode() for k in keys), \
        f"the nodes hold {len(where)} of the {len(keys)} keys"
    per = assert_spread(where, len(keys), NODES, "SET keys")
    for i, node in enumerate(c.nodes):
        mine = [k for k, v in where.items() if v == [i]]
        direct = client_for(node.address)
        for part in chunks(mine, 500):
            assert direct.mget(part) == [values[k.decode()] for k in part], f"a wrong value on kv{i}"
        direct.close()
    misplaced = [k for k, v in where.items() if c.ring.owner(k) != v[0]]
    assert not misplaced, f"{len(misplaced)} keys not where ketama puts them: {misplaced[:5]}"

    # Reads through the proxy: one by one, pipelined, and MGETs the proxy splits per node.
    for k in keys[:500]:
        assert r.get(k) == values[k]
    pipe = r.pipeline(transaction=False)
    for k in keys[500:1500]:
        pipe.get(k)
    assert pipe.execute() == [values[k] for k in keys[500:1500]]
    for part in chunks(keys, 500):
        assert r.mget(part) == [values[k] for k in part]

    # MSET / MGET / EXISTS / DEL with keys on every node, each one command through the proxy.
    mkeys = [f"mset:{i}:k" for i in range(600)]
    assert r.mset({k: f"m{i}" for i, k in enumerate(mkeys)}) is True
    assert r.mget(mkeys + ["mset:absent"]) == [f"m{i}".encode() for i in range(600)] + [None]
    mwhere = c.where("mset:*")
    assert sorted(mwhere) == sorted(k.encode() for k in mkeys)
    assert all(len(v) == 1 for v in mwhere.values())
    assert_spread(mwhere, len(mkeys), NODES, "one MSET's keys")
    assert sum(r.exists(k) for k in mkeys[:100] + ["mset:absent"]) == 100
    # Multi-key EXISTS only within one node: nutcracker 0.5 answers the count of the first
    # key's node alone when the keys span several (docs/SCALING.md).
    on_kv0 = [k for k in mkeys if mwhere[k.encode()] == [0]]
    assert r.exists(*on_kv0) == len(on_kv0) and r.exists(on_kv0[0], on_kv0[0]) == 2
    assert r.delete(*mkeys[:300]) == 300
    assert r.mget(mkeys[:300]) == [None] * 300
    assert len(c.where("mset:*")) == 300
    assert r.incr("counter") == 1 and r.incrby("counter", 41) == 42
    print(f"keys per node {per}")


# (command, arguments): each refused by twemproxy itself, which closes the connection.
REFUSED = [
    ("RANGE", ["a", "z"]), ("DELRANGE", ["a", "b"]), ("SCAN", ["0"]), ("KEYS", ["*"]),
    ("DBSIZE", []), ("RANDOMKEY", []), ("FLUSHDB", []), ("MULTI", []), ("EXEC", []),
    ("WATCH", ["k"]), ("INFO", []), ("CONFIG", ["GET", "port"]), ("HELLO", ["3"]),
    ("CLIENT", ["SETINFO", "LIB-NAME", "x"]), ("SELECT", ["0"]), ("ECHO", ["hi"]),
    ("RENAME", ["a", "b"]), ("MSETNX", ["a", "1", "b", "2"]), ("BITOP", ["AND", "d", "a", "b"]),
    ("LCS", ["a", "b"]), ("EXPIRETIME", ["a"]), ("OBJECT", ["ENCODING", "a"]), ("TIME", []),
]


def test_proxy_refuses_what_it_cannot_route(make_cluster):
    c = make_cluster()

    def raw(args: list[str]) -> tuple[bytes, bool]:
        """(what the proxy sent, whether it closed the connection within 3 s)."""
        with socket.create_connection(c.proxy.address, timeout=5) as s:
            s.settimeout(3)
            req = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
            s.sendall(req.encode())
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except socket.timeout:
                return data, False
            return data, True

    for name, args in REFUSED:
        reply = raw([name] + args)
        assert reply == (b"", True), f"{name}: the proxy answered {reply} instead of closing"
    assert raw(["GET", "k"]) == (b"$-1\r\n", False)
    # What it does route, on the same terms, and redis-py's default handshake (HELLO 3).
    r = c.proxy.client()
    assert r.ping() is True and r.set("k", "v") is True and r.get("k") == b"v"
    default = redis.Redis(host=c.proxy.host, port=c.proxy.port, socket_timeout=5,
                          socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.ConnectionError):
        default.get("k")


def test_killed_node_is_ejected_and_the_rest_served(make_cluster):
    c = make_cluster()
    r = c.proxy.client()
    keys = [f"ej:{i}:k" for i in range(1500)]
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, f"v:{k}")
    assert pipe.execute() == [True] * len(keys)
    where = c.where("ej:*")
    assert len(where) == len(keys)
    victim_index = 1
    victim = c.nodes[victim_index]
    on_victim = sorted(k for k, v in where.items() if v == [victim_index])
    on_live = sorted(k for k, v in where.items() if v != [victim_index])
    assert on_victim and on_live

    victim.kill(signal.SIGKILL)
    # The proxy sees the connection drop (preconnect) or the next request fail: ejected.
    def ejected():
        try:
            r.get(on_victim[0])
        except redis.RedisError:
            pass
        return c.proxy.stats()["server_ejects"] >= 1
    until("the proxy ejecting the killed node", ejected, errors=(OSError, ValueError, KeyError))

    # Every key of the live nodes is served with its value (retries bounded; counted).
    attempts = 0

    def read(key: bytes):
        nonlocal attempts
        attempts += 1
        return r.get(key)
    for k in on_live:
        got = until(f"GET {k!r} (on a live node) through the proxy", lambda: read(k))
        assert got == f"v:{k.decode()}".encode()
    retried = attempts - len(on_live)
    # The dead node's keys miss (the ring without it sends them to a live node, which lacks
    # them) or fail (the moments the proxy tries the dead node again): never a value.
    outcomes = {"miss": 0, "error": 0}
    for k in on_victim[:200]:
        try:
            got = r.get(k)
            assert got is None, f"{k!r} of the dead node read {got!r}"
            outcomes["miss"] += 1
        except redis.RedisError:
            outcomes["error"] += 1

    # New keys are written, each on a live node: where the ring without kv1 puts it.
    live_ring = rebalance.Ring([n for i, n in enumerate(c.ring.nodes) if i != victim_index],
                               c.proxy.hash)
    live_indices = [i for i in range(NODES) if i != victim_index]
    new = [f"new:{i}:k" for i in range(300)]
    for k in new:
        until(f"SET {k} through the proxy", lambda: r.set(k, f"n:{k}"))
    for k in new:
        assert until(f"GET {k} through the proxy", lambda: r.get(k)) == f"n:{k}".encode()
    new_where = c.where("new:*", nodes=live_indices)
    assert sorted(new_where) == sorted(k.encode() for k in new)
    assert all(len(v) == 1 for v in new_where.values())
    wrong = [k for k, v in new_where.items() if live_indices[live_ring.owner(k)] != v[0]]
    assert not wrong, f"new keys not where the ring without the dead node puts them: {wrong[:5]}"
    redistributed = [k for k in new_where if c.ring.owner(k) == victim_index]
    assert redistributed, "no new key belonged to the dead node"
    # A key of the dead node written meanwhile: it lands on a live node too.
    rewritten = on_victim[1]
    until(f"SET {rewritten!r} through the proxy", lambda: r.set(rewritten, "while-ejected"))

    # The node comes back (same port, same data): after server_retry_timeout the proxy sends
    # its keys to it again and they read their old values, the one rewritten meanwhile too; the
    # keys written to the others meanwhile that belong to it miss. rebalance.py --overwrite
    # moves them all home, the rewritten one over its old value.
    log = open(victim.log_path, "ab")
    victim.proc = subprocess.Popen(victim.argv(victim.port), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, cwd=str(victim.directory.parent))
    log.close()
    until("the killed node answering PING again",
          lambda: victim.proc.poll() is None and ping_once(victim.host, victim.port))
    until("the proxy serving the returned node's keys",
          lambda: r.get(on_victim[0]) == f"v:{on_victim[0].decode()}".encode())
    for part in chunks(on_victim, 300):
        assert until("MGET of the returned node's keys",
                     lambda: r.mget(part)) == [f"v:{k.decode()}".encode() for k in part]
    assert r.mget(redistributed) == [None] * len(redistributed)
    result = rebalance.rebalance(str(c.proxy.config_path), overwrite=True)
    assert result["total"] == len(redistributed) + 1 and result["conflicts"] == [rewritten]
    assert r.mget(redistributed) == [f"n:{k.decode()}".encode() for k in redistributed]
    assert r.get(rewritten) == b"while-ejected"
    assert all(len(v) == 1 for v in c.where("*").values())
    print(f"{len(on_live)} live-node keys read ({retried} retries); dead node's keys: {outcomes}; "
          f"{len(redistributed)} of {len(new)} new keys redistributed, moved home after the return")


def test_added_node_takes_a_quarter_and_drains_back(make_cluster, server_factory):
    c = make_cluster()
    r = c.proxy.client()
    keys = [f"add:{i}:k" for i in range(2000)]
    index = {k: i for i, k in enumerate(keys)}
    pipe = r.pipeline(transaction=False)
    for i, k in enumerate(keys):
        pipe.set(k, f"v{i}", ex=1000 if i % 2 else None)
    assert pipe.execute() == [True] * len(keys)

    # A fourth node, and a proxy whose ring has it (what editing nutcracker.yml and restarting
    # the proxy does).
    fourth = server_factory(fsync="everysec")
    nodes = c.nodes + [fourth]
    proxy4 = make_cluster.proxy(nodes, "proxy4")
    ring4 = Cluster(nodes, proxy4).ring
    moving = sorted(k for k in keys if ring4.owner(k.encode()) != c.ring.owner(k.encode()))
    assert all(ring4.owner(k.encode()) == 3 for k in moving), "ketama moved a key between old nodes"
    assert 0.12 * len(keys) <= len(moving) <= 0.40 * len(keys), \
        f"{len(moving)} of {len(keys)} keys move to the fourth node"
    r4 = proxy4.client()
    assert r4.mget(moving) == [None] * len(moving)  # misses until the data is moved
    staying = sorted(set(keys) - set(moving))
    assert r4.mget(staying[:500]) == [f"v{index[k]}".encode() for k in staying[:500]]
    # A client writes one moved key through the new proxy before the move: that value wins.
    assert r4.set(moving[0], "newer") is True

    result = rebalance.rebalance(str(proxy4.config_path))
    assert result["total"] == len(moving) and result["conflicts"] == [moving[0].encode()]
    for part in chunks(keys, 500):
        want = [b"newer" if k == moving[0] else f"v{index[k]}".encode() for k in part]
        assert r4.mget(part) == want
    where = Cluster(nodes, proxy4).where("add:*")
    assert sorted(where) == sorted(k.encode() for k in keys)
    assert all(len(v) == 1 for v in where.values())
    assert sorted(k for k, v in where.items() if v == [3]) == sorted(k.encode() for k in moving)
    # The expiry moved with the value.
    with_ttl = [k for k in moving[1:] if index[k] % 2]
    assert with_ttl and all(0 < r4.ttl(k) <= 1000 for k in with_ttl[:50])
    assert rebalance.rebalance(str(proxy4.config_path), dry_run=True)["total"] == 0

    # And out again: the first proxy's ring has no kv3; --drain empties it into the others.
    result = rebalance.rebalance(str(c.proxy.config_path), drain=[fourth.address])
    assert result["total"] == len(moving) and result["conflicts"] == []
    assert client_for(fourth.address).dbsize() == 0
    for part in chunks(keys, 500):
        want = [b"newer" if k == moving[0] else f"v{index[k]}".encode() for k in part]
        assert r.mget(part) == want
    assert all(len(v) == 1 for v in c.where("add:*").values())
    print(f"{len(moving)} of {len(keys)} keys moved to the fourth node, and back when drained")
