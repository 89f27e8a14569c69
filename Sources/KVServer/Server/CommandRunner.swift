import KVStore
import NIOCore
import NIOPosix

/// Runs one connection's commands where the command table says they may run (`Execution`,
/// `CommandDispatch.startsOnThread`), one rule for plain commands and EXEC alike:
///
/// - a command that starts on the loop runs here, its reads and writes non-blocking; if one
///   of them would wait (the disk, a lock held elsewhere, a write the engine cannot take at
///   once) it stops before it has changed anything (`Outcome.mustWait`) and is moved, whole,
///   to a blocking thread;
/// - a command that starts on a thread (a scan, a synced write, EXEC of such commands) goes
///   there at once.
///
/// On a thread the session travels with the command and comes back with its reply; until it
/// does, the connection runs nothing else, so replies stay in request order. Confined to the
/// connection's event loop.
final class CommandRunner {
    /// A command's run: its reply (nil when written into the caller's writer), the session
    /// after it, how it ended, how long it took.
    struct Completion: Sendable {
        var reply: RESPReplyWriter?
        var session: Session
        var outcome: CommandDispatch.Outcome
        var nanoseconds: Int
    }

    private let server: ServerContext
    private let pool: NIOThreadPool

    init(server: ServerContext, pool: NIOThreadPool) {
        self.server = server
        self.pool = pool
    }

    /// Runs `command`. When it finishes on the loop, returns its completion with the reply
    /// written into `out`. Otherwise returns nil and, once a blocking thread has run it, calls
    /// `finished` on `eventLoop` (an error: the pool is shutting down).
    func run(
        _ command: Command, _ args: [[UInt8]], session: Session, out: inout RESPReplyWriter,
        eventLoop: any EventLoop, allocator: ByteBufferAllocator,
        finished: @escaping @Sendable (Result<Completion, any Error>) -> Void
    ) -> Completion? {
        if !CommandDispatch.startsOnThread(command, server, session) {
            var s = session
            let start = MonotonicClock.nanoseconds()
            let outcome = CommandDispatch.execute(command, server, &s, args, &out)
            if outcome != .mustWait {
                return Completion(reply: nil, session: s, outcome: outcome, nanoseconds: MonotonicClock.nanoseconds() - start)
            }
        }
        server.telemetry.stats.offloadedCommands.add(1, ordering: .relaxed)
        let shared = server
        let resp3 = out.resp3
        pool.runIfActive(eventLoop: eventLoop) { () -> Completion in
            var s = session
            s.mayWait = true
            var reply = RESPReplyWriter(buffer: allocator.buffer(capacity: 256), resp3: resp3)
            let start = MonotonicClock.nanoseconds()
            let outcome = CommandDispatch.execute(command, shared, &s, args, &reply)
            s.mayWait = false
            return Completion(reply: reply, session: s, outcome: outcome, nanoseconds: MonotonicClock.nanoseconds() - start)
        }.whenComplete(finished)
        return nil
    }
}
