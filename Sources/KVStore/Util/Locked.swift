import CKVSupport
import Synchronization

extension Mutex where Value: Sendable {
    /// `withLock`, annotated for ThreadSanitizer. On Linux, Synchronization's Mutex sleeps on
    /// a futex that TSan does not model, so without the annotations every access it guards is
    /// reported as a race. The mutex's own address is the synchronization token; in ordinary
    /// builds the annotations cost a null check.
    @inline(__always)
    package borrowing func locked<R: Sendable, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        let token = withUnsafePointer(to: self) { UnsafeMutableRawPointer(mutating: $0) }
        return try withLock { (value: inout sending Value) throws(E) -> sending R in
            kv_tsan_acquire(token)
            defer { kv_tsan_release(token) }
            return try body(&value)
        }
    }
}
