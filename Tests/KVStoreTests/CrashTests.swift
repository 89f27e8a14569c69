import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

/// A real child process writes and reports each acknowledged write; it is killed with SIGKILL
/// at random moments, and after each kill the store must hold every acknowledged write, with
/// every batch all-or-nothing.
@Suite struct CrashTests {
    @Test func killNineLosesNothingAcknowledged() throws {
        try run(cycles: 20, small: false)
    }

    /// Small memtables and 1 KiB values: flushes and compactions run constantly, so the kills
    /// land in the middle of them. After each reopen no referenced table may be missing (the
    /// open would fail) and no unreferenced table may be left.
    @Test func killNineDuringFlushesAndCompactions() throws {
        try run(cycles: 12, small: true)
    }

    /// The crash test's driver (also `make crash`), bounded: a four-thread stress process
    /// doing puts, deletes, batches and range deletions with randomized options, killed at
    /// random moments; after each restart every journaled operation is checked.
    @Test func crashDriverVerifiesJournaledHistory() throws {
        let dir = TemporaryDirectory("kvdrive")
        let child = try ChildProcess(productPath("kvcrash"), ["drive", "--dir", dir.path + "/db", "--cycles", "6", "--duration", "1"])
        let lines = child.allLines()
        print(lines.joined(separator: "\n"))
        #expect(lines.last?.hasPrefix("crash test passed") == true)
        #expect(lines.contains { $0.contains("store verified") })
    }

    func run(cycles: Int, small: Bool) throws {
        let dir = TemporaryDirectory("kvcrash")
        let seed = UInt64.random(in: 0..<UInt64.max)
        print("CrashTests seed: \(seed)")
        var rng = SplitMix64(seed: seed)
        var acked: [[String]] = []
        let padding = small ? [UInt8](repeating: UInt8(ascii: "."), count: 1000) : []
        for cycle in 0..<cycles {
            let child = try ChildProcess(productPath("kvcrash"), ["writer", dir.path, String(cycle)] + (small ? ["--small"] : []))
            #expect(child.readLine(timeout: 60) == "READY", "seed \(seed) cycle \(cycle)")
            usleep(UInt32.random(in: 0..<(small ? 400_000 : 150_000), using: &rng))
            child.kill()
            acked.append(Array(child.allLines().dropFirst()))

            // Compactions held, so the files seen right after open are what open left.
            var options = Options()
            options.compactionHold = PauseSwitch(paused: true)
            let store = try KVStore.open(at: dir.path, options: options)
            let tables = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }
            #expect(tables.count == store.statistics().levels.reduce(0) { $0 + $1.files }, "seed \(seed): unreferenced tables left")
            for (c, lines) in acked.enumerated() {
                var highest = -1
                for line in lines {
                    let parts = line.split(separator: " ")
                    guard parts.count == 2, let i = Int(parts[1]) else { continue }
                    highest = max(highest, i)
                    let value = bytes("v\(i)") + padding
                    if parts[0] == "P" {
                        #expect(try store.get(bytes("c\(c)-k\(i)")) == value, "seed \(seed): lost put \(i) of cycle \(c)")
                    } else {
                        for part in 0..<3 {
                            #expect(try store.get(bytes("c\(c)-b\(i)-\(part)")) == value, "seed \(seed): lost batch \(i) of cycle \(c)")
                        }
                    }
                }
                // Unacknowledged batches just past the last ack: all or nothing.
                for i in (highest + 1)..<(highest + 20) where i % 5 == 0 {
                    let present = try (0..<3).filter { try store.get(bytes("c\(c)-b\(i)-\($0)")) != nil }.count
                    #expect(present == 0 || present == 3, "seed \(seed): torn batch \(i) of cycle \(c)")
                }
            }
            try store.close()
        }
        #expect(acked.reduce(0) { $0 + $1.count } > 0)
        if small {
            let store = try KVStore.open(at: dir.path)
            let stats = store.statistics()
            print("crash test (small buffers): \(acked.reduce(0) { $0 + $1.count }) acknowledged writes; levels \(stats.levels.map(\.files))")
            try store.close()
        }
    }
}
