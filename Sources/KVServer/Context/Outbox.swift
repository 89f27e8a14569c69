import NIOCore
import Synchronization

/// Bytes that other threads produce for one connection, waiting for its event loop, and the
/// bound on how many may wait: a class of Redis's `client-output-buffer-limit` (a hard limit,
/// and a soft limit that may be exceeded for a while). A client that does not read its socket
/// is disconnected once it is over a limit, never held in memory without bound. Pub/Sub
/// messages (`Mailbox`) and a replica's stream (`ReplicaFeed`) go out through one.
///
/// A producer on any thread appends under the lock and, if no drain is queued, queues one on
/// the connection's loop; the drain hands everything waiting to the channel as one write. What
/// waits is the pending bytes plus what the channel has not yet written to the socket (the
/// write's completion subtracts it), so a client that stops reading keeps its bytes counted
/// until the kernel takes them. Until `open`, bytes only accumulate (a replica's stream waits
/// behind its snapshot).
final class Outbox: Sendable {
    private struct State {
        var pending: ByteBuffer
        var open: Bool
        var drainQueued = false
        /// Bytes handed to the channel and not yet written to the socket.
        var inFlight = 0
        /// When the waiting bytes went over the soft limit (ms), nil while under it.
        var overSoftSince: UInt64?
        var closed = false
    }

    let channel: any Channel
    private let state: Mutex<State>
    /// The limits of the client's class, read at every append.
    private let limits: @Sendable () -> OutputBufferLimits.Values
    private let clock: @Sendable () -> UInt64
    /// Counts a disconnection for going over a limit (INFO stats).
    private let overLimit: @Sendable () -> Void

    init(
        channel: any Channel, open: Bool, limits: @escaping @Sendable () -> OutputBufferLimits.Values,
        clock: @escaping @Sendable () -> UInt64, overLimit: @escaping @Sendable () -> Void
    ) {
        self.channel = channel
        self.limits = limits
        self.clock = clock
        self.overLimit = overLimit
        self.state = Mutex(State(pending: channel.allocator.buffer(capacity: 0), open: open))
    }

    var isClosed: Bool { state.withLock { $0.closed } }
    var isOpen: Bool { state.withLock { $0.open && !$0.closed } }

    /// Appends what `write` writes to the pending bytes. False when the connection is gone or
    /// has just been closed for exceeding its limit.
    @discardableResult
    func append(_ write: (inout ByteBuffer) -> Void) -> Bool {
        let now = clock()
        let (queued, drain, overflow) = state.withLock { s -> (Bool, Bool, Bool) in
            guard !s.closed else { return (false, false, false) }
            write(&s.pending)
            if limits().exceeded(waiting: s.pending.readableBytes + s.inFlight, now: now, overSoftSince: &s.overSoftSince) {
                s.closed = true
                s.pending.clear()
                return (false, false, true)
            }
            guard s.open, !s.drainQueued else { return (true, false, false) }
            s.drainQueued = true
            return (true, true, false)
        }
        if overflow {
            overLimit()
            // Never inline: a producer may hold locks (a commit leader holds the replication
            // source's) that closing the connection's session takes too.
            let channel = self.channel
            channel.eventLoop.execute { channel.close(promise: nil) }
        } else if drain {
            channel.eventLoop.execute { self.drain() }
        }
        return queued
    }

    /// From now on pending bytes go to the socket.
    func open() {
        let drain = state.withLock { s -> Bool in
            s.open = true
            guard !s.closed, !s.drainQueued else { return false }
            s.drainQueued = true
            return true
        }
        if drain { channel.eventLoop.execute { self.drain() } }
    }

    /// On the channel's loop: hands everything pending to the channel as one write.
    private func drain() {
        let batch = state.withLock { s -> ByteBuffer? in
            s.drainQueued = false
            guard !s.closed, s.pending.readableBytes > 0 else { return nil }
            let b = s.pending
            s.pending = channel.allocator.buffer(capacity: 0)
            s.inFlight += b.readableBytes
            return b
        }
        guard let batch else { return }
        let n = batch.readableBytes
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in
            self.state.withLock { s in
                s.inFlight -= n
                if s.pending.readableBytes + s.inFlight <= self.limits().soft { s.overSoftSince = nil }
            }
        }
        channel.writeAndFlush(batch, promise: written)
    }

    /// The connection closed: nothing more is queued.
    func close() {
        state.withLock { s in
            s.closed = true
            s.pending.clear()
        }
    }
}
