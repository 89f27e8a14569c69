"""MULTI/EXEC transactions survive SIGKILL whole: acknowledged ones are all there, and no
transaction is ever half applied.

The server runs with fsync always (kvserver --fsync always; redis-server with
--appendonly yes --appendfsync always under KV_TARGET=redis). Client threads (redis-py,
default settings but for a socket timeout and no retries) run transfers between random pairs of accounts;
each transfer is one MULTI/EXEC:
    DECRBY acct:A n; INCRBY acct:B n; SET tx:<cycle>.<thread>:<seq> "A B n"
At a random moment the server is killed with SIGKILL and restarted on the same directory.
Then:
  * the accounts still sum to the starting total;
  * every marker of an acknowledged EXEC exists with its value;
  * the balances are exactly the starting balances plus the transfers whose markers exist
    (so a transaction was applied if and only if its marker was: all or nothing).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ACCOUNTS = [f"acct:{i:02d}" for i in range(20)]
START_BALANCE = 1000
TOTAL = START_BALANCE * len(ACCOUNTS)
CYCLES = int(os.environ.get("KV_CRASH_CYCLES", "20"))
THREADS = 4
TIME_BUDGET = 150.0  # seconds for the whole test; the cycles stop early past it


def _client(address):
    # No retries: redis-py 8 by default retries a failed command (a whole MULTI/EXEC too) up
    # to 10 times with backoff, which only makes each kill take seconds to notice here.
    return redis.Redis(host=address[0], port=address[1], socket_timeout=5,
                       socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))


def _expected_balances(r):
    """Start balances plus every transfer whose marker is in the store."""
    balances = {a: START_BALANCE for a in ACCOUNTS}
    markers = sorted(r.scan_iter(match="tx:*", count=1000))
    for i in range(0, len(markers), 500):
        chunk = markers[i:i + 500]
        for key, value in zip(chunk, r.mget(chunk)):
            assert value is not None, f"marker {key!r} vanished during the check"
            src, dst, amount = value.decode().split()
            balances[src] -= int(amount)
            balances[dst] += int(amount)
    return balances, len(markers)


def test_multi_exec_survives_sigkill(server_factory):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    print(f"seed {seed}")
    srv = server_factory(fsync="always")
    r = _client(srv.address)
    assert r.mset({a: START_BALANCE for a in ACCOUNTS}) is True
    r.close()

    started = time.monotonic()
    acked_total = 0
    cycles_done = 0
    for cycle in range(CYCLES):
        if time.monotonic() - started > TIME_BUDGET:
            break
        acked: list[dict] = [dict() for _ in range(THREADS)]  # marker -> value
        failures: list[str] = []
        stop = threading.Event()

        def worker(idx: int) -> None:
            c = _client(srv.address)
            trng = random.Random(seed * 1000 + cycle * 10 + idx)
            seq = 0
            try:
                while not stop.is_set():
                    src, dst = trng.sample(ACCOUNTS, 2)
                    amount = trng.randint(1, 50)
                    marker = f"tx:{cycle}.{idx}:{seq}"
                    value = f"{src} {dst} {amount}"
                    seq += 1
                    pipe = c.pipeline(transaction=True)
                    pipe.decrby(src, amount)
                    pipe.incrby(dst, amount)
                    pipe.set(marker, value)
                    try:
                        result = pipe.execute()
                    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                        return  # the server was killed: this EXEC was not acknowledged
                    if len(result) != 3 or result[2] is not True:
                        failures.append(f"{marker}: unexpected EXEC reply {result!r}")
                        return
                    acked[idx][marker] = value
            except Exception as e:  # anything else is a failure of the server
                if srv.alive():
                    failures.append(f"thread {idx}: {e!r}")
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 1.0))
        srv.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "client threads did not stop"
        assert not failures, failures[:3]

        srv.restart()
        r = _client(srv.address)
        try:
            balances = r.mget(ACCOUNTS)
            assert None not in balances, f"cycle {cycle}: accounts lost: {balances}"
            balances = dict(zip(ACCOUNTS, (int(b) for b in balances)))
            assert sum(balances.values()) == TOTAL, f"cycle {cycle}: sum {sum(balances.values())} != {TOTAL}"
            missing = []
            cycle_acked = {}
            for a in acked:
                cycle_acked.update(a)
            keys = list(cycle_acked)
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                for k, v in zip(chunk, r.mget(chunk)):
                    if v is None or v.decode() != cycle_acked[k]:
                        missing.append((k, v))
            assert not missing, (f"cycle {cycle}: {len(missing)} of {len(keys)} acknowledged "
                                 f"transactions lost, e.g. {missing[:3]}")
            expected, markers = _expected_balances(r)
            assert balances == expected, (f"cycle {cycle}: balances do not match the {markers} "
                                          "transactions present: a transaction was half applied")
        finally:
            r.close()
        acked_total += len(keys)
        cycles_done += 1
    print(f"{cycles_done} cycles, {acked_total} acknowledged transactions")
    assert cycles_done >= min(CYCLES, 5)
    assert acked_total > 0
