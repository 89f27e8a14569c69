import KVStore
import NIOCore
import NIOPosix

/// Gathers the plain writes (SET, MSET) of every connection on one event loop during one
/// turn of the loop, and commits them as a single batch once the turn's reads are handled.
///
/// Redis appends a whole loop iteration's writes to its AOF with one write(2); this is the
/// same idea on top of the engine's group commit: fifty clients each sending one SET cost
/// one log append, not fifty, and under `--fsync always` one fdatasync. A connection waits
/// (runs nothing else) until its writes are committed, so its replies stay in order.
///
/// Confined to its event loop: only that loop's handlers call it, and its completion work
/// runs there too.
final class WriteCoalescer {
    private struct Waiter {
        let count: Int
        /// Told the commit's outcome: an error reply or nil, and the time it took.
        let committed: (_ error: String?, _ nanoseconds: Int) -> Void
    }

    private let eventLoop: any EventLoop
    private let server: ServerContext
    private let pool: NIOThreadPool
    private var batch = WriteBatch()
    private var keys: [[UInt8]] = []
    private var waiters: [Waiter] = []
    private var scheduled = false

    init(eventLoop: any EventLoop, server: ServerContext, pool: NIOThreadPool) {
        self.eventLoop = eventLoop
        self.server = server
        self.pool = pool
    }

    /// Adds one connection's writes (`commands` commands' worth); `committed` is called on
    /// this loop once they are durable to the configured degree, or failed, with its share of
    /// the commit's time. The coalescer knows nothing of connections: only this callback.
    func enqueue(
        _ writes: WriteBatch, keys writeKeys: [[UInt8]], commands: Int,
        committed: @escaping (_ error: String?, _ nanoseconds: Int) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        batch.append(contentsOf: writes)
        keys.append(contentsOf: writeKeys)
        waiters.append(Waiter(count: commands, committed: committed))
        if !scheduled {
            scheduled = true
            // Runs after the loop has handled every socket that was readable this turn.
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.execute { bound.value.commit() }
        }
    }

    private func commit() {
        scheduled = false
        let batch = self.batch
        let keys = self.keys
        let waiters = self.waiters
        self.batch = WriteBatch()
        self.keys = []
        self.waiters = []
        let shared = server
        if !server.syncsEveryWrite {
            // Straight from the loop when the engine can take it without waiting; nothing is
            // written if it cannot, and the batch goes to a blocking thread instead.
            let start = MonotonicClock.nanoseconds()
            do throws(CommandError) {
                try shared.db.writeCoalesced(batch, keys: keys, mayWait: false)
                Self.deliver(waiters, error: nil, nanoseconds: MonotonicClock.nanoseconds() - start)
                return
            } catch where !error.wouldBlock {
                Self.deliver(waiters, error: error.text, nanoseconds: MonotonicClock.nanoseconds() - start)
                return
            } catch {
                // Held: the writing connections wait (and stop reading once their queues
                // fill); every other connection on this loop goes on.
                shared.telemetry.stats.writesHeld.add(1, ordering: .relaxed)
                shared.telemetry.stats.clientsHeldNow.add(waiters.count, ordering: .relaxed)
            }
        }
        let held = !server.syncsEveryWrite
        // Under the keys' stripes: ordered against read-modify-write commands and EXEC. The
        // sync of `--fsync always` and a held write wait here, on a blocking thread, where
        // the group commit also merges this loop's batch with other loops'.
        let write: @Sendable () -> (String?, Int) = {
            let start = MonotonicClock.nanoseconds()
            var failure: String?
            do throws(CommandError) {
                try shared.db.writeCoalesced(batch, keys: keys, mayWait: true)
            } catch {
                failure = error.text
            }
            let elapsed = MonotonicClock.nanoseconds() - start
            if held { shared.telemetry.stats.heldWriteMicros.add(elapsed / 1000, ordering: .relaxed) }
            return (failure, elapsed)
        }
        let bound = NIOLoopBound(waiters, eventLoop: eventLoop)
        pool.runIfActive(eventLoop: eventLoop, write).whenComplete { result in
            if held { shared.telemetry.stats.clientsHeldNow.subtract(bound.value.count, ordering: .relaxed) }
            switch result {
            case .success(let (error, elapsed)): Self.deliver(bound.value, error: error, nanoseconds: elapsed)
            case .failure: Self.deliver(bound.value, error: "ERR the server is shutting down", nanoseconds: 0)
            }
        }
    }

    /// Tells each connection its writes are done; the commit's time is shared by all the
    /// writes it carried.
    private static func deliver(_ waiters: [Waiter], error: String?, nanoseconds: Int) {
        let total = waiters.reduce(0) { $0 + $1.count }
        for w in waiters {
            let share = total > 0 ? nanoseconds * w.count / total : 0
            w.committed(error, share)
        }
    }
}
