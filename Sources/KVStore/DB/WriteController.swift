import CKVSupport
import Synchronization

/// Write-stall control: before each write group, whether it may go now, must be slowed to the
/// delayed rate, must wait for the background thread, or needs a fresh memtable first — and
/// the settings that decide it (`level0SlowdownTrigger`, `level0StopTrigger`,
/// `delayedWriteRate`; `KVStore.setOptions` changes them while the store is open, and this
/// is the one place they live).
///
/// The policy is RocksDB's: below the slowdown trigger writes go at full speed; from it on a
/// group pays for its bytes at the delayed rate (`DelayedWriteRate`), a rate that falls while
/// the debt — level-0 files past the trigger, plus one while a frozen memtable waits and the
/// next is half full — grows; a full memtable with another still flushing, or level 0 at the
/// stop trigger, makes writes wait for the background thread. Stall counts, durations and the
/// reason go to `EngineStatistics`.
///
/// Locking: `state` (a `Mutex`) guards the bucket and the rate samples, and the settings'
/// master copy; the triggers and "is slowing" are mirrored in atomics so the common case of
/// a group — full speed, room in the memtable — takes no lock. `makeRoom` runs on the commit
/// leader only (one at a time); `wouldWait` and `setSettings` may run beside it.
final class WriteController: Sendable {
    /// The settings this controller owns.
    struct Settings: Equatable {
        var slowdownTrigger: Int
        var stopTrigger: Int
        var delayedWriteRate: Int
    }

    private struct State {
        var settings: Settings
        var bucket: DelayedWriteRate
        /// When the last memtable switch happened and the user bytes written by then; the
        /// rate between the last two switches is where a slowdown starts.
        var lastSwitch: (nanoseconds: UInt64, bytes: Int)?
        var recentWriteRate: Double?
    }

    private let state: Mutex<State>
    private let slowdownTrigger: Atomic<Int>
    private let stopTrigger: Atomic<Int>
    private let slowing = Atomic<Bool>(false)
    private let writeBufferSize: Int
    private let memtables: MemtableSet
    private let rotation: MemtableRotation
    private let scheduler: BackgroundScheduler
    private let progress: BackgroundProgress
    private let latch: FailureLatch
    private let statistics: EngineStatistics

    init(
        options: Options, memtables: MemtableSet, rotation: MemtableRotation, scheduler: BackgroundScheduler,
        progress: BackgroundProgress, latch: FailureLatch, statistics: EngineStatistics
    ) {
        let settings = Settings(
            slowdownTrigger: options.level0SlowdownTrigger, stopTrigger: options.level0StopTrigger,
            delayedWriteRate: options.delayedWriteRate)
        state = Mutex(State(settings: settings, bucket: DelayedWriteRate(maxRate: settings.delayedWriteRate)))
        slowdownTrigger = Atomic(settings.slowdownTrigger)
        stopTrigger = Atomic(settings.stopTrigger)
        writeBufferSize = options.writeBufferSize
        self.memtables = memtables
        self.rotation = rotation
        self.scheduler = scheduler
        self.progress = progress
        self.latch = latch
        self.statistics = statistics
    }

    var settings: Settings { state.locked { $0.settings } }

    /// New settings (already validated); the next group decides by them. A slowdown in force
    /// keeps its rate within the new bounds.
    func setSettings(_ new: Settings) {
        state.locked { s in
            s.settings = new
            s.bucket.setMaxRate(new.delayedWriteRate)
            slowdownTrigger.store(new.slowdownTrigger, ordering: .relaxed)
            stopTrigger.store(new.stopTrigger, ordering: .relaxed)
        }
    }

    /// How far flushing and compaction are behind, in steps: the level-0 files at or past
    /// the slowdown trigger, plus one while a memtable waits to flush and the next is half
    /// full (it will stop writers when full).
    private func debt(_ active: Memtable) -> Int {
        let level0 = memtables.level0FileCount
        let trigger = slowdownTrigger.load(ordering: .relaxed)
        var debt = level0 >= trigger ? level0 - trigger + 1 : 0
        if memtables.hasImmutable && active.approximateMemoryUsage >= writeBufferSize / 2 { debt += 1 }
        return debt
    }

    /// Whether a group of `bytes` would wait in `makeRoom` now — slowed, or needing a memtable
    /// switch (a sync of the old log) or a stop. A non-blocking writer's question, asked only
    /// while no leader is at work; it changes nothing.
    func wouldWait(bytes: Int) -> Bool {
        let active = memtables.active
        if active.approximateMemoryUsage >= writeBufferSize { return true }
        let debt = debt(active)
        guard debt > 0 else { return false }
        let now = MonotonicClock.unsignedNanoseconds()
        return state.locked { $0.bucket.wouldDelay(bytes: bytes, debt: debt, now: now) }
    }

    /// Makes room for a group of `bytes` (a flush request when `force`, which freezes a
    /// non-empty memtable): sleeps off the delayed rate, waits for the background thread
    /// while it must, switches a full memtable. Returns the memtable the group goes into.
    /// The commit leader only.
    func makeRoom(forBytes bytes: Int, force: Bool) throws(KVError) -> Memtable {
        var active = memtables.active
        // The common case, at full speed with room: no lock, no clock.
        if !force && !latch.isSet && active.approximateMemoryUsage < writeBufferSize
            && !slowing.load(ordering: .relaxed) && debt(active) == 0 {
            return active
        }
        var allowDelay = !force
        var force = force
        var stopped = false
        var stallStart: ContinuousClock.Instant?
        defer {
            if let start = stallStart {
                let d = ContinuousClock.now - start
                statistics.stallMicros.add(Int(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000), ordering: .relaxed)
                statistics.stalledNow.store(false, ordering: .relaxed)
            }
        }
        func stall(_ reason: String) {
            if stallStart == nil { stallStart = .now }
            statistics.stalledNow.store(true, ordering: .relaxed)
            statistics.lastStallReason.locked { $0 = reason }
        }
        while true {
            // Read before the state it decides on, so a step that finishes meanwhile is seen.
            let epoch = progress.epoch
            if let error = latch.readOnlyError { throw error }
            let level0 = memtables.level0FileCount
            let frozenWaiting = memtables.hasImmutable
            if allowDelay {
                // Spread the wait over many writes, at a rate that falls while the debt grows,
                // instead of stopping writers for seconds.
                allowDelay = false
                let debt = debt(active)
                // At full speed (the common case) a group pays nothing: no clock, no charge.
                guard debt > 0 || slowing.load(ordering: .relaxed) else { continue }
                let now = MonotonicClock.unsignedNanoseconds()
                let (wait, rate, trigger) = state.locked { s -> (UInt64, Double, Int) in
                    let wait = s.bucket.delay(bytes: bytes, debt: debt, now: now, recentRate: s.recentWriteRate)
                    slowing.store(s.bucket.isSlowing, ordering: .relaxed)
                    return (wait, s.bucket.rate, s.settings.slowdownTrigger)
                }
                statistics.delayedRate.store(debt > 0 ? Int(rate) : 0, ordering: .relaxed)
                if wait > 0 {
                    let kib = Int(rate) >> 10
                    stall(frozenWaiting && level0 < trigger
                        ? "a memtable is still being flushed while the next fills: writes slowed to \(kib) KiB/s"
                        : "level 0 has \(level0) files (slowdown trigger \(trigger)): writes slowed to \(kib) KiB/s")
                    statistics.slowdowns.add(1, ordering: .relaxed)
                    statistics.delayMicros.add(Int(wait / 1000), ordering: .relaxed)
                    kv_sleep_precisely(wait)
                }
            } else if !force && active.approximateMemoryUsage < writeBufferSize {
                return active
            } else if frozenWaiting {
                stall("memtable full while the previous one is still being flushed: writes wait")
                if !stopped { statistics.stops.add(1, ordering: .relaxed); stopped = true }
                waitForBackground(after: epoch, counting: statistics.memtableStopMicros)
            } else if level0 >= stopTrigger.load(ordering: .relaxed) {
                stall("level 0 has \(level0) files (stop trigger \(stopTrigger.load(ordering: .relaxed))): writes wait for compaction")
                if !stopped { statistics.stops.add(1, ordering: .relaxed); stopped = true }
                scheduler.signalWork()
                waitForBackground(after: epoch, counting: statistics.level0StopMicros)
            } else {
                if force && active.isEmpty { return active }
                active = try rotation.switchMemtable()
                noteSwitch()
                force = false
            }
        }
    }

    private func waitForBackground(after epoch: UInt64, counting stopMicros: borrowing Atomic<Int>) {
        let start = MonotonicClock.unsignedNanoseconds()
        progress.wait(after: epoch)
        stopMicros.add(Int((MonotonicClock.unsignedNanoseconds() - start) / 1000), ordering: .relaxed)
    }

    /// Samples the write rate at a memtable switch: bytes written since the last switch over
    /// the time since.
    private func noteSwitch() {
        let now = MonotonicClock.unsignedNanoseconds()
        let bytes = statistics.userBytesWritten.load(ordering: .relaxed)
        state.locked { s in
            if let last = s.lastSwitch, now > last.nanoseconds {
                let rate = Double(bytes - last.bytes) * 1e9 / Double(now - last.nanoseconds)
                s.recentWriteRate = s.recentWriteRate.map { ($0 + rate) / 2 } ?? rate
            }
            s.lastSwitch = (now, bytes)
        }
    }
}
