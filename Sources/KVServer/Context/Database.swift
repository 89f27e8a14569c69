import KVCollections
import KVStore
import NIOCore
import Synchronization

/// The keys and values as commands see them: the keyspace (strings, hashes, sets, sorted sets,
/// lists on the store), with what makes a command's reads and writes one step to every other
/// command (the key locks), the WATCH registry every write reports to, OBJECT ENCODING's
/// memory of in-place changes, SCAN's cursors and the clients blocked on keys. Errors come
/// back as replies (`CommandError`).
///
/// A command reads through `reader` (the store, or inside EXEC the transaction with its own
/// writes) and writes through `write`, which locks its keys, gives it a unit of work
/// (`KeyspaceTransaction`), commits that as one batch and does every write's bookkeeping
/// (`afterWrite`) — once, in one place. Inside EXEC the transaction holds the locks and the
/// unit of work for all its commands, and commits at the end. On an event loop
/// (`Session.mayWait` false) reads and the commit are non-blocking and locks are try-locked:
/// whatever would wait throws `mustWait` before anything is committed.
///
/// All `Sendable` parts, each locked by itself; nothing here is mutable but `dirty`, an atomic.
final class Database: Sendable {
    let store: KVStore
    let keyspace: Keyspace
    let locks = KeyLocks()
    let watches = WatchRegistry()
    let encodings = EncodingHints()
    let cursors = ScanCursors()
    let blocked = BlockedClients()
    /// Keyspace notifications: every write's events are recorded here before its commit.
    let events: KeyspaceEvents
    /// The fsync policy is CONFIG SET's to change: read at every write.
    private let settings: LiveSettings
    /// Milliseconds since the Unix epoch: the same clock the store judges expiry by.
    let clock: @Sendable () -> UInt64
    /// Something was written since the last everysec sync.
    private let dirty = Atomic<Bool>(false)

    typealias Writer = KeyspaceAccess<KeyspaceTransaction>
    typealias Reader = KeyspaceAccess<SessionReader>

    init(store: KVStore, keyspace: Keyspace, settings: LiveSettings, events: KeyspaceEvents) {
        self.events = events
        self.store = store
        self.keyspace = keyspace
        self.settings = settings
        self.clock = store.clock
    }

    /// Writes wait for the fdatasync (`appendfsync always`).
    var syncsEveryWrite: Bool { settings.fsync == .always }

    // MARK: Reading

    private static let waitingRead = ReadOptions()
    private static let nonBlockingRead: ReadOptions = {
        var o = ReadOptions()
        o.nonBlocking = true
        return o
    }()

    /// What `session` reads: inside EXEC its transaction (which sees its own writes), else
    /// the store — non-blocking unless the session may wait.
    func reader(_ session: Session) -> Reader {
        if let tx = session.transaction { return keyspace.access(.transaction(tx)) }
        return keyspace.access(.store(StoreReader(store: store, options: session.mayWait ? Self.waitingRead : Self.nonBlockingRead)))
    }

    /// The same, at one snapshot (MGET reads all its keys at one moment).
    func reader(_ session: Session, snapshot: Snapshot) -> Reader {
        if let tx = session.transaction { return keyspace.access(.transaction(tx)) }
        var o = ReadOptions()
        o.snapshot = snapshot
        o.nonBlocking = !session.mayWait
        return keyspace.access(.store(StoreReader(store: store, options: o)))
    }

    /// A reader for a command that reads more than once — a collection's metadata, then its
    /// elements; a count, then the members — pinned to one snapshot (released with the
    /// reader), so that a write landing between its reads cannot make them disagree: a reply
    /// header promising more elements than follow would desynchronize the client. Inside
    /// EXEC, the transaction's view (its keys are locked).
    func pinnedReader(_ session: Session) throws(CommandError) -> Reader {
        if session.transaction != nil { return reader(session) }
        return reader(session, snapshot: try snapshot())
    }

    /// `key`'s main entry, whatever it holds.
    func entry(_ key: [UInt8], _ session: Session) throws(CommandError) -> MainEntry {
        try ks { () throws(KeyspaceError) in try reader(session).entry(key) }
    }

    /// The main entries of `keys`, read as one view (the engine's multi-get).
    func entries(_ keys: [[UInt8]], _ session: Session) throws(CommandError) -> [MainEntry] {
        try ks { () throws(KeyspaceError) in try reader(session).entries(keys) }
    }

    /// A string's value and expiry; nil when absent; WRONGTYPE for a collection.
    func string(_ key: [UInt8], _ session: Session) throws(CommandError) -> StoredValue? {
        try ks { () throws(KeyspaceError) in try reader(session).string(key) }
    }

    /// Whether `key` exists, whatever it holds.
    func exists(_ key: [UInt8], _ session: Session) throws(CommandError) -> Bool {
        try ks { () throws(KeyspaceError) in try reader(session).type(of: key) } != nil
    }

    func snapshot() throws(CommandError) -> Snapshot {
        do { return try store.snapshot() } catch { throw .store(error) }
    }

    // MARK: Writing

    /// Runs `body` with `keys`' stripes held, on a unit of work it then commits: the one path
    /// of every write command. Inside EXEC, the transaction's (locks held, commit at EXEC).
    func write<R>(_ keys: [[UInt8]], _ session: Session, _ body: (Writer) throws(CommandError) -> R) throws(CommandError) -> R {
        if let tx = session.transaction { return try body(keyspace.access(tx)) }
        let run = { () throws(CommandError) -> R in
            let tx = try self.begin(session)
            let existed = try self.existingKeys(keys, session)
            let result = try body(self.keyspace.access(tx))
            let recorded = self.recordEvents(session, tx, tx.modifiedKeys, existed)
            try self.commit(tx, session, holding: self.locks.heldStripes(keys))
            if let recorded { self.events.publish(recorded) }
            return result
        }
        if session.mayWait { return try locks.withLocks(keys, run) }
        guard let result = try locks.tryWithLocks(keys, run) else { throw .mustWait }
        return result
    }

    /// Runs `body` holding the stripes of `keys` (nil: every key), without a unit of work:
    /// EXEC, which runs its commands on its own, and WATCH. On an event loop a stripe held
    /// elsewhere is not waited for (`mustWait`).
    func withLocks<R>(_ keys: [[UInt8]]?, _ session: Session, _ body: () throws(CommandError) -> R) throws(CommandError) -> R {
        if session.transaction != nil { return try body() }
        if let keys {
            if session.mayWait { return try locks.withLocks(keys, body) }
            guard let result = try locks.tryWithLocks(keys, body) else { throw .mustWait }
            return result
        }
        if session.mayWait { return try locks.withAllLocks(body) }
        guard let result = try locks.tryWithAllLocks(body) else { throw .mustWait }
        return result
    }

    /// `write` with every key locked: writes over keys nobody named (FLUSHDB, DELRANGE).
    func writeAll<R>(_ session: Session, _ body: (Writer) throws(CommandError) -> R) throws(CommandError) -> R {
        if let tx = session.transaction { return try body(keyspace.access(tx)) }
        let run = { () throws(CommandError) -> R in
            let tx = try self.begin(session)
            let result = try body(self.keyspace.access(tx))
            try self.commit(tx, session, holding: nil)
            return result
        }
        if session.mayWait { return try locks.withAllLocks(run) }
        guard let result = try locks.tryWithAllLocks(run) else { throw .mustWait }
        return result
    }

    /// Which of `keys` exist before a command writes them, for "new" events; nil when those are
    /// not wanted (or no command is being recorded).
    func existingKeys(_ keys: [[UInt8]], _ session: Session) throws(CommandError) -> Set<[UInt8]>? {
        guard session.eventSource != nil, events.wants(.new) else { return nil }
        var present = Set<[UInt8]>()
        for k in keys where try exists(k, session) { present.insert(k) }
        return present
    }

    /// The events of the session's command's writes to `keys` in `tx`, read through `tx`
    /// before it commits; nil when no command is being recorded.
    func recordEvents(_ session: Session, _ tx: KeyspaceTransaction, _ keys: [[UInt8]], _ existed: Set<[UInt8]>?) -> RecordedEvents? {
        guard let source = session.eventSource, !keys.isEmpty else { return nil }
        let access = keyspace.access(tx)
        return events.record(source, keys: keys, existed: existed) { key in try? access.entry(key) }
    }

    /// A key's main entry as the store holds it now, waiting for the disk if it must (the
    /// expiry watch's look at a key whose deadline passed, on a blocking thread).
    func entryNow(_ key: [UInt8]) -> MainEntry? {
        try? keyspace.access(StoreReader(store: store, options: Self.waitingRead)).entry(key)
    }

    /// A unit of work that reads the latest state (the caller holds the keys' locks).
    func begin(_ session: Session) throws(CommandError) -> KeyspaceTransaction {
        do throws(KVError) {
            return KeyspaceTransaction(try store.beginTransaction(
                isolation: .none, readOptions: session.mayWait ? Self.waitingRead : Self.nonBlockingRead))
        } catch { throw .store(error) }
    }

    /// Values past this size are written from a blocking thread: copying and logging many
    /// megabytes would hold up the loop's other clients.
    static let largestInlineWrite = 1 << 20

    /// Throws `mustWait` on an event loop when a command is about to build a value of
    /// `bytes` (SETRANGE, SETBIT, APPEND, BITOP, LCS's table): large work goes to a thread.
    func requireThread(forBytes bytes: Int, _ session: Session) throws(CommandError) {
        if !session.mayWait && bytes > Self.largestInlineWrite { throw .mustWait }
    }

    /// Collections larger than this are copied (RENAME, COPY, the *STORE commands) or read
    /// whole (HGETALL, SMEMBERS, LRANGE over them …) on a blocking thread: the loop's other
    /// clients should not wait for O(N) work.
    static let largestInlineCollection = 1024

    /// Throws `mustWait` on an event loop when `key` is a collection too large to walk there.
    func requireThread<S: KeyspaceReader>(forElementsOf key: [UInt8], _ w: KeyspaceAccess<S>, _ session: Session) throws(CommandError) {
        guard !session.mayWait else { return }
        if case .collection(let meta, _) = try ks({ () throws(KeyspaceError) in try w.entry(key) }),
           meta.count > UInt64(Self.largestInlineCollection) {
            throw .mustWait
        }
    }

    /// Throws `mustWait` on an event loop for a walk over `count` elements.
    func requireThread(forCount count: Int, _ session: Session) throws(CommandError) {
        if !session.mayWait && count > Self.largestInlineCollection { throw .mustWait }
    }

    /// Deletes every key in [`from`, `to`) (nil `to`: to the end) with range deletions of the
    /// main entries (the elements of deleted collections become garbage; with `dropElements`,
    /// every element goes too: FLUSHDB). Watchers learn only of keys that existed (Redis's
    /// FLUSHDB rule: a stale or absent watched key has not changed).
    func deleteKeys(from: [UInt8], to: [UInt8]?, _ w: Writer, dropElements: Bool) throws(CommandError) {
        encodings.forget(from: from, to: to)
        for key in watches.watched(from: from, through: to) where to.map({ key.lexicographicallyPrecedes($0) }) ?? true {
            if try ks({ () throws(KeyspaceError) in try w.type(of: key) }) != nil { w.storage.noteModified(key) }
        }
        for r in Keyspace.mainRanges(from: from, to: to) { w.storage.deleteRange(from: r.from, to: r.to) }
        if dropElements { w.storage.deleteRange(from: Keyspace.elementRange.from, to: Keyspace.elementRange.to) }
    }

    /// Commits a unit of work as one batch (nothing if it wrote nothing) and does what every
    /// write owes the rest of the server: first it serves the clients blocked on the keys it
    /// made ready (their pops join the batch), then it commits, then their replies go. With
    /// `mayWait` false it throws `mustWait`, having written nothing, where the engine would
    /// wait. `holding`: the stripes the caller holds (nil: all of them).
    func commit(_ tx: KeyspaceTransaction, _ session: Session, holding: Set<Int>?) throws(CommandError) {
        var extra: [Int] = []
        defer { for i in extra { locks.unlockStripe(i) } }
        // A served client's destination (BLMOVE) may need one more stripe.
        let lock = { (key: [UInt8]) -> Bool in
            guard let held = holding else { return true }
            let i = self.locks.stripe(key)
            if held.contains(i) || extra.contains(i) { return true }
            guard self.locks.tryLockStripe(i) else { return false }
            extra.append(i)
            return true
        }
        let served = try serveBlocked(tx, session, lock)
        do throws(CommandError) {
            try commit(tx, session)
        } catch {
            for (client, _) in served { blocked.unclaim(client) }
            throw error
        }
        for (client, reply) in served { blocked.served(client, reply) }
    }

    /// Serves, in the order they blocked, the clients blocked on each key `tx` modified (and
    /// on the keys serving them modifies in turn: a BLMOVE feeding another waiter), within
    /// `tx`. Returns the clients served (claimed) and their replies.
    private func serveBlocked(
        _ tx: KeyspaceTransaction, _ session: Session, _ lock: (_ key: [UInt8]) -> Bool
    ) throws(CommandError) -> [(BlockedClient, ByteBuffer)] {
        guard blocked.count > 0 else { return [] }
        var served: [(BlockedClient, ByteBuffer)] = []
        var i = 0
        while i < tx.modifiedKeys.count {
            let key = tx.modifiedKeys[i]
            i += 1
            for client in blocked.waiters(on: key) {
                guard blocked.claim(client) else { continue }
                var out = RESPReplyWriter(buffer: ByteBuffer(), resp3: client.resp3)
                var ok = false
                var busy = false
                let tracked = { (k: [UInt8]) -> Bool in
                    let got = lock(k)
                    if !got { busy = true }
                    return got
                }
                do throws(CommandError) {
                    ok = try client.serve(keyspace.access(tx), key, tracked, session.mayWait, &out)
                } catch where error.wouldBlock {
                    blocked.unclaim(client)
                    for (c, _) in served { blocked.unclaim(c) }
                    throw error
                } catch {
                    // The client gets the error (a destination of the wrong type); the
                    // element stays for the next one.
                    out.moveWriterIndex(to: 0)
                    out.writeErrorReply(error.text)
                    ok = true
                }
                if ok {
                    served.append((client, out.buffer))
                } else if busy {
                    blocked.retry(client)  // it runs again once this writer's locks are free
                } else {
                    blocked.unclaim(client)
                }
            }
        }
        return served
    }

    /// Commits `tx` and does every write's bookkeeping (no blocked-client serving: see
    /// `commit(_:_:holding:)`).
    private func commit(_ tx: KeyspaceTransaction, _ session: Session) throws(CommandError) {
        guard !tx.isEmpty else { return }
        try requireThread(forBytes: tx.transaction.writes.batch.byteSize, session)
        do throws(KVError) {
            try tx.commit(options: WriteOptions(sync: syncsEveryWrite, nonBlocking: !session.mayWait))
        } catch {
            throw .store(error)
        }
        markDirty()
        afterWrite(tx.modifiedKeys)
    }

    /// Plain SETs and MSETs of many connections, gathered by a `WriteCoalescer`: one batch
    /// under all their keys' stripes (`keys` are the keys; the batch's are already the strings'
    /// engine keys, `Keyspace.mainKey`). With
    /// `mayWait` false (on the event loop) it throws `mustWait`, having written nothing, where
    /// it would wait for a lock or the engine.
    func writeCoalesced(_ batch: WriteBatch, keys: [[UInt8]], mayWait: Bool) throws(CommandError) {
        let write = { () throws(CommandError) in
            do throws(KVError) {
                try self.store.write(batch, options: WriteOptions(sync: self.syncsEveryWrite, nonBlocking: !mayWait))
            } catch {
                throw .store(error)
            }
            self.markDirty()
            self.afterWrite(keys)
        }
        if mayWait { return try locks.withLocks(keys, write) }
        guard try locks.tryWithLocks(keys, write) != nil else { throw .mustWait }
    }

    /// What every committed write of keys owes the rest of the server: their watchers learn
    /// of it (their EXEC will fail) and OBJECT ENCODING forgets an in-place change. Called
    /// while the keys' stripes are still held, so a watcher's EXEC sees it or runs after.
    private func afterWrite(_ keys: [[UInt8]]) {
        watches.touch(keys)
        encodings.forget(keys)
    }

    /// Something was written outside `write` (a replica's applier): the once-a-second sync
    /// must run.
    func noteWritten() { markDirty() }

    private func markDirty() {
        // A load first: under a write-heavy load the flag is already set, and a plain load
        // keeps the cache line shared between the event loops.
        if !dirty.load(ordering: .relaxed) { dirty.store(true, ordering: .relaxed) }
    }

    /// True (and cleared) if anything was written since the last call.
    func takeDirty() -> Bool {
        dirty.exchange(false, ordering: .acquiringAndReleasing)
    }
}

/// What a command reads through: the store, or inside EXEC the transaction.
enum SessionReader: KeyspaceReader {
    case store(StoreReader)
    case transaction(KeyspaceTransaction)

    func lookup(_ key: [UInt8]) throws(KVError) -> StoredValue? {
        switch self {
        case .store(let s): return try s.lookup(key)
        case .transaction(let t): return try t.lookup(key)
        }
    }

    func lookup(keys: [[UInt8]]) throws(KVError) -> [StoredValue?] {
        switch self {
        case .store(let s): return try s.lookup(keys: keys)
        case .transaction(let t): return try t.lookup(keys: keys)
        }
    }

    func makeIterator(_ options: ReadOptions) throws(KVError) -> any KVCursor {
        switch self {
        case .store(let s): return try s.makeIterator(options)
        case .transaction(let t): return try t.makeIterator(options)
        }
    }
}

extension CommandError {
    /// The keyspace's error as a reply.
    static func keyspace(_ error: KeyspaceError) -> CommandError {
        switch error {
        case .wrongType: return .wrongType
        case .store(let e): return .store(e)
        case .invalidArgument(let what): return .err(what)
        case .corruption, .unsupportedFormat: return .err("storage error: \(error)")
        }
    }

    static let wrongType = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")
}

/// Runs a keyspace operation, its error as a reply.
@inline(__always)
func ks<R>(_ body: () throws(KeyspaceError) -> R) throws(CommandError) -> R {
    do { return try body() } catch { throw .keyspace(error) }
}
