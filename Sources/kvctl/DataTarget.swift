import KVClient
import KVStore

/// Where data commands go: a store directory opened in this process, or a running kvserver.
protocol DataTarget: AnyObject {
    func get(_ key: [UInt8]) throws -> StoredValue?
    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) throws
    /// True if the key existed.
    func delete(_ key: [UInt8]) throws -> Bool
    func scan(from: [UInt8]?, to: [UInt8]?, limit: Int, reverse: Bool, keysOnly: Bool,
              _ body: (_ key: [UInt8], _ value: [UInt8]?, _ expiresAt: UInt64?) throws -> Void) throws
    func count(from: [UInt8]?, to: [UInt8]?) throws -> Int
    /// Deletes [from, to); nil `to`: through the last key.
    func deleteRange(from: [UInt8], to: [UInt8]?) throws
    /// Writes records together (one atomic batch on a directory, one MSET on a server).
    func write(_ records: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)]) throws
    func close() throws
}

/// A store directory, opened by kvctl itself.
final class DirectoryTarget: DataTarget {
    let store: KVStore

    init(path: String, createIfMissing: Bool = false) throws {
        var options = Options()
        options.createIfMissing = createIfMissing
        do { store = try KVStore.open(at: path, options: options) } catch { throw KVCtlError.from(error) }
    }

    private func run<T>(_ body: () throws(KVError) -> T) throws -> T {
        do { return try body() } catch { throw KVCtlError.from(error) }
    }

    func get(_ key: [UInt8]) throws -> StoredValue? { try run { () throws(KVError) in try store.lookup(key) } }

    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64?) throws {
        try run { () throws(KVError) in try store.put(key, value, expiresAt: expiresAt) }
    }

    func delete(_ key: [UInt8]) throws -> Bool {
        try run { () throws(KVError) in
            let existed = try store.get(key) != nil
            if existed { try store.delete(key) }
            return existed
        }
    }

    func scan(from: [UInt8]?, to: [UInt8]?, limit: Int, reverse: Bool, keysOnly: Bool,
              _ body: ([UInt8], [UInt8]?, UInt64?) throws -> Void) throws {
        var options = ReadOptions()
        options.lowerBound = from
        options.upperBound = to
        let it = try run { () throws(KVError) in try store.makeIterator(options) }
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        var n = 0
        while it.isValid && n < limit {
            try body(it.key, keysOnly ? nil : it.value, keysOnly ? nil : it.expiresAt)
            n += 1
            if reverse { it.previous() } else { it.next() }
        }
        try run { () throws(KVError) in try it.check() }
    }

    func count(from: [UInt8]?, to: [UInt8]?) throws -> Int {
        try run { () throws(KVError) in try store.count(from: from, to: to) }
    }

    func deleteRange(from: [UInt8], to: [UInt8]?) throws {
        try run { () throws(KVError) in try store.deleteRange(from: from, to: to) }
    }

    func write(_ records: [(key: [UInt8], value: [UInt8], expiresAt: UInt64?)]) throws {
        var batch = WriteBatch()
        for r in records { batch.put(r.key, r.value, expiresAt: r.expiresAt) }
        try run { () throws(KVError) in try store.write(batch) }
    }

    func close() throws { try run { () throws(KVError) in try store.close() } }
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

    func get(_ key: [UInt8]) throws -> StoredValue? {
        guard let value = try call([word("GET"), key]).bytes else { return nil }
        let ttl = try call([word("PTTL"), key])
        var expiresAt: UInt64?
        if case .integer(let ms) = ttl, ms >= 0 {
            let now = try call([word("TIME")]).elements.compactMap { $0.string.flatMap { UInt64($0) } }
            if now.count == 2 { expiresAt = now[0] * 1000 + now[1] / 1000 + UInt64(ms) }
        }
        return StoredValue(value: value, expiresAt: expiresAt)
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
              _ body: ([UInt8], [UInt8]?, UInt64?) throws -> Void) throws {
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
                try body(k, keysOnly ? nil : items[i + 1].bytes ?? [], nil)
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
        try scan(from: from, to: to, limit: .max, reverse: false, keysOnly: true) { _, _, _ in n += 1 }
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
