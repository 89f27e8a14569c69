import Dispatch
import KVCollections
import KVStore
import Synchronization

/// A replica's side of the stream: applies the primary's frames to the store in order, on a
/// serial queue of its own (never an event loop: a write may wait for the disk), and moves
/// the replication offset past them (`ReplicationSource.adopt`).
///
/// A full synchronisation receives the primary's checkpoint into a staging directory
/// (`IncomingCheckpoint`; clients get `LOADING` meanwhile, as from a Redis replica loading its
/// RDB), installs it as the store's whole contents (`KVStore.replaceContents`: the tables are
/// linked in, nothing is rewritten), then skips the stream's batches the checkpoint already
/// holds (sequence at or below its sequence). The batches that
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
        var skipThrough: UInt64?
    }

    private let state = Mutex(State())
    /// The checkpoint being received; touched only on `queue`.
    private let incoming = Mutex<IncomingCheckpoint?>(nil)
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
            dropIncoming()
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
    /// (if any) is done. A checkpoint cut off halfway is deleted and the store keeps what it
    /// held, but that is no history's prefix any more: clients keep getting `LOADING` until
    /// the next synchronisation completes (or the server is made a primary).
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        queue.sync { dropIncoming() }
    }

    /// A checkpoint being received is abandoned: its staging directory goes.
    private func dropIncoming() {
        incoming.withLock { c in
            c?.remove()
            c = nil
        }
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

    /// A frame that is not a batch: part of a checkpoint, its end, or a heartbeat.
    private func applyAlone(_ frame: ReplicationFrame.Frame) throws {
        switch frame.kind {
        case .ping, .batch:
            return
        case .file:
            try startLoadIfNeeded()
            try withIncoming { c throws in try c.start(frame.payload) }
        case .fileData:
            try withIncoming { c throws in try c.append(frame.payload) }
        case .snapshotEnd:
            guard let sequence = ReplicationFrame.loadLE(frame.payload, at: 0, as: UInt64.self),
                  let files = ReplicationFrame.loadLE(frame.payload, at: 8, as: UInt64.self),
                  let bytes = ReplicationFrame.loadLE(frame.payload, at: 16, as: UInt64.self)
            else { throw ReplicationError.protocolViolation("short snapshot end frame") }
            let path = try withIncoming { (c: inout IncomingCheckpoint) throws -> String in
                try c.finish(files: files, bytes: bytes)
                return c.path
            }
            // Refused before anything changes if its sequence is not the end frame's.
            try db.store.replaceContents(withCheckpointAt: path, expecting: sequence)
            dropIncoming()
            let (replid, offset) = state.withLock { s in (s.primaryID, s.syncOffset) }
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

    /// `body` with the checkpoint being received; a protocol error when none is.
    private func withIncoming<R: Sendable>(_ body: (inout IncomingCheckpoint) throws -> R) throws -> R {
        try incoming.withLock { c throws -> R in
            guard var checkpoint = c else { throw ReplicationError.protocolViolation("checkpoint data outside a full synchronisation") }
            defer { c = checkpoint }
            return try body(&checkpoint)
        }
    }

    /// The first checkpoint frame: clients get `LOADING` until the checkpoint is installed, and
    /// the history this server held goes first: what it holds must not be resumed as that
    /// history (by another server that shares it) once a sync has begun — only a complete
    /// one gives it a history again.
    private func startLoadIfNeeded() throws {
        guard !state.withLock({ $0.loading }) else { return }
        status.isLoading = true
        state.withLock { $0.loading = true }
        source.forgetHistory()
        let checkpoint = try IncomingCheckpoint(path: FullSync.workDirectory(db.store) + "/incoming")
        incoming.withLock { $0 = checkpoint }
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
