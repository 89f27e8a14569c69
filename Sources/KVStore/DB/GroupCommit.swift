/// One caller's write waiting in the commit queue.
final class PendingWrite {
    var batch: WriteBatch
    let sync: Bool
    var done = false
    var error: KVError?
    let wakeUp: Monitor.Condition

    init(batch: WriteBatch, sync: Bool, monitor: Monitor) {
        self.batch = batch
        self.sync = sync
        self.wakeUp = Monitor.Condition(monitor)
    }
}

// Group commit (LevelDB's write queue): every writer joins a FIFO queue; the writer at the
// head is the leader. The leader takes the batches queued behind it, assigns one range of
// sequence numbers, appends them to the WAL as one record (one write(2)), calls fdatasync at
// most once if any of them asked for sync, inserts them into the memtable, publishes the new
// last sequence and wakes the followers it served. A lone writer is its own leader and never
// hands off to another thread. While the leader does I/O the lock is released, so new writers
// can queue up and form the next group.
extension Engine {
    /// Largest group the leader assembles, in bytes of batch data.
    static let maxGroupBytes = 1 << 20

    func write(_ batch: WriteBatch, sync: Bool) throws {
        let me = PendingWrite(batch: batch, sync: sync, monitor: monitor)
        monitor.lock()
        if closed {
            monitor.unlock()
            throw KVError.closed
        }
        writers.append(me)
        while !me.done && writers.first !== me {
            me.wakeUp.wait()
        }
        if me.done {
            monitor.unlock()
            if let error = me.error { throw error }
            return
        }

        // Leader.
        if let failure = stickyError {
            finishGroup(count: 1, error: .readOnly(reason: failure.description))
            monitor.unlock()
            throw KVError.readOnly(reason: failure.description)
        }
        let group = assembleGroup()
        var combined = group.count == 1 ? me.batch : mergedBatch(group)
        let needSync = group.contains { $0.sync }
        let first = lastSequence.load(ordering: .relaxed) + 1
        combined.sequence = first
        let last = first + UInt64(combined.count) - 1
        monitor.unlock()

        var failure: KVError?
        do {
            try log.add(combined.rep)
            if needSync { try log.sync() }
        } catch let error as KVError {
            failure = error
        } catch {
            failure = .invalidArgument("\(error)")
        }
        if failure == nil {
            insertIntoMemtable(combined, firstSequence: first)
        }

        monitor.lock()
        if let failure {
            // Sticky: the log's state is unknown, so no later write may claim success.
            stickyError = failure
            infoLog.log("write failed, store is now read-only: \(failure)")
        } else {
            lastSequence.store(last, ordering: .releasing)
        }
        finishGroup(count: group.count, error: failure)
        monitor.unlock()
        if let failure { throw failure }
    }

    /// The leader plus the writers queued behind it, within the size limit. A group never
    /// mixes a non-syncing leader with a syncing follower: that follower would have its write
    /// acknowledged without the fdatasync it asked for... or make the leader pay for it.
    private func assembleGroup() -> ArraySlice<PendingWrite> {
        let leader = writers[0]
        var bytes = leader.batch.byteSize
        // Small leaders keep groups small so a lone small write's latency stays low.
        let limit = bytes <= 128 << 10 ? bytes + (128 << 10) : Self.maxGroupBytes
        var end = 1
        while end < writers.count {
            let w = writers[end]
            if w.sync && !leader.sync { break }
            if bytes + w.batch.byteSize > limit { break }
            bytes += w.batch.byteSize
            end += 1
        }
        return writers[0..<end]
    }

    private func mergedBatch(_ group: ArraySlice<PendingWrite>) -> WriteBatch {
        var merged = WriteBatch()
        merged.rep.reserveCapacity(group.reduce(0) { $0 + $1.batch.byteSize })
        for w in group { merged.append(contentsOf: w.batch) }
        return merged
    }

    /// Called with the lock held: marks the group done, wakes its followers and the next leader.
    private func finishGroup(count: Int, error: KVError?) {
        for i in 0..<count {
            let w = writers[i]
            w.error = error
            w.done = true
            if i > 0 { w.wakeUp.signal() }
        }
        writers.removeFirst(count)
        if let next = writers.first {
            next.wakeUp.signal()
        } else {
            queueDrained.broadcast()
        }
    }

    func insertIntoMemtable(_ batch: WriteBatch, firstSequence: UInt64) {
        var sequence = firstSequence
        batch.rep.withUnsafeBytes { rep in
            // The batch was built by WriteBatch (or validated on replay): decoding cannot fail.
            try? WriteBatch.forEach(rep, file: "", offset: 0) { kind, key, value in
                memtable.add(sequence: sequence, kind: kind, key: key, value: value)
                sequence += 1
            }
        }
    }
}
