#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Threads of the store's own on which async callers' work may block — on the disk, a write
/// stall, an fdatasync, a compaction — so that no thread of Swift concurrency's cooperative
/// pool ever does. Threads start on demand, up to `maxThreads`, and stay until `shutdown`.
///
/// Locking (why `@unchecked Sendable` is sound): `mutex` guards `jobs`, `threads`, `idle`
/// and `stopping`; jobs run with it released.
final class BlockingExecutor: @unchecked Sendable {
    /// Enough that a few writers held by a stall cannot starve the reads that need the disk.
    static let maxThreads = 16

    private let mutex = ConditionMutex()
    private let workArrived: ConditionMutex.Condition
    private var jobs: [() -> Void] = []
    private var threads = 0
    private var idle = 0
    private var stopping = false

    init() {
        workArrived = ConditionMutex.Condition(mutex)
    }

    /// Runs `body` on one of the executor's threads and returns its result to the caller's
    /// task. After `shutdown`, fails with `KVError.closed` without running it.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(KVError) -> T) async throws(KVError) -> T {
        let result: Result<T, KVError> = await withCheckedContinuation { continuation in
            let accepted = enqueue {
                continuation.resume(returning: Result { () throws(KVError) -> T in try body() })
            }
            if !accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    private func enqueue(_ job: @escaping () -> Void) -> Bool {
        mutex.lock()
        defer { mutex.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        if idle > 0 {
            workArrived.signal()
        } else if threads < Self.maxThreads {
            threads += 1
            let thread = Thread { [self] in work() }
            thread.name = "kvstore-blocking"
            thread.start()
        }
        return true
    }

    private func work() {
        mutex.lock()
        while true {
            if let job = jobs.first {
                jobs.removeFirst()
                mutex.unlock()
                job()
                mutex.lock()
            } else if stopping {
                break
            } else {
                idle += 1
                workArrived.wait()
                idle -= 1
            }
        }
        threads -= 1
        mutex.unlock()
    }

    /// Refuses new work; queued jobs still run, then the threads end. Does not wait for them
    /// (it may be called from one of them: an async `close`).
    func shutdown() {
        mutex.withLock {
            stopping = true
            workArrived.broadcast()
        }
    }
}
