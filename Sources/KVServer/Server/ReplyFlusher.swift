import NIOCore

/// Flushes the replies of one event loop's connections once the loop has handled every socket
/// that was readable this turn, as Redis writes its replies before its event loop sleeps: one
/// write(2) per connection per turn, and the clients woken together rather than a wake-up
/// interleaved with each command (LPUSH at -P1 went from about 20,000 to 37,000 requests/s,
/// docs/BENCHMARKS.md). A connection writes its replies into the channel and asks for the
/// flush here; a connection asking twice in one turn is flushed twice, which costs nothing
/// the second time. Confined to its event loop.
final class ReplyFlusher {
    private let eventLoop: any EventLoop
    private var waiting: [ChannelHandlerContext] = []

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `context`'s channel after this turn's reads (tasks run after the I/O events).
    func flushAtEndOfTurn(_ context: ChannelHandlerContext) {
        waiting.append(context)
        guard waiting.count == 1 else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { bound.value.flushAll() }
    }

    private func flushAll() {
        let contexts = waiting
        waiting.removeAll(keepingCapacity: true)
        for context in contexts { context.flush() }
    }
}
