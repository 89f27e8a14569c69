import NIOCore
import Synchronization

/// Where Pub/Sub messages for one connection wait for its event loop, and the bound on how
/// many bytes may wait: Redis's `client-output-buffer-limit pubsub` (a hard limit, and a soft
/// limit that may be exceeded for a while). A subscriber that does not read its socket is
/// disconnected once it is over a limit, never held in memory without bound.
///
/// A publisher on any thread encodes the message into the inbox (under the lock) and, if no
/// drain is queued, queues one on the subscriber's loop; the drain hands the whole inbox to the
/// channel as one write. What waits is the inbox plus what the channel has not yet written to
/// the socket (the write's completion subtracts it), so a client that stops reading keeps its
/// bytes counted until the kernel takes them.
final class Mailbox: Sendable {
    private struct State {
        /// Messages not yet handed to the channel, in the connection's protocol (pushes in
        /// RESP3, arrays in RESP2), written as replies are.
        var inbox: RESPReplyWriter
        var drainQueued = false
        /// Bytes handed to the channel and not yet written to the socket.
        var inFlight = 0
        /// When the waiting bytes went over the soft limit (ms), nil while under it.
        var overSoftSince: UInt64?
        var closed = false
    }

    /// The connection's client id.
    let id: Int
    private let channel: any Channel
    private let state: Mutex<State>
    private let limits: PubSubLimits
    private let clock: @Sendable () -> UInt64
    /// Counts a disconnection for going over a limit (INFO stats).
    private let overLimit: @Sendable () -> Void

    init(id: Int, channel: any Channel, limits: PubSubLimits, clock: @escaping @Sendable () -> UInt64, overLimit: @escaping @Sendable () -> Void) {
        self.id = id
        self.channel = channel
        self.limits = limits
        self.clock = clock
        self.overLimit = overLimit
        self.state = Mutex(State(inbox: RESPReplyWriter(buffer: channel.allocator.buffer(capacity: 0))))
    }

    /// Messages are encoded as RESP3 pushes (after `HELLO 3`) or RESP2 arrays.
    var resp3: Bool {
        get { state.withLock { $0.inbox.resp3 } }
        set { state.withLock { $0.inbox.resp3 = newValue } }
    }

    /// Queues one message: `kind` ("message", "pmessage", "smessage") and its bulk strings.
    /// False when the connection is gone or has just been closed for exceeding a limit.
    @discardableResult
    func deliver(_ kind: StaticString, _ parts: [UInt8]...) -> Bool {
        let now = clock()
        let (queued, queueDrain, overflow) = state.withLock { s -> (Bool, Bool, Bool) in
            guard !s.closed else { return (false, false, false) }
            s.inbox.writePushHeader(parts.count + 1)
            s.inbox.writeBulk(UnsafeRawBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
            for p in parts { s.inbox.writeBulk(p) }
            if Self.overLimit(&s, limits.current, now: now) {
                s.closed = true
                s.inbox.buffer.clear()
                return (false, false, true)
            }
            let queue = !s.drainQueued
            s.drainQueued = true
            return (true, queue, false)
        }
        if overflow {
            overLimit()
            channel.close(promise: nil)
        } else if queueDrain {
            channel.eventLoop.execute { self.drain() }
        }
        return queued
    }

    /// True when `s` is over the hard limit, or has been over the soft limit for longer than
    /// its seconds; tracks when it went over the soft limit.
    private static func overLimit(_ s: inout State, _ l: PubSubLimits.Values, now: UInt64) -> Bool {
        let waiting = s.inbox.readableBytes + s.inFlight
        if l.hard > 0 && waiting > l.hard { return true }
        guard l.soft > 0 && waiting > l.soft else {
            s.overSoftSince = nil
            return false
        }
        guard let since = s.overSoftSince else {
            s.overSoftSince = now
            return l.softSeconds == 0
        }
        return now &- since >= UInt64(l.softSeconds) * 1000
    }

    /// On the channel's loop: hands the inbox to the channel as one write.
    private func drain() {
        let batch = state.withLock { s -> ByteBuffer? in
            s.drainQueued = false
            guard !s.closed, s.inbox.readableBytes > 0 else { return nil }
            let b = s.inbox.buffer
            s.inbox.buffer = channel.allocator.buffer(capacity: 0)
            s.inFlight += b.readableBytes
            return b
        }
        guard let batch else { return }
        let n = batch.readableBytes
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in
            self.state.withLock { s in
                s.inFlight -= n
                if s.inbox.readableBytes + s.inFlight <= self.limits.current.soft { s.overSoftSince = nil }
            }
        }
        channel.writeAndFlush(batch, promise: written)
    }

    /// The connection closed: nothing more is queued.
    func close() {
        state.withLock { s in
            s.closed = true
            s.inbox.buffer.clear()
        }
    }
}
