import KVStore
import Logging
import NIOCore
import NIOPosix

/// Asks a connection to finish what it has read, answer it, and close (server shutdown).
struct DrainAndCloseEvent: Sendable {}

/// One client connection: its lifecycle, its input and its output.
///
/// Every complete command in a read is parsed at once and run in order; their replies go out
/// with one flush at the end of the loop's turn (`ReplyFlusher`). Plain writes gather for the
/// loop's `WriteCoalescer` (`PipelinedWrites`); a run of GETs is one multi-get (`PipelinedReads`);
/// every other command goes through `CommandDispatch` (MULTI, AUTH, arity) to the
/// `CommandRunner`, which runs it on the loop or on a blocking thread.
/// While a command or a batch is out (`busy`), nothing else runs, so replies stay in request
/// order. Backpressure: once `maxQueuedCommands` wait, or the socket is not writable (a client
/// that does not read its replies), the connection stops reading, so a flood is held back by
/// TCP rather than by our memory.
final class RESPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private let logger: Logger
    private let connections: ConnectionSet
    private let coalescer: WriteCoalescer
    private let flusher: ReplyFlusher
    private let runner: CommandRunner
    private let commands = CommandTable.standard
    private var parser: RESPRequestParser
    private var session: Session?
    private var inbound: ByteBuffer?
    private var pending = CircularBuffer<[[UInt8]]>(initialCapacity: 16)
    private var out: RESPReplyWriter
    private var writes: PipelinedWrites
    private var counters: ConnectionCounters
    /// A protocol error found after the pending commands: answered once they are, then close.
    private var protocolError: RESPProtocolError?
    /// A command runs on a blocking thread, or this connection's writes are being committed.
    private var busy = false
    /// The session went with a command to a blocking thread.
    private var sessionAway = false
    /// No more input is wanted (QUIT, SHUTDOWN, protocol error, server draining).
    private var closing = false
    private var draining = false
    /// The channel asked to read while we were not ready; read once we are.
    private var readWanted = false
    /// Gone: a command still on a thread must not put back state closing released (WATCH).
    private var inactive = false
    /// A blocking pop is waiting (the connection is `busy` until it ends), and its timer.
    private var blockedOn: BlockedClient?
    private var blockTimer: Scheduled<Void>?
    /// The blocking command, run again if a writer could not serve it (`.retry`), and its end.
    private var blockedCommand: [[UInt8]]?
    private var blockDeadline: NIODeadline?

    init(server: ServerContext, pool: NIOThreadPool, logger: Logger, connections: ConnectionSet, coalescer: WriteCoalescer, flusher: ReplyFlusher) {
        self.server = server
        self.logger = logger
        self.connections = connections
        self.coalescer = coalescer
        self.flusher = flusher
        self.runner = CommandRunner(server: server, pool: pool)
        var parser = RESPRequestParser(limits: server.config.limits)
        parser.authenticated = !server.requiresPassword
        self.parser = parser
        self.out = RESPReplyWriter(buffer: ByteBuffer())
        self.writes = PipelinedWrites(
            argumentLimit: min(server.config.storeOptions.maxKeySize, server.config.storeOptions.maxValueSize))
        self.counters = ConnectionCounters(commands: CommandTable.standard.all.count)
    }

    // MARK: Lifecycle

    func channelActive(context: ChannelHandlerContext) {
        out = RESPReplyWriter(buffer: context.channel.allocator.buffer(capacity: 1024))
        let describe = { (a: SocketAddress) in "\(a.ipAddress ?? "?"):\(a.port ?? 0)" }
        let remote = context.channel.remoteAddress.map(describe) ?? "?"
        let local = context.channel.localAddress.map(describe) ?? "?"
        guard let record = server.clients.register(
            address: remote, localAddress: local, now: server.clock(), authenticated: !server.requiresPassword)
        else {
            // Redis's wording; the client sees why before the connection closes.
            logger.warning("rejected \(remote): maxclients (\(server.clients.maxClients)) reached")
            closing = true
            var reply = context.channel.allocator.buffer(capacity: 64)
            reply.writeErrorReply("ERR max number of clients reached")
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in ctx.value.close(promise: nil) }
            return
        }
        session = Session(record: record, authenticated: !server.requiresPassword, mailbox: server.makeMailbox(record, context.channel))
        connections.insert(context.channel)
        let channel = context.channel
        record.onKill { channel.close(promise: nil) }
        logger.debug("client \(record.id) connected from \(remote)")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        if let waiter = blockedOn { server.db.blocked.end(waiter, nil) }
        if var session {
            session.release(server)
            self.session = session
            server.clients.remove(session.record.id)
            logger.debug("client \(session.record.id) disconnected")
        }
        connections.remove(context.channel)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainAndCloseEvent {
            draining = true
            // A blocked client is answered as if its timeout had passed.
            if let waiter = blockedOn { server.db.blocked.end(waiter, .timedOut) }
            process(context: context)
        } else if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Idle timeout (Redis's `timeout`): a connection waiting on its own slow command
            // is not idle.
            if !busy {
                logger.debug("closing idle client \(session?.record.id ?? 0)")
                context.close(promise: nil)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    // MARK: Input

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard session != nil, !closing, protocolError == nil else { return }
        server.telemetry.stats.bytesRead.add(incoming.readableBytes, ordering: .relaxed)
        counters.bytesIn += incoming.readableBytes
        if inbound == nil || inbound!.readableBytes == 0 {
            inbound = incoming
        } else {
            inbound!.writeBuffer(&incoming)
        }
        parseAvailable()
        process(context: context)
    }

    private func parseAvailable() {
        guard var buffer = inbound else { return }
        inbound = nil  // unique while parsing: no copy on write
        do {
            // Before AUTH, one command at a time: the commands after an AUTH in the same read
            // must be held to the limits of an authenticated client, as Redis does.
            try parser.parse(&buffer, limit: parser.authenticated ? .max : 1) { pending.append($0) }
        } catch {
            protocolError = error
            server.telemetry.stats.protocolErrors.add(1, ordering: .relaxed)
        }
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 1 << 16 {
            buffer.discardReadBytes()
        }
        inbound = buffer
    }

    // MARK: Backpressure

    /// Holding reads while a command merely waits (for the coalescer or a blocking thread)
    /// would cost two epoll_ctl calls per command at pipeline depth 1; so a connection keeps
    /// reading until this many commands are queued, which bounds what a flood can cost.
    static let maxQueuedCommands = 1024

    func read(context: ChannelHandlerContext) {
        // A replica's stream backing up must not stop its ACKs (unanswered) from being read.
        if pending.count >= Self.maxQueuedCommands || closing || (!context.channel.isWritable && session?.feed == nil) {
            readWanted = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resumeReadingIfReady(context: context) }
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadingIfReady(context: ChannelHandlerContext) {
        if readWanted && pending.count < Self.maxQueuedCommands && !closing && context.channel.isWritable {
            readWanted = false
            context.read()
        }
    }

    // MARK: Running commands

    /// Runs pending commands in order until one must wait (a blocking thread, a commit), then
    /// writes and flushes every reply produced.
    private func process(context: ChannelHandlerContext) {
        while !busy && !closing, var s = session {
            if pending.isEmpty && protocolError == nil && (inbound?.readableBytes ?? 0) > 0 { parseAvailable() }
            guard let args = pending.popFirst() else { break }
            counters.commandsRun += 1
            let command = commands.lookup(args[0])
            if s.takesFastPaths && server.takesFastWrites && writes.append(command, args) {
                counters.lastCommand = command?.name
                if writes.isFull { commitWrites(context: context) }
                continue
            }
            if !writes.isEmpty {
                // Replies go out in order: the batch's come first.
                commitWrites(context: context)
                pending.prepend(args)
                counters.commandsRun -= 1
                break
            }
            counters.lastCommand = command?.name
            if s.takesFastPaths, !server.replication.isLoading, let command, PipelinedReads.run(command, args, pending: &pending,
                table: commands, server: server, session: &s, out: &out, counters: &counters) { session = s; continue }
            switch CommandDispatch.admit(server, &s, command, args, &out) {
            case .answered(let command, let queued):
                session = s
                if let command, !queued { counters.tally.rejected(command.id) }
            case .run(let command):
                session = s
                run(command, args, s, context: context)
            }
        }
        if !busy && !closing && !writes.isEmpty { commitWrites(context: context) }
        counters.bytesOut += out.readableBytes  // written below
        counters.publish(server, session: &session, sessionAway: sessionAway, queuedBytes: inbound?.readableBytes ?? 0)
        if !busy && pending.isEmpty && !closing {
            if let error = protocolError {
                out.writeErrorReply("ERR \(error)")
                closing = true
            } else if draining {
                closing = true
            }
        }
        flushReplies(context: context)
    }

    /// Writes the replies so far, flushed at the end of the turn (at once when closing).
    private func flushReplies(context: ChannelHandlerContext) {
        if out.readableBytes > 0 {
            server.telemetry.stats.bytesWritten.add(out.readableBytes, ordering: .relaxed)
            let reply = out
            out.buffer.clear()  // the write holds its own reference; clearing starts a fresh buffer
            if closing && !busy {
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(reply.buffer)).whenComplete { _ in ctx.value.close(promise: nil) }
                return
            }
            context.write(wrapOutboundOut(reply.buffer), promise: nil)
            flusher.flushAtEndOfTurn(context)
        } else if closing && !busy {
            context.close(promise: nil)
            return
        }
        resumeReadingIfReady(context: context)
    }

    private func run(_ command: Command, _ args: [[UInt8]], _ session: Session, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let inline = runner.run(
            command, args, session: session, out: &out, eventLoop: context.eventLoop, allocator: context.channel.allocator
        ) { result in
            let (handler, context) = bound.value
            handler.returned(command, args, result, context: context)
        }
        if let done = inline {
            finished(command, args, done, context: context)
        } else {
            busy = true
            sessionAway = true
        }
    }

    /// A command came back from a blocking thread.
    private func returned(
        _ command: Command, _ args: [[UInt8]], _ result: Result<CommandRunner.Completion, any Error>, context: ChannelHandlerContext
    ) {
        busy = false
        sessionAway = false
        switch result {
        case .success(var done):
            if var reply = done.reply { out.append(&reply) }
            if inactive {
                done.session.release(server)
                if let waiter = done.session.blockedOn { server.db.blocked.end(waiter, nil) }
            } else {
                finished(command, args, done, context: context)
            }
        case .failure:
            out.writeErrorReply("ERR the server is shutting down")
            closing = true
        }
        process(context: context)
    }

    /// A command ran: its session becomes the connection's; INFO commandstats, the latency
    /// histogram when metrics are on, and the SLOWLOG when it was slow. A blocking pop that
    /// found nothing leaves the connection waiting for it.
    private func finished(_ command: Command, _ args: [[UInt8]], _ done: CommandRunner.Completion, context: ChannelHandlerContext) {
        session = done.session
        if let waiter = done.session.blockedOn {
            session?.blockedOn = nil
            blockedCommand = args
            wait(for: waiter, timeoutMillis: done.session.blockTimeoutMillis, context: context)
        } else {
            blockDeadline = nil
        }
        out.resp3 = done.session.resp3
        parser.authenticated = done.session.authenticated
        if done.session.closeAfterReply { closing = true }
        counters.tally.ran(command.id, nanoseconds: done.nanoseconds, failed: done.outcome == .failed)
        server.telemetry.metrics?.latency.record(command.id, nanoseconds: done.nanoseconds)
        if server.telemetry.slowlog.isSlow(nanoseconds: done.nanoseconds) {
            server.telemetry.slowlog.record(args, nanoseconds: done.nanoseconds, unixMillis: server.clock(), client: done.session.record)
        }
    }

    /// Waits for a blocking pop's outcome: the connection runs nothing else (its pipelined
    /// commands wait) until a writer serves it, the timeout passes or it is unblocked.
    private func wait(for waiter: BlockedClient, timeoutMillis: Int, context: ChannelHandlerContext) {
        busy = true
        blockedOn = waiter
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        waiter.bind { outcome in
            loop.execute {
                let (handler, context) = bound.value
                handler.unblocked(outcome, context: context)
            }
        }
        if blockDeadline == nil && timeoutMillis > 0 { blockDeadline = .now() + .milliseconds(Int64(timeoutMillis)) }
        if let deadline = blockDeadline {
            let blocked = server.db.blocked
            blockTimer = loop.scheduleTask(deadline: deadline) { blocked.end(waiter, .timedOut) }
        }
    }

    private func unblocked(_ outcome: BlockOutcome, context: ChannelHandlerContext) {
        guard blockedOn != nil else { return }
        blockTimer?.cancel()
        blockTimer = nil
        blockedOn = nil
        busy = false
        if case .retry = outcome, let args = blockedCommand {
            // Its key was made ready but a lock it needed was busy: run it again, as if just
            // sent, within the same deadline.
            blockedCommand = nil
            pending.prepend(args)
            process(context: context)
            return
        }
        blockedCommand = nil
        blockDeadline = nil
        switch outcome {
        case .retry: out.writeNullArray()  // no command to run again: as a timeout
        case .served(var reply): out.buffer.writeBuffer(&reply)
        case .timedOut: out.writeNullArray()
        case .unblockedWithError: out.writeErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        }
        process(context: context)
    }

    /// Hands the gathered writes to the loop's coalescer, which commits them with every
    /// other connection's of this loop turn; nothing else runs here until they are answered.
    private func commitWrites(context: ChannelHandlerContext) {
        busy = true
        let (batch, keys, count) = writes.take()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        coalescer.enqueue(batch, keys: keys, commands: count) { error, nanoseconds in
            let (handler, context) = bound.value
            handler.writesCommitted(count, error: error, nanoseconds: nanoseconds, context: context)
        }
    }

    /// The coalescer committed this connection's writes (or failed to): each answers `+OK`
    /// or the error, in order.
    private func writesCommitted(_ count: Int, error: String?, nanoseconds: Int, context: ChannelHandlerContext) {
        busy = false
        // The commit's time, shared evenly among the writes it carried.
        let share = count > 0 ? nanoseconds / count : 0
        for id in writes.takeAnsweredIDs() {
            counters.tally.ran(id, nanoseconds: share, failed: error != nil)
            server.telemetry.metrics?.latency.record(id, nanoseconds: share)
        }
        for _ in 0..<count {
            if let error { out.writeErrorReply(error) } else { out.writeOK() }
        }
        process(context: context)
    }
}
