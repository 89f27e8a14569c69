import Foundation
import Synchronization

/// A task executor with threads of its own, so a test can run tasks where nothing else in
/// the (parallel) test run competes for threads: if one of its tasks blocks a thread, the
/// test sees it, whatever the other tests do with Swift's global pool.
final class ThreadTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `stopped` are guarded by `lock` (an NSCondition), and
    // UnownedJob is only run by the thread that dequeued it.
    private let lock = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [self] in run() }
            thread.name = "test-executor-\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.lock()
        jobs.append(unowned)
        lock.signal()
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopped { lock.wait() }
            if jobs.isEmpty {
                lock.unlock()
                return
            }
            let job = jobs.removeFirst()
            lock.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
