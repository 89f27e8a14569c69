import Foundation
import Synchronization

/// A `compactRange` request, waiting for or being run by the background thread. Its fields
/// are guarded by the scheduler's lock.
final class ManualCompaction {
    let begin: [UInt8]?
    let end: [UInt8]?
    var done = false
    var error: KVError?

    init(begin: [UInt8]?, end: [UInt8]?) {
        self.begin = begin
        self.end = end
    }
}

/// The background thread and what it does next: a frozen memtable's flush first, then a
/// requested `compactRange`, then the compaction the tree needs most. After each step it
/// tells the threads waiting for it — writers held by a stall, `flush` and `compactRange`
/// callers — that something changed.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards `manual`, `shuttingDown`
/// and `running`, and carries two conditions: `workAvailable`, which the thread waits on,
/// and `progressed`, which waiters wait on. `epoch` counts finished steps; it changes only
/// under `mutex` but is read without it, so a waiter reads it *before* it looks at the state
/// it waits on, and `waitForProgress(after:)` returns at once if a step finished in between
/// (no wake-up is lost). The jobs run with no lock held; `flusher` and `compactor` are
/// used by the thread alone. Lock order: the write queue's lock, then this one, then the
/// `MemtableSet`'s.
final class BackgroundScheduler: @unchecked Sendable {
    private let mutex = ConditionMutex()
    private let workAvailable: ConditionMutex.Condition
    private let progressed: ConditionMutex.Condition
    private let epoch = Atomic<UInt64>(0)
    private var manual: ManualCompaction?
    private var shuttingDown = false
    private var running = false

    private let flusher: Flusher
    private let compactor: Compactor
    private let memtables: MemtableSet
    private let latch: FailureLatch
    private let hold: (any CompactionHold)?

    init(flusher: Flusher, compactor: Compactor, memtables: MemtableSet, latch: FailureLatch, hold: (any CompactionHold)?) {
        self.flusher = flusher
        self.compactor = compactor
        self.memtables = memtables
        self.latch = latch
        self.hold = hold
        workAvailable = ConditionMutex.Condition(mutex)
        progressed = ConditionMutex.Condition(mutex)
        compactor.yieldPoint = { [unowned self] in self.flushIfWaiting() }
        compactor.mayContinue = { [unowned self] in !self.latch.isSet && !self.mutex.withLock { self.shuttingDown } }
    }

    func start() {
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

    /// Finished steps so far; read it before looking at what you wait for.
    var progressEpoch: UInt64 { epoch.load(ordering: .acquiring) }

    /// Waits until a step finishes after `epoch` was read (at once if one has), or the
    /// thread stops.
    func waitForProgress(after seen: UInt64) {
        mutex.withLock {
            while epoch.load(ordering: .relaxed) == seen && running { progressed.wait() }
        }
    }

    /// Records the store's first failure and wakes every waiter, so none waits for a
    /// thread that will do no more.
    func fail(_ error: KVError, while doing: String) {
        latch.record(error, while: doing)
        mutex.withLock { bumpProgress() }
    }

    /// Runs a `compactRange` request and waits for it.
    func compactRange(begin: [UInt8]?, end: [UInt8]?) throws(KVError) {
        mutex.lock()
        defer { mutex.unlock() }
        // The thread takes no request after a failure, and none after shutdown.
        func stopped() throws(KVError) {
            if let error = latch.readOnlyError { throw error }
            if shuttingDown || !running { throw .closed }
        }
        while manual != nil {
            try stopped()
            progressed.wait()
        }
        try stopped()
        let request = ManualCompaction(begin: begin, end: end)
        manual = request
        workAvailable.signal()
        while !request.done {
            do {
                try stopped()
            } catch {
                if manual === request { manual = nil }
                throw error
            }
            progressed.wait()
        }
        if let e = request.error { throw .readOnly(reason: e.description) }
    }

    /// Blocks until no flush or compaction is due (tests and benchmarks settle with it).
    func waitUntilIdle() {
        mutex.lock()
        defer { mutex.unlock() }
        while true {
            let seen = epoch.load(ordering: .relaxed)
            let state = memtables.current
            let due = state.immutableMemtable != nil || manual != nil
                || (!(hold?.holdsCompactions ?? false) && state.version.needsCompaction)
            guard due, running, !latch.isSet else { return }
            workAvailable.signal()
            while epoch.load(ordering: .relaxed) == seen && running { progressed.wait() }
        }
    }

    /// Stops the thread after the step it is running, and waits for it to end.
    func shutdown() {
        mutex.lock()
        shuttingDown = true
        workAvailable.broadcast()
        while running { progressed.wait() }
        mutex.unlock()
    }

    // MARK: The thread

    private enum Task {
        case flush
        case manual(ManualCompaction)
        case compaction(Compaction)
    }

    private func main() {
        mutex.lock()
        while !shuttingDown {
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
            mutex.lock()
            bumpProgress()
        }
        running = false
        if let manual {
            manual.error = latch.failure ?? .closed
            manual.done = true
            self.manual = nil
        }
        bumpProgress()
        mutex.unlock()
    }

    /// Lock held. Flushes come first: writers may be waiting for one.
    private func nextTask() -> Task? {
        guard !latch.isSet else { return nil }
        if memtables.current.immutableMemtable != nil { return .flush }
        if let manual, !manual.done { return .manual(manual) }
        if !(hold?.holdsCompactions ?? false), let c = compactor.pick() { return .compaction(c) }
        return nil
    }

    /// No lock held.
    private func perform(_ task: Task) {
        switch task {
        case .flush:
            runFlush()
        case .manual(let request):
            var failure: KVError?
            do {
                try compactor.compactRange(begin: request.begin, end: request.end)
            } catch {
                failure = error
                latch.record(error, while: "compacting a requested range")
            }
            mutex.withLock {
                request.error = failure ?? latch.failure
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

    private func runFlush() {
        do {
            try flusher.flush()
            try compactor.afterStep()
        } catch {
            latch.record(error, while: "flushing the memtable")
        }
    }

    /// The compactor's yield point: a memtable frozen meanwhile is flushed now rather than
    /// after the whole compaction, so writers do not wait that long.
    private func flushIfWaiting() {
        guard !latch.isSet, memtables.current.immutableMemtable != nil else { return }
        guard !mutex.withLock({ shuttingDown }) else { return }
        runFlush()
        mutex.withLock { bumpProgress() }
    }

    /// Lock held.
    private func bumpProgress() {
        epoch.add(1, ordering: .releasing)
        progressed.broadcast()
    }
}
