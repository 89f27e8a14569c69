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
