import Synchronization

/// What CLIENT LIST and INFO clients report about one connection. The connection's event
/// loop updates it per command; CLIENT LIST reads it from another connection, so the mutable
/// part sits behind a lock (uncontended in the common case: one writer, rare readers).
final class ClientRecord: Sendable {
    struct State {
        var name = ""
        var libraryName = ""
        var libraryVersion = ""
        var lastCommand = "NULL"
        var lastActiveMillis: UInt64
        var authenticated: Bool
    }

    let id: Int
    let address: String
    let localAddress: String
    let createdMillis: UInt64
    let state: Mutex<State>

    init(id: Int, address: String, localAddress: String, now: UInt64, authenticated: Bool) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.createdMillis = now
        self.state = Mutex(State(lastActiveMillis: now, authenticated: authenticated))
    }

    /// One CLIENT LIST line, in Redis's field order (the fields we can know).
    func listLine(now: UInt64) -> String {
        let s = state.withLock { $0 }
        let age = (now &- createdMillis) / 1000
        let idle = (now &- s.lastActiveMillis) / 1000
        return "id=\(id) addr=\(address) laddr=\(localAddress) name=\(s.name) age=\(age) idle=\(idle) "
            + "flags=N db=0 cmd=\(s.lastCommand.lowercased()) user=default "
            + "lib-name=\(s.libraryName) lib-ver=\(s.libraryVersion) resp=2"
    }
}

/// The live connections: ids, the maxclients check, CLIENT LIST.
final class ClientRegistry: Sendable {
    private struct Table {
        var nextID = 1
        var clients: [Int: ClientRecord] = [:]
        var totalAccepted = 0
        var rejected = 0
    }

    private let table = Mutex(Table())
    let maxClients: Int

    init(maxClients: Int) {
        self.maxClients = maxClients
    }

    /// Registers a new connection, or returns nil when `maxclients` are connected.
    func register(address: String, localAddress: String, now: UInt64, authenticated: Bool) -> ClientRecord? {
        table.withLock { t in
            guard t.clients.count < maxClients else {
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

    func remove(_ id: Int) {
        table.withLock { _ = $0.clients.removeValue(forKey: id) }
    }

    var count: Int { table.withLock { $0.clients.count } }
    var totalAccepted: Int { table.withLock { $0.totalAccepted } }
    var rejected: Int { table.withLock { $0.rejected } }

    /// Every connection, oldest first.
    var all: [ClientRecord] {
        table.withLock { Array($0.clients.values) }.sorted { $0.id < $1.id }
    }
}
