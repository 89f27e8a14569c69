import CoreMetrics
import KVStore
import Synchronization

/// Per-command latency histograms (`kvserver_command_duration_seconds{command="get"}`),
/// made on a command's first use, so the scrape lists only commands that ran. Only exists
/// when metrics are on: without them a command pays nothing.
final class CommandLatency: Sendable {
    static let label = "kvserver_command_duration_seconds"
    /// From 10 µs (a cached GET) to 10 s (a SAVE of a large store).
    static let buckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .microseconds(2_500_000), .seconds(10),
    ]

    private let factory: any MetricsFactory
    private let names: [String]
    /// By command id.
    private let timers: Mutex<[CoreMetrics.Timer?]>

    init(factory: any MetricsFactory, commands: [Command]) {
        self.factory = factory
        names = commands.map(\.name)
        timers = Mutex([CoreMetrics.Timer?](repeating: nil, count: commands.count))
    }

    func record(_ id: Int, nanoseconds: Int) {
        guard id >= 0 && id < names.count else { return }
        let timer = timers.locked { t in
            if let timer = t[id] { return timer }
            let timer = CoreMetrics.Timer(label: Self.label, dimensions: [("command", names[id])], factory: factory)
            t[id] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }
}
