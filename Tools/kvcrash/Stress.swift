#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVStore
import KVStoreTesting

/// The stress process of the crash test (`kvcrash stress`): several threads do random puts,
/// deletes, batches, range deletions and reads on their own slice of the key space, with
/// options drawn from the seed, and journal every operation before ("P") and after ("C") the
/// store call. The driver kills it with SIGKILL and checks the store against the journal.
///
/// Journal lines (one `write(2)` each on an O_APPEND descriptor, so whole lines survive):
///     P <thread> <n> put <key> <value>
///     P <thread> <n> del <key>
///     P <thread> <n> range <lo> <hi>
///     P <thread> <n> batch <put|del> <key> [<value>] ; …
///     C <thread> <n>
/// Each thread owns the keys `t<thread>-k<index>`, so its history is sequential and its own
/// reads can be checked exactly while it runs (a mismatch exits with status 5).
enum Stress {
    struct Settings {
        var directory: String
        var journal: String
        var seed: UInt64
        var threads = 4
        var keysPerThread = 500
    }

    static func key(_ thread: Int, _ index: Int) -> String {
        let s = String(index)
        return "t\(thread)-k" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    /// Options drawn from the seed, so each run exercises a different shape of tree.
    static func options(seed: UInt64) -> Options {
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        var o = Options()
        o.compression = [Compression.none, .lz4, .zlib][Int(rng.next() % 3)]
        o.blockSize = [1024, 4096, 16384][Int(rng.next() % 3)]
        o.writeBufferSize = [64 << 10, 256 << 10, 1 << 20][Int(rng.next() % 3)]
        o.targetFileSize = [64 << 10, 512 << 10, 2 << 20][Int(rng.next() % 3)]
        o.maxBytesForLevelBase = 1 << 20
        o.bloomBitsPerKey = [0, 10][Int(rng.next() % 2)]
        return o
    }

    static func run(_ s: Settings) throws {
        let store = try KVStore.open(at: s.directory, options: options(seed: s.seed))
        let fd = open(s.journal, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw KVError.io(operation: "open", path: s.journal, errno: errno) }
        // Each thread's exact state, to check its own reads. Start from what the store holds.
        var initial: [[String: String]] = Array(repeating: [:], count: s.threads)
        for (k, v) in try store.entries() {
            let key = String(decoding: k, as: UTF8.self)
            if let t = Int(key.dropFirst().prefix { $0 != "-" }), t < s.threads {
                initial[t][key] = String(decoding: v, as: UTF8.self)
            }
        }
        say("READY")
        let done = DispatchGroup()
        for t in 0..<s.threads {
            done.enter()
            let start = initial[t]
            Thread {
                do {
                    try worker(t, store: store, journal: fd, settings: s, model: start)
                } catch {
                    FileHandle.standardError.write(Data("stress thread \(t): \(error)\n".utf8))
                    exit(4)
                }
                done.leave()
            }.start()
        }
        done.wait()
    }

    private static func worker(_ t: Int, store: KVStore, journal: Int32, settings s: Settings, model start: [String: String]) throws {
        var rng = SplitMix64(seed: s.seed &+ UInt64(t) &* 0x9E37_79B9)
        var model = start
        var n = 0
        func line(_ text: String) {
            let bytes = Array((text + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(journal, $0.baseAddress, $0.count) }
        }
        func randomKey() -> String { key(t, Int(rng.next() % UInt64(s.keysPerThread))) }
        while true {
            n += 1
            let value = "v\(t).\(n)"
            let sync = rng.next() % 10 == 0
            switch rng.next() % 100 {
            case 0..<45:
                let k = randomKey()
                line("P \(t) \(n) put \(k) \(value)")
                try store.put(Array(k.utf8), Array(value.utf8), options: WriteOptions(sync: sync))
                model[k] = value
            case 45..<60:
                let k = randomKey()
                line("P \(t) \(n) del \(k)")
                try store.delete(Array(k.utf8), options: WriteOptions(sync: sync))
                model[k] = nil
            case 60..<63:
                let a = Int(rng.next() % UInt64(s.keysPerThread))
                let b = min(s.keysPerThread, a + Int(rng.next() % 40))
                let lo = key(t, a), hi = key(t, b)
                line("P \(t) \(n) range \(lo) \(hi)")
                try store.deleteRange(from: Array(lo.utf8), to: Array(hi.utf8), options: WriteOptions(sync: sync))
                for k in model.keys where k >= lo && k < hi { model[k] = nil }
            case 63..<78:
                var batch = WriteBatch()
                var parts: [String] = []
                var staged = model
                for i in 0..<Int(2 + rng.next() % 4) {
                    let k = randomKey()
                    if rng.next() % 3 == 0 {
                        batch.delete(Array(k.utf8))
                        parts.append("del \(k)")
                        staged[k] = nil
                    } else {
                        let v = "\(value).\(i)"
                        batch.put(Array(k.utf8), Array(v.utf8))
                        parts.append("put \(k) \(v)")
                        staged[k] = v
                    }
                }
                line("P \(t) \(n) batch " + parts.joined(separator: " ; "))
                try store.write(batch, options: WriteOptions(sync: sync))
                model = staged
            default:
                let k = randomKey()
                let got = try store.get(Array(k.utf8)).map { String(decoding: $0, as: UTF8.self) }
                if got != model[k] {
                    FileHandle.standardError.write(Data("MISMATCH thread \(t) key \(k): store \(got ?? "nil"), expected \(model[k] ?? "nil")\n".utf8))
                    exit(5)
                }
                continue
            }
            line("C \(t) \(n)")
        }
    }
}
