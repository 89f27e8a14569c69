import Foundation
import Synchronization
import Testing

@_exported import KVTestSupport
@testable import KVStore
import KVStoreTesting

func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Options that route all I/O through `fs`.
func memoryOptions(_ fs: MemoryFileSystem) -> Options {
    var o = Options()
    o.fileSystem = fs
    return o
}

/// The log files of a store directory, sorted.
func logFiles(in dir: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".log") }.sorted().map { dir + "/" + $0 }
}

extension KVError {
    var isCorruption: Bool {
        if case .corruption = self { return true }
        return false
    }
}

/// The `KVError` that `body` throws, or nil if it returns.
func thrownError(_ body: () throws -> Void) -> KVError? {
    do {
        try body()
        return nil
    } catch let error as KVError {
        return error
    } catch {
        return .invalidArgument("non-KVError thrown: \(error)")
    }
}

/// A closed store in `dir` holding keys `dmg1000`…`dmg1299` (each valued key + key) in one
/// uncompressed table whose first data block (holding the first key) has a flipped byte.
/// Returns the keys and the table's path; open it with `options`.
func storeWithADamagedTable(_ dir: TemporaryDirectory, options: Options) throws -> (keys: [[UInt8]], table: String) {
    let store = try KVStore.open(at: dir.path, options: options)
    let keys = (0..<300).map { Array("dmg\(1000 + $0)".utf8) }
    for k in keys { try store.put(k, k + k) }
    try store.flush()
    try store.close()
    let tables = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sst") }.sorted()
    let table = dir.path + "/" + (try #require(tables.first))
    var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: table)))
    bytes[20] ^= 0x40  // inside the first data block
    try Data(bytes).write(to: URL(fileURLWithPath: table))
    return (keys, table)
}
