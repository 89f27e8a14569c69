import NIOCore
import Synchronization

/// Where Pub/Sub messages for one connection wait for its event loop: an `Outbox` bounded by
/// `client-output-buffer-limit pubsub`. A publisher on any thread encodes the message in the
/// connection's protocol (pushes in RESP3, arrays in RESP2), as replies are written.
final class Mailbox: Sendable {
    /// The connection's client id.
    let id: Int
    private let outbox: Outbox
    private let resp3Flag = Atomic<Bool>(false)

    init(id: Int, channel: any Channel, limits: OutputBufferLimits, clock: @escaping @Sendable () -> UInt64, overLimit: @escaping @Sendable () -> Void) {
        self.id = id
        self.outbox = Outbox(channel: channel, open: true, limits: { limits.pubsub }, clock: clock, overLimit: overLimit)
    }

    /// The connection (a replica's PSYNC takes it over for the stream).
    var channel: any Channel { outbox.channel }

    /// Messages are encoded as RESP3 pushes (after `HELLO 3`) or RESP2 arrays.
    var resp3: Bool {
        get { resp3Flag.load(ordering: .relaxed) }
        set { resp3Flag.store(newValue, ordering: .relaxed) }
    }

    /// Queues one message: `kind` ("message", "pmessage", "smessage") and its bulk strings.
    /// False when the connection is gone or has just been closed for exceeding a limit.
    @discardableResult
    func deliver(_ kind: StaticString, _ parts: [UInt8]...) -> Bool {
        let resp3 = self.resp3
        return outbox.append { buffer in
            var out = RESPReplyWriter(buffer: buffer, resp3: resp3)
            buffer = ByteBuffer()
            out.writePushHeader(parts.count + 1)
            out.writeBulk(UnsafeRawBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
            for p in parts { out.writeBulk(p) }
            buffer = out.buffer
        }
    }

    /// The connection closed: nothing more is queued.
    func close() { outbox.close() }
}
