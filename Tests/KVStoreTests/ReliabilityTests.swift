import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

/// Power loss, I/O failures and damaged files, simulated with `MemoryFileSystem` while
/// flushes and compactions run. Figures from long runs are in docs/RELIABILITY.md; scale with
/// `KV_RELIABILITY_TRIALS`.
@Suite struct ReliabilityTests {
    static var trials: Int { Int(ProcessInfo.processInfo.environment["KV_RELIABILITY_TRIALS"] ?? "") ?? 25 }

    static func options(_ fs: MemoryFileSystem) -> Options {
        var o = LSMTests.smallOptions()
        o.fileSystem = fs
        return o
    }

    /// Operation i writes key k(i % 400) = v<i> (every 7th deletes it); some are synced.
    static func apply(_ i: Int, to store: KVStore, sync: Bool) throws(KVError) {
        let key = bytes("k\(i % 400)")
        if i % 7 == 3 {
            try store.delete(key, options: WriteOptions(sync: sync))
        } else {
            try store.put(key, bytes("v\(i)") + [UInt8](repeating: UInt8(i & 0xff), count: 100), options: WriteOptions(sync: sync))
        }
    }

    static func value(_ i: Int) -> [UInt8]? {
        i % 7 == 3 ? nil : bytes("v\(i)") + [UInt8](repeating: UInt8(i & 0xff), count: 100)
    }

    /// Every n such that the store equals the state after operations 0..<n, where operation
    /// i sets key k(i % 400) to `valueOf(i)` (nil: deleted).
    static func matchingPrefixes(
        _ actual: [[UInt8]: [UInt8]], operations: Int, valueOf: (Int) -> [UInt8]? = value
    ) -> [Int] {
        var model: [[UInt8]: [UInt8]] = [:]
        var mismatches = actual.count
        var result: [Int] = mismatches == 0 ? [0] : []
        for i in 0..<operations {
            let key = bytes("k\(i % 400)")
            let before = model[key] == actual[key]
            model[key] = valueOf(i)
            let after = model[key] == actual[key]
            if before && !after { mismatches += 1 }
            if !before && after { mismatches -= 1 }
            if mismatches == 0 { result.append(i + 1) }
        }
        return result
    }

    static func contents(_ store: KVStore) throws(KVError) -> [[UInt8]: [UInt8]] {
        var all: [[UInt8]: [UInt8]] = [:]
        for (k, v) in try store.scan() { all[k] = v }
        return all
    }

    @Test func powerCutsDuringFlushesAndCompactionsKeepAPrefixAndEverySyncedWrite() throws {
        var cuts = 0
        for trial in 0..<Self.trials {
            let seed = UInt64(trial) &* 7919 &+ 17
            var rng = SplitMix64(seed: seed)
            let fs = MemoryFileSystem()
            let store = try KVStore.open(at: "/db", options: Self.options(fs))
            let total = Int.random(in: 200...3000, using: &rng)
            var lastSynced = -1
            for i in 0..<total {
                let sync = Int.random(in: 0..<25, using: &rng) == 0
                try Self.apply(i, to: store, sync: sync)
                if sync { lastSynced = i }
            }
            // Cut while the background thread may be writing tables or the MANIFEST.
            if Bool.random(using: &rng) { usleep(UInt32.random(in: 0..<3000, using: &rng)) }
            fs.powerCut()
            cuts += 1
            _ = try? store.close()
            let reopened = try KVStore.open(at: "/db", options: Self.options(fs))
            let prefixes = Self.matchingPrefixes(try Self.contents(reopened), operations: total)
            #expect(!prefixes.isEmpty, "seed \(seed): the store is not a prefix of its history")
            #expect((prefixes.last ?? -1) >= lastSynced + 1, "seed \(seed): lost a synced write (prefix \(prefixes.last ?? -1), synced \(lastSynced + 1))")
            try reopened.close()
        }
        print("power cuts simulated: \(cuts), synced writes lost: 0")
    }

    @Test func ioFailuresTurnTheStoreReadOnlyAndLoseNothingAcknowledged() throws {
        let kinds: [(FaultOperation, String?, Int32)] = [
            (.write, ".log", EIO), (.sync, ".log", EIO), (.write, ".sst", EIO), (.sync, ".sst", EIO),
            (.write, "MANIFEST", EIO), (.sync, "MANIFEST", EIO), (.open, ".sst", EIO), (.open, ".log", EMFILE),
            (.syncDirectory, nil, EIO), (.write, nil, ENOSPC), (.rename, nil, EIO),
        ]
        var injected = 0
        var silent = 0
        for trial in 0..<(Self.trials * 2) {
            let seed = UInt64(trial) &* 104_729 &+ 3
            var rng = SplitMix64(seed: seed)
            let fs = MemoryFileSystem()
            let store = try KVStore.open(at: "/db", options: Self.options(fs))
            let (op, path, code) = kinds[trial % kinds.count]
            fs.inject(op, pathContains: path, after: Int.random(in: 0..<40, using: &rng), times: Int.max, errno: code)
            var acknowledged = 0
            var failure: KVError?
            for i in 0..<3000 {
                do {
                    try Self.apply(i, to: store, sync: i % 50 == 0)
                    acknowledged = i + 1
                    if i % 500 == 499 { try store.compactRange() }
                } catch {
                    failure = error
                    break
                }
            }
            if fs.injectedFaults > 0 { injected += 1 }
            guard let failure else {
                // The fault never hit a write-path operation (e.g. a rename that did not
                // happen): nothing to check but the data.
                _ = try? store.close()
                continue
            }
            // The error says what failed.
            switch failure {
            case .io, .readOnly: break
            default: Issue.record("seed \(seed): unexpected error \(failure)")
            }
            // Sticky: later writes fail too, never reported as success.
            for j in 0..<3 {
                if (try? Self.apply(10_000 + j, to: store, sync: false)) != nil {
                    silent += 1
                    Issue.record("seed \(seed): a write succeeded after \(failure)")
                }
            }
            // Reads keep working and return acknowledged data (or, while the fault also hits
            // reads, an I/O error — never wrong data).
            do {
                let live = Self.matchingPrefixes(try Self.contents(store), operations: acknowledged)
                #expect(live.last == acknowledged, "seed \(seed): reads after the failure do not show every acknowledged write")
            } catch {
                guard case .io = error else {
                    Issue.record("seed \(seed): read after the failure gave \(error)")
                    continue
                }
            }
            _ = try? store.close()
            // A reopen, with the disk healthy again, recovers everything acknowledged.
            fs.clearFaults()
            fs.setCapacity(nil)
            let reopened = try KVStore.open(at: "/db", options: Self.options(fs))
            let prefixes = Self.matchingPrefixes(try Self.contents(reopened), operations: acknowledged + 1)
            #expect((prefixes.last ?? -1) >= acknowledged, "seed \(seed): \(op) fault lost acknowledged writes")
            try reopened.close()
        }
        print("I/O fault trials with a fault injected: \(injected), silent failures: \(silent)")
        #expect(silent == 0)
    }

    @Test func readErrorsAreErrorsNotWrongData() throws {
        let fs = MemoryFileSystem()
        var options = Self.options(fs)
        options.blockCacheCapacity = 0
        let store = try KVStore.open(at: "/db", options: options)
        for i in 0..<2000 { try Self.apply(i, to: store, sync: false) }
        try store.compactRange()
        fs.inject(.read, pathContains: ".sst", times: Int.max)
        var errors = 0
        for i in 1600..<2000 where i % 7 != 3 {
            do {
                let v = try store.get(bytes("k\(i % 400)"))
                #expect(v == Self.value(i), "read fault returned wrong data")
            } catch {
                errors += 1
                guard case .io(_, let path, _) = error else {
                    Issue.record("read fault gave \(error)")
                    continue
                }
                #expect(path.hasSuffix(".sst"))
            }
        }
        #expect(errors > 0)
        let it = try store.makeIterator()
        it.seekToFirst()
        #expect(!it.isValid)
        #expect(it.error != nil)
        fs.clearFaults()
        let healed = try store.get(bytes("k399"))
        #expect(healed == Self.value(1999), "after the fault: \(healed.map { String(decoding: $0.prefix(6), as: UTF8.self) } ?? "nil")")
        try store.close()
    }

    // MARK: Corruption

    enum Damage: CaseIterable { case flip, zero, truncate }

    /// Builds a store whose data sits in tables at two levels, a MANIFEST with several edits
    /// and a WAL with unflushed writes; returns it and every value each key ever had.
    static func damagedStoreFixture() throws -> (fs: MemoryFileSystem, history: [[UInt8]: Set<[UInt8]>], final: [[UInt8]: [UInt8]]) {
        let fs = MemoryFileSystem()
        var history: [[UInt8]: Set<[UInt8]>] = [:]
        var final: [[UInt8]: [UInt8]] = [:]
        let store = try KVStore.open(at: "/db", options: Self.options(fs))
        for i in 0..<1500 {
            let k = bytes("k\(i % 400)"), v = fixtureValue(i)
            try store.put(k, v)
            history[k, default: []].insert(v)
            final[k] = v
            if i == 900 { try store.compactRange() }
        }
        try store.close()  // leaves the last writes in the WAL
        return (fs, history, final)
    }

    @Test func damagedFilesAreDetectedOrHarmless() throws {
        let (base, history, final) = try Self.damagedStoreFixture()
        var rng = SplitMix64(seed: 2024)
        var tried = 0, detected = 0, harmless = 0, undetected = 0
        var perKind: [String: (tried: Int, detected: Int)] = [:]
        for path in base.allFiles {
            let name = Path.name(path)
            let kind: String
            switch FileNames.parse(name) {
            case .log?: kind = "WAL"
            case .table?: kind = "table"
            case .manifest?: kind = "MANIFEST"
            case .current?: kind = "CURRENT"
            default: continue
            }
            let original = base.contents(of: path)!
            guard !original.isEmpty else { continue }
            let positions = (0..<Self.trials).map { _ in Int.random(in: 0..<original.count, using: &rng) }
                + [0, original.count - 1, max(0, original.count - 64)]
            for position in positions {
                for damage in Damage.allCases {
                    let fs = base.copy()
                    var bytes = original
                    switch damage {
                    case .flip: bytes[position] ^= UInt8(1 << (position % 8))
                    case .zero: for j in position..<min(bytes.count, position + 16) { bytes[j] = 0 }
                    case .truncate: bytes.removeSubrange(position...)
                    }
                    if bytes == original { continue }
                    fs.setContents(of: path, bytes)
                    tried += 1
                    perKind[kind, default: (0, 0)].tried += 1
                    switch Self.evaluate(fs, history: history, final: final, walDamaged: kind == "WAL") {
                    case .detected:
                        detected += 1
                        perKind[kind, default: (0, 0)].detected += 1
                    case .harmless:
                        harmless += 1
                    case .wrong(let what):
                        undetected += 1
                        Issue.record("\(kind) \(name): \(damage) at \(position) of \(original.count): \(what)")
                    }
                }
            }
        }
        print("corruption cases tried: \(tried), detected: \(detected), harmless: \(harmless), undetected: \(undetected); by kind: \(perKind)")
        #expect(undetected == 0)
        #expect(detected > 0)
    }

    enum Outcome { case detected, harmless, wrong(String) }

    /// The fixture's operation i: key k(i % 400) = fixtureValue(i).
    static func fixtureValue(_ i: Int) -> [UInt8] { bytes("v\(i)") + [UInt8](repeating: 1, count: 60) }

    /// True if `actual` equals the fixture's state after some prefix of its 1,500 operations.
    static func isPrefixOfFixture(_ actual: [[UInt8]: [UInt8]]) -> Bool {
        !matchingPrefixes(actual, operations: 1500, valueOf: fixtureValue).isEmpty
    }

    /// Opens the damaged store and reads everything. Detected: a `KVError.corruption` anywhere.
    /// Harmless: every value read is the key's final value; or, when the WAL was damaged, the
    /// store is the state after a prefix of the writes — a cut at a record boundary looks
    /// exactly like a log whose unsynced tail never reached the disk, and losing unsynced
    /// writes is within the power-loss promise (recovery reports it when it can tell).
    static func evaluate(_ fs: MemoryFileSystem, history: [[UInt8]: Set<[UInt8]>], final: [[UInt8]: [UInt8]], walDamaged: Bool) -> Outcome {
        let store: KVStore
        do {
            store = try KVStore.open(at: "/db", options: Self.options(fs))
        } catch {
            if case .corruption = error { return .detected }
            return .wrong("open failed with \(error), not a corruption report")
        }
        defer { try? store.close() }
        if walDamaged {
            do {
                var all: [[UInt8]: [UInt8]] = [:]
                for (k, v) in try store.scan() { all[k] = v }
                for (k, v) in all {
                    if try store.get(k) != v { return .wrong("get and scan disagree") }
                }
                return isPrefixOfFixture(all) ? .harmless : .wrong("the store is not a prefix of its history")
            } catch {
                if case .corruption = error { return .detected }
                return .wrong("read failed with \(error), not a corruption report")
            }
        }
        let tornTail = !store.recoveryReport.tornTails.isEmpty
        do {
            for (k, v) in final {
                let got = try store.get(k)
                if got == v { continue }
                if tornTail, got.map({ history[k]?.contains($0) ?? false }) ?? true { continue }
                return .wrong("get returned \(got.map { String(decoding: $0.prefix(8), as: UTF8.self) } ?? "nil") for \(String(decoding: k, as: UTF8.self))")
            }
            let scanned = try store.scan()
            for (k, v) in scanned where final[k] != v && !(tornTail && (history[k]?.contains(v) ?? false)) {
                return .wrong("scan returned a wrong value for \(String(decoding: k, as: UTF8.self))")
            }
            if !tornTail && scanned.count != final.count { return .wrong("scan returned \(scanned.count) of \(final.count) keys") }
        } catch {
            if case .corruption = error { return .detected }
            return .wrong("read failed with \(error), not a corruption report")
        }
        return .harmless
    }
}
