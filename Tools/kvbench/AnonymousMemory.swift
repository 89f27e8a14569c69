#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The process's peak anonymous (non-file) resident memory, sampled from `/proc/self/status`
/// (`RssAnon`) every 100 ms, as peerbench does: a memory-mapped table's pages count in the
/// resident set but are the page cache's, so the two figures are reported apart.
enum AnonymousMemory {
    private static let peak = Synchronization.Atomic<Int>(0)

    static var peakKiB: Int {
        sample()
        return peak.load(ordering: .relaxed)
    }

    static func startSampling() {
        let thread = Thread {
            while true {
                sample()
                usleep(100_000)
            }
        }
        thread.name = "kvbench-rss-anon"
        thread.start()
    }

    private static func sample() {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return }
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kib = Int(line.dropFirst("RssAnon:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
            var current = peak.load(ordering: .relaxed)
            while kib > current {
                let (done, now) = peak.compareExchange(expected: current, desired: kib, ordering: .relaxed)
                if done { break }
                current = now
            }
        }
    }
}
