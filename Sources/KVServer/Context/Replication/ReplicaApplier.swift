import Dispatch
import KVCollections
import KVStore
import Synchronization

/// A replica's side of the stream: applies the primary's frames to the store in order, on a
/// serial queue of its own (never an event loop: a write may wait for the disk), and moves
/// the replication offset past them (`ReplicationSource.adopt`).
///
/// A full synchronisation empties the store and loads the snapshot's entries (clients get
/// `LOADING` meanwhile, as from a Redis replica loading its RDB), then skips the stream's
/// batches the snapshot already holds (sequence at or below the snapshot's). The batches that
/// arrived together are written as one batch (up to `mergeBytes`): each primary commit stays
/// whole — a MULTI/EXEC is atomic here too — and the replica pays one log append and one
/// group commit per burst, not per primary commit (measured: the apply cost is what a replica
/// on the same cores takes from its primary's throughput, docs/BENCHMARKS.md).
final class ReplicaApplier: Sendable {
    /// Touched only on `queue` (a `Mutex` so that the type is `Sendable`; never contended).
    private struct State {
        var primaryID = ""
        var syncOffset: Int64 = 0
        var loading = false
        var entries: UInt64 = 0
        var skipThrough: UInt64?
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "kvserver.replica-apply")
    /// Frames received and not yet taken by the queue, and whether a drain is queued.
    private let inbox = Mutex<(frames: [ReplicationFrame.Frame], scheduled: Bool)>(([], false))
    /// Consecutive batches merged into one write stop at this many bytes.
    static let mergeBytes = 4 << 20
    /// Bytes submitted and not yet applied: the link stops reading past a bound.
    private let waiting = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    private let db: Database
    private let source: ReplicationSource
    private let status: ReplicaStatus
    /// Called on the queue each time it empties: the link reads again, and acknowledges the
    /// offset unless a snapshot is loading.
    private let drained: @Sendable () -> Void
    /// Called on the queue when a frame cannot be applied: the link drops the connection.
    private let fail: @Sendable (String) -> Void

    init(
        db: Database, source: ReplicationSource, status: ReplicaStatus,
        drained: @escaping @Sendable () -> Void, fail: @escaping @Sendable (String) -> Void
    ) {
        self.db = db
        self.source = source
        self.status = status
        self.drained = drained
        self.fail = fail
    }

    var waitingBytes: Int { waiting.load(ordering: .relaxed) }

    /// PSYNC answered `+FULLRESYNC replid offset`: the snapshot follows.
    func beginFullSync(replid: String, offset: Int64) {
        queue.async { [self] in
            state.withLock { s in
                s = State()
                s.primaryID = replid
                s.syncOffset = offset
            }
        }
    }

    /// PSYNC answered `+CONTINUE replid`: the stream resumes after this server's offset.
    func resume(replid: String) {
        queue.async { [self] in
            guard !cancelled.load(ordering: .acquiring) else { return }
            source.renameHistory(replid)
            status.linkUp()
            drained()
        }
    }

    func submit(_ frame: ReplicationFrame.Frame) {
        waiting.add(frame.size, ordering: .relaxed)
        let schedule = inbox.withLock { box -> Bool in
            box.frames.append(frame)
            if box.scheduled { return false }
            box.scheduled = true
            return true
        }
        if schedule { queue.async { [self] in drain() } }
    }

    /// On the queue: applies what has arrived, then what arrived meanwhile, until nothing is
    /// left; then tells the link (`drained`).
    private func drain() {
        while true {
            let frames = inbox.withLock { box -> [ReplicationFrame.Frame] in
                let taken = box.frames
                box.frames = []
                if taken.isEmpty { box.scheduled = false }
                return taken
            }
            if frames.isEmpty { break }
            if !cancelled.load(ordering: .acquiring) {
                do {
                    try apply(frames)
                } catch {
                    cancelled.store(true, ordering: .releasing)
                    fail("\(error)")
                }
            }
            waiting.subtract(frames.reduce(0) { $0 + $1.size }, ordering: .relaxed)
        }
        if !cancelled.load(ordering: .acquiring) { drained() }
    }

    /// Stops applying: frames still queued are dropped; returns once the one being applied
    /// (if any) is done. A snapshot cut off halfway leaves the store partly loaded, and
    /// clients keep getting `LOADING` until the next synchronisation completes (or the server
    /// is made a primary).
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        queue.sync {}
    }

    /// Frames in stream order. Runs of batches are merged into one write; every frame joins
    /// the backlog once what comes before it is applied.
    private func apply(_ frames: [ReplicationFrame.Frame]) throws {
        var run: [ReplicationFrame.Frame] = []
        var merged: WriteBatch?
        var applied: [[UInt8]] = []
        func flush() throws {
            if let batch = merged {
                try write(batch, sync: db.syncsEveryWrite)
                for record in applied { touchKeys(record) }
            }
            if !run.isEmpty { source.adopt(run) }
            run = []
            merged = nil
            applied = []
        }
        for frame in frames {
            guard frame.kind == .batch else {
                try flush()
                try applyAlone(frame)
                continue
            }
            guard let first = ReplicationFrame.loadLE(frame.payload, at: 0, as: UInt64.self),
                  let batch = WriteBatch(record: frame.payload)
            else { throw ReplicationError.protocolViolation("short batch frame") }
            let skip = state.withLock { s -> Bool in
                guard let through = s.skipThrough else { return false }
                if first <= through { return true }
                s.skipThrough = nil
                return false
            }
            if !skip {
                if merged == nil {
                    merged = batch
                } else {
                    merged!.append(contentsOf: batch)
                }
                applied.append(frame.payload)
            }
            run.append(frame)
            if (merged?.byteSize ?? 0) >= Self.mergeBytes { try flush() }
        }
        try flush()
    }

    /// A frame that is not a batch: part of a snapshot, its end, or a heartbeat.
    private func applyAlone(_ frame: ReplicationFrame.Frame) throws {
        switch frame.kind {
        case .ping, .batch:
            return
        case .entries:
            try startLoadIfNeeded()
            try load(frame.payload)
        case .snapshotEnd:
            guard let sequence = ReplicationFrame.loadLE(frame.payload, at: 0, as: UInt64.self),
                  let count = ReplicationFrame.loadLE(frame.payload, at: 8, as: UInt64.self)
            else { throw ReplicationError.protocolViolation("short snapshot end frame") }
            try startLoadIfNeeded()
            let (replid, offset, entries) = state.withLock { s in (s.primaryID, s.syncOffset, s.entries) }
            guard entries == count else {
                throw ReplicationError.protocolViolation("snapshot had \(entries) entries, its end frame says \(count)")
            }
            source.adoptHistory(replid: replid, offset: offset)
            state.withLock { s in
                s.loading = false
                s.skipThrough = sequence
            }
            db.encodings.forget(from: [], to: nil)
            db.watches.touch(db.watches.watched(from: [], through: nil))
            status.isLoading = false
            status.linkUp()
        }
    }

    /// The first snapshot frame: the store's old contents go (one range deletion of every
    /// engine key), and clients get `LOADING` until the snapshot is in. The history this
    /// server held goes first: a load cut off halfway must not be resumed as that history
    /// (by another server that shares it) — only a complete snapshot gives it one again.
    private func startLoadIfNeeded() throws {
        guard !state.withLock({ $0.loading }) else { return }
        status.isLoading = true
        state.withLock { $0.loading = true }
        source.forgetHistory()
        var batch = WriteBatch()
        batch.deleteRange(from: [], to: nil)
        try write(batch)
    }

    /// One `entries` frame, written in batches of about a megabyte.
    private func load(_ payload: [UInt8]) throws {
        var batch = WriteBatch()
        var at = 0
        var n: UInt64 = 0
        while at < payload.count {
            guard let keyLength = ReplicationFrame.loadLE(payload, at: at, as: UInt32.self),
                  let valueLength = ReplicationFrame.loadLE(payload, at: at + 4 + Int(keyLength), as: UInt32.self)
            else { throw ReplicationError.protocolViolation("truncated snapshot entry at byte \(at)") }
            let keyStart = at + 4
            let valueStart = keyStart + Int(keyLength) + 4
            let tail = valueStart + Int(valueLength)
            guard let expiresAt = ReplicationFrame.loadLE(payload, at: tail, as: UInt64.self), tail + 8 < payload.count else {
                throw ReplicationError.protocolViolation("truncated snapshot entry at byte \(at)")
            }
            batch.put(
                Array(payload[keyStart..<(keyStart + Int(keyLength))]), Array(payload[valueStart..<tail]),
                expiresAt: expiresAt == 0 ? nil : expiresAt, tag: payload[tail + 8])
            at = tail + 9
            n += 1
            if batch.byteSize >= 1 << 20 {
                try write(batch)
                batch = WriteBatch()
            }
        }
        if !batch.isEmpty { try write(batch) }
        state.withLock { $0.entries += n }
    }

    /// Every write of the applier: known to the replication source as the applier's (any other
    /// commit while following is a stray one), and counted for the once-a-second fsync.
    private func write(_ batch: WriteBatch, sync: Bool = false) throws {
        try source.applying(batch) { () throws in try db.store.write(batch, options: WriteOptions(sync: sync)) }
        db.noteWritten()
    }

    /// WATCH and OBJECT ENCODING learn of the keys a replicated batch wrote.
    private func touchKeys(_ record: [UInt8]) {
        guard !db.watches.isEmpty || db.encodings.tracksAny else { return }
        var keys: [[UInt8]] = []
        record.withUnsafeBytes { raw in
            try? WriteBatch.forEach(raw, file: "<replication>", offset: 0) { kind, key, value in
                if kind == .rangeDeletion || kind == .rangeDeletionToEnd {
                    let end = kind == .rangeDeletion ? Array(value) : nil
                    keys.append(contentsOf: db.watches.watched(from: Array(key), through: end))
                    db.encodings.forget(from: Array(key), to: end)
                } else if let k = Keyspace.key(ofEngineKey: Array(key)) {
                    keys.append(k)
                }
            }
        }
        db.watches.touch(keys)
        db.encodings.forget(keys)
    }
}
