import Synchronization

/// One caller's write waiting in the commit queue. A nil batch asks the leader to freeze
/// the memtable (a flush request).
private final class PendingWrite {
    let batch: WriteBatch?
    let sync: Bool
    /// An optimistic transaction's: checked by the leader, alone in its group.
    let condition: CommitCondition?
    var done = false
    var error: KVError?
    /// Created only if the writer has to wait (a lone writer leads at once and never does);
    /// created, waited on and signalled with the queue's mutex held.
    private(set) var wakeUp: ConditionMutex.Condition?
    private unowned let mutex: ConditionMutex

    init(batch: WriteBatch?, sync: Bool, condition: CommitCondition?, mutex: ConditionMutex) {
        self.batch = batch
        self.sync = sync
        self.condition = condition
        self.mutex = mutex
    }

    /// Waits for a signal. The caller holds the mutex.
    func wait() {
        if wakeUp == nil { wakeUp = ConditionMutex.Condition(mutex) }
        wakeUp!.wait()
    }

    /// Wakes the writer if it is waiting. The caller holds the mutex, or set `done` under
    /// it earlier (after which nothing writes `wakeUp`: the writer no longer waits).
    func signal() { wakeUp?.signal() }
}

/// Sees each committed group's log record (the `WriteBatch` encoding: first sequence, count,
/// operations), one group at a time, in commit order, after it is logged and readable and
/// before its writers return. Replication streams these records; the observer must not write to
/// the store.
package typealias CommitObserver = @Sendable (_ record: [UInt8]) -> Void

/// Group commit (LevelDB's write queue).
///
/// Every writer joins a FIFO queue; the writer at the head is the leader. The leader asks the
/// `WriteController` for room (it may slow, stop or switch the memtable), takes the batches
/// queued behind it, assigns one range of sequence numbers, appends them to the
/// `WriteAheadLog` as one record, calls fdatasync at most once if any of them asked for sync,
/// inserts them into the memtable, publishes the new last sequence and wakes the followers it
/// served. A lone writer is its own leader and never hands off to another thread. While the
/// leader works the lock is released, so new writers can queue up and form the next group.
/// `leading` keeps the next head from starting while a finished leader still wakes its
/// followers outside the lock.
///
/// A sync leader waits briefly for the writers of the previous synced group to rejoin
/// (`awaitJoiners`). Variations measured against it (kvbench fillsync, 8 threads against 1;
/// the runs are in docs/BENCHMARKS.md, "Group commit"): one `sched_yield` and the leader
/// leading the next group too made groups of 6 and gave 3.1–3.2×; this wait makes groups of
/// 7–7.6 and gave 3.1–3.8× (3.95× as `make bench`'s median); leading the next group on top of
/// the wait gave 3.0–3.3×, because a thread that keeps leading stops producing writes of its
/// own. What is left of a cycle beyond the fdatasync is waking eight threads on two cores.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards `writers`, `leading`,
/// `lastSyncGroupSize`, `lastSyncNanoseconds`, `awaitingJoiners`, `closed` and `observer`.
/// Only the leader uses `insertScratch`, outside the lock; leadership passes under the lock,
/// so those uses are serialized. The leader calls the controller, the log, the memtables and
/// the commit observer with the lock released; nothing they do calls back into this queue.
final class GroupCommit: @unchecked Sendable {
    private let mutex = ConditionMutex()
    /// Broadcast when `writers` becomes empty (close waits for it).
    private let queueDrained: ConditionMutex.Condition

    private var writers: [PendingWrite] = []
    /// A commit leader is at work. Its group has left `writers` by the time it wakes its
    /// followers (outside the lock), so the new head must not lead until it hands over.
    private var leading = false
    /// Writers in the last synced group: a sync leader that sees fewer queued waits for them
    /// (`awaitJoiners`).
    private var lastSyncGroupSize = 0
    /// How long the last group's fdatasync took (ns): bounds the wait for a full group.
    private var lastSyncNanoseconds: UInt64 = 0
    /// A sync leader waits on `groupGrew` for the writers of the previous group to rejoin;
    /// the writer that makes the queue as long as that group signals it (one wake-up, not one
    /// per arrival).
    private var awaitingJoiners = false
    private let groupGrew: ConditionMutex.Condition
    /// The commit leader's scratch for sorting a group before the memtable insert.
    @exclusivity(unchecked) private var insertScratch: [Memtable.SortedEntry] = []
    private var closed = false
    /// Replication's tap on the commit stream (`observeCommits`). Read by the leader under
    /// `mutex`, right after its publish, so it costs nothing per group; installed under it too,
    /// so every group is either observed or published before the installation — and so in a
    /// snapshot taken after it (docs/FORMATS.md, "Replication stream": full synchronisation).
    private var observer: CommitObserver?

    private let wal: WriteAheadLog
    private let controller: WriteController
    /// Read for commit conditions (the memtables hold the recent writes).
    private let memtables: MemtableSet
    private let latch: FailureLatch
    private let snapshots: SnapshotList
    private let statistics: EngineStatistics

    init(
        wal: WriteAheadLog, controller: WriteController, memtables: MemtableSet, latch: FailureLatch, snapshots: SnapshotList,
        statistics: EngineStatistics
    ) {
        self.wal = wal
        self.controller = controller
        self.memtables = memtables
        self.latch = latch
        self.snapshots = snapshots
        self.statistics = statistics
        queueDrained = ConditionMutex.Condition(mutex)
        groupGrew = ConditionMutex.Condition(mutex)
    }

    /// Largest group the leader assembles, in bytes of batch data.
    static let maxGroupBytes = 1 << 20

    /// Commits `batch` (nil: freeze the memtable). With `nonBlocking`, a writer that cannot
    /// lead at once into a memtable with room at full speed throws `wouldBlock` before joining
    /// the queue, having changed nothing. With a `condition`, the batch is committed alone,
    /// only if the condition holds (else `KVError.conflict`).
    func write(_ batch: WriteBatch?, sync: Bool, nonBlocking: Bool = false, condition: CommitCondition? = nil) throws(KVError) {
        let me = PendingWrite(batch: batch, sync: sync, condition: condition, mutex: mutex)
        mutex.lock()
        if closed {
            mutex.unlock()
            throw KVError.closed
        }
        if nonBlocking && !latch.isSet && (!writers.isEmpty || leading || controller.wouldWait(bytes: batch?.byteSize ?? 0)) {
            mutex.unlock()
            statistics.writesWouldBlock.add(1, ordering: .relaxed)
            throw KVError.wouldBlock
        }
        writers.append(me)
        statistics.writersQueued.store(writers.count, ordering: .relaxed)
        if awaitingJoiners && writers.count >= lastSyncGroupSize { groupGrew.signal() }
        while !me.done && (writers.first !== me || leading) {
            me.wait()
        }
        if me.done {
            mutex.unlock()
            if let error = me.error { throw error }
            return
        }

        // Leader.
        leading = true
        let bytes = queuedBytes()
        mutex.unlock()
        let memtable: Memtable
        do {
            memtable = try controller.makeRoom(forBytes: bytes, force: batch == nil)
        } catch {
            mutex.lock()
            finishGroup(count: 1, error: error)
            wakeNextLeader()
            mutex.unlock()
            throw error
        }
        mutex.lock()
        guard batch != nil else {
            finishGroup(count: 1, error: nil)
            wakeNextLeader()
            mutex.unlock()
            return
        }
        let failure = commitHeadGroup(into: memtable)
        wakeNextLeader()
        mutex.unlock()
        if let failure { throw failure }
    }

    /// Runs `body` as the commit leader with no group of its own: no write commits while it
    /// runs (writers queue behind it), and every earlier group is published. A contents
    /// replacement swaps the memtable and the log under it. Like a flush request, it is never
    /// merged into another leader's group (`assembleGroup` stops at a nil batch).
    func exclusively(_ body: () throws(KVError) -> Void) throws(KVError) {
        let me = PendingWrite(batch: nil, sync: false, condition: nil, mutex: mutex)
        mutex.lock()
        if closed {
            mutex.unlock()
            throw KVError.closed
        }
        writers.append(me)
        while writers.first !== me || leading { me.wait() }
        leading = true
        mutex.unlock()
        var failure: KVError?
        do { try body() } catch { failure = error }
        mutex.lock()
        finishGroup(count: 1, error: failure)
        wakeNextLeader()
        mutex.unlock()
        if let failure { throw failure }
    }

    /// Waits, briefly, for the writers of the previous synced group to queue their next writes,
    /// so that they share this group's fdatasync instead of waiting for the next one. They were
    /// woken when that group finished; on few cores they may not have run yet. Without a wait,
    /// groups alternate between two halves of the writers and each fdatasync serves half of
    /// them. The wait ends when the group is as large as the last one, or after a quarter of
    /// the last fdatasync's duration (at most 250 µs): a quarter-sync spent to double a
    /// group is a good trade, and a lone writer (group of one) never waits.
    /// Lock held; released while waiting.
    private func awaitJoiners() {
        let budget = min(lastSyncNanoseconds / 4, 250_000)
        guard budget > 0 else { return }
        let deadline = MonotonicClock.unsignedNanoseconds() + budget
        awaitingJoiners = true
        defer { awaitingJoiners = false }
        while writers.count < lastSyncGroupSize {
            let now = MonotonicClock.unsignedNanoseconds()
            guard now < deadline else { return }
            groupGrew.wait(seconds: Double(deadline - now) / 1e9)
        }
    }

    /// Commits the group at the head of the queue: one WAL record, at most one fdatasync, the
    /// memtable inserts, then marks it done and wakes its followers. Called and returns with
    /// the lock held (released for the I/O). Returns the group's error.
    private func commitHeadGroup(into memtable: Memtable) -> KVError? {
        let sync = writers[0].sync
        if sync && writers.count < lastSyncGroupSize { awaitJoiners() }
        let group = assembleGroup()
        if let condition = group[group.startIndex].condition {
            // Alone in its group, with every earlier group in the memtable.
            mutex.unlock()
            let conflict = condition.conflict(in: memtables.current, snapshots: snapshots)
            mutex.lock()
            if let key = conflict {
                finishGroup(count: 1, error: .conflict(key: key))
                return .conflict(key: key)
            }
        }
        var combined = group.count == 1 ? group[group.startIndex].batch! : mergedBatch(group)
        let needSync = group.contains { $0.sync }
        if needSync { lastSyncGroupSize = group.count }
        let first = snapshots.lastSequence + 1
        combined.sequence = first
        let last = first + UInt64(combined.count) - 1
        mutex.unlock()

        var failure: KVError?
        var syncNanoseconds: UInt64 = 0
        do {
            try wal.append(combined.encoded)
            if needSync { syncNanoseconds = try wal.sync() }
        } catch {
            failure = error
        }
        if failure == nil {
            combined.encoded.withUnsafeBytes { encoded in
                // Built by WriteBatch and validated by KVStore.write: decoding cannot fail.
                memtable.add(batch: encoded, count: combined.count, firstSequence: first, scratch: &insertScratch)
            }
            statistics.walBytesWritten.add(combined.byteSize, ordering: .relaxed)
            statistics.userBytesWritten.add(combined.byteSize - WriteBatch.headerSize, ordering: .relaxed)
        }

        mutex.lock()
        if needSync { lastSyncNanoseconds = syncNanoseconds }
        if failure == nil {
            snapshots.publish(last)
            if let observe = observer {
                // Still the leader (leadership passes under the lock, after this), so the
                // observer sees groups one at a time in commit order, and before any writer
                // of the group returns: a writer that asks where the stream stands after its
                // write finds its batch there. The lock is released: the observer copies.
                mutex.unlock()
                observe(combined.encoded)
                mutex.lock()
            }
        }
        let followers = finishGroup(count: group.count, error: failure)
        if !followers.isEmpty {
            // Woken outside the lock: each wake is a system call, and a follower woken inside
            // would only block on the lock.
            mutex.unlock()
            for w in followers { w.signal() }
            mutex.lock()
        }
        return failure
    }

    /// Bytes the leader's group will carry (it is assembled after room is made). Lock held.
    private func queuedBytes() -> Int {
        var bytes = 0
        for w in writers {
            bytes += w.batch?.byteSize ?? 0
            if bytes >= Self.maxGroupBytes { return Self.maxGroupBytes }
        }
        return bytes
    }

    /// The leader plus the writers queued behind it, within the size limit. A group never
    /// puts a syncing follower behind a non-syncing leader (the leader decided not to sync),
    /// stops at a flush request, and keeps a writer with a commit condition alone.
    private func assembleGroup() -> ArraySlice<PendingWrite> {
        let leader = writers[0]
        if leader.condition != nil { return writers[0..<1] }
        var bytes = leader.batch?.byteSize ?? 0
        // Small leaders keep groups small so a lone small write's latency stays low.
        let limit = bytes <= 128 << 10 ? bytes + (128 << 10) : Self.maxGroupBytes
        var end = 1
        while end < writers.count {
            let w = writers[end]
            guard let b = w.batch, w.condition == nil else { break }
            if w.sync && !leader.sync { break }
            if bytes + b.byteSize > limit { break }
            bytes += b.byteSize
            end += 1
        }
        return writers[0..<end]
    }

    private func mergedBatch(_ group: ArraySlice<PendingWrite>) -> WriteBatch {
        var merged = WriteBatch()
        merged.encoded.reserveCapacity(group.reduce(0) { $0 + ($1.batch?.byteSize ?? 0) })
        for w in group { if let b = w.batch { merged.append(contentsOf: b) } }
        return merged
    }

    /// Called with the lock held: marks the group done and takes it off the queue. Returns the
    /// followers, for the caller to wake once it has released the lock. (A follower cannot
    /// miss that wake: it tests `done` under the lock before each wait, and `done` was set
    /// under the lock; nor can it go: the returned array keeps it alive.)
    @discardableResult
    private func finishGroup(count: Int, error: KVError?) -> [PendingWrite] {
        for i in 0..<count {
            let w = writers[i]
            w.error = error
            w.done = true
        }
        // A copy (one allocation per group of several): a slice would share `writers`' buffer
        // and make the removal below copy it instead.
        let followers = count > 1 ? Array(writers[1..<count]) : []
        writers.removeFirst(count)
        statistics.writersQueued.store(writers.count, ordering: .relaxed)
        return followers
    }

    /// Lock held: ends this leader's turn and hands the queue to its next head, or tells
    /// `close` it has drained.
    private func wakeNextLeader() {
        leading = false
        if let next = writers.first {
            next.signal()
        } else {
            queueDrained.broadcast()
        }
    }

    /// Installs (nil: removes) the function every committed group is shown to (`CommitObserver`).
    func observeCommits(_ observe: CommitObserver?) {
        mutex.withLock { observer = observe }
    }

    /// Refuses new writes and waits for the queued ones (accepted before close began).
    func stopAccepting() {
        mutex.withLock {
            closed = true
            while !writers.isEmpty || leading { queueDrained.wait() }
        }
    }
}
