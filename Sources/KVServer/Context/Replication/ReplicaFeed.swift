import NIOCore
import Synchronization

/// A primary's side of one replica's connection, from its PSYNC on: the stream frames waiting
/// for the socket, in an `Outbox` bounded by `client-output-buffer-limit replica` (a replica
/// that does not keep up is disconnected, and asks again — from the backlog if it still holds
/// its offset), and what the replica reported: its listening port and acknowledged offset.
///
/// While a full synchronisation sends the snapshot, stream frames only accumulate (they follow
/// the snapshot); `goOnline` starts handing them to the channel. Frames are queued by the
/// commit leader (`ReplicationSource.record`, in commit order).
final class ReplicaFeed: Sendable {
    /// The connection's client id.
    let id: Int
    /// The replica's address (from the connection) and the port it serves clients on
    /// (`REPLCONF listening-port`): what INFO and ROLE report, and Sentinel connects to.
    let address: String
    let listeningPort: Int
    private let outbox: Outbox
    private let clock: @Sendable () -> UInt64
    private let acked = Atomic<Int64>(-1)
    private let lastAckMillis: Atomic<UInt64>

    init(
        id: Int, channel: any Channel, address: String, listeningPort: Int, limits: OutputBufferLimits,
        clock: @escaping @Sendable () -> UInt64, overLimit: @escaping @Sendable () -> Void
    ) {
        self.id = id
        self.address = address
        self.listeningPort = listeningPort
        self.clock = clock
        self.lastAckMillis = Atomic(clock())
        self.outbox = Outbox(channel: channel, open: false, limits: { limits.replica }, clock: clock, overLimit: overLimit)
    }

    var channel: any Channel { outbox.channel }
    /// The offset the replica last acknowledged (-1: none yet).
    var ackedOffset: Int64 { acked.load(ordering: .acquiring) }
    /// Milliseconds since the replica's last acknowledgement (Redis's `lag`, in ms).
    var millisecondsSinceAck: UInt64 { clock() &- lastAckMillis.load(ordering: .relaxed) }
    var isOnline: Bool { outbox.isOpen }
    var isClosed: Bool { outbox.isClosed }

    /// `REPLCONF ACK offset`.
    func acknowledge(_ offset: Int64) {
        lastAckMillis.store(clock(), ordering: .relaxed)
        var current = acked.load(ordering: .relaxed)
        while offset > current {
            let (done, now) = acked.compareExchange(expected: current, desired: offset, ordering: .acquiringAndReleasing)
            if done { break }
            current = now
        }
    }

    /// Queues stream bytes (a frame or more). Over the limit, the connection is closed.
    func enqueue(_ bytes: UnsafeRawBufferPointer) {
        outbox.append { $0.writeBytes(bytes) }
    }

    /// The snapshot is sent (or there was none): from now on stream frames go to the socket.
    /// The replica's silence is timed from here (`repl-timeout`): it acknowledges nothing while
    /// it loads a snapshot, which may take longer than the timeout.
    func goOnline() {
        lastAckMillis.store(clock(), ordering: .relaxed)
        outbox.open()
    }

    /// The connection is gone (or the server stops being a primary): nothing more is queued.
    func close() { outbox.close() }
}
