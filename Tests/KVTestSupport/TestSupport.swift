import Foundation
import Synchronization

// Helpers every test target shares: temporary directories, built products, child
// processes, a hand-moved clock.

/// A fresh directory under /tmp, removed when the value is deinitialized.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "kvstore") {
        let template = NSTemporaryDirectory() + "\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

public func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Directory of the built products (the test runner lives there too).
public let productsDirectory: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (exe as NSString).deletingLastPathComponent
}()

/// A built executable of this package, e.g. "kvcrash".
public func productPath(_ name: String) -> String {
    productsDirectory + "/" + name
}

/// A wall clock tests move by hand, for `Options.clock` (expiry without sleeps).
public final class ManualClock: Sendable {
    private let millis: Atomic<UInt64>

    public init(_ start: UInt64 = 1_700_000_000_000) { millis = Atomic(start) }

    public var now: UInt64 { millis.load(ordering: .acquiring) }

    public func advance(by ms: UInt64) { millis.add(ms, ordering: .acquiringAndReleasing) }

    public var clock: @Sendable () -> UInt64 { { [self] in now } }
}
