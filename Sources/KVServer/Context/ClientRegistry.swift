import KVStore
import Synchronization

/// What CLIENT LIST and INFO clients report about one connection. The connection's event
/// loop updates it per command; CLIENT LIST reads it from another connection, so the mutable
/// part sits behind a lock (uncontended in the common case: one writer, rare readers).
package final class ClientRecord: Sendable {
    struct State {
        var name = ""
        var libraryName = ""
        var libraryVersion = ""
        var lastCommand = "NULL"
        var lastActiveMillis: UInt64
        var authenticated: Bool
        /// 2 or 3, as HELLO negotiated.
        var resp = 2
        /// Commands run, bytes read and written: Redis 7.2's tot-cmds, tot-net-in,
        /// tot-net-out (published by the connection after each batch of commands).
        var commands = 0
        var netIn = 0
        var netOut = 0
        /// Bytes read but not yet parsed into commands (qbuf).
        var queryBuffer = 0
        /// Pub/Sub subscriptions (sub, psub, ssub); any makes it a pubsub client.
        var subscribedChannels = 0
        var subscribedPatterns = 0
        var subscribedShardChannels = 0
        /// The connection carries a replica's stream (after its PSYNC).
        var isReplica = false
    }

    /// CLIENT LIST/KILL TYPE: what the connection is.
    enum Kind {
        case normal, master, replica, pubsub
    }

    /// A replica's stream connection, else a subscriber, else normal (a replica's own link to
    /// its primary is not a client here).
    var kind: Kind {
        state.locked { s in
            s.isReplica ? .replica : s.subscribedChannels + s.subscribedPatterns + s.subscribedShardChannels > 0 ? .pubsub : .normal
        }
    }

    /// Records the connection's subscription counts (CLIENT LIST's sub, psub, ssub).
    func count(_ subscriptions: Subscriptions) {
        state.locked {
            $0.subscribedChannels = subscriptions.channels.count
            $0.subscribedPatterns = subscriptions.patterns.count
            $0.subscribedShardChannels = subscriptions.shardChannels.count
        }
    }

    package let id: Int
    let address: String
    let localAddress: String
    let createdMillis: UInt64
    let state: Mutex<State>
    /// Closes the connection (CLIENT KILL from another client); set once it is open.
    private let closer = Mutex<(@Sendable () -> Void)?>(nil)

    init(id: Int, address: String, localAddress: String, now: UInt64, authenticated: Bool) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.createdMillis = now
        self.state = Mutex(State(lastActiveMillis: now, authenticated: authenticated))
    }

    /// The connection has closed (a command still running for it, WAIT, stops waiting).
    let gone = Atomic<Bool>(false)
    var isGone: Bool { gone.load(ordering: .acquiring) }

    func onKill(_ close: @escaping @Sendable () -> Void) {
        closer.locked { $0 = close }
    }

    func kill() {
        closer.locked { $0 }?()
    }

    /// One CLIENT LIST line, in Redis 7.2's field order and names (7.0's, plus the library
    /// fields CLIENT SETINFO records). `current` is the
    /// connection's own session when it lists itself (its MULTI state is not shared).
    func listLine(now: UInt64, current: Session? = nil) -> String {
        let s = state.locked { $0 }
        let age = (now &- createdMillis) / 1000
        let idle = (now &- s.lastActiveMillis) / 1000
        let inMulti = current?.multi != nil
        let pubsub = s.subscribedChannels + s.subscribedPatterns + s.subscribedShardChannels > 0
        let flags = s.isReplica ? "S" : inMulti ? (pubsub ? "Px" : "x") : (pubsub ? "P" : "N")
        let queued = current?.multi?.commands.count ?? -1
        let multiMem = current?.multi?.bytes ?? 0
        return "id=\(id) addr=\(address) laddr=\(localAddress) fd=-1 name=\(s.name) age=\(age) idle=\(idle) "
            + "flags=\(flags) db=0 sub=\(s.subscribedChannels) psub=\(s.subscribedPatterns) ssub=\(s.subscribedShardChannels) multi=\(queued) qbuf=\(s.queryBuffer) qbuf-free=0 argv-mem=0 multi-mem=\(multiMem) "
            + "rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=\(s.queryBuffer + multiMem) events=r cmd=\(s.lastCommand.lowercased()) user=default redir=-1 "
            + "resp=\(s.resp) lib-name=\(s.libraryName) lib-ver=\(s.libraryVersion) "
            + "tot-net-in=\(s.netIn) tot-net-out=\(s.netOut) tot-cmds=\(s.commands)"
    }
}

/// The live connections: ids, the maxclients check, CLIENT LIST.
package final class ClientRegistry: Sendable {
    private struct Table {
        var nextID = 1
        var clients: [Int: ClientRecord] = [:]
        var totalAccepted = 0
        var rejected = 0
    }

    private let table = Mutex(Table())
    private let limit: Atomic<Int>

    init(maxClients: Int) {
        limit = Atomic(maxClients)
    }

    /// `maxclients` (CONFIG SET may lower it below the connections open: they stay, new
    /// ones are refused until enough leave, as in Redis).
    var maxClients: Int {
        get { limit.load(ordering: .relaxed) }
        set { limit.store(newValue, ordering: .relaxed) }
    }

    /// Registers a new connection, or returns nil when `maxclients` are connected.
    package func register(address: String, localAddress: String, now: UInt64, authenticated: Bool) -> ClientRecord? {
        table.locked { t in
            guard t.clients.count < limit.load(ordering: .relaxed) else {
                t.rejected += 1
                return nil
            }
            let record = ClientRecord(id: t.nextID, address: address, localAddress: localAddress, now: now, authenticated: authenticated)
            t.nextID += 1
            t.totalAccepted += 1
            t.clients[record.id] = record
            return record
        }
    }

    package func remove(_ id: Int) {
        table.locked { $0.clients.removeValue(forKey: id) }?.gone.store(true, ordering: .releasing)
    }

    var count: Int { table.locked { $0.clients.count } }
    var totalAccepted: Int { table.locked { $0.totalAccepted } }
    var rejected: Int { table.locked { $0.rejected } }

    /// Every connection, oldest first.
    var all: [ClientRecord] {
        table.locked { Array($0.clients.values) }.sorted { $0.id < $1.id }
    }
}
