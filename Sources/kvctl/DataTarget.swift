import KVClient
import KVCollections
import KVStore

/// Where data commands go: a store directory opened in this process, or a running kvserver.
/// Both are seen as a keyspace: every key holds a string or a collection.
protocol DataTarget: AnyObject {
    func get(_ key: [UInt8]) throws -> KeyValue?
    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) throws
    /// True if the key existed.
    func delete(_ key: [UInt8]) throws -> Bool
    /// Keys in order with what they hold (nil with `keysOnly`).
    func scan(from: [UInt8]?, to: [UInt8]?, limit: Int, reverse: Bool, keysOnly: Bool,
              _ body: (_ key: [UInt8], _ value: KeyValue?) throws -> Void) throws
    func count(from: [UInt8]?, to: [UInt8]?) throws -> Int
    /// Deletes [from, to); nil `to`: through the last key.
    func deleteRange(from: [UInt8], to: [UInt8]?) throws
    /// Writes records together (one atomic batch on a directory, one MSET on a server).
    func write(_ records: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)]) throws
    func close() throws
}

/// A store directory, opened by kvctl itself (with the keyspace's compaction filter, as
/// kvserver opens it).
final class DirectoryTarget: DataTarget {
    let store: KVStore
    let keyspace: Keyspace

    init(path: String, createIfMissing: Bool = false) throws {
        var options = Options()
        options.createIfMissing = createIfMissing
        Keyspace.install(in: &options)
        do { store = try KVStore.open(at: path, options: options) } catch { throw KVCtlError.from(error) }
        do { keyspace = try Keyspace.open(store) } catch {
            try? store.close()
            throw KVCtlError.from(error)
        }
    }

    private func run<T>(_ body: () throws(KeyspaceError) -> T) throws -> T {
        do { return try body() } catch { throw KVCtlError.from(error) }
    }

    private var reader: KeyspaceAccess<StoreReader> { keyspace.access(StoreReader(store: store)) }

    /// A unit of work, committed.
    private func write(_ body: (KeyspaceAccess<KeyspaceTransaction>) throws(KeyspaceError) -> Void) throws {
        try run { () throws(KeyspaceError) in
            let tx: KeyspaceTransaction
            do throws(KVError) { tx = KeyspaceTransaction(try store.beginTransaction(isolation: .none)) } catch { throw .store(error) }
            try body(keyspace.access(tx))
            do throws(KVError) { try tx.commit() } catch { throw .store(error) }
        }
    }

    func get(_ key: [UInt8]) throws -> KeyValue? {
        try run { () throws(KeyspaceError) in try Self.value(reader, key) }
    }

    /// What `key` holds, its elements read in full.
    static func value<S: KeyspaceReader>(_ r: KeyspaceAccess<S>, _ key: [UInt8]) throws(KeyspaceError) -> KeyValue? {
        switch try r.entry(key) {
        case .none: return nil
        case .string(let v): return .string(v)
        case .collection(let meta, let expiresAt):
            var elements: [KeyValue.Element] = []
            switch meta.type {
            case .hash:
                try r.hashForEach(key) { f, v in elements.append(.init(member: Array(f), value: Array(v))) }
            case .set:
                try r.setForEach(key) { m in elements.append(.init(member: Array(m))) }
            case .sortedSet:
                try r.sortedSetWalk(key) { m, s in
                    elements.append(.init(member: Array(m), score: s))
                    return true
                }
            case .list:
                try r.listWalk(key, from: 0, to: Int(meta.count) - 1) { v in
                    elements.append(.init(member: Array(v)))
                    return true
                }
            case .string:
                break
            }
            return .collection(meta.type, elements, expiresAt: expiresAt)
        }
    }

    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) throws {
        try write { w in w.setString(key, value, expiresAt: expiresAt) }
    }

    func delete(_ key: [UInt8]) throws -> Bool {
        var existed = false
        try write { (w) throws(KeyspaceError) in existed = try w.delete(key) }
        return existed
    }

    func scan(from: [UInt8]?, to: [UInt8]?, limit: Int, reverse: Bool, keysOnly: Bool,
              _ body: ([UInt8], KeyValue?) throws -> Void) throws {
        // One snapshot for the walk and the collections read along it.
        let snapshot = try run { () throws(KeyspaceError) in
            do throws(KVError) { return try store.snapshot() } catch { throw .store(error) }
        }
        defer { snapshot.release() }
        var options = ReadOptions()
        options.snapshot = snapshot
        let r = keyspace.access(StoreReader(store: store, options: options))
        let it = try run { () throws(KeyspaceError) in try r.keys(from: from, to: to) }
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        var n = 0
        while it.isValid && n < limit {
            let key = it.key
            if keysOnly {
                try body(key, nil)
            } else if it.type == .string {
                try body(key, .string(StoredValue(value: it.value, expiresAt: it.expiresAt)))
            } else if let v = try run({ () throws(KeyspaceError) in try Self.value(r, key) }) {
                try body(key, v)
            }
            n += 1
            if reverse { it.previous() } else { it.next() }
        }
        try run { () throws(KeyspaceError) in
            do throws(KVError) { try it.check() } catch { throw .store(error) }
        }
    }

    func count(from: [UInt8]?, to: [UInt8]?) throws -> Int {
        try run { () throws(KeyspaceError) in
            let it = try reader.keys(from: from, to: to)
            var n = 0
            it.seekToFirst()
            while it.isValid {
                n += 1
                it.next()
            }
            do throws(KVError) { try it.check() } catch { throw .store(error) }
            return n
        }
    }

    func deleteRange(from: [UInt8], to: [UInt8]?) throws {
        try write { w in
            for r in Keyspace.mainRanges(from: from, to: to) { w.storage.deleteRange(from: r.from, to: r.to) }
        }
    }

    func write(_ records: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)]) throws {
        try write { w in
            for r in records { w.setString(r.key, r.value, expiresAt: r.expiresAt) }
        }
    }

    func close() throws {
        do { try store.close() } catch { throw KVCtlError.from(error) }
    }
}

/// A running kvserver, over RESP.
final class ServerTarget: DataTarget {
    let connection: RESPConnection
    let address: String

    init(address: String, password: String?) throws {
        self.address = address
        var host = "127.0.0.1"
        var portText = address
        if let colon = address.lastIndex(of: ":") {
            host = String(address[..<colon])
            portText = String(address[address.index(after: colon)...])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        }
        guard let port = Int(portText), port > 0, port < 65536 else {
            throw KVCtlError.usage("--server takes HOST:PORT, e.g. 127.0.0.1:6380 (got '\(address)')")
        }
        do { connection = try RESPConnection(host: host.isEmpty ? "127.0.0.1" : host, port: port) } catch { throw KVCtlError.from(error) }
        if let password {
            let reply: RESPValue
            do { reply = try connection.call([Array("AUTH".utf8), Array(password.utf8)]) } catch { throw KVCtlError.from(error) }
            guard reply == .ok else { throw KVCtlError.failed("server \(address) refused the password: \(reply.string ?? "\(reply)")") }
        }
    }

    /// One command; an error reply becomes `KVCtlError.failed`.
    @discardableResult
    func call(_ args: [[UInt8]]) throws -> RESPValue {
        let reply: RESPValue
        do { reply = try connection.call(args) } catch { throw KVCtlError.from(error) }
        if case .error(let message) = reply {
            if message.hasPrefix("NOAUTH") { throw KVCtlError.failed("server \(address): \(message) (pass --password)") }
            throw KVCtlError.failed("server \(address): \(message)")
        }
        return reply
    }

    private func word(_ s: String) -> [UInt8] { Array(s.utf8) }

    func get(_ key: [UInt8]) throws -> KeyValue? {
        guard let typeName = try call([word("TYPE"), key]).string, let type = KeyType(name: typeName) else { return nil }
        let ttl = try call([word("PTTL"), key])
        var expiresAt: UInt64?
        if case .integer(let ms) = ttl, ms >= 0 {
            let now = try call([word("TIME")]).elements.compactMap { $0.string.flatMap { UInt64($0) } }
            if now.count == 2 { expiresAt = now[0] * 1000 + now[1] / 1000 + UInt64(ms) }
        }
        var elements: [KeyValue.Element] = []
        switch type {
        case .string:
            guard let value = try call([word("GET"), key]).bytes else { return nil }
            return .string(StoredValue(value: value, expiresAt: expiresAt))
        case .hash:
            let flat = try call([word("HGETALL"), key]).elements
            for i in stride(from: 0, to: flat.count - 1, by: 2) { elements.append(.init(member: flat[i].bytes ?? [], value: flat[i + 1].bytes ?? [])) }
        case .set:
            elements = try call([word("SMEMBERS"), key]).elements.map { .init(member: $0.bytes ?? []) }
        case .sortedSet:
            let flat = try call([word("ZRANGE"), key, word("0"), word("-1"), word("WITHSCORES")]).elements
            for i in stride(from: 0, to: flat.count - 1, by: 2) {
                elements.append(.init(member: flat[i].bytes ?? [], score: flat[i + 1].string.flatMap(Double.init)))
            }
        case .list:
            elements = try call([word("LRANGE"), key, word("0"), word("-1")]).elements.map { .init(member: $0.bytes ?? []) }
        }
        return .collection(type, elements, expiresAt: expiresAt)
    }

    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) throws {
        var args = [word("SET"), key, value]
        if let e = expiresAt { args += [word("PXAT"), word(String(e))] }
        try call(args)
    }

    func delete(_ key: [UInt8]) throws -> Bool {
        if case .integer(let n) = try call([word("DEL"), key]) { return n > 0 }
        return false
    }

    /// Keys per RANGE request: each page is one consistent view; a large range is never
    /// built in the server's memory at once.
    static let pageSize = 1000

    func scan(from: [UInt8]?, to: [UInt8]?, limit: Int, reverse: Bool, keysOnly: Bool,
              _ body: ([UInt8], KeyValue?) throws -> Void) throws {
        var lower = from ?? []
        var upper = to ?? []
        var remaining = limit
        while remaining > 0 {
            let page = min(remaining, Self.pageSize)
            var args = [word("RANGE"), lower, upper, word("LIMIT"), word(String(page))]
            if reverse { args.append(word("REV")) }
            if keysOnly { args.append(word("KEYSONLY")) }
            let items = try call(args).elements
            let step = keysOnly ? 1 : 2
            var i = 0
            var last: [UInt8]?
            while i + step - 1 < items.count {
                let k = items[i].bytes ?? []
                if keysOnly {
                    try body(k, nil)
                } else if let v = items[i + 1].bytes {
                    try body(k, .string(StoredValue(value: v)))
                } else if let v = try get(k) {
                    try body(k, v)  // RANGE answers nil for a collection: read it
                }
                last = k
                i += step
            }
            let got = items.count / step
            remaining -= got
            guard got == page, let last else { return }
            // Resume just past the last key (forward) or just before it (backward: the
            // range end is exclusive, so the last key itself becomes the end).
            if reverse { upper = last } else { lower = last + [0] }
        }
    }

    func count(from: [UInt8]?, to: [UInt8]?) throws -> Int {
        if from == nil && to == nil, case .integer(let n) = try call([word("DBSIZE")]) { return n }
        var n = 0
        try scan(from: from, to: to, limit: .max, reverse: false, keysOnly: true) { _, _ in n += 1 }
        return n
    }

    func deleteRange(from: [UInt8], to: [UInt8]?) throws {
        try call([word("DELRANGE"), from, to ?? []])
    }

    func write(_ records: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)]) throws {
        // SETs in input order, pipelined, so a key given twice ends as in a directory import.
        let commands: [[[UInt8]]] = records.map { r in
            var c = [word("SET"), r.key, r.value]
            if let e = r.expiresAt, e > 0 { c += [word("PXAT"), word(String(e))] }
            return c
        }
        let replies: [RESPValue]
        do { replies = try connection.pipeline(commands) } catch { throw KVCtlError.from(error) }
        if let bad = replies.first(where: \.isError) { throw KVCtlError.failed("server \(address): \(bad.string ?? "")") }
    }

    func close() throws {}
}
