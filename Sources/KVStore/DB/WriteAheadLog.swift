import Synchronization

/// The log being written: the one owner of the current `LogWriter` and of its number.
///
/// The commit leader appends and syncs; the leader (switching memtables) rotates to a new
/// log; any thread may sync concurrently (`syncConcurrently`, a server's once-a-second
/// fdatasync) without taking a turn in the commit queue; `close` ends it.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards the `log` reference,
/// `concurrentSyncs` and `closed`. The reference changes only in `rotate`, which the commit
/// leader calls under `mutex`; the leader also appends and syncs through it without the lock,
/// which is safe because it is the only thread that ever replaces it (leaders are serialized
/// by the commit queue). `number` mirrors `log.fileNumber` in an atomic so readers elsewhere
/// (the flusher, obsolete-file deletion) need no lock.
final class WriteAheadLog: @unchecked Sendable {
    private let mutex = ConditionMutex()
    /// Broadcast when the last concurrent sync in flight returns.
    private let syncsDone: ConditionMutex.Condition
    private var log: LogWriter
    private var concurrentSyncs = 0
    private var closed = false
    private let number: Atomic<UInt64>
    private let directory: String
    private let fileSystem: any FileSystem
    private let latch: FailureLatch
    private let statistics: EngineStatistics

    init(log: LogWriter, directory: String, fileSystem: any FileSystem, latch: FailureLatch, statistics: EngineStatistics) {
        self.log = log
        self.number = Atomic(log.fileNumber)
        self.directory = directory
        self.fileSystem = fileSystem
        self.latch = latch
        self.statistics = statistics
        syncsDone = ConditionMutex.Condition(mutex)
    }

    /// The number of the log writes go to now. While a frozen memtable waits to be flushed,
    /// every log below this one holds only its writes.
    var currentNumber: UInt64 { number.load(ordering: .acquiring) }

    /// Appends one record (a group's batch). The commit leader only.
    func append(_ record: [UInt8]) throws(KVError) {
        do {
            try log.add(record)
        } catch {
            // Sticky: the log's state is unknown, so no later write may claim success.
            latch.record(error, while: "appending to \(log.path)")
            throw error
        }
    }

    /// fdatasync of the current log. The commit leader only; returns the time it took (ns).
    func sync() throws(KVError) -> UInt64 {
        let started = MonotonicClock.unsignedNanoseconds()
        do {
            try log.sync()
        } catch {
            latch.record(error, while: "syncing \(log.path)")
            throw error
        }
        statistics.walSyncs.add(1, ordering: .relaxed)
        return MonotonicClock.unsignedNanoseconds() - started
    }

    /// Syncs the log without a turn in the commit queue, so writers keep appending while the
    /// fdatasync runs. It covers every write acknowledged before the call: those appends
    /// finished before it, and fdatasync makes durable everything written to the file before
    /// it started; a log retired meanwhile was synced when it was retired. A rotation or close
    /// waits for it before closing the log it syncs.
    func syncConcurrently() throws(KVError) {
        if let error = latch.readOnlyError { throw error }
        mutex.lock()
        if closed {
            mutex.unlock()
            throw KVError.closed
        }
        let target = log
        concurrentSyncs += 1
        mutex.unlock()
        var failure: KVError?
        do {
            try target.sync()
            statistics.walSyncs.add(1, ordering: .relaxed)
        } catch {
            failure = error
        }
        mutex.lock()
        concurrentSyncs -= 1
        if concurrentSyncs == 0 { syncsDone.broadcast() }
        mutex.unlock()
        if let failure {
            latch.record(failure, while: "syncing \(target.path)")
            throw failure
        }
    }

    /// Ends the current log and starts log `newNumber`. The old log is synced first: a synced
    /// write in the new log then implies the old one is complete, so recovery never meets a
    /// hole before a synced write. The new log's directory entry is synced before any write
    /// can count on it. The commit leader only.
    func rotate(to newNumber: UInt64) throws(KVError) {
        let path = Path.join(directory, FileNames.log(newNumber))
        do {
            try log.sync()
            let next = try LogWriter(file: fileSystem.createLog(path), fileNumber: newNumber, purpose: .writeAheadLog)
            try fileSystem.syncDirectory(directory)
            let old = mutex.withLock {
                while concurrentSyncs > 0 { syncsDone.wait() }  // one may be syncing the old log
                let old = log
                log = next
                number.store(newNumber, ordering: .releasing)
                return old
            }
            try? old.close()
        } catch {
            latch.record(error, while: "starting log \(path)")
            throw error
        }
    }

    /// After the last append: makes the log durable (unless the store failed, when its state
    /// is unknown) and closes it, once concurrent syncs have returned.
    func close() throws(KVError) {
        let log = mutex.withLock {
            closed = true
            while concurrentSyncs > 0 { syncsDone.wait() }
            return self.log
        }
        defer { try? log.close() }
        if !latch.isSet {
            try log.sync()
        }
    }
}
