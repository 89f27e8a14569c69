import Foundation
import Synchronization

/// A request another thread hands the background thread and waits for: a `compactRange`, or
/// a contents replacement. Its `done` and `error` are guarded by the scheduler's lock.
final class BackgroundRequest {
    enum Work {
        case compactRange(begin: [UInt8]?, end: [UInt8]?)
        case replaceContents(ContentsReplacement)
    }

    let work: Work
    var done = false
    var error: KVError?

    init(_ work: Work) {
        self.work = work
    }
}

/// The background thread and what it does next: a frozen memtable's flush first, then a
/// request (`compactRange`, a contents replacement), then the compaction the tree needs most. After each step it
/// advances `BackgroundProgress`, which is what stalled writers and `flush`/`compactRange`
/// callers wait on. The thread owns `LiveFiles` (the version set and its MANIFEST) from
/// `start` until it exits, when it closes the MANIFEST.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards `manual` and `running`, and
/// carries `workAvailable`, which the thread waits on. The jobs run with no lock held;
/// `files`, `flusher` and `compactor` are used by the thread alone (and by `start` before the
/// thread exists). Lock order: this lock, then the `MemtableSet`'s; the progress counter's
/// lock is a leaf.
final class BackgroundScheduler: @unchecked Sendable {
    private let mutex = ConditionMutex()
    private let workAvailable: ConditionMutex.Condition
    private var manual: BackgroundRequest?
    private var running = false
    private let shutdownFlag: ShutdownFlag

    private let files: LiveFiles
    private let flusher: Flusher
    private let compactor: Compactor
    private let memtables: MemtableSet
    private let latch: FailureLatch
    private let progress: BackgroundProgress
    private let hold: (any CompactionHold)?
    private let options: Options
    private let infoLog: InfoLog
    private let snapshots: SnapshotList

    init(
        files: LiveFiles, flusher: Flusher, compactor: Compactor, memtables: MemtableSet, latch: FailureLatch,
        progress: BackgroundProgress, shutdown: ShutdownFlag, hold: (any CompactionHold)?, options: Options, infoLog: InfoLog,
        snapshots: SnapshotList
    ) {
        self.snapshots = snapshots
        self.options = options
        self.infoLog = infoLog
        self.files = files
        self.flusher = flusher
        self.compactor = compactor
        self.memtables = memtables
        self.latch = latch
        self.progress = progress
        self.shutdownFlag = shutdown
        self.hold = hold
        workAvailable = ConditionMutex.Condition(mutex)
    }

    /// Deletes what the last run left behind, then starts the thread.
    func start() {
        files.deleteObsoleteFiles()
        mutex.withLock { running = true }
        let thread = Thread { [self] in main() }
        thread.name = "kvstore-background"
        thread.start()
    }

    // MARK: For other threads

    /// There may be something to do (a memtable was frozen, a read found a table worth
    /// compacting).
    func signalWork() {
        mutex.withLock { workAvailable.signal() }
    }

    /// Runs a `compactRange` request and waits for it.
    func compactRange(begin: [UInt8]?, end: [UInt8]?) throws(KVError) {
        if let e = try run(BackgroundRequest(.compactRange(begin: begin, end: end))) {
            throw .readOnly(reason: e.description)
        }
    }

    /// Runs a contents replacement and waits for it (see `ContentsReplacement`).
    func replaceContents(_ replacement: ContentsReplacement) throws(KVError) {
        if let e = try run(BackgroundRequest(.replaceContents(replacement))) { throw e }
    }

    /// Hands `request` to the thread (one at a time) and waits until it is done; returns the
    /// error it ended with. Throws if the thread has stopped, or stops first.
    private func run(_ request: BackgroundRequest) throws(KVError) -> KVError? {
        // The thread takes no request after a failure, and none after shutdown.
        func stopped() throws(KVError) {
            if let error = latch.readOnlyError { throw error }
            if shutdownFlag.isSet || !running { throw .closed }
        }
        // Wait for a turn: one request at a time.
        while true {
            let seen = progress.epoch
            let queued = try mutex.withLock { () throws(KVError) -> Bool in
                try stopped()
                guard manual == nil else { return false }
                manual = request
                workAvailable.signal()
                return true
            }
            if queued { break }
            progress.wait(after: seen)
        }
        while true {
            let seen = progress.epoch
            let finished = try mutex.withLock { () throws(KVError) -> Bool in
                if request.done { return true }
                do throws(KVError) {
                    try stopped()
                } catch {
                    if manual === request { manual = nil }
                    throw error
                }
                return false
            }
            if finished { break }
            progress.wait(after: seen)
        }
        return mutex.withLock { request.error }
    }

    /// Blocks until no flush or compaction is due (tests and benchmarks settle with it).
    func waitUntilIdle() {
        while true {
            let seen = progress.epoch
            let due = mutex.withLock { () -> Bool in
                let state = memtables.current
                let due = state.immutableMemtable != nil || manual != nil
                    || (!(hold?.holdsCompactions ?? false) && state.version.needsCompaction)
                guard due, running, !latch.isSet else { return false }
                workAvailable.signal()
                return true
            }
            guard due else { return }
            progress.wait(after: seen)
        }
    }

    /// Stops the thread after the step it is running, and waits for it to end.
    func shutdown() {
        shutdownFlag.set()
        mutex.withLock { workAvailable.broadcast() }
        while true {
            let seen = progress.epoch
            if !mutex.withLock({ running }) { return }
            progress.wait(after: seen)
        }
    }

    // MARK: The thread

    private enum Task {
        case flush
        case manual(BackgroundRequest)
        case compaction(Compaction)
    }

    private func main() {
        mutex.lock()
        while !shutdownFlag.isSet {
            guard let task = nextTask() else {
                // A held switch is polled: its owner flips it without telling anyone.
                if hold?.holdsCompactions ?? false {
                    workAvailable.wait(seconds: 0.01)
                } else {
                    workAvailable.wait()
                }
                continue
            }
            mutex.unlock()
            perform(task)
            progress.advance()
            mutex.lock()
        }
        if let manual {
            manual.error = latch.failure ?? .closed
            manual.done = true
            self.manual = nil
        }
        mutex.unlock()
        files.close()
        mutex.withLock { running = false }
        progress.advance()
    }

    /// Lock held. Flushes come first: writers may be waiting for one.
    private func nextTask() -> Task? {
        guard !latch.isSet else { return nil }
        if memtables.hasImmutable { return .flush }
        if let manual, !manual.done { return .manual(manual) }
        if !(hold?.holdsCompactions ?? false), let c = compactor.pick() { return .compaction(c) }
        return nil
    }

    /// No lock held.
    private func perform(_ task: Task) {
        switch task {
        case .flush:
            do {
                try flusher.flush()
                try compactor.afterStep()
            } catch {
                latch.record(error, while: "flushing the memtable")
            }
        case .manual(let request):
            var failure: KVError?
            switch request.work {
            case .compactRange(let begin, let end):
                do {
                    try compactor.compactRange(begin: begin, end: end)
                } catch {
                    failure = error
                    latch.record(error, while: "compacting a requested range")
                }
                failure = failure ?? latch.failure
            case .replaceContents(let replacement):
                do {
                    try replacement.run(
                        files: files, snapshots: snapshots, options: options, directory: files.directory, latch: latch, infoLog: infoLog)
                } catch {
                    failure = error
                }
                if failure == nil {
                    // The old tables and logs go now (those a reader still holds, later).
                    do { try compactor.afterStep() } catch { latch.record(error, while: "collecting range tombstones") }
                }
            }
            mutex.withLock {
                request.error = failure
                request.done = true
                if manual === request { manual = nil }
            }
        case .compaction(let c):
            do {
                try compactor.run(c)
                try compactor.afterStep()
            } catch {
                latch.record(error, while: "compacting level \(c.level)")
            }
        }
    }
}
