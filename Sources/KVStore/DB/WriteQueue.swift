import CKVSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One caller's write waiting in the commit queue. A nil batch asks the leader to freeze
/// the memtable (a flush request).
private final class PendingWrite {
    let batch: WriteBatch?
    let sync: Bool
    var done = false
    var error: KVError?
    /// Created only if the writer has to wait (a lone writer leads at once and never does);
    /// created, waited on and signalled with the queue's mutex held.
    private(set) var wakeUp: ConditionMutex.Condition?
    private unowned let mutex: ConditionMutex

    init(batch: WriteBatch?, sync: Bool, mutex: ConditionMutex) {
        self.batch = batch
        self.sync = sync
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

/// Group commit (LevelDB's write queue) and the write-ahead log.
///
/// Every writer joins a FIFO queue; the writer at the head is the leader. The leader makes
/// room (freezing a full memtable, or waiting when level 0 is piling up), takes the batches
/// queued behind it, assigns one range of sequence numbers, appends them to the WAL as one
/// record, calls fdatasync at most once if any of them asked for sync, inserts them into the
/// memtable, publishes the new last sequence and wakes the followers it served. A lone writer
/// is its own leader and never hands off to another thread. While the leader does I/O the
/// lock is released, so new writers can queue up and form the next group. A sync leader
/// waits briefly for the writers of the previous synced group to rejoin (`awaitJoiners`).
/// `leading` keeps the next head from starting while a finished leader still wakes its
/// followers outside the lock.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards `writers`, `leading`,
/// `lastSyncGroupSize`, `lastSyncNanoseconds`, `awaitingJoiners`, `lastSwitch`,
/// `recentWriteRate`, `closed`, `externalSyncs`, `writeController` and the `log` reference.
/// Only the leader appends to `log`, inserts into the active memtable and uses
/// `insertScratch`, partly with `mutex` released; leadership passes under the lock, so those
/// accesses are serialized. The leader takes the scheduler's lock (to wait for the background
/// thread) and the `MemtableSet`'s (to read and freeze memtables), never the other way round.
final class WriteQueue: @unchecked Sendable {
    private let mutex = ConditionMutex()
    /// Broadcast when `writers` becomes empty (close waits for it).
    private let queueDrained: ConditionMutex.Condition
    /// Broadcast when the last `syncLogConcurrently` in flight returns.
    private let externalSyncsDone: ConditionMutex.Condition

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
    /// The commit leader's scratch for sorting a group before the memtable insert (only the
    /// leader touches it, outside the lock: leaders are serialized by `leading`).
    @exclusivity(unchecked) private var insertScratch: [Memtable.SortedEntry] = []
    /// The delayed-write rate while compaction is behind.
    private var writeController: WriteController
    /// When the last memtable switch happened and the user bytes written by then; the rate
    /// between the last two switches is where a slowdown starts.
    private var lastSwitch: (nanoseconds: UInt64, bytes: Int)?
    private var recentWriteRate: Double?
    /// `syncLogConcurrently` calls in flight; the log is not closed under them.
    private var externalSyncs = 0
    private var closed = false
    private var log: LogWriter
    /// The memtable groups go into: the `MemtableSet`'s active one, kept here too because
    /// only the leader replaces it (so reading it needs no lock).
    private var active: Memtable

    private let options: Options
    /// `Options.level0SlowdownTrigger` and `level0StopTrigger`, which `KVStore.setOptions`
    /// may change while the store is open. Under `mutex`.
    private var slowdownTrigger: Int
    private var stopTrigger: Int
    private let directory: String
    private let fileSystem: any FileSystem
    private let memtables: MemtableSet
    private let scheduler: BackgroundScheduler
    private let latch: FailureLatch
    private let snapshots: SnapshotList
    private let fileNumbers: FileNumbers
    private let statistics: EngineStatistics

    init(
        log: LogWriter, options: Options, directory: String, memtables: MemtableSet, scheduler: BackgroundScheduler,
        latch: FailureLatch, snapshots: SnapshotList, fileNumbers: FileNumbers, statistics: EngineStatistics
    ) {
        self.log = log
        self.active = memtables.current.activeMemtable
        self.options = options
        self.directory = directory
        self.fileSystem = options.fileSystem
        self.memtables = memtables
        self.scheduler = scheduler
        self.latch = latch
        self.snapshots = snapshots
        self.fileNumbers = fileNumbers
        self.statistics = statistics
        writeController = WriteController(maxRate: options.delayedWriteRate)
        slowdownTrigger = options.level0SlowdownTrigger
        stopTrigger = options.level0StopTrigger
        queueDrained = ConditionMutex.Condition(mutex)
        groupGrew = ConditionMutex.Condition(mutex)
        externalSyncsDone = ConditionMutex.Condition(mutex)
    }

    /// Applies `KVStore.setOptions`'s write-stall settings (already validated); the next
    /// write group decides by them.
    func setStallSettings(slowdownTrigger: Int, stopTrigger: Int, delayedWriteRate: Int) {
        mutex.lock()
        defer { mutex.unlock() }
        self.slowdownTrigger = slowdownTrigger
        self.stopTrigger = stopTrigger
        writeController.setMaxRate(delayedWriteRate)
    }

    /// Largest group the leader assembles, in bytes of batch data.
    static let maxGroupBytes = 1 << 20

    func write(_ batch: WriteBatch?, sync: Bool, nonBlocking: Bool = false) throws(KVError) {
        let me = PendingWrite(batch: batch, sync: sync, mutex: mutex)
        mutex.lock()
        if closed {
            mutex.unlock()
            throw KVError.closed
        }
        if nonBlocking && !latch.isSet && (!writers.isEmpty || leading || mustWaitForRoom(bytes: batch?.byteSize ?? 0)) {
            // Only a writer that can lead at once, into a memtable with room, at full speed,
            // goes on; the rest return before joining the queue, having changed nothing.
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
        do {
            try makeRoomForWrite(force: batch == nil)
        } catch {
            finishGroup(count: 1, error: error)
            wakeNextLeader()
            mutex.unlock()
            throw error
        }
        guard batch != nil else {
            finishGroup(count: 1, error: nil)
            wakeNextLeader()
            mutex.unlock()
            return
        }
        let failure = commitHeadGroup()
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
    ///
    /// Measured with 8 threads of synced writes against 1 (kvbench fillsync, pairs run
    /// alternately, 2026-11-30): the earlier design — one `sched_yield`, then the leader
    /// leading the next group too — made groups of 6 and gave 3.06×, 3.21×, 3.12×; this wait
    /// makes groups of 7–7.6 and gave 3.08×, 3.75×, 3.83× (3.2–4.1× in other runs, 3.95× as
    /// the median of `make bench`'s three pairs). What is left of a cycle beyond the fdatasync
    /// (about 200 µs against 100 µs) is waking eight threads on two cores. Leading the next
    /// group as well, on top of this wait, gave 3.0–3.3×: a thread that keeps leading stops
    /// producing writes of its own.
    /// Lock held; released while waiting.
    private func awaitJoiners() {
        let budget = min(lastSyncNanoseconds / 4, 250_000)
        guard budget > 0 else { return }
        let deadline = Self.monotonicNanoseconds() + budget
        awaitingJoiners = true
        defer { awaitingJoiners = false }
        while writers.count < lastSyncGroupSize {
            let now = Self.monotonicNanoseconds()
            guard now < deadline else { return }
            groupGrew.wait(seconds: Double(deadline - now) / 1e9)
        }
    }

    /// Commits the group at the head of the queue (whose head has made room): one WAL record,
    /// at most one fdatasync, the memtable inserts, then marks it done and wakes its
    /// followers. Called and returns with the lock held (released for the I/O). Returns the
    /// group's error.
    private func commitHeadGroup() -> KVError? {
        let sync = writers[0].sync
        if sync && writers.count < lastSyncGroupSize { awaitJoiners() }
        let group = assembleGroup()
        var combined = group.count == 1 ? group[group.startIndex].batch! : mergedBatch(group)
        let needSync = group.contains { $0.sync }
        if needSync { lastSyncGroupSize = group.count }
        let first = snapshots.lastSequence + 1
        combined.sequence = first
        let last = first + UInt64(combined.count) - 1
        let memtable = active  // only the leader freezes: stable
        mutex.unlock()

        var failure: KVError?
        var syncNanoseconds: UInt64 = 0
        do {
            try log.add(combined.encoded)
            if needSync {
                let started = Self.monotonicNanoseconds()
                try log.sync()
                syncNanoseconds = Self.monotonicNanoseconds() - started
                statistics.walSyncs.add(1, ordering: .relaxed)
            }
        } catch {
            failure = error
        }
        if failure == nil {
            insert(combined, into: memtable, firstSequence: first)
            statistics.walBytesWritten.add(combined.byteSize, ordering: .relaxed)
            statistics.userBytesWritten.add(combined.byteSize - WriteBatch.headerSize, ordering: .relaxed)
        }

        mutex.lock()
        if needSync { lastSyncNanoseconds = syncNanoseconds }
        if let failure {
            // Sticky: the log's state is unknown, so no later write may claim success.
            scheduler.fail(failure, while: "appending to \(log.path)")
        } else {
            snapshots.publish(last)
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

    /// Syncs the log without taking a turn in the writer queue, so writers keep appending
    /// while the fdatasync runs (a server's once-a-second sync must not hold them up). It
    /// covers every write acknowledged before the call: those appends finished before it,
    /// and fdatasync makes durable everything written to the file before it started; a log
    /// retired meanwhile was synced when it was retired. A memtable switch or close waits
    /// for it before closing the log it syncs.
    func syncLogConcurrently() throws(KVError) {
        mutex.lock()
        if closed {
            mutex.unlock()
            throw KVError.closed
        }
        if let error = latch.readOnlyError {
            mutex.unlock()
            throw error
        }
        let target = log
        externalSyncs += 1
        mutex.unlock()
        var failure: KVError?
        do {
            try target.sync()
            statistics.walSyncs.add(1, ordering: .relaxed)
        } catch {
            failure = error
        }
        mutex.lock()
        externalSyncs -= 1
        if externalSyncs == 0 { externalSyncsDone.broadcast() }
        if let failure { scheduler.fail(failure, while: "syncing \(target.path)") }
        mutex.unlock()
        if let failure { throw failure }
    }

    /// How far flushing and compaction are behind, in steps: the level-0 files at or past
    /// the slowdown trigger, plus one while a memtable waits to flush and the next is half
    /// full (it will stop writers when full). Lock held.
    private func writeDebt() -> Int {
        let level0 = memtables.level0FileCount
        var debt = level0 >= slowdownTrigger ? level0 - slowdownTrigger + 1 : 0
        if memtables.hasImmutable && active.approximateMemoryUsage >= options.writeBufferSize / 2 { debt += 1 }
        return debt
    }

    /// Whether the next leader would wait in `makeRoomForWrite`: slowed, or needing a
    /// memtable switch (a sync of the old log) or a stop. Lock held.
    private func mustWaitForRoom(bytes: Int) -> Bool {
        if active.approximateMemoryUsage >= options.writeBufferSize { return true }
        let debt = writeDebt()
        return debt > 0 && writeController.wouldDelay(bytes: bytes, debt: debt, now: Self.monotonicNanoseconds())
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Bytes the leader's group will carry (it is assembled after room is made).
    private func queuedBytes() -> Int {
        var bytes = 0
        for w in writers {
            bytes += w.batch?.byteSize ?? 0
            if bytes >= Self.maxGroupBytes { return Self.maxGroupBytes }
        }
        return bytes
    }

    /// Ensures the memtable has room, freezing it when full (or when `force`d and non-empty)
    /// and holding writes to the delayed rate while compaction is behind. Called by the
    /// leader with the lock held.
    private func makeRoomForWrite(force: Bool) throws(KVError) {
        // The common case, at full speed with room: no lock, no clock, no retain.
        if !force && !latch.isSet && active.approximateMemoryUsage < options.writeBufferSize
            && !writeController.isSlowing && writeDebt() == 0 {
            return
        }
        var allowDelay = !force
        var force = force
        var stopped = false
        var stallStart: ContinuousClock.Instant?
        defer {
            if let start = stallStart {
                let d = ContinuousClock.now - start
                statistics.stallMicros.add(Int(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000), ordering: .relaxed)
                statistics.stalledNow.store(false, ordering: .relaxed)
            }
        }
        func stall(_ reason: String) {
            if stallStart == nil { stallStart = .now }
            statistics.stalledNow.store(true, ordering: .relaxed)
            statistics.lastStallReason.locked { $0 = reason }
        }
        while true {
            // Read before the state it decides on, so a step that finishes meanwhile is seen.
            let epoch = scheduler.progressEpoch
            if let error = latch.readOnlyError { throw error }
            let level0 = memtables.level0FileCount
            let frozenWaiting = memtables.hasImmutable
            if allowDelay {
                // Spread the wait over many writes, at a rate that falls while the debt grows,
                // instead of stopping writers for seconds.
                allowDelay = false
                let debt = writeDebt()
                // At full speed (the common case) a group pays nothing: no clock, no charge.
                guard debt > 0 || writeController.isSlowing else { continue }
                let wait = writeController.delay(
                    bytes: queuedBytes(), debt: debt, now: Self.monotonicNanoseconds(), recentRate: recentWriteRate)
                statistics.delayedRate.store(debt > 0 ? Int(writeController.rate) : 0, ordering: .relaxed)
                if wait > 0 {
                    let rate = Int(writeController.rate) >> 10
                    stall(frozenWaiting && level0 < slowdownTrigger
                        ? "a memtable is still being flushed while the next fills: writes slowed to \(rate) KiB/s"
                        : "level 0 has \(level0) files (slowdown trigger \(slowdownTrigger)): writes slowed to \(rate) KiB/s")
                    statistics.slowdowns.add(1, ordering: .relaxed)
                    statistics.delayMicros.add(Int(wait / 1000), ordering: .relaxed)
                    mutex.unlock()
                    kv_sleep_precisely(wait)
                    mutex.lock()
                }
            } else if !force && active.approximateMemoryUsage < options.writeBufferSize {
                return
            } else if frozenWaiting {
                stall("memtable full while the previous one is still being flushed: writes wait")
                if !stopped { statistics.stops.add(1, ordering: .relaxed); stopped = true }
                waitForBackground(after: epoch, counting: statistics.memtableStopMicros)
            } else if level0 >= stopTrigger {
                stall("level 0 has \(level0) files (stop trigger \(stopTrigger)): writes wait for compaction")
                if !stopped { statistics.stops.add(1, ordering: .relaxed); stopped = true }
                scheduler.signalWork()
                waitForBackground(after: epoch, counting: statistics.level0StopMicros)
            } else {
                if force && active.isEmpty { return }
                try switchMemtable()
                force = false
            }
        }
    }

    /// Lock held on entry and exit; released while the background thread works (the leader
    /// keeps `leading`, so no other writer leads meanwhile; new ones queue).
    private func waitForBackground(after epoch: UInt64, counting stopMicros: borrowing Atomic<Int>) {
        mutex.unlock()
        let start = Self.monotonicNanoseconds()
        scheduler.waitForProgress(after: epoch)
        stopMicros.add(Int((Self.monotonicNanoseconds() - start) / 1000), ordering: .relaxed)
        mutex.lock()
    }

    /// Freezes the memtable and starts a new log. Lock held.
    private func switchMemtable() throws(KVError) {
        let number = fileNumbers.allocate()
        let path = Path.join(directory, FileNames.log(number))
        do {
            // The old log is synced first: a synced write in the new log then implies the old
            // one is complete, so recovery never meets a hole before a synced write.
            try log.sync()
            let newLog = try LogWriter(file: fileSystem.createLog(path), fileNumber: number, purpose: .writeAheadLog)
            try fileSystem.syncDirectory(directory)
            while externalSyncs > 0 { externalSyncsDone.wait() }  // one may be syncing the old log
            try? log.close()
            log = newLog
        } catch {
            let failure = error
            scheduler.fail(failure, while: "starting log \(path)")
            throw failure
        }
        noteWriteRate()
        let fresh = Memtable(writeBufferSize: options.writeBufferSize)
        memtables.freeze(replacingWith: fresh, logNumber: number)
        active = fresh
        scheduler.signalWork()
    }

    /// Samples the write rate at a memtable switch: bytes written since the last switch over
    /// the time since. Lock held (the leader).
    private func noteWriteRate() {
        let now = Self.monotonicNanoseconds()
        let bytes = statistics.userBytesWritten.load(ordering: .relaxed)
        if let last = lastSwitch, now > last.nanoseconds {
            let rate = Double(bytes - last.bytes) * 1e9 / Double(now - last.nanoseconds)
            recentWriteRate = recentWriteRate.map { ($0 + rate) / 2 } ?? rate
        }
        lastSwitch = (now, bytes)
    }

    /// The leader plus the writers queued behind it, within the size limit. A group never
    /// puts a syncing follower behind a non-syncing leader (the leader decided not to sync),
    /// and stops at a flush request.
    private func assembleGroup() -> ArraySlice<PendingWrite> {
        let leader = writers[0]
        var bytes = leader.batch?.byteSize ?? 0
        // Small leaders keep groups small so a lone small write's latency stays low.
        let limit = bytes <= 128 << 10 ? bytes + (128 << 10) : Self.maxGroupBytes
        var end = 1
        while end < writers.count {
            let w = writers[end]
            guard let b = w.batch else { break }
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

    // MARK: Close

    /// Refuses new writes and waits for the queued ones (accepted before close began) and
    /// for syncs in flight, which use the log.
    func stopAccepting() {
        mutex.withLock {
            closed = true
            while !writers.isEmpty || leading { queueDrained.wait() }
            while externalSyncs > 0 { externalSyncsDone.wait() }
        }
    }

    /// After `stopAccepting`: makes the log durable (unless the store failed, when its state
    /// is unknown) and closes it.
    func closeLog() throws(KVError) {
        let log = mutex.withLock { self.log }
        defer { try? log.close() }
        if !latch.isSet {
            try log.sync()
        }
    }

    private func insert(_ batch: WriteBatch, into memtable: Memtable, firstSequence: UInt64) {
        batch.encoded.withUnsafeBytes { encoded in
            // Built by WriteBatch and validated by KVStore.write: decoding cannot fail.
            memtable.add(batch: encoded, count: batch.count, firstSequence: firstSequence, scratch: &insertScratch)
        }
    }
}
