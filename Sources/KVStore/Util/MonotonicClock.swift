#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on `CLOCK_MONOTONIC`: durations (fdatasync times, stall waits, the server's
/// per-command timings), never dates. Shared with the server (`package`).
package enum MonotonicClock {
    package static func nanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    /// The same reading, unsigned, for the engine's arithmetic.
    static func unsignedNanoseconds() -> UInt64 { UInt64(nanoseconds()) }
}
