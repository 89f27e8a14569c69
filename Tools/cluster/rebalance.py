#!/usr/bin/env python3
"""Moves keys to the node twemproxy routes them to, after the ring changed (docs/SCALING.md).

twemproxy does not move data. When a node is added to its config, ketama routes about 1/N of
the keys (N the new number of nodes) to the new node, and until they are copied there reads
of those keys miss; when one is removed, its keys miss until they are copied to the others.
This tool computes twemproxy's placement itself (ketama over fnv1a_64, murmur or md5, as
nutcracker 0.5 builds its ring from the server names and weights), walks every node with SCAN
(and every node given with --drain), and for each key on a node other than its ring node:

    GET + PTTL on the node it sits on;  SET key value [PX ttl] NX through the proxy;
    checks the key is now on the node the ring names;  DEL on the node it sat on.

NX: a value a client wrote through the proxy since the ring changed wins over the moved one
(--overwrite: the moved one wins, which is what a node's return after an eject calls for when
the keys written meanwhile are the newer ones; docs/SCALING.md). Conflicting keys are listed.
A key is deleted from its old node only once the ring's node has it, and the tool stops if a
key the proxy stored is not where the ring said (the ring computed here would be wrong).
Only the standard library: runs with Debian's python3.

    rebalance.py CONFIG [--dry-run] [--overwrite]   CONFIG: the nutcracker.yml the proxy runs
    rebalance.py CONFIG --drain HOST:PORT           also empties a node removed from CONFIG
    rebalance.py CONFIG --owner KEY ...             prints the node of each key

The config reader knows the files Tools/cluster/run.sh writes (one pool, `listen:`,
`distribution: ketama`, `hash:` fnv1a_64 (the default), murmur or md5, no `hash_tag`, servers
as `- host:port:weight name`).
Ejected nodes are not modelled: run it with every node up.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import socket
import sys
from typing import NamedTuple, Optional, Sequence

KETAMA_POINTS_PER_SERVER = 160
KETAMA_POINTS_PER_HASH = 4


class Node(NamedTuple):
    host: str
    port: int
    weight: int
    name: str


class Config(NamedTuple):
    listen: tuple[str, int]
    nodes: list[Node]
    hash: str


def read_config(path: str) -> Config:
    """Proxy address, nodes in order and hash of a one-pool nutcracker.yml as run.sh writes it."""
    listen: Optional[tuple[str, int]] = None
    nodes: list[Node] = []
    settings: dict[str, str] = {}
    in_servers = False
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            stripped = line.strip()
            if stripped.startswith("- ") and in_servers:
                spec = stripped[2:].split()
                host, port, weight = spec[0].rsplit(":", 2)
                name = spec[1] if len(spec) > 1 else f"{host}:{port}"
                nodes.append(Node(host, int(port), int(weight), name))
                continue
            in_servers = False
            if ":" in stripped and not line.startswith(" "):
                continue  # the pool's name
            key, _, value = stripped.partition(":")
            key, value = key.strip(), value.strip()
            if key == "servers":
                in_servers = True
            elif key == "listen":
                host, port = value.rsplit(":", 1)
                listen = (host, int(port))
            else:
                settings[key] = value
    if listen is None or not nodes:
        raise SystemExit(f"{path}: no listen address or no servers")
    hash_name = settings.get("hash", "fnv1a_64")
    if hash_name not in HASHES or settings.get("distribution") != "ketama":
        raise SystemExit(f"{path}: only distribution ketama with hash "
                         f"{', '.join(HASHES)} is modelled")
    if "hash_tag" in settings:
        raise SystemExit(f"{path}: hash_tag is not modelled")
    if len({n.weight for n in nodes}) > 1:
        # twemproxy's notes say named servers' weights are ignored; unchecked, so refused.
        raise SystemExit(f"{path}: only equal weights are modelled")
    return Config(listen, nodes, hash_name)


def md5_hash(key: bytes) -> int:
    """twemproxy's hash_md5: the first four bytes of the MD5 digest, little-endian."""
    return int.from_bytes(hashlib.md5(key).digest()[:4], "little")


def murmur(key: bytes) -> int:
    """twemproxy's hash_murmur: MurmurHash2, 32 bits, seed 0xdeadbeef * length."""
    m = 0x5BD1E995
    length = len(key)
    h = ((0xDEADBEEF * length) & 0xFFFFFFFF) ^ length
    i = 0
    while length - i >= 4:
        k = int.from_bytes(key[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
        i += 4
    rest = length - i
    if rest == 3:
        h ^= key[i + 2] << 16
    if rest >= 2:
        h ^= key[i + 1] << 8
    if rest >= 1:
        h ^= key[i]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def fnv1a_64(key: bytes) -> int:
    """twemproxy's hash_fnv1a_64: the 64-bit constants truncated to 32 bits, a 32-bit result."""
    h = 0xCBF29CE484222325 & 0xFFFFFFFF
    for b in key:
        # key[x] is a (signed) char widened to uint32_t: bytes >= 0x80 are sign-extended.
        h ^= b if b < 0x80 else (b | 0xFFFFFF00)
        h = (h * (0x100000001B3 & 0xFFFFFFFF)) & 0xFFFFFFFF
    return h


HASHES = {"fnv1a_64": fnv1a_64, "murmur": murmur, "md5": md5_hash}


class Ring:
    """twemproxy's ketama continuum (nc_ketama.c) over every node given."""

    def __init__(self, nodes: list[Node], hash: str = "fnv1a_64"):
        self.nodes = nodes
        self.hash = HASHES[hash]
        total = sum(n.weight for n in nodes)
        points: list[tuple[int, int]] = []
        for index, node in enumerate(nodes):
            # Equal weights (read_config insists): 160 points per node, as in the C code.
            percent = node.weight / total
            per_server = int(percent * KETAMA_POINTS_PER_SERVER / 4 * len(nodes) + 0.0000000001) * 4
            for p in range(per_server // KETAMA_POINTS_PER_HASH):
                digest = hashlib.md5(f"{node.name}-{p}".encode()).digest()
                for x in range(KETAMA_POINTS_PER_HASH):
                    value = int.from_bytes(digest[x * 4:x * 4 + 4], "little")
                    points.append((value, index))
        points.sort()
        self.values = [v for v, _ in points]
        self.owners = [i for _, i in points]

    def owner(self, key: bytes) -> int:
        """Index of the node twemproxy sends key to."""
        i = bisect.bisect_left(self.values, self.hash(key))
        return self.owners[i if i < len(self.values) else 0]


class RespError(Exception):
    pass


class Conn:
    """A minimal RESP2 client: commands as lists of bytes/str/int, pipelined."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line[:40]!r}")

    def pipeline(self, commands: list[list]) -> list:
        out = bytearray()
        for cmd in commands:
            out += b"*%d\r\n" % len(cmd)
            for arg in cmd:
                a = arg if isinstance(arg, bytes) else str(arg).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return [self._reply() for _ in commands]

    def call(self, *args):
        reply = self.pipeline([list(args)])[0]
        if isinstance(reply, RespError):
            raise reply
        return reply


def scan_keys(conn: Conn, count: int = 1000):
    """Every key of one node, a batch at a time (SCAN straight to the node)."""
    cursor = b"0"
    while True:
        cursor, keys = conn.call("SCAN", cursor, "COUNT", count)
        if keys:
            yield keys
        if cursor == b"0":
            return


def rebalance(config: str, dry_run: bool = False, overwrite: bool = False,
              drain: Sequence[tuple[str, int]] = (), out=sys.stdout) -> dict:
    """Moves every misplaced key to its ring node; returns the counts it prints.

    A key the ring's node holds too is a conflict: by default that node's value stays (right
    after adding a node: clients wrote it there since); overwrite=True makes the moved copy
    win (right after a node's return from an eject, for keys not written since it returned).
    drain: addresses of nodes taken out of the config, still running: every key they hold
    is moved to its ring node.
    """
    proxy_addr, nodes, hash_name = read_config(config)
    ring = Ring(nodes, hash_name)
    ring_size = len(nodes)
    nodes = nodes + [Node(h, p, 0, f"drained {h}:{p}") for h, p in drain]
    conns = [Conn(n.host, n.port) for n in nodes]
    proxy = None if dry_run else Conn(*proxy_addr)
    moved: dict[str, int] = {}
    scanned = 0
    conflicts: list[bytes] = []  # the two copies differ (the same value twice is no conflict)
    try:
        for index, (node, conn) in enumerate(zip(nodes, conns)):
            moved[node.name] = 0
            for keys in scan_keys(conn):
                scanned += len(keys)
                misplaced = keys if index >= ring_size else [k for k in keys if ring.owner(k) != index]
                if not misplaced:
                    continue
                replies = conn.pipeline([c for k in misplaced for c in (["GET", k], ["PTTL", k])])
                found: list[tuple[bytes, bytes, object]] = []
                for i, key in enumerate(misplaced):
                    value, pttl = replies[2 * i], replies[2 * i + 1]
                    if value is None or isinstance(value, RespError) or pttl == -2:
                        continue  # gone (expired or deleted) since the SCAN
                    found.append((key, value, pttl))
                by_owner: dict[int, list[tuple[bytes, bytes, object]]] = {}
                for item in found:
                    by_owner.setdefault(ring.owner(item[0]), []).append(item)
                for owner, items in by_owner.items():
                    theirs = conns[owner].pipeline([["GET", k] for k, _, _ in items])
                    conflicts += [k for (k, v, _), t in zip(items, theirs) if t is not None and t != v]
                    if dry_run:
                        moved[node.name] += len(items)
                        continue
                    sets = []
                    for key, value, pttl in items:
                        cmd = ["SET", key, value]
                        if isinstance(pttl, int) and pttl > 0:
                            cmd += ["PX", pttl]
                        sets.append(cmd if overwrite else cmd + ["NX"])
                    for (key, _, _), reply in zip(items, proxy.pipeline(sets)):
                        if isinstance(reply, RespError):
                            raise SystemExit(f"SET {key!r} through the proxy: {reply}")
                    # Deleted from the old node only once the ring's node holds it.
                    present = conns[owner].pipeline([["EXISTS", k] for k, _, _ in items])
                    for (key, _, _), p in zip(items, present):
                        if p != 1:
                            raise SystemExit(
                                f"{key!r} went through the proxy but is not on {nodes[owner].name}: "
                                "the ring computed here differs from the proxy's; nothing more deleted")
                    conn.pipeline([["DEL", k] for k, _, _ in items])
                    moved[node.name] += len(items)
    finally:
        for c in conns:
            c.close()
        if proxy is not None:
            proxy.close()
    total = sum(moved.values())
    verb = "would move" if dry_run else "moved"
    for name, n in moved.items():
        print(f"{name}: {verb} {n} keys to their ring node", file=out)
    print(f"{scanned} keys scanned, {total} {verb}", file=out)
    if conflicts:
        if overwrite:
            what = "the moved copy " + ("would replace" if dry_run else "replaced") + " it"
        else:
            what = ("the ring node's value " + ("would stay" if dry_run else "stayed")
                    + " (--overwrite: the moved copy replaces it)")
        print(f"{len(conflicts)} conflicts (the key is on its ring node too, with another value): "
              f"{what}", file=out)
    for key in conflicts[:10]:
        print(f"  conflict: {key!r}", file=out)
    return {"moved": moved, "scanned": scanned, "total": total, "conflicts": conflicts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="the nutcracker.yml the proxy runs (all nodes up)")
    ap.add_argument("--dry-run", action="store_true", help="count the misplaced keys, move nothing")
    ap.add_argument("--overwrite", action="store_true",
                    help="a moved copy replaces the value its ring node already has (after an "
                         "eject: the copies written while the node was out); default: kept")
    ap.add_argument("--drain", action="append", default=[], metavar="HOST:PORT",
                    help="a node removed from CONFIG but still running: move all its keys "
                         "(repeatable)")
    ap.add_argument("--owner", nargs="+", metavar="KEY", help="print the node of each key and exit")
    args = ap.parse_args()
    if args.owner:
        _, nodes, hash_name = read_config(args.config)
        ring = Ring(nodes, hash_name)
        for key in args.owner:
            n = nodes[ring.owner(key.encode())]
            print(f"{key} {n.name} {n.host}:{n.port}")
        return
    drain = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in args.drain]
    rebalance(args.config, dry_run=args.dry_run, overwrite=args.overwrite, drain=drain)


if __name__ == "__main__":
    main()
