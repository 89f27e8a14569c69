#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVStore
import KVStoreTesting

/// The crash-test driver (`kvcrash drive`): runs `kvcrash stress` against one directory,
/// kills it with SIGKILL at a random moment, reopens the store and checks every thread's keys
/// against the journal, then repeats. A committed operation must be in the store; the one
/// operation a thread had in flight may or may not be, but wholly (a batch or range deletion
/// all-or-nothing). Prints the seed of every cycle for replay.
enum Driver {
    struct Settings {
        var directory: String
        var cycles: Int
        var maxSeconds: Double
        var seed: UInt64
        var threads = 4
    }

    struct Operation {
        var thread: Int
        var number: Int
        var effect: [(key: String, value: String?)]  // nil value: deleted
        var range: (String, String)?
        var committed = false
    }

    static func run(_ s: Settings) -> Bool {
        var rng = SplitMix64(seed: s.seed)
        let journal = s.directory + ".journal"
        var models: [[String: String]] = Array(repeating: [:], count: s.threads)
        var acknowledged = 0, pendingApplied = 0, pendingDropped = 0
        print("crash test: \(s.cycles) cycles in \(s.directory), up to \(s.maxSeconds) s each, seed \(s.seed)")
        for cycle in 0..<s.cycles {
            let cycleSeed = rng.next()
            unlink(journal)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = ["stress", s.directory, journal, String(cycleSeed), String(s.threads)]
            let out = Pipe()
            child.standardOutput = out
            do { try child.run() } catch {
                print("cycle \(cycle): cannot start the stress process: \(error)")
                return false
            }
            guard readLine(out.fileHandleForReading) == "READY" else {
                child.waitUntilExit()
                print("cycle \(cycle) (seed \(cycleSeed)): stress process failed to start (status \(child.terminationStatus))")
                return false
            }
            // Kill at a random moment: often early (during recovery work), mostly mid-run.
            let wait = rng.next() % 4 == 0 ? Double(rng.next() % 50) / 1000 : Double(rng.next() % 1000) / 1000 * s.maxSeconds
            usleep(UInt32(wait * 1_000_000))
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            child.waitUntilExit()
            if child.terminationReason != .uncaughtSignal {
                print("cycle \(cycle) (seed \(cycleSeed)): stress process exited by itself with status \(child.terminationStatus) (a live read mismatch is status 5)")
                return false
            }
            let ops = parseJournal(journal)
            var options = Options()
            options.compactionHold = PauseSwitch(paused: true)
            let actual: [String: String]
            let tableFiles: Int
            let liveTables: Int
            do {
                let store = try KVStore.open(at: s.directory, options: options)
                var all: [String: String] = [:]
                for (k, v) in try store.entries() { all[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self) }
                actual = all
                tableFiles = (try FileManager.default.contentsOfDirectory(atPath: s.directory)).filter { $0.hasSuffix(".sst") }.count
                liveTables = store.statistics().levels.reduce(0) { $0 + $1.files }
                try store.close()
            } catch {
                print("cycle \(cycle) (seed \(cycleSeed)): reopen failed: \(error)")
                return false
            }
            if tableFiles != liveTables {
                print("cycle \(cycle) (seed \(cycleSeed)): \(tableFiles) table files but \(liveTables) live tables after open")
                return false
            }
            for t in 0..<s.threads {
                let mine = ops.filter { $0.thread == t }.sorted { $0.number < $1.number }
                var committed = models[t]
                var pending: Operation?
                for (i, op) in mine.enumerated() {
                    if op.committed || i < mine.count - 1 {
                        apply(op, to: &committed)
                        acknowledged += 1
                    } else {
                        pending = op
                    }
                }
                let prefix = "t\(t)-"
                let seen = actual.filter { $0.key.hasPrefix(prefix) }
                if seen == committed {
                    models[t] = committed
                    if pending != nil { pendingDropped += 1 }
                    continue
                }
                if let pending {
                    var withPending = committed
                    apply(pending, to: &withPending)
                    if seen == withPending {
                        models[t] = withPending
                        pendingApplied += 1
                        continue
                    }
                }
                let lost = committed.filter { seen[$0.key] != $0.value }.prefix(5)
                let extra = seen.filter { committed[$0.key] == nil }.prefix(5)
                print("cycle \(cycle) (seed \(cycleSeed)): thread \(t) does not match its journal; differing keys: \(Array(lost)) extra: \(Array(extra)); pending: \(pending.map { "\($0.number)" } ?? "none")")
                return false
            }
            print("cycle \(cycle): seed \(cycleSeed), killed after \(Int(wait * 1000)) ms, \(ops.count) operations journaled, store verified")
        }
        print("crash test passed: \(s.cycles) cycles, \(acknowledged) acknowledged operations checked, 0 lost; in-flight operations applied \(pendingApplied), not applied \(pendingDropped); seed \(s.seed)")
        return true
    }

    static func apply(_ op: Operation, to model: inout [String: String]) {
        if let (lo, hi) = op.range {
            for k in model.keys where k >= lo && k < hi { model[k] = nil }
        }
        for e in op.effect { model[e.key] = e.value }
    }

    static func parseJournal(_ path: String) -> [Operation] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var ops: [String: Operation] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count >= 3, let t = Int(f[1]), let n = Int(f[2]) else { continue }
            let id = "\(t).\(n)"
            if f[0] == "C" {
                ops[id]?.committed = true
                continue
            }
            var op = Operation(thread: t, number: n, effect: [])
            let body = Array(f.dropFirst(3))
            switch body.first {
            case "put"? where body.count == 3: op.effect = [(body[1], body[2])]
            case "del"? where body.count == 2: op.effect = [(body[1], nil)]
            case "range"? where body.count == 3: op.range = (body[1], body[2])
            case "batch"?:
                for part in body.dropFirst().split(separator: ";") {
                    let p = Array(part)
                    if p.first == "put", p.count == 3 { op.effect.append((p[1], p[2])) }
                    if p.first == "del", p.count == 2 { op.effect.append((p[1], nil)) }
                }
            default: continue  // a torn last line: the op never started its store call
            }
            ops[id] = op
        }
        return Array(ops.values)
    }

    private static func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let d = handle.readData(ofLength: 1)
            guard let b = d.first else { return nil }
            if b == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }
}
