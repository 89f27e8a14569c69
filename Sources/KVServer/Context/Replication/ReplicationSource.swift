import KVStore
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The replication stream as this server knows it: its replication id and offset, the backlog
/// of recent frames, and the replicas attached to it (`ReplicaFeed`).
///
/// On a primary, every committed group reaches `record` from the engine's commit observer, in
/// commit order: framed once, appended to the backlog and queued for every replica. On a
/// replica (`following`), the commits are the primary's stream, which the link hands to
/// `adopt` frame by frame, so the replica's backlog and offset are the primary's — and once
/// promoted, the other replicas of the old primary can continue from it (PSYNC with the old
/// id, Redis's `replid2`) instead of synchronising in full.
///
/// The backlog starts when the first replica asks for the stream (as Redis's does), and only
/// then is the engine's commit observer installed: a server that never had a replica pays
/// nothing per commit.
final class ReplicationSource: Sendable {
    private struct State {
        var replid: String
        /// The id this server's history had before its last promotion, and the offset up to
        /// which that history is shared (Redis's `replid2`, `second_repl_offset`).
        var replid2 = String(repeating: "0", count: 40)
        var secondOffset: Int64 = -1
        var backlog: ReplicationBacklog
        var active = false
        var feeds: [ReplicaFeed] = []
        var following = false
    }

    private let state: Mutex<State>
    /// The offset, readable without the lock (WAIT, INFO).
    private let end = Atomic<Int64>(0)
    private let store: KVStore
    /// While following: the applier's write in progress, by its thread and its batch's
    /// operation count. A commit that is not exactly that one is someone else's (a write
    /// admitted before the server became a replica, or a writable replica's own).
    private let applierWrite = Mutex<(thread: pthread_t, count: Int)?>(nil)
    /// Told (outside the lock) when such a commit happened: the history was forgotten.
    private let strayCommit = Mutex<(@Sendable () -> Void)?>(nil)

    init(store: KVStore, backlogSize: Int) {
        self.store = store
        state = Mutex(State(replid: Self.newID(), backlog: ReplicationBacklog(capacity: backlogSize, end: 0)))
    }

    /// Starts the backlog at the current offset and has the engine show every commit to
    /// `record` from now on. Lock held. (The commit leader reads the observer under the
    /// engine's own lock and calls it after releasing that, so taking this lock and then that
    /// one here cannot deadlock with it.)
    private func activate(_ s: inout State) {
        guard !s.active else { return }
        s.active = true
        s.backlog.reset(end: s.backlog.end)
        store.observeCommits { [weak self] in self?.record($0) }
    }

    /// The server stops: no more recording.
    func deactivate() {
        state.withLock { s in
            s.active = false
            store.observeCommits(nil)
        }
    }

    /// A new replication id: 40 random hex digits, as Redis's.
    static func newID() -> String {
        var g = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<40).map { _ in digits[Int(g.next() % 16)] })
    }

    var offset: Int64 { end.load(ordering: .acquiring) }
    var replid: String { state.withLock { $0.replid } }

    /// INFO's replication ids and offsets, and the backlog's extent.
    var info: (replid: String, replid2: String, secondOffset: Int64, active: Bool, size: Int, first: Int64, histlen: Int) {
        state.withLock { s in
            (s.replid, s.replid2, s.secondOffset, s.active, s.backlog.capacity, s.backlog.start + 1, s.backlog.held)
        }
    }

    /// Runs the replica applier's `write` of `batch` so that `record` knows its commit.
    func applying<R>(_ batch: WriteBatch, _ write: () throws -> R) rethrows -> R {
        applierWrite.withLock { $0 = (pthread_self(), batch.count) }
        defer { applierWrite.withLock { $0 = nil } }
        return try write()
    }

    func onStrayCommit(_ action: @escaping @Sendable () -> Void) {
        strayCommit.withLock { $0 = action }
    }

    /// The engine's commit observer: one committed group's log record, in commit order.
    func record(_ record: [UInt8]) {
        let stray = state.withLock { s -> Bool in
            guard s.following else { return false }
            // The applier's commit runs on its thread (it leads its own group, or its batch
            // shares a group with another writer's and the count differs).
            let count = ReplicationFrame.loadLE(record, at: 8, as: UInt32.self).map(Int.init) ?? -1
            if let w = applierWrite.withLock({ $0 }), pthread_equal(w.thread, pthread_self()) != 0, w.count == count { return false }
            forget(&s)
            return true
        }
        if stray {
            strayCommit.withLock { $0 }?()
            return
        }
        let unframeable = state.withLock { s -> [ReplicaFeed] in
            guard s.active, !s.following else { return [] }
            guard record.count <= ReplicationFrame.maxPayload else {
                // The stream cannot carry it: a new history, and every replica starts over.
                forget(&s)
                defer { s.feeds = [] }
                return s.feeds
            }
            var frame = ByteBuffer()
            frame.reserveCapacity(ReplicationFrame.headerSize + record.count)
            record.withUnsafeBytes { ReplicationFrame.write(.batch, $0, to: &frame) }
            frame.withUnsafeReadableBytes { b in
                s.backlog.append(b)
                for f in s.feeds { f.enqueue(b) }
            }
            end.store(s.backlog.end, ordering: .releasing)
            return []
        }
        for f in unframeable {
            f.close()
            f.channel.close(promise: nil)
        }
    }

    /// A replica: frames of the primary's stream, applied (or already in the snapshot), in
    /// stream order; they join the backlog as they were sent, and the offset moves past them.
    func adopt(_ frames: [ReplicationFrame.Frame]) {
        state.withLock { s in
            for f in frames { f.write(to: &s.backlog) }
            end.store(s.backlog.end, ordering: .releasing)
        }
    }

    /// What PSYNC answers.
    enum Answer {
        /// Resume: the feed already holds `+CONTINUE <replid>` and the stream from the
        /// replica's offset.
        case resumed
        /// A full synchronisation: the snapshot must be sent, then the frames the feed
        /// collects from `offset` on.
        case full(replid: String, offset: Int64)
    }

    /// Attaches `feed` for a replica that has `replid`'s history up to `offset` (PSYNC's
    /// offset minus one; `replid` "?" for none), as a resumed stream when this server's
    /// history includes that one and the backlog still holds the rest, else for a full
    /// synchronisation. Under the lock, so no commit falls between the answer and the feed.
    func attach(_ feed: ReplicaFeed, replid: String, offset: Int64) -> Answer {
        state.withLock { s in
            activate(&s)
            let sameHistory = replid == s.replid || (replid == s.replid2 && offset <= s.secondOffset)
            s.feeds.removeAll { $0.isClosed }
            s.feeds.append(feed)
            if sameHistory, let rest = s.backlog.bytes(from: offset) {
                let line = Array("+CONTINUE \(s.replid)\r\n".utf8)
                line.withUnsafeBytes { feed.enqueue($0) }
                rest.withUnsafeBytes { feed.enqueue($0) }
                feed.goOnline()
                return .resumed
            }
            return .full(replid: s.replid, offset: s.backlog.end)
        }
    }

    /// The replica's connection closed.
    func detach(_ feed: ReplicaFeed) {
        feed.close()
        state.withLock { s in s.feeds.removeAll { $0 === feed } }
    }

    var feeds: [ReplicaFeed] { state.withLock { $0.feeds } }

    /// Replicas whose acknowledged offset has reached `offset` (WAIT).
    func acknowledged(_ offset: Int64) -> Int {
        feeds.filter { $0.isOnline && $0.ackedOffset >= offset }.count
    }

    /// Online replicas that acknowledged within `maxLagSeconds` (min-replicas-to-write).
    func goodReplicas(maxLagSeconds: Int) -> Int {
        feeds.filter { $0.isOnline && $0.millisecondsSinceAck <= UInt64(maxLagSeconds) * 1000 }.count
    }

    /// Queues a heartbeat on every online replica's stream (not counted in the offset).
    func ping() {
        let o = offset
        var payload: [UInt8] = []
        ReplicationFrame.appendLE(UInt64(bitPattern: o), to: &payload)
        let frame = ReplicationFrame.encode(.ping, payload)
        for f in feeds where f.isOnline { frame.withUnsafeBytes { f.enqueue($0) } }
    }

    /// This server becomes a replica: its replicas are disconnected (as Redis does; they
    /// reconnect, and Sentinel points them at the new primary), and commits are no longer
    /// this server's to record.
    func follow() {
        let gone = state.withLock { s in
            s.following = true
            defer { s.feeds = [] }
            return s.feeds
        }
        for f in gone {
            f.close()
            f.channel.close(promise: nil)
        }
    }

    /// A full synchronisation from a primary completed at `offset` of its stream `replid`:
    /// this server's history is now that one.
    func adoptHistory(replid: String, offset: Int64) {
        state.withLock { s in
            s.replid = replid
            s.replid2 = String(repeating: "0", count: 40)
            s.secondOffset = -1
            s.backlog.reset(end: offset)
            activate(&s)
            end.store(offset, ordering: .releasing)
        }
    }

    /// A replica starts loading a snapshot: what it holds is no longer any history's prefix
    /// until the snapshot is complete (`adoptHistory`).
    func forgetHistory() {
        state.withLock { forget(&$0) }
    }

    private func forget(_ s: inout State) {
        s.replid = Self.newID()
        s.replid2 = String(repeating: "0", count: 40)
        s.secondOffset = -1
        s.backlog.reset(end: s.backlog.end)
    }

    /// A resumed stream from a primary whose id is `replid` (it may have been promoted since:
    /// the id changes, the history continues).
    func renameHistory(_ replid: String) {
        state.withLock { s in
            guard s.replid != replid else { return }
            s.replid2 = s.replid
            s.secondOffset = s.backlog.end
            s.replid = replid
        }
    }

    /// This server becomes a primary: a new history that shares the old one up to here.
    func promote() {
        state.withLock { s in
            s.following = false
            s.replid2 = s.replid
            s.secondOffset = s.backlog.end
            s.replid = Self.newID()
        }
    }

    /// `repl-backlog-size`.
    var backlogSize: Int {
        get { state.withLock { $0.backlog.capacity } }
        set { state.withLock { $0.backlog.resize(newValue) } }
    }
}
