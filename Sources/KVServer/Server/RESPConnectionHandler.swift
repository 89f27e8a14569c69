import KVStore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Asks a connection to finish what it has read, answer it, and close (server shutdown).
struct DrainAndCloseEvent: Sendable {}

/// One client connection: parses requests, runs commands in order, writes the replies.
///
/// Every complete command in a read is parsed at once, and all their replies go out with one
/// flush (pipelining costs one syscall per batch, not per command). Plain writes go to the
/// loop's `WriteCoalescer`, which commits a whole loop turn's writes together. Cheap commands run right
/// here on the event loop. A command that may wait (a write under `--fsync always`, a scan)
/// runs on the blocking pool; until its reply is back the connection runs nothing else, so
/// replies stay in request order. Once `maxQueuedCommands` wait, the connection stops
/// reading, so a client that floods requests is held back by TCP rather than by our memory
/// (backpressure); so does a client that does not read its replies (socket not writable).
final class RESPConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private let pool: NIOThreadPool
    private let logger: Logger
    private let connections: ConnectionSet
    private let coalescer: WriteCoalescer
    private let commands = CommandTable.standard
    /// Arguments above the engine's key or value limit go through the full command, so the
    /// error reaches that client alone instead of failing everyone's merged batch.
    private let batchableArgumentLimit: Int
    private var parser: RESPRequestParser
    private var session: Session?
    private var inbound: ByteBuffer?
    private var pending = CircularBuffer<[[UInt8]]>(initialCapacity: 16)
    private var out: RESPReplyWriter
    /// A protocol error found after the pending commands: answered once they are, then close.
    private var protocolError: RESPProtocolError?
    /// A command is running on the blocking pool.
    private var busy = false
    /// No more input is wanted (QUIT, SHUTDOWN, protocol error, server draining).
    private var closing = false
    private var draining = false
    /// The channel asked to read while we were not ready; read once we are.
    private var readWanted = false
    /// The connection is gone: a command still running on the pool must not put back state
    /// (watched keys) that closing has already released.
    private var inactive = false

    init(server: ServerContext, pool: NIOThreadPool, logger: Logger, connections: ConnectionSet, coalescer: WriteCoalescer) {
        self.coalescer = coalescer
        self.server = server
        self.batchableArgumentLimit = min(server.config.storeOptions.maxKeySize, server.config.storeOptions.maxValueSize)
        self.pool = pool
        self.logger = logger
        self.connections = connections
        var parser = RESPRequestParser(limits: server.config.limits)
        parser.authenticated = !server.requiresPassword
        self.parser = parser
        self.out = RESPReplyWriter(buffer: ByteBuffer())
        self.tally = CommandTally(commands: CommandTable.standard.all.count)
    }

    // MARK: Lifecycle

    func channelActive(context: ChannelHandlerContext) {
        out = RESPReplyWriter(buffer: context.channel.allocator.buffer(capacity: 1024))
        let remote = context.channel.remoteAddress.map(Self.describe) ?? "?"
        let local = context.channel.localAddress.map(Self.describe) ?? "?"
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
        session = Session(record: record, authenticated: !server.requiresPassword)
        connections.insert(context.channel)
        let channel = context.channel
        record.onKill { channel.close(promise: nil) }
        logger.debug("client \(record.id) connected from \(remote)")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        if var session {
            session.watched.clear(registry: server.watches)
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
        server.stats.bytesRead.add(incoming.readableBytes, ordering: .relaxed)
        unpublishedBytesIn += incoming.readableBytes
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
            server.stats.protocolErrors.add(1, ordering: .relaxed)
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
        if pending.count >= Self.maxQueuedCommands || closing || !context.channel.isWritable {
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

    /// Plain writes (SET without options, MSET) from consecutive pipelined commands, gathered
    /// into one batch: one group commit and one write(2) for all of them instead of one
    /// each, and under `--fsync always` one trip to a blocking thread and one fdatasync.
    private var batch = WriteBatch()
    private var batchKeys: [[UInt8]] = []
    private var batchedCommands = 0
    /// Which command each batched write was (SET or MSET), for INFO commandstats.
    private var batchedIDs: [Int] = []
    private var tally: CommandTally
    /// Commands run and the last one's name since the counters were last published.
    private var commandsRun = 0
    private var lastCommand: String?
    /// Bytes read and written since CLIENT LIST's figures were last published.
    private var unpublishedBytesIn = 0
    private var unpublishedBytesOut = 0

    /// Runs pending commands in order until one must go to the blocking pool, then writes
    /// and flushes every reply produced.
    private func process(context: ChannelHandlerContext) {
        while !busy && !closing {
            if pending.isEmpty && protocolError == nil && (inbound?.readableBytes ?? 0) > 0 { parseAvailable() }
            guard let args = pending.popFirst() else { break }
            commandsRun += 1
            let command = commands.lookup(args[0])
            if var s = session, s.multi != nil, !TransactionCommands.runsImmediately(command?.name ?? "") {
                // After MULTI: queued, not run (no batch is open: MULTI itself ended it).
                lastCommand = command?.name
                if !TransactionCommands.enqueue(server, &s, command, args, &out), let command { tally.rejected(command.id) }
                session = s
                continue
            }
            if let command, session?.authenticated == true, command.arityAllows(args.count),
               let append = command.appendToBatch, args.allSatisfy({ $0.count <= batchableArgumentLimit }),
               append(args, &batch) {
                batchKeys.append(contentsOf: command.keys(in: args))
                batchedCommands += 1
                batchedIDs.append(command.id)
                lastCommand = command.name
                if batch.byteSize >= Self.maxBatchBytes { commitBatch(context: context) }
                continue
            }
            if batchedCommands > 0 {
                // Replies go out in order: the batch's come first.
                commitBatch(context: context)
                if busy {
                    pending.prepend(args)
                    commandsRun -= 1
                    break
                }
            }
            run(command, args, context: context)
        }
        if !busy && !closing && batchedCommands > 0 { commitBatch(context: context) }
        unpublishedBytesOut += out.readableBytes  // written below
        publishCounters()
        if !busy && pending.isEmpty && !closing {
            if let error = protocolError {
                out.writeErrorReply("ERR \(error)")
                closing = true
            } else if draining {
                closing = true
            }
        }
        if out.readableBytes > 0 {
            server.stats.bytesWritten.add(out.readableBytes, ordering: .relaxed)
            let reply = out
            out.buffer.clear()  // the write holds its own reference; clearing starts a fresh buffer
            if closing && !busy {
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(reply.buffer)).whenComplete { _ in ctx.value.close(promise: nil) }
                return
            }
            context.writeAndFlush(wrapOutboundOut(reply.buffer), promise: nil)
        } else if closing && !busy {
            context.close(promise: nil)
            return
        }
        resumeReadingIfReady(context: context)
    }

    static let maxBatchBytes = 1 << 20


    /// Shared counters and CLIENT LIST's fields, once per batch of commands rather than per
    /// command: two event loops bumping one cache line per command would cost more than the
    /// commands.
    private func publishCounters() {
        // A coalesced write's counts arrive after its commands ran (with the commit), so the
        // tally alone can have something to publish.
        guard commandsRun > 0 || !tally.touched.isEmpty, var s = session else { return }
        server.commandStats.add(&tally)
        server.stats.commandsProcessed.add(commandsRun, ordering: .relaxed)
        if s.hits > 0 { server.stats.keyspaceHits.add(s.hits, ordering: .relaxed) }
        if s.misses > 0 { server.stats.keyspaceMisses.add(s.misses, ordering: .relaxed) }
        s.hits = 0
        s.misses = 0
        session = s
        let name = lastCommand
        let now = server.clock()
        let (commands, bytesIn, bytesOut) = (commandsRun, unpublishedBytesIn, unpublishedBytesOut)
        let queued = inbound?.readableBytes ?? 0
        s.record.state.locked {
            if let name { $0.lastCommand = name }
            $0.lastActiveMillis = now
            $0.commands += commands
            $0.netIn += bytesIn
            $0.netOut += bytesOut
            $0.queryBuffer = queued
        }
        commandsRun = 0
        unpublishedBytesIn = 0
        unpublishedBytesOut = 0
    }

    /// Hands the gathered writes to the loop's coalescer, which commits them with every
    /// other connection's of this loop turn; nothing else runs here until they are answered.
    private func commitBatch(context: ChannelHandlerContext) {
        busy = true
        let count = batchedCommands
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        coalescer.enqueue(batch, keys: batchKeys, commands: count) { error, nanoseconds in
            let (handler, context) = bound.value
            handler.batchCommitted(count, error: error, nanoseconds: nanoseconds, context: context)
        }
        batch.removeAll()
        batchKeys.removeAll(keepingCapacity: true)
        batchedCommands = 0
    }

    /// The coalescer committed this connection's writes (or failed to).
    func batchCommitted(_ count: Int, error: String?, nanoseconds: Int, context: ChannelHandlerContext) {
        busy = false
        // The commit's time, shared evenly among the writes it carried.
        let share = count > 0 ? nanoseconds / count : 0
        // Nothing was batched while the commit was out: these are exactly its writes.
        for id in batchedIDs {
            tally.ran(id, nanoseconds: share, failed: error != nil)
            server.metrics?.latency.record(id, nanoseconds: share)
        }
        batchedIDs.removeAll(keepingCapacity: true)
        answerBatch(count, error: error)
        process(context: context)
    }

    private func answerBatch(_ count: Int, error: String?) {
        for _ in 0..<count {
            if let error { out.writeErrorReply(error) } else { out.writeOK() }
        }
    }

    private func run(_ command: Command?, _ args: [[UInt8]], context: ChannelHandlerContext) {
        guard var session else { return }
        guard let command else {
            out.writeErrorReply(CommandError.unknown(args).text)
            return
        }
        lastCommand = command.name
        if !session.authenticated && !command.allowedUnauthenticated {
            tally.rejected(command.id)
            out.writeErrorReply("NOAUTH Authentication required.")
            return
        }
        guard command.arityAllows(args.count) else {
            tally.rejected(command.id)
            // A refused EXEC also ends the transaction, in Redis's words.
            if command.name == "exec" {
                TransactionCommands.end(server, &session)
                self.session = session
                out.writeErrorReply("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
            } else {
                out.writeErrorReply(CommandError.wrongArity(command.name).text)
            }
            return
        }
        let offload = command.execution == .blocking || (command.execution == .write && server.syncsEveryWrite)
            || (command.name == "exec" && TransactionCommands.needsBlockingThread(server, session))
        if !offload {
            let start = MonotonicClock.nanoseconds()
            let outcome = Self.execute(command, server, &session, args, &out)
            if outcome != .mustWait {
                ran(command, args, nanoseconds: MonotonicClock.nanoseconds() - start, failed: outcome == .failed)
                finish(session, context: context)
                return
            }
            // A read needed the disk: run the command where waiting does not stall the loop.
        }
        busy = true
        server.stats.offloadedCommands.add(1, ordering: .relaxed)
        let shared = self.server
        let allocator = context.channel.allocator
        var fresh = session
        fresh.hits = 0  // the pool run counts its own; they are added on return
        fresh.misses = 0
        let sessionCopy = fresh
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let resp3 = out.resp3
        pool.runIfActive(eventLoop: context.eventLoop) { () -> (RESPReplyWriter, Session, Outcome, Int) in
            var s = sessionCopy
            s.mayWait = true
            var reply = RESPReplyWriter(buffer: allocator.buffer(capacity: 256), resp3: resp3)
            let start = MonotonicClock.nanoseconds()
            let outcome = Self.execute(command, shared, &s, args, &reply)
            let elapsed = MonotonicClock.nanoseconds() - start
            s.mayWait = false
            return (reply, s, outcome, elapsed)
        }.whenComplete { result in
            let (handler, context) = bound.value
            handler.busy = false
            switch result {
            case .success(let (reply, s, outcome, elapsed)):
                handler.ran(command, args, nanoseconds: elapsed, failed: outcome == .failed)
                var reply = reply
                handler.out.append(&reply)
                if handler.inactive {
                    var orphan = s
                    orphan.watched.clear(registry: handler.server.watches)
                } else if let current = handler.session {
                    // Nothing else ran on this connection meanwhile: the command's session is
                    // the connection's, plus the counts published since it left.
                    var updated = s
                    updated.hits += current.hits
                    updated.misses += current.misses
                    handler.finish(updated, context: context)
                }
            case .failure:
                handler.out.writeErrorReply("ERR the server is shutting down")
                handler.closing = true
            }
            handler.process(context: context)
        }
    }

    /// A command ran: INFO commandstats, the latency histogram when metrics are on, and the
    /// SLOWLOG when it was slow.
    private func ran(_ command: Command, _ args: [[UInt8]], nanoseconds: Int, failed: Bool) {
        tally.ran(command.id, nanoseconds: nanoseconds, failed: failed)
        server.metrics?.latency.record(command.id, nanoseconds: nanoseconds)
        if server.slowlog.isSlow(nanoseconds: nanoseconds), let record = session?.record {
            server.slowlog.record(args, nanoseconds: nanoseconds, unixMillis: server.clock(), client: record)
        }
    }

    private func finish(_ updated: Session, context: ChannelHandlerContext) {
        session = updated
        out.resp3 = updated.resp3
        parser.authenticated = updated.authenticated
        if updated.closeAfterReply { closing = true }
    }

    enum Outcome: Sendable {
        case answered
        /// Answered with an error.
        case failed
        /// Nothing written: a non-blocking read needed the disk.
        case mustWait
    }

    /// Runs one command; an error replaces whatever part of a reply it had written.
    private static func execute(_ command: Command, _ server: ServerContext, _ session: inout Session, _ args: [[UInt8]], _ out: inout RESPReplyWriter) -> Outcome {
        let mark = out.writerIndex
        do {
            try command.run(server, &session, args, &out)
            return .answered
        } catch {
            out.moveWriterIndex(to: mark)
            if error.wouldBlock && !session.mayWait { return .mustWait }
            out.writeErrorReply(error.text)
            return .failed
        }
    }

    private static func describe(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}

/// The open client channels, so shutdown can ask each to drain.
final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func insert(_ channel: any Channel) {
        channels.locked { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel) {
        channels.locked { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var all: [any Channel] { channels.locked { Array($0.values) } }
    var isEmpty: Bool { channels.locked { $0.isEmpty } }
}
