import Foundation
import KVClient
import KVServer
import KVStore
import KVTestSupport
import Logging

/// An in-process server on a free loopback port over a fresh directory, with a clock the
/// test moves. Shut down on deinit.
final class TestServer {
    let directory: TemporaryDirectory
    let clock: ManualClock
    private(set) var server: KVServer
    private(set) var config: ServerConfig

    init(_ label: String = "server", clock: ManualClock = ManualClock(), configure: (inout ServerConfig) -> Void = { _ in }) throws {
        directory = TemporaryDirectory(label)
        self.clock = clock
        var config = ServerConfig()
        config.port = 0
        config.directory = directory.path
        config.eventLoopThreads = 2
        config.blockingThreads = 16
        config.storeOptions.clock = clock.clock
        configure(&config)
        self.config = config
        server = try KVServer.start(config, logger: Self.quietLogger)
    }

    static let quietLogger: Logger = {
        var l = Logger(label: "test-server")
        l.logLevel = .critical
        return l
    }()

    var port: Int { server.port }

    func client() throws -> RESPConnection { try RESPConnection(port: port) }

    /// Stops and starts the server on the same directory (a new port).
    func restart() throws {
        server.shutdown()
        var c = config
        c.port = 0
        server = try KVServer.start(c, logger: Self.quietLogger)
    }

    deinit { server.shutdown() }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
}
