import Foundation
import Synchronization
import Testing

@testable import KVStore

/// A fresh directory under /tmp, removed when the value is deinitialized.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ label: String = "kvstore") {
        let template = NSTemporaryDirectory() + "\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Options that route all I/O through `fs`.
func memoryOptions(_ fs: MemoryFileSystem) -> Options {
    var o = Options()
    o.fileSystem = fs
    return o
}

/// Directory of the built products (the test runner lives there too).
let productsDirectory: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (exe as NSString).deletingLastPathComponent
}()

/// A built executable of this package, e.g. "kvcrash".
func productPath(_ name: String) -> String {
    productsDirectory + "/" + name
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

/// A wall clock tests move by hand, for `Options.clock` (expiry without sleeps).
final class ManualClock: Sendable {
    private let millis: Atomic<UInt64>

    init(_ start: UInt64 = 1_700_000_000_000) { millis = Atomic(start) }

    var now: UInt64 { millis.load(ordering: .acquiring) }

    func advance(by ms: UInt64) { millis.add(ms, ordering: .acquiringAndReleasing) }

    var clock: @Sendable () -> UInt64 { { [self] in now } }
}
