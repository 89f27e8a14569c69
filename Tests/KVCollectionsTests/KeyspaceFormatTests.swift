import Foundation
import Testing

@testable import KVCollections
import KVStore
import KVTestSupport

/// The keyspace's format in the store: a store written before collections existed opens and
/// is brought to it, a format from the future is refused, dropped collections leave garbage
/// that compaction reclaims, and `verify` names the key whose invariant breaks.
@Suite struct KeyspaceFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A copy of a committed fixture store (opening writes to it).
    func fixture(_ name: String) throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("fixture-" + name)
        let source = Self.fixtures.appendingPathComponent(name)
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(file).path, toPath: dir.file(file))
        }
        return dir
    }

    /// `Fixtures/store-before-keyspace`: written by kvctl import at commit 36fcfa5 (the release
    /// before this format), from `Fixtures/store-before-keyspace.tsv`: 200 plain keys, a key
    /// with an expiry in 2100, and two keys starting with byte 0xFF (the only ones that move).
    @Test func aStoreFromBeforeTheKeyspaceOpensServesItsStringsAndTakesNewTypes() throws {
        let dir = try fixture("store-before-keyspace")
        for round in 0..<2 {  // the second open finds the format record and moves nothing
            let (store, keyspace) = try openKeyspace(dir)
            let r = keyspace.access(StoreReader(store: store))
            #expect(try r.string(bytes("greeting"))?.value == bytes("hello"))
            #expect(try r.string(bytes("k0123"))?.value == bytes("v123"))
            let session = try r.string(bytes("session"))
            #expect(session?.value == bytes("s") && session?.expiresAt == 4_102_444_800_000)
            #expect(try r.string([0xFF])?.value == bytes("ff"))
            #expect(try r.string([0xFF, 0x01, 0x41])?.value == bytes("band"))
            var keys: [[UInt8]] = []
            let it = try r.keys()
            it.seekToFirst()
            while it.isValid {
                keys.append(it.key)
                it.next()
            }
            try it.check()
            #expect(keys.count == 205 + round, "every old key once, and the hash after the first round")
            #expect(keys.last == [0xFF, 0x01, 0x41] && keys.dropLast().last == [0xFF])
            if round == 0 { try KVHash("new", in: keyspace).set("f".utf8, "v".utf8) }
            #expect(try text(KVHash("new", in: keyspace).get("f".utf8)) == "v")
            #expect(try Keyspace.verify(store).isClean)
            try store.close()
        }
    }

    @Test func aFormatFromTheFutureIsRefused() throws {
        let dir = TemporaryDirectory("format-future")
        let store = try KVStore.open(at: dir.path)
        var record = Keyspace.formatRecord(reserved: 1 << 20)
        record[4] = 99  // format 99
        try store.put(KeyspaceKeys.formatKey, record)
        #expect(throws: KeyspaceError.unsupportedFormat("the store's keyspace format is 99; this version reads 1")) {
            try Keyspace.open(store)
        }
        try store.close()
    }

    @Test func versionsStayUniqueAcrossRestarts() throws {
        let dir = TemporaryDirectory("versions")
        var seen: Set<UInt64> = []
        for _ in 0..<3 {
            let (store, keyspace) = try openKeyspace(dir)
            for i in 0..<5 {
                try KVSet("s\(i)", in: keyspace).add("m".utf8)
                guard case .collection(let meta, _) = try keyspace.access(StoreReader(store: store)).entry(bytes("s\(i)")) else {
                    Issue.record("s\(i) is not a collection")
                    return
                }
                #expect(seen.insert(meta.version).inserted, "version \(meta.version) handed out twice")
                _ = try keyspace.transaction { u in try u.access.delete(bytes("s\(i)")) }
            }
            try store.close()
        }
    }

    @Test func aDeletedCollectionIsGarbageUntilCompactionReclaimsIt() throws {
        let dir = TemporaryDirectory("garbage")
        let (store, keyspace) = try openKeyspace(dir)
        let big = KVHash("big", in: keyspace)
        for chunk in 0..<20 {
            try big.set((0..<1_000).map { (bytes("field-\(chunk)-\($0)"), [UInt8](repeating: UInt8($0 % 251), count: 100)) })
        }
        try KVSet("kept", in: keyspace).add((0..<100).map { bytes("m\($0)") })
        try store.flush()
        try store.compactRange()
        let before = store.statistics().liveTableBytes
        #expect(try keyspace.transaction { u in try u.access.delete(bytes("big")) })
        var report = try Keyspace.verify(store)
        #expect(report.isClean && report.garbage == 20_000 && report.elements == 100)
        try store.compactRange()
        report = try Keyspace.verify(store)
        #expect(report.isClean && report.garbage == 0 && report.elements == 100)
        let after = store.statistics().liveTableBytes
        #expect(after < before / 10, "\(before) bytes before, \(after) after")
        #expect(store.statistics().compactionEntriesFiltered >= 20_000)
        try store.close()
    }

    @Test func verifyNamesTheKeyWhoseCountIsWrong() throws {
        let dir = TemporaryDirectory("verify")
        let (store, keyspace) = try openKeyspace(dir)
        try KVSet("good", in: keyspace).add([bytes("a"), bytes("b")])
        try KVList("bad", in: keyspace).append([bytes("1"), bytes("2"), bytes("3")])
        guard case .collection(let meta, _) = try keyspace.access(StoreReader(store: store)).entry(bytes("bad")) else {
            Issue.record("bad is not a collection")
            return
        }
        // Remove the middle element behind the keyspace's back.
        var position: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { position.append(UInt8(truncatingIfNeeded: (meta.head + 1) >> UInt64(shift))) }
        try store.delete(KeyspaceKeys.elementPrefix(bytes("bad"), version: meta.version) + position)
        let report = try Keyspace.verify(store)
        #expect(report.problems.count == 1 && report.problems.first?.key == bytes("bad"), "\(report.problems)")
        try store.close()
    }
}
