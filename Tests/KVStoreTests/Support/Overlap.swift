import Foundation
import Synchronization

/// Readers that provably run while a writer writes.
///
/// `DispatchQueue.concurrentPerform` runs at most one iteration per core, so on one core a
/// test's readers may only start once its writer has finished, and "no reader saw a wrong
/// value" then holds without a single read having raced a write. Here the writer and the
/// readers are threads of their own; the writer starts once every reader has, and calls
/// `halfway()` mid-way, which returns once each reader has read `readsEach` times (or after
/// 30 seconds, which the caller's count then shows).
enum Overlap {
    /// Runs `write` on one thread and `read` in a loop on `readers` others; returns how many
    /// reads began while the writer was still writing.
    static func run(
        readers: Int, readsEach: Int,
        write: @escaping @Sendable (_ halfway: () -> Void) -> Void,
        read: @escaping @Sendable (_ reader: Int) -> Void
    ) -> Int {
        let writing = Atomic<Bool>(true)
        let started = Atomic<Int>(0)
        let satisfied = Atomic<Int>(0)
        let overlapped = Atomic<Int>(0)
        let done = DispatchGroup()
        for r in 0..<readers {
            done.enter()
            Thread {
                started.add(1, ordering: .releasing)
                var n = 0
                while writing.load(ordering: .acquiring) {
                    read(r)
                    overlapped.add(1, ordering: .relaxed)
                    n += 1
                    if n == readsEach { satisfied.add(1, ordering: .releasing) }
                }
                done.leave()
            }.start()
        }
        done.enter()
        Thread {
            while started.load(ordering: .acquiring) < readers { sched_yield() }
            write {
                let deadline = Date().addingTimeInterval(30)
                while satisfied.load(ordering: .acquiring) < readers && Date() < deadline { usleep(200) }
            }
            writing.store(false, ordering: .releasing)
            done.leave()
        }.start()
        done.wait()
        return overlapped.load(ordering: .relaxed)
    }
}
