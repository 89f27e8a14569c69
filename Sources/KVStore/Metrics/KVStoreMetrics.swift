import CoreMetrics
import Dispatch
import Synchronization

/// Publishes a store's ``Statistics`` through swift-metrics, so an application that already
/// bootstraps a metrics backend (Prometheus, StatsD, OpenTelemetry …) gets the engine's
/// figures beside its own. Opt-in: nothing is published until one of these is made.
///
/// ```swift
/// let metrics = KVStoreMetrics(store: store)          // MetricsSystem.factory, every 10 s
/// // … later, before closing the store:
/// metrics.cancel()
/// ```
///
/// With the default prefix the names are Prometheus-style: gauges `kvstore_level_files` and
/// `kvstore_level_bytes` (dimension `level`), `kvstore_memtable_bytes`,
/// `kvstore_block_cache_bytes`, `kvstore_pending_compaction_bytes`,
/// `kvstore_write_amplification`, `kvstore_stalled` …; counters ending in `_total` for what
/// only grows (`kvstore_flushes_total`, `kvstore_compaction_bytes_written_total`,
/// `kvstore_block_cache_hits_total`, `kvstore_bloom_useful_total`,
/// `kvstore_stall_seconds_total` with dimension `reason` …). docs/SERVER.md lists them all.
///
/// Counters advance by the change since the previous update, so a backend sees the same
/// totals whether it was attached at open or later.
public final class KVStoreMetrics: Sendable {
    private let store: KVStore
    private let gauges: [(Gauge, @Sendable (Statistics) -> Double)]
    private let levelGauges: [(files: Gauge, bytes: Gauge)]
    private let counters: [(Counter, @Sendable (Statistics) -> Int64)]
    private let stallCounters: [(FloatingPointCounter, @Sendable (Statistics) -> Double)]
    /// The figures the counters last advanced to; also serializes updates (the timer's and
    /// a caller's), so no delta is counted twice.
    private let last = Mutex(Statistics())
    private let cancelled = Atomic<Bool>(false)

    /// Starts publishing `store`'s figures through `factory` every `interval` (nil: only when
    /// ``update()`` is called, as a scrape handler would).
    public init(
        store: KVStore, prefix: String = "kvstore", factory: any MetricsFactory = MetricsSystem.factory,
        every interval: Duration? = .seconds(10)
    ) {
        self.store = store
        func gauge(_ name: String, _ dims: [(String, String)] = []) -> Gauge {
            Gauge(label: "\(prefix)_\(name)", dimensions: dims, factory: factory)
        }
        func counter(_ name: String) -> Counter {
            Counter(label: "\(prefix)_\(name)_total", dimensions: [], factory: factory)
        }
        let gauges: [(Gauge, @Sendable (Statistics) -> Double)] = [
            (gauge("memtable_bytes"), { Double($0.memtableBytes) }),
            (gauge("block_cache_bytes"), { Double($0.blockCacheBytes) }),
            (gauge("row_cache_bytes"), { Double($0.rowCacheBytes) }),
            (gauge("table_reader_bytes"), { Double($0.tableReaderBytes) }),
            (gauge("open_tables"), { Double($0.openTables) }),
            (gauge("live_table_bytes"), { Double($0.liveTableBytes) }),
            (gauge("pending_compaction_bytes"), { Double($0.pendingCompactionBytes) }),
            (gauge("write_amplification"), { $0.writeAmplification }),
            (gauge("delayed_write_rate_bytes"), { Double($0.delayedWriteRate) }),
            (gauge("stalled"), { $0.isStalled ? 1 : 0 }),
            (gauge("writers_queued"), { Double($0.writersQueued) }),
            (gauge("last_sequence"), { Double($0.lastSequence) }),
        ]
        self.gauges = gauges
        levelGauges = (0..<Version.levelCount).map { level in
            (gauge("level_files", [("level", String(level))]), gauge("level_bytes", [("level", String(level))]))
        }
        let counters: [(Counter, @Sendable (Statistics) -> Int64)] = [
            (counter("user_bytes_written"), { $0.userBytesWritten }),
            (counter("wal_bytes_written"), { $0.walBytesWritten }),
            (counter("wal_syncs"), { $0.walSyncs }),
            (counter("flushes"), { $0.flushes }),
            (counter("flush_bytes_written"), { $0.flushBytesWritten }),
            (counter("compactions"), { $0.compactions }),
            (counter("trivial_moves"), { $0.trivialMoves }),
            (counter("compaction_bytes_read"), { $0.compactionBytesRead }),
            (counter("compaction_bytes_written"), { $0.compactionBytesWritten }),
            (counter("write_slowdowns"), { $0.slowdowns }),
            (counter("write_stops"), { $0.stops }),
            (counter("writes_would_block"), { $0.writesWouldBlock }),
            (counter("block_cache_hits"), { $0.blockCacheHits }),
            (counter("block_cache_misses"), { $0.blockCacheMisses }),
            (counter("row_cache_hits"), { $0.rowCacheHits }),
            (counter("row_cache_misses"), { $0.rowCacheMisses }),
            (counter("bloom_useful"), { $0.bloomNegatives }),
            (counter("bloom_false_positives"), { $0.bloomFalsePositives }),
        ]
        self.counters = counters
        let reasons: [(String, @Sendable (Statistics) -> Double)] = [
            ("slowdown", { $0.slowdownSeconds }),
            ("memtable", { $0.memtableStopSeconds }),
            ("level0", { $0.level0StopSeconds }),
        ]
        stallCounters = reasons.map { reason, figure in
            (FloatingPointCounter(label: "\(prefix)_stall_seconds_total", dimensions: [("reason", reason)], factory: factory), figure)
        }
        update()
        if let interval { start(every: interval) }
    }

    deinit {
        cancel()
    }

    /// Publishes the store's figures now.
    public func update() {
        let now = store.statistics()
        last.locked { before in
            for (gauge, figure) in gauges { gauge.record(figure(now)) }
            for l in now.levels where l.level < levelGauges.count {
                levelGauges[l.level].files.record(l.files)
                levelGauges[l.level].bytes.record(l.bytes)
            }
            // A figure below its last value means the store was reopened under this
            // publisher: count from the new start rather than backwards.
            for (counter, figure) in counters {
                let delta = figure(now) - figure(before)
                if delta > 0 { counter.increment(by: delta) }
            }
            for (counter, figure) in stallCounters {
                let delta = figure(now) - figure(before)
                if delta > 0 { counter.increment(by: delta) }
            }
            before = now
        }
    }

    /// Stops the periodic updates (also on deinit). ``update()`` still works.
    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// One update after `interval`, then the next: no timer object to own, and a publisher
    /// dropped by its owner stops at its next tick (the closure holds it weakly).
    private func start(every interval: Duration) {
        let (seconds, attoseconds) = interval.components
        let nanos = max(1_000_000, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(nanos)) { [weak self] in
            guard let self, !self.cancelled.load(ordering: .relaxed) else { return }
            self.update()
            self.start(every: interval)
        }
    }
}
