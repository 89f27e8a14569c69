import KVCollections
import NIOCore
import Synchronization

/// How a blocked client's wait ended.
enum BlockOutcome: Sendable {
    /// Served: its reply.
    case served(ByteBuffer)
    /// The timeout passed (or CLIENT UNBLOCK … TIMEOUT): a null reply.
    case timedOut
    /// CLIENT UNBLOCK … ERROR.
    case unblockedWithError
    /// A writer made a key ready but could not take a lock serving needed (a BLMOVE's
    /// destination stripe, held elsewhere): the client runs its command again.
    case retry
}

/// A client blocked on keys (BLPOP, BZPOPMIN, BLMOVE …): which keys, what serves it, and where
/// its reply goes.
///
/// It is served by whoever makes one of its keys ready, inside that writer's unit of work and
/// under its key locks (`Database`), so the pop and the push that fed it commit together and
/// no other client can take the element in between — Redis's guarantee. Its state moves
/// waiting → claimed (a writer is serving it) → done, or waiting → done (timeout, unblock,
/// disconnect), under `state`'s lock, so exactly one of them delivers. The delivery target is
/// bound by the connection after the command registered it (registration happens while the
/// command still holds its keys' locks, so no push slips between its check and its wait); an
/// outcome that arrives before the binding waits for it.
final class BlockedClient: Sendable {
    /// What a waiter can be served from.
    enum Kind: Sendable { case list, sortedSet }

    /// Tries to serve the client from the ready `key` within a writer's unit of work; returns
    /// its reply, or nil when `key` cannot serve it (empty, another type, a destination whose
    /// lock cannot be had). `lock` takes one more key's stripe for a destination, or says no.
    typealias Serve = @Sendable (
        _ w: Database.Writer, _ key: [UInt8], _ lock: (_ key: [UInt8]) -> Bool, _ mayWait: Bool, _ out: inout RESPReplyWriter
    ) throws(CommandError) -> Bool

    let clientID: Int
    let keys: [[UInt8]]
    let kind: Kind
    let resp3: Bool
    let serve: Serve
    /// Registration order: clients blocked on one key are served first come, first served.
    let sequence: UInt64

    private enum Phase { case waiting, claimed, done }
    private struct State {
        var phase = Phase.waiting
        var deliver: (@Sendable (BlockOutcome) -> Void)?
        var pending: BlockOutcome?
    }
    private let state = Mutex(State())

    init(clientID: Int, keys: [[UInt8]], kind: Kind, resp3: Bool, sequence: UInt64, serve: @escaping Serve) {
        self.clientID = clientID
        self.keys = keys
        self.kind = kind
        self.resp3 = resp3
        self.sequence = sequence
        self.serve = serve
    }

    /// Where the outcome goes (the connection's loop); an outcome already decided goes now.
    func bind(_ deliver: @escaping @Sendable (BlockOutcome) -> Void) {
        let pending = state.withLock { s -> BlockOutcome? in
            s.deliver = deliver
            defer { s.pending = nil }
            return s.pending
        }
        if let pending { deliver(pending) }
    }

    /// waiting → claimed: a writer will try to serve it. False when it already ended.
    fileprivate func claim() -> Bool {
        state.withLock { s in
            guard s.phase == .waiting else { return false }
            s.phase = .claimed
            return true
        }
    }

    /// claimed → waiting: the writer did not serve it after all.
    fileprivate func unclaim() {
        state.withLock { $0.phase = .waiting }
    }

    /// → done with `outcome`, delivered once. From waiting (timeout, unblock, disconnect)
    /// unless `claimed`, from claimed (served).
    @discardableResult
    fileprivate func finish(_ outcome: BlockOutcome, claimed: Bool) -> Bool {
        let deliver = state.withLock { s -> (@Sendable (BlockOutcome) -> Void)?? in
            guard s.phase == (claimed ? .claimed : .waiting) else { return nil }
            s.phase = .done
            if s.deliver == nil { s.pending = outcome }
            return .some(s.deliver)
        }
        guard let deliver else { return false }
        deliver?(outcome)
        return true
    }
}

/// The clients blocked on keys, per key in the order they blocked (Redis's
/// `blocking_keys`). With nobody blocked (the common case), a writer pays one relaxed load.
final class BlockedClients: Sendable {
    private struct Registry {
        var byKey: [[UInt8]: [BlockedClient]] = [:]
        var byClient: [Int: BlockedClient] = [:]
        var nextSequence: UInt64 = 0
    }

    private let registry = Mutex(Registry())
    private let blocked = Atomic<Int>(0)

    /// Clients blocked now (INFO `blocked_clients`).
    var count: Int { blocked.load(ordering: .relaxed) }

    /// Registers a client blocked on `keys`; the caller holds their locks.
    func block(
        clientID: Int, keys: [[UInt8]], kind: BlockedClient.Kind, resp3: Bool, serve: @escaping BlockedClient.Serve
    ) -> BlockedClient {
        registry.withLock { r in
            r.nextSequence += 1
            let client = BlockedClient(clientID: clientID, keys: keys, kind: kind, resp3: resp3, sequence: r.nextSequence, serve: serve)
            insert(client, into: &r)
            return client
        }
    }

    private func insert(_ c: BlockedClient, into r: inout Registry) {
        var seen = Set<[UInt8]>()
        for key in c.keys where seen.insert(key).inserted {
            var list = r.byKey[key] ?? []
            // In registration order (a client put back after an attempt keeps its place).
            let at = list.firstIndex { $0.sequence > c.sequence } ?? list.count
            list.insert(c, at: at)
            r.byKey[key] = list
        }
        r.byClient[c.clientID] = c
        blocked.add(1, ordering: .relaxed)
    }

    private func remove(_ c: BlockedClient, from r: inout Registry) {
        guard r.byClient[c.clientID] === c else { return }
        r.byClient[c.clientID] = nil
        for key in Set(c.keys) {
            r.byKey[key]?.removeAll { $0 === c }
            if r.byKey[key]?.isEmpty == true { r.byKey[key] = nil }
        }
        blocked.subtract(1, ordering: .relaxed)
    }

    /// The clients blocked on `key`, first blocked first.
    func waiters(on key: [UInt8]) -> [BlockedClient] {
        guard count > 0 else { return [] }
        return registry.withLock { $0.byKey[key] ?? [] }
    }

    /// Takes `c` out of the registry for a writer to serve; false when it already ended.
    func claim(_ c: BlockedClient) -> Bool {
        guard c.claim() else { return false }
        registry.withLock { remove(c, from: &$0) }
        return true
    }

    /// Puts a claimed client back (not served after all), in its old place.
    func unclaim(_ c: BlockedClient) {
        registry.withLock { insert(c, into: &$0) }
        c.unclaim()
    }

    /// A claimed client its writer could not serve for a busy lock: it runs its command
    /// again (`BlockOutcome.retry`), and waits again if it finds nothing.
    func retry(_ c: BlockedClient) {
        c.finish(.retry, claimed: true)
    }

    /// A claimed client was served: its reply goes out.
    func served(_ c: BlockedClient, _ reply: ByteBuffer) {
        c.finish(.served(reply), claimed: true)
    }

    /// Ends a wait that nobody is serving (timeout, CLIENT UNBLOCK, disconnect with a nil
    /// outcome); false when a writer has claimed it (its reply is on the way).
    @discardableResult
    func end(_ c: BlockedClient, _ outcome: BlockOutcome?) -> Bool {
        let ended = c.finish(outcome ?? .timedOut, claimed: false)
        if ended { registry.withLock { remove(c, from: &$0) } }
        return ended
    }

    /// CLIENT UNBLOCK id: ends that client's wait (as a timeout, or with the UNBLOCKED error).
    func unblock(clientID: Int, error: Bool) -> Bool {
        guard let c = registry.withLock({ $0.byClient[clientID] }) else { return false }
        return end(c, error ? .unblockedWithError : .timedOut)
    }
}
