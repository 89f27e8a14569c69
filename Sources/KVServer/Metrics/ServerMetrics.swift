import CoreMetrics
import KVStore
import Prometheus
import Synchronization

/// What `/metrics` serves: the engine's figures (`KVStoreMetrics`, prefix `kvstore`), the
/// server's (`kvserver_…`: commands by name with their latency histograms, connections,
/// bytes, checkpoints), and the process's resident memory, in Prometheus text format.
///
/// One registry per server (not the process-wide `MetricsSystem`), so servers in one
/// process — tests — keep apart. Latencies are recorded as commands run; every other figure
/// is a total the server already keeps, brought up to date when a scrape asks.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let latency: CommandLatency
    private let engine: KVStoreMetrics
    private let connected: CoreMetrics.Gauge
    private let maxClients: CoreMetrics.Gauge
    private let residentBytes: CoreMetrics.Gauge
    private let uptime: CoreMetrics.Gauge
    private let opsPerSecond: CoreMetrics.Gauge
    private let totals: [(CoreMetrics.Counter, @Sendable (ServerContext) -> Int)]
    /// The totals at the last scrape (counters advance by the difference); also serializes
    /// scrapes.
    private let last = Mutex<(totals: [Int], calls: [CommandStats.Counts])>(([], []))

    init(store: KVStore, commands: [Command]) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[CommandLatency.label] = CommandLatency.buckets
        self.factory = factory
        latency = CommandLatency(factory: factory, commands: commands)
        engine = KVStoreMetrics(store: store, prefix: "kvstore", factory: factory, every: nil)
        connected = CoreMetrics.Gauge(label: "kvserver_connected_clients", factory: factory)
        maxClients = CoreMetrics.Gauge(label: "kvserver_max_clients", factory: factory)
        residentBytes = CoreMetrics.Gauge(label: "process_resident_memory_bytes", factory: factory)
        uptime = CoreMetrics.Gauge(label: "kvserver_uptime_seconds", factory: factory)
        opsPerSecond = CoreMetrics.Gauge(label: "kvserver_instantaneous_ops_per_second", factory: factory)
        func counter(_ name: String) -> CoreMetrics.Counter { CoreMetrics.Counter(label: name, factory: factory) }
        let totals: [(CoreMetrics.Counter, @Sendable (ServerContext) -> Int)] = [
            (counter("kvserver_connections_received_total"), { $0.clients.totalAccepted }),
            (counter("kvserver_connections_rejected_total"), { $0.clients.rejected }),
            (counter("kvserver_commands_processed_total"), { $0.telemetry.stats.commandsProcessed.load(ordering: .relaxed) }),
            (counter("kvserver_net_input_bytes_total"), { $0.telemetry.stats.bytesRead.load(ordering: .relaxed) }),
            (counter("kvserver_net_output_bytes_total"), { $0.telemetry.stats.bytesWritten.load(ordering: .relaxed) }),
            (counter("kvserver_keyspace_hits_total"), { $0.telemetry.stats.keyspaceHits.load(ordering: .relaxed) }),
            (counter("kvserver_keyspace_misses_total"), { $0.telemetry.stats.keyspaceMisses.load(ordering: .relaxed) }),
            (counter("kvserver_protocol_errors_total"), { $0.telemetry.stats.protocolErrors.load(ordering: .relaxed) }),
            (counter("kvserver_offloaded_commands_total"), { $0.telemetry.stats.offloadedCommands.load(ordering: .relaxed) }),
            (counter("kvserver_writes_held_total"), { $0.telemetry.stats.writesHeld.load(ordering: .relaxed) }),
            (counter("kvserver_wal_sync_failures_total"), { $0.telemetry.stats.walSyncFailures.load(ordering: .relaxed) }),
            (counter("kvserver_checkpoints_total"), { $0.checkpoints.status.saves }),
        ]
        self.totals = totals
    }

    /// Brings every total up to date and renders the text a scrape gets.
    func render(_ s: ServerContext) -> [UInt8] {
        engine.update()
        connected.record(s.clients.count)
        maxClients.record(s.clients.maxClients)
        residentBytes.record(ServerInfo.residentBytes())
        uptime.record(Int((s.clock() &- s.telemetry.startedMillis) / 1000))
        opsPerSecond.record(s.telemetry.rates.current.opsPerSecond)
        let nowTotals = totals.map { $0.1(s) }
        let nowCalls = s.telemetry.commandStats.snapshot
        last.locked { before in
            for (i, (counter, _)) in totals.enumerated() {
                let delta = nowTotals[i] - (i < before.totals.count ? before.totals[i] : 0)
                if delta > 0 { counter.increment(by: delta) }
            }
            let commands = CommandTable.standard.all
            for (id, c) in nowCalls.enumerated() where id < commands.count {
                let was = id < before.calls.count ? before.calls[id] : CommandStats.Counts()
                let name = commands[id].name
                // Per-command counters are made on a command's first use, like its latency
                // histogram (the registry hands back the same counter for the same labels).
                func bump(_ label: String, _ delta: Int) {
                    guard delta > 0 else { return }
                    CoreMetrics.Counter(label: label, dimensions: [("command", name)], factory: factory).increment(by: delta)
                }
                bump("kvserver_commands_total", c.calls - was.calls)
                bump("kvserver_command_failures_total", c.failed - was.failed)
                bump("kvserver_command_rejections_total", c.rejected - was.rejected)
            }
            before = (nowTotals, nowCalls)
        }
        return registry.emitToBuffer()
    }
}
