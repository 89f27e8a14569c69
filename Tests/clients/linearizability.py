"""A linearizability checker for single-key integer registers (Wing & Gong's search with
Lowe's memoization, as Knossos and Porcupine do), for histories recorded against a server.

An operation is (key, kind, argument, result, invoke time, return time):

    read          result: the value read (None: the key did not exist)
    write v       sets the value
    incr          result: the value after adding 1 (a missing key counts as 0)
    cas (e, n)    result: True (the value was e; it is now n) or False (it was not e)

An operation whose outcome is unknown (the server was killed while it was in flight) has
return time None: it may have taken effect at any moment after its invocation, or never. Reads
with an unknown outcome tell nothing and are dropped.

Keys are independent (a register per key), so each key's history is checked on its own
(linearizability is compositional). `check(history)` returns None when every key's history is
linearizable, otherwise the key and a short explanation.

No PyPI package fits: the Python ports of Knossos/Porcupine found are unmaintained or check
other models, so this is the textbook algorithm in ~100 lines, with its own tests on
histories known to be (non-)linearizable (test_linearizability.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

INFINITY = float("inf")


@dataclass(frozen=True)
class Op:
    key: str
    kind: str  # read | write | incr | cas
    arg: object
    result: object
    invoked: float
    returned: Optional[float]  # None: unknown outcome (in flight at a crash)


IMPOSSIBLE = object()  # `_step`'s "not here": None is a state (the key does not exist)


def _step(state, op: Op):
    """The state after `op` from `state`, or IMPOSSIBLE if `op` cannot have its recorded
    result there. An unknown-outcome op matches any result."""
    unknown = op.returned is None
    if op.kind == "read":
        return state if state == op.result else IMPOSSIBLE
    if op.kind == "write":
        return op.arg
    if op.kind == "incr":
        new = (state or 0) + 1
        return new if unknown or new == op.result else IMPOSSIBLE
    if op.kind == "cas":
        expected, new = op.arg
        if unknown:
            return new if state == expected else state
        if op.result:
            return new if state == expected else IMPOSSIBLE
        return state if state != expected else IMPOSSIBLE
    raise ValueError(f"unknown operation kind {op.kind}")


def check_key(ops: list[Op], initial=None, max_states: int = 5_000_000) -> Optional[str]:
    """None if `ops` (all on one key) are linearizable from `initial`, else why not."""
    ops = [o for o in ops if not (o.kind == "read" and o.returned is None)]
    if not ops:
        return None
    # Events: (time, is_return, op index). Calls sort before returns at the same instant (an
    # operation that returns when another is invoked may still be concurrent with it: the
    # conservative choice). Unknown outcomes return at infinity.
    events = []
    for i, o in enumerate(ops):
        events.append((o.invoked, 0, i))
        events.append((o.returned if o.returned is not None else INFINITY, 1, i))
    events.sort()
    n = len(events)
    # A doubly linked list over the events, so entries can be lifted out and put back.
    nxt = list(range(1, n + 1)) + [None]
    prv = [None] + list(range(0, n))
    head = 0  # index into events; nxt/prv hold positions, n means "end"
    call_pos = {}
    ret_pos = {}
    for pos, (_, is_ret, i) in enumerate(events):
        (ret_pos if is_ret else call_pos)[i] = pos
    sentinel_head = [head]

    def lift(i):
        for pos in (call_pos[i], ret_pos[i]):
            p, q = prv[pos], nxt[pos]
            if p is None:
                sentinel_head[0] = q
            else:
                nxt[p] = q
            if q is not None and q < n:
                prv[q] = p

    def unlift(i):
        for pos in (ret_pos[i], call_pos[i]):
            p, q = prv[pos], nxt[pos]
            if p is None:
                sentinel_head[0] = pos
            else:
                nxt[p] = pos
            if q is not None and q < n:
                prv[q] = pos

    linearized = 0  # bitset of op indices
    state = initial
    stack: list[tuple[int, object]] = []  # (op index, state before it)
    seen: set = set()
    entry = sentinel_head[0]
    explored = 0
    while True:
        if entry is None or entry >= n:
            return None  # every event handled
        _, is_ret, i = events[entry]
        if is_ret:
            if ops[i].returned is None:
                return None  # only unknown outcomes left: they need not have happened
            # A return whose operation is not linearized yet: backtrack.
            if not stack:
                return _explain(ops, initial)
            i, state = stack.pop()
            linearized &= ~(1 << i)
            unlift(i)
            entry = nxt[call_pos[i]]
            continue
        # A call: try to linearize it now.
        new_state = _step(state, ops[i])
        if new_state is not IMPOSSIBLE:
            key = (linearized | (1 << i), new_state)
            explored += 1
            if explored > max_states:
                return f"search gave up after {max_states} states (history too concurrent)"
            if key not in seen:
                seen.add(key)
                stack.append((i, state))
                linearized |= 1 << i
                state = new_state
                lift(i)
                entry = sentinel_head[0]
                continue
        entry = nxt[entry]


def _explain(ops: list[Op], initial) -> str:
    done = sorted((o for o in ops if o.returned is not None), key=lambda o: o.returned)
    tail = ", ".join(f"{o.kind}({o.arg!r})→{o.result!r} [{o.invoked:.6f},{o.returned:.6f}]" for o in done[-6:])
    return f"no linearization of {len(ops)} operations from {initial!r}; the last completed: {tail}"


def check(history: list[Op]) -> Optional[tuple[str, str]]:
    """None if every key's history is linearizable; else (key, why)."""
    by_key: dict[str, list[Op]] = {}
    for o in history:
        by_key.setdefault(o.key, []).append(o)
    for key, ops in sorted(by_key.items()):
        why = check_key(ops)
        if why:
            return key, why
    return None
