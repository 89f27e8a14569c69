import NIOCore

/// Redis's `timeout`: tells the connection handler (with NIO's `IdleStateEvent.read`) once a
/// client has sent nothing for `timeout`; the handler closes it unless it is waiting on its own
/// command.
///
/// NIO's `IdleStateHandler` does the same but reads the wall clock (`NIODeadline.now()`) while
/// scheduling on the event loop, so it cannot run on a test's manual clock. This one takes every
/// time from the event loop (`eventLoop.now`): on a real loop that is the monotonic clock, on an
/// `EmbeddedEventLoop` the time the test advances, so the timeout is tested to the millisecond.
/// One clock read per read burst (`channelReadComplete`), as NIO's handler does.
final class IdleTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    /// The timeout in force now (CONFIG SET may change it); zero or less: none.
    private let timeout: () -> TimeAmount
    private var lastRead: NIODeadline = .distantPast
    private var check: Scheduled<Void>?

    /// While there is no timeout, how often a connection looks again whether one was set.
    static let recheckWhileDisabled = TimeAmount.seconds(10)

    init(timeout: @escaping () -> TimeAmount) {
        self.timeout = timeout
    }

    convenience init(timeout: TimeAmount) {
        self.init { timeout }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastRead = context.eventLoop.now
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    private func start(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        lastRead = context.eventLoop.now
        schedule(context, at: lastRead + nextWait())
    }

    private func nextWait() -> TimeAmount {
        let t = timeout()
        return t > .zero ? t : Self.recheckWhileDisabled
    }

    /// Checks at `deadline`: idle since the last read for the whole timeout, or not yet (then
    /// checks again when it would be).
    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loop = context.eventLoop.assumeIsolated()
        let context = NIOLoopBound(context, eventLoop: context.eventLoop)
        check = loop.scheduleTask(deadline: deadline) { [self] in
            let context = context.value
            guard context.channel.isActive else { return }
            let t = timeout()
            guard t > .zero else {
                schedule(context, at: context.eventLoop.now + Self.recheckWhileDisabled)
                return
            }
            let due = lastRead + t
            if context.eventLoop.now >= due {
                context.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
                schedule(context, at: context.eventLoop.now + t)
            } else {
                schedule(context, at: due)
            }
        }
    }
}
