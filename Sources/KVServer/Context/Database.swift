import KVStore
import Synchronization

/// The keys and values as commands see them: the store, with what makes a command's reads
/// and writes one step to every other command (the key locks), the WATCH registry every write
/// reports to, OBJECT ENCODING's memory of in-place changes and SCAN's cursors. Errors come
/// back as replies (`CommandError`).
///
/// Reads are non-blocking unless the session runs where it may wait (`Session.mayWait`);
/// writes go straight to the store, or into the running EXEC's batch. Every committed write
/// ends in `afterWrite`, once.
///
/// All `Sendable` parts, each locked by itself (see their types); nothing here is mutable but
/// the `dirty` flag, an atomic.
final class Database: Sendable {
    let store: KVStore
    let locks = KeyLocks()
    let watches = WatchRegistry()
    let encodings = EncodingHints()
    let cursors = ScanCursors()
    /// The fsync policy is CONFIG SET's to change: read at every write.
    private let settings: LiveSettings
    /// Milliseconds since the Unix epoch: the same clock the store judges expiry by.
    let clock: @Sendable () -> UInt64
    /// Something was written since the last everysec sync.
    private let dirty = Atomic<Bool>(false)

    init(store: KVStore, settings: LiveSettings, clock: @escaping @Sendable () -> UInt64) {
        self.store = store
        self.settings = settings
        self.clock = clock
    }

    /// Writes wait for the fdatasync (`appendfsync always`).
    var syncsEveryWrite: Bool { settings.fsync == .always }


    // Point reads: non-blocking unless the session runs where it may wait (see
    // `Session.mayWait`). Keyspace hits and misses are counted by the read commands.
    private static let waitingRead = ReadOptions()
    private static let nonBlockingRead: ReadOptions = {
        var o = ReadOptions()
        o.nonBlocking = true
        return o
    }()

    func get(_ key: [UInt8], _ session: Session) throws(CommandError) -> [UInt8]? {
        if let pending = session.pendingWrites, let mine = pending.lookup(key, now: clock()) { return mine?.value }
        do { return try store.get(key, options: session.mayWait ? Self.waitingRead : Self.nonBlockingRead) } catch { throw .store(error) }
    }

    /// A read of `key` as `snapshot` sees it (MGET reads all its keys at one moment).
    func get(_ key: [UInt8], _ session: Session, snapshot: Snapshot) throws(CommandError) -> [UInt8]? {
        if let pending = session.pendingWrites, let mine = pending.lookup(key, now: clock()) { return mine?.value }
        var options = ReadOptions()
        options.snapshot = snapshot
        options.nonBlocking = !session.mayWait
        do { return try store.get(key, options: options) } catch { throw .store(error) }
    }

    func snapshot() throws(CommandError) -> Snapshot {
        do { return try store.snapshot() } catch { throw .store(error) }
    }

    func lookup(_ key: [UInt8], _ session: Session) throws(CommandError) -> StoredValue? {
        if let pending = session.pendingWrites, let mine = pending.lookup(key, now: clock()) { return mine }
        do { return try store.lookup(key, options: session.mayWait ? Self.waitingRead : Self.nonBlockingRead) } catch { throw .store(error) }
    }

    func exists(_ key: [UInt8], _ session: Session) throws(CommandError) -> Bool {
        try get(key, session) != nil
    }

    // MARK: Writes: straight to the store, or into the running EXEC's batch

    /// Runs `body` holding `key`'s stripe, so its read and its write are one step to every
    /// other command. Inside EXEC the transaction already holds every stripe it needs. On an
    /// event loop (`mayWait` false) a stripe another thread holds is not waited for: the
    /// command moves to a blocking thread (`CommandError.mustWait`).
    func locked<R>(_ key: [UInt8], _ session: Session, _ body: () throws(CommandError) -> R) throws(CommandError) -> R {
        if session.pendingWrites != nil { return try body() }
        if session.mayWait { return try locks.withLock(key, body) }
        guard let result = try locks.tryWithLock(key, body) else { throw .mustWait }
        return result
    }

    func locked<R>(keys: [[UInt8]], _ session: Session, _ body: () throws(CommandError) -> R) throws(CommandError) -> R {
        if session.pendingWrites != nil { return try body() }
        if session.mayWait { return try locks.withLocks(keys, body) }
        guard let result = try locks.tryWithLocks(keys, body) else { throw .mustWait }
        return result
    }

    /// Every key locked: writes over keys nobody named (FLUSHDB, DELRANGE).
    func lockedAll<R>(_ session: Session, _ body: () throws(CommandError) -> R) throws(CommandError) -> R {
        if session.pendingWrites != nil { return try body() }
        if session.mayWait { return try locks.withAllLocks(body) }
        guard let result = try locks.tryWithAllLocks(body) else { throw .mustWait }
        return result
    }

    /// Values past this size are written from a blocking thread: copying and logging many
    /// megabytes would hold up the loop's other clients.
    static let largestInlineWrite = 1 << 20

    /// Throws `mustWait` on an event loop when a command is about to build a value of
    /// `bytes` (SETRANGE, SETBIT, APPEND, BITOP, LCS's table): large work goes to a thread.
    func requireThread(forBytes bytes: Int, _ session: Session) throws(CommandError) {
        if !session.mayWait && bytes > Self.largestInlineWrite { throw .mustWait }
    }

    /// Stores `value` with an absolute expiry (nil: none). An expiry at or before now
    /// deletes the key instead, as Redis does for a past EXPIREAT or SET … EXAT.
    func put(_ key: [UInt8], _ value: [UInt8], expiresAt: UInt64? = nil, _ session: inout Session) throws(CommandError) {
        try apply([.put(key, value, expiresAt: expiresAt)], &session)
    }

    func delete(_ key: [UInt8], _ session: inout Session) throws(CommandError) {
        try apply([.delete(key)], &session)
    }

    /// One write of a command on its own keys.
    enum KeyWrite {
        case put([UInt8], [UInt8], expiresAt: UInt64?)
        case delete([UInt8])

        var key: [UInt8] {
            switch self {
            case .put(let k, _, _), .delete(let k): return k
            }
        }
    }

    /// Applies `writes` as one batch (all or nothing), or adds them to the running EXEC's.
    /// The caller holds the keys' stripes.
    func apply(_ writes: [KeyWrite], _ session: inout Session) throws(CommandError) {
        let now = clock()
        if session.pendingWrites != nil {
            encodings.forget(writes.lazy.map(\.key))
            for w in writes {
                switch w {
                case .put(let k, let v, let e):
                    if let e, e <= now { session.pendingWrites!.delete(k) } else { session.pendingWrites!.put(k, v, expiresAt: e) }
                case .delete(let k): session.pendingWrites!.delete(k)
                }
            }
            return
        }
        var batch = WriteBatch()
        for w in writes {
            switch w {
            case .put(let k, let v, let e):
                if let e, e <= now { batch.delete(k) } else if let e { batch.put(k, v, expiresAt: e) } else { batch.put(k, v) }
            case .delete(let k): batch.delete(k)
            }
        }
        try requireThread(forBytes: batch.byteSize, session)
        try commit(batch, mayWait: session.mayWait)
        afterWrite(writes.lazy.map(\.key))
    }

    /// Plain SETs and MSETs of many connections, gathered by a `WriteCoalescer`: one batch
    /// under all their keys' stripes. With `mayWait` false (on the event loop) it throws
    /// `mustWait`, having written nothing, where it would wait for a lock or the engine.
    func writeCoalesced(_ batch: WriteBatch, keys: [[UInt8]], mayWait: Bool) throws(CommandError) {
        let write = { () throws(CommandError) in
            try self.commit(batch, mayWait: mayWait)
            self.afterWrite(keys)
        }
        if mayWait { return try locks.withLocks(keys, write) }
        guard try locks.tryWithLocks(keys, write) != nil else { throw .mustWait }
    }

    /// Deletes [from, to) (a nil `to`: every key from `from` on) with one range deletion.
    /// The caller holds every stripe (`lockedAll`).
    func deleteRange(from: [UInt8], to: [UInt8]?, _ session: inout Session) throws(CommandError) {
        // Watchers learn only of keys that existed (Redis's FLUSHDB rule: a stale or absent
        // watched key has not changed).
        encodings.forget(from: from, to: to)
        var removedWatched: [[UInt8]] = []
        for key in watches.watched(from: from, through: to) where to.map({ key.lexicographicallyPrecedes($0) }) ?? true {
            if try exists(key, session) { removedWatched.append(key) }
        }
        if session.pendingWrites != nil {
            if let to, !from.lexicographicallyPrecedes(to) { return }
            session.pendingWrites!.deleteRange(from: from, to: to, watchedAndLive: removedWatched)
            return
        }
        do { try store.deleteRange(from: from, to: to, options: WriteOptions(sync: syncsEveryWrite)) } catch { throw .store(error) }
        markDirty()
        watches.touch(removedWatched)
    }

    /// Commits an EXEC's writes as one batch.
    func commit(_ writes: TransactionWrites, _ session: Session) throws(CommandError) {
        try requireThread(forBytes: writes.batch.byteSize, session)
        try commit(writes.batch, mayWait: session.mayWait)
        afterWrite(writes.touched)
    }

    /// Writes `batch`; with `mayWait` false, throws `mustWait` (nothing written) where the
    /// engine would have to wait: a write stall, a memtable switch, another group's commit.
    private func commit(_ batch: WriteBatch, mayWait: Bool) throws(CommandError) {
        guard !batch.isEmpty else { return }
        do { try store.write(batch, options: WriteOptions(sync: syncsEveryWrite, nonBlocking: !mayWait)) } catch { throw .store(error) }
        markDirty()
    }

    /// What every committed write of keys owes the rest of the server: their watchers learn
    /// of it (their EXEC will fail) and OBJECT ENCODING forgets an in-place change. Called
    /// while the keys' stripes are still held, so a watcher's EXEC sees it or runs after.
    private func afterWrite(_ keys: some Sequence<[UInt8]>) {
        watches.touch(keys)
        encodings.forget(keys)
    }

    private func markDirty() {
        // A load first: under a write-heavy load the flag is already set, and a plain load
        // keeps the cache line shared between the event loops.
        if !dirty.load(ordering: .relaxed) { dirty.store(true, ordering: .relaxed) }
    }

    /// True (and cleared) if anything was written since the last call.
    func takeDirty() -> Bool {
        dirty.exchange(false, ordering: .acquiringAndReleasing)
    }

    func iterator(_ options: ReadOptions = ReadOptions()) throws(CommandError) -> KVIterator {
        do { return try store.makeIterator(options) } catch { throw .store(error) }
    }

    /// The keys as `session` sees them: inside EXEC, with the transaction's own writes.
    func cursor(_ options: ReadOptions = ReadOptions(), _ session: Session) throws(CommandError) -> any KeyCursor {
        let it = try iterator(options)
        guard let pending = session.pendingWrites, !pending.isEmpty else { return it }
        return TransactionCursor(store: it, writes: pending, options: options, now: clock())
    }

    func check(_ cursor: any KeyCursor) throws(CommandError) {
        do { try cursor.check() } catch { throw .store(error) }
    }
}
