#if canImport(Glibc)
import Glibc
#endif
import KVStore

/// `make run` until the server lands: a short, real round trip through the engine.
/// Writes keys in batches and one by one, closes, reopens (replaying the write-ahead log),
/// reads every key back and prints what happened and how fast.
@main
struct KVDemo {
    static func main() {
        let directory = CommandLine.arguments.dropFirst().first ?? "./data"
        let count = 200_000
        do {
            try run(directory: directory, count: count)
        } catch {
            printError("kvdemo: \(error)\n")
            exit(1)
        }
    }

    static func key(_ i: Int) -> [UInt8] {
        var s = String(i)
        s = String(repeating: "0", count: max(0, 16 - s.count)) + s
        return Array(s.utf8)
    }

    static func value(_ i: Int) -> [UInt8] {
        var v = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        for j in 0..<50 {
            x ^= x >> 29
            x = x &* 0xBF58_476D_1CE4_E5B9
            v[j] = UInt8(ascii: "a") + UInt8(x % 26)
        }
        return v
    }

    static func run(directory: String, count: Int) throws {
        print("KVStore demo in \(directory)")
        var clock = Stopwatch()
        let store = try KVStore.open(at: directory)
        print("  opened in \(clock.lap()); recovery replayed \(store.recoveryReport.operationsReplayed) operations from \(store.recoveryReport.logsReplayed) logs")

        for i in 0..<(count / 2) { try store.put(key(i), value(i)) }
        let single = clock.lap()
        print("  put \(count / 2) keys one by one: \(single) (\(rate(count / 2, single)))")

        var batch = WriteBatch()
        for i in (count / 2)..<count {
            batch.put(key(i), value(i))
            if batch.count == 1000 {
                try store.write(batch)
                batch.removeAll()
            }
        }
        try store.write(batch, options: WriteOptions(sync: true))
        let batched = clock.lap()
        print("  put \(count / 2) keys in batches of 1000 (last one synced): \(batched) (\(rate(count / 2, batched)))")

        try store.delete(key(0))
        try store.close()
        print("  closed in \(clock.lap())")

        let reopened = try KVStore.open(at: directory)
        let reopen = clock.lap()
        print("  reopened in \(reopen): replayed \(reopened.recoveryReport.operationsReplayed) operations, last sequence \(reopened.recoveryReport.lastSequence)")

        var found = 0
        var wrong = 0
        for i in 0..<count {
            if let v = try reopened.get(key(i)) {
                found += 1
                if v != value(i) { wrong += 1 }
            }
        }
        let reads = clock.lap()
        print("  read back \(count) keys: \(found) found, \(wrong) wrong, key 0 deleted: \(try reopened.get(key(0)) == nil) in \(reads) (\(rate(count, reads)))")
        try reopened.close()
        guard found == count - 1, wrong == 0 else {
            printError("kvdemo: read-back mismatch\n")
            exit(1)
        }
        print("  ok")
    }

    static func rate(_ n: Int, _ d: Duration) -> String {
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return "\(Int(Double(n) / max(seconds, 1e-9))) ops/s"
    }
}

struct Stopwatch {
    private var last = ContinuousClock.now

    mutating func lap() -> Duration {
        let now = ContinuousClock.now
        defer { last = now }
        return now - last
    }
}

func printError(_ message: String) {
    let bytes = Array(message.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
