import KVStore

/// What the server records about itself, for INFO, SLOWLOG, CLIENT LIST and `/metrics`: the
/// counters, per-command statistics, the slow log, the instantaneous rates, the Prometheus
/// registry when metrics are on, and when and as what it started. Each part locks itself.
final class Telemetry: Sendable {
    let stats = ServerStats()
    let commandStats = CommandStats()
    let slowlog: SlowLog
    /// INFO's `instantaneous_*` figures, sampled by the server's timer.
    let rates = InstantaneousRates()
    /// The `/metrics` figures, when `metrics-port` is set (nil: commands record nothing).
    let metrics: ServerMetrics?
    let startedMillis: UInt64
    let runID: String

    init(store: KVStore, config: ServerConfig) {
        startedMillis = config.storeOptions.clock()
        var rng = SystemRandomNumberGenerator()
        runID = (0..<40).map { _ in String(Int.random(in: 0..<16, using: &rng), radix: 16) }.joined()
        slowlog = SlowLog(thresholdMicros: config.slowlogSlowerThanMicros, maxLength: config.slowlogMaxLength)
        metrics = config.metricsPort == nil ? nil : ServerMetrics(store: store, commands: CommandTable.standard.all)
    }
}
