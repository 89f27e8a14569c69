import Foundation
import Testing

@testable import KVStore
import KVStoreTesting

@Suite struct KVStoreTests {
    @Test func roundTripsEmptyBinaryAndLargeKeysAndValues() throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: 1)
        let pairs: [([UInt8], [UInt8])] = [
            ([], bytes("value of the empty key")),
            (bytes("empty value"), []),
            ([0, 255, 0, 10, 13], [0, 0, 0, 1]),
            (randomBytes(1 << 20, &rng), randomBytes(1 << 20, &rng)),
            (bytes("k"), randomBytes(1 << 20, &rng)),
        ]
        do {
            let store = try KVStore.open(at: dir.path)
            for (k, v) in pairs { try store.put(k, v) }
            for (k, v) in pairs { #expect(try store.get(k) == v) }
            try store.close()
        }
        let store = try KVStore.open(at: dir.path)
        for (k, v) in pairs { #expect(try store.get(k) == v) }
        #expect(store.recoveryReport.operationsReplayed == pairs.count)
        try store.close()
    }

    @Test func deleteOverwriteAndReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try KVStore.open(at: dir.path)
            try store.put("a", "1")
            try store.put("b", "2")
            try store.put("a", "3")
            try store.delete("b")
            try store.delete("never-existed")
            #expect(try store.get("a") == bytes("3"))
            #expect(try store.get("b") == nil)
            try store.close()
        }
        for round in 0..<3 {
            let store = try KVStore.open(at: dir.path)
            #expect(try store.get("a") == bytes("3"), "round \(round)")
            #expect(try store.get("b") == nil)
            try store.put("b", "again \(round)")
            #expect(try store.get("b") == bytes("again \(round)"))
            try store.delete("b")
            try store.close()
        }
    }

    @Test func batchesApplyInOrder() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        var batch = WriteBatch()
        batch.put("x", "1")
        batch.delete("x")
        batch.put("y", "1")
        batch.put("y", "2")
        #expect(batch.count == 4)
        try store.write(batch)
        #expect(try store.get("x") == nil)
        #expect(try store.get("y") == bytes("2"))
        try store.write(WriteBatch())  // empty: a no-op
        try store.close()
    }

    @Test func closedStoreRefusesCalls() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        try store.close()
        try store.close()  // harmless
        #expect(throws: KVError.closed) { try store.get("a") }
        #expect(throws: KVError.closed) { try store.put("a", "b") }
    }

    @Test func secondOpenerInThisProcessIsLockedOut() throws {
        let dir = TemporaryDirectory()
        let store = try KVStore.open(at: dir.path)
        #expect(throws: KVError.locked(directory: dir.path)) { try KVStore.open(at: dir.path) }
        try store.close()
        let again = try KVStore.open(at: dir.path)  // released on close
        try again.close()
    }

    @Test func secondOpenerInAnotherProcessIsLockedOut() throws {
        let dir = TemporaryDirectory()
        let child = try ChildProcess(productPath("kvcrash"), ["hold", dir.path])
        defer { child.kill() }
        #expect(child.readLine(timeout: 30) == "LOCKED")
        #expect(throws: KVError.locked(directory: dir.path)) { try KVStore.open(at: dir.path) }
        child.kill()
        let store = try KVStore.open(at: dir.path)  // the kernel released the dead child's lock
        try store.close()
    }

    @Test func optionsAreHonoured() throws {
        let dir = TemporaryDirectory()
        var options = Options()
        options.createIfMissing = false
        #expect(throws: KVError.notFound(path: dir.path + "/nope")) { try KVStore.open(at: dir.path + "/nope", options: options) }
        options.createIfMissing = true
        options.maxKeySize = 4
        let store = try KVStore.open(at: dir.path, options: options)
        #expect(throws: KVError.self) { try store.put("too long", "v") }
        var batch = WriteBatch()
        batch.put("fine", "v")
        batch.put("too long", "v")
        #expect(throws: KVError.self) { try store.write(batch) }
        #expect(try store.get("fine") == nil)  // the whole batch was refused
        try store.put("ok", "v")
        try store.close()
        options.errorIfExists = true
        #expect(throws: KVError.alreadyExists(path: dir.path)) { try KVStore.open(at: dir.path, options: options) }
    }

    @Test func errorsDescribeWhatAndWhere() {
        let e = KVError.corruption(file: "/d/000003.log", offset: 4096, reason: "checksum mismatch")
        #expect(e.description == "corruption in /d/000003.log at offset 4096: checksum mismatch")
        let io = KVError.io(operation: "fdatasync", path: "/d/000003.log", errno: ENOSPC)
        #expect(io.description.contains("fdatasync /d/000003.log"))
        #expect(io.description.contains("errno 28"))
    }
}
