#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with condition variables, for the waits `Synchronization.Mutex` cannot
/// express (it has no condition variable). The mutex and every condition live on the heap
/// at fixed addresses, as pthreads require.
///
/// `@unchecked Sendable`: the pthread objects are designed for cross-thread use; callers
/// guard their own state with `lock()`/`unlock()` or `withLock`.
final class ConditionMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// A condition variable tied to this mutex's mutex.
    final class Condition: @unchecked Sendable {
        private let cond: UnsafeMutablePointer<pthread_cond_t>
        private unowned let mutex: ConditionMutex

        init(_ mutex: ConditionMutex) {
            self.mutex = mutex
            cond = .allocate(capacity: 1)
            pthread_cond_init(cond, nil)
        }

        deinit {
            pthread_cond_destroy(cond)
            cond.deallocate()
        }

        /// Waits; the caller holds the mutex's lock (re-acquired on return).
        func wait() { pthread_cond_wait(cond, mutex.mutex) }

        /// Waits at most `seconds`; returns false on timeout.
        @discardableResult
        func wait(seconds: Double) -> Bool {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + seconds
            var deadline = timespec()
            deadline.tv_sec = Int(total)
            deadline.tv_nsec = Int((total - Double(Int(total))) * 1e9)
            return pthread_cond_timedwait(cond, mutex.mutex, &deadline) == 0
        }

        func signal() { pthread_cond_signal(cond) }
        func broadcast() { pthread_cond_broadcast(cond) }
    }
}
